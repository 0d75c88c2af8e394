#pragma once
/// The process-wide libcurl initialisation, as a guard object.

namespace fluxwatch::fetch {

/**
 * Calls curl_global_init(CURL_GLOBAL_DEFAULT) on construction and curl_global_cleanup on
 * destruction. Create exactly one, in main (or the CLI's run()) before any other thread
 * starts, and before any HttpClient or HttpProber: libcurl's global set-up is not
 * thread-safe. Library code never initialises libcurl itself.
 * @throw fluxwatch::Error when libcurl cannot be initialised.
 */
class CurlGlobal {
 public:
  CurlGlobal();
  ~CurlGlobal();
  CurlGlobal(const CurlGlobal&) = delete;
  CurlGlobal& operator=(const CurlGlobal&) = delete;
  CurlGlobal(CurlGlobal&&) = delete;
  CurlGlobal& operator=(CurlGlobal&&) = delete;
};

}  // namespace fluxwatch::fetch
