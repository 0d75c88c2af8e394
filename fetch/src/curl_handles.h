#pragma once
/// Internal: RAII owners of libcurl's C handles. Not a public header: it includes <curl/curl.h>.
/// Thread affinity: each handle belongs to the thread that uses it; none is shared.

#include <curl/curl.h>

#include <memory>
#include <string>

#include "fluxwatch/common/error.h"

namespace fluxwatch::fetch::detail {

struct EasyDeleter {
  void operator()(CURL* handle) const noexcept { curl_easy_cleanup(handle); }
};
struct MultiDeleter {
  void operator()(CURLM* handle) const noexcept { curl_multi_cleanup(handle); }
};
struct SlistDeleter {
  void operator()(curl_slist* list) const noexcept { curl_slist_free_all(list); }
};

/// One easy handle (curl_easy_init / curl_easy_cleanup).
using EasyHandle = std::unique_ptr<CURL, EasyDeleter>;
/// One multi handle (curl_multi_init / curl_multi_cleanup). Remove every easy handle first.
using MultiHandle = std::unique_ptr<CURLM, MultiDeleter>;

/// @throw fluxwatch::Error when libcurl cannot allocate a handle.
[[nodiscard]] inline EasyHandle make_easy() {
  EasyHandle handle(curl_easy_init());
  if (!handle) {
    throw Error("libcurl: curl_easy_init failed (out of memory?)");
  }
  return handle;
}

/// @throw fluxwatch::Error when libcurl cannot allocate a handle.
[[nodiscard]] inline MultiHandle make_multi() {
  MultiHandle handle(curl_multi_init());
  if (!handle) {
    throw Error("libcurl: curl_multi_init failed (out of memory?)");
  }
  return handle;
}

/// A curl_slist (header lines, CONNECT_TO entries) that frees itself. It must outlive every
/// transfer that uses it: libcurl keeps the pointer, not a copy.
class Slist {
 public:
  Slist() = default;
  /// Appends a copy of `line`. @throw fluxwatch::Error when out of memory.
  void append(const std::string& line) {
    curl_slist* grown = curl_slist_append(list_.get(), line.c_str());
    if (grown == nullptr) {
      throw Error("libcurl: curl_slist_append failed (out of memory?)");
    }
    static_cast<void>(list_.release());  // `grown` is the same list, now one longer
    list_.reset(grown);
  }
  [[nodiscard]] curl_slist* get() const noexcept { return list_.get(); }

 private:
  std::unique_ptr<curl_slist, SlistDeleter> list_;
};

/// curl_easy_setopt that throws naming the option when libcurl refuses it (e.g. a protocol
/// list this libcurl does not know).
template <typename Value>
void set(CURL* handle, CURLoption option, Value value, const char* name) {
  if (const CURLcode code = curl_easy_setopt(handle, option, value); code != CURLE_OK) {
    throw Error(std::string("libcurl: cannot set ") + name + ": " + curl_easy_strerror(code));
  }
}

}  // namespace fluxwatch::fetch::detail
