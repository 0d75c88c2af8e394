// Secrets out of what fluxwatch shows: the password of a PostgreSQL DSN.
#include <regex>

#include "fluxwatch/config/config.h"

namespace fluxwatch::config {

std::string redact_dsn(const std::string& dsn) {
  // URI form (RFC 3986 userinfo): postgresql://user:secret@host/db -> user:(redacted)@host.
  static const std::regex uri_password(R"(^(postgres(?:ql)?://[^:/@?#]*):[^@/?#]*@)",
                                       std::regex::icase);
  // Key/value form (libpq): password=secret or password = 'sec ret' (quotes may hold \').
  static const std::regex key_password(R"((\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s']+))",
                                       std::regex::icase);
  // A URI's ?password=... parameter.
  static const std::regex query_password(R"(([?&]password=)[^&#]*)", std::regex::icase);
  std::string out = std::regex_replace(dsn, uri_password, "$1:(redacted)@");
  if (out.find("://") == std::string::npos) {
    out = std::regex_replace(out, key_password, "$1(redacted)");
  } else {
    out = std::regex_replace(out, query_password, "$1(redacted)");
  }
  return out;
}

}  // namespace fluxwatch::config
