#include "fluxwatch/common/redact.h"

#include <string_view>

namespace fluxwatch {

std::string redact_url(const std::string& url) {
  std::string out = url;
  if (const auto scheme = out.find("://"); scheme != std::string::npos) {
    const auto host_start = scheme + 3;
    const auto path_start = out.find_first_of("/?#", host_start);
    const auto at = out.rfind('@', path_start == std::string::npos ? out.size() : path_start);
    if (at != std::string::npos && at >= host_start) {
      out.erase(host_start, at + 1 - host_start);
    }
  }
  if (const auto query = out.find('?'); query != std::string::npos) {
    std::string redacted = out.substr(0, query + 1);
    std::string_view rest(out);
    rest.remove_prefix(query + 1);
    bool first = true;
    while (!rest.empty()) {
      const auto amp = rest.find('&');
      const auto pair = rest.substr(0, amp);
      const auto eq = pair.find('=');
      redacted += first ? "" : "&";
      redacted += eq == std::string_view::npos ? std::string(pair)
                                               : std::string(pair.substr(0, eq)) + "=...";
      first = false;
      if (amp == std::string_view::npos) {
        break;
      }
      rest.remove_prefix(amp + 1);
    }
    out = redacted;
  }
  return out;
}

}  // namespace fluxwatch
