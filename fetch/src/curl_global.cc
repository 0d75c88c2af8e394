#include "fluxwatch/fetch/curl_global.h"

#include <curl/curl.h>

#include <string>

#include "fluxwatch/common/error.h"

namespace fluxwatch::fetch {

CurlGlobal::CurlGlobal() {
  if (const CURLcode code = curl_global_init(CURL_GLOBAL_DEFAULT); code != CURLE_OK) {
    throw Error(std::string("libcurl: curl_global_init failed: ") + curl_easy_strerror(code));
  }
}

CurlGlobal::~CurlGlobal() { curl_global_cleanup(); }

}  // namespace fluxwatch::fetch
