#pragma once
/// `fluxwatch serve`: the read-only web view over HTTP (cpp-httplib).
///
/// Routes: / (overview), /domains (+ /domains.csv, /domains.json), /domain/NAME,
/// /address/ADDR, /static/{chart.min.js,fluxwatch.js,fluxwatch.css}, /healthz.
/// Every answer carries a Content-Security-Policy that allows scripts, styles and images
/// from fluxwatch itself only, and no inline script.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "fluxwatch/web/model.h"

namespace fluxwatch::web {

/// "127.0.0.1:8080", "[::1]:8080", "localhost:8080" (port 0: any free port).
struct ListenAddress {
  std::string host;
  std::uint16_t port = 0;
};
/// nullopt when `text` is not HOST:PORT.
[[nodiscard]] std::optional<ListenAddress> parse_listen(const std::string& text);
/// 127.0.0.0/8, ::1 and "localhost".
[[nodiscard]] bool is_loopback(const std::string& host);

/// @throw ConfigError when `listen` is not a loopback address and no token is set: a web
/// view of the history goes to the network only behind a token.
void require_token_off_loopback(const ListenAddress& listen, const std::string& token);

/// Whether an Authorization header value carries `token`: "Bearer TOKEN", or HTTP Basic
/// with TOKEN as the password (any user name), so a browser can log in. Constant time in the
/// token's content.
[[nodiscard]] bool authorised(const std::string& authorization, const std::string& token);

/// The Content-Security-Policy of every answer.
inline constexpr const char* kContentSecurityPolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

struct ServeOptions {
  ListenAddress listen{"127.0.0.1", 8080};
  std::string token;                   ///< serve.token: required for a non-loopback address
  std::string dsn;                     ///< database.read_dsn, or the database in use
  std::vector<CampaignRow> campaigns;  ///< from the config (domain counts are filled in)
  /// Chart.js from Debian's libjs-chart.js.
  std::filesystem::path chart_js = "/usr/share/javascript/chart.js/chart.min.js";
};

/// The HTTP server. Construction checks the options and binds; run() serves until stop().
class WebServer {
 public:
  /// @throw ConfigError for a non-loopback address without a token, a missing Chart.js or
  /// an address that cannot be bound.
  explicit WebServer(ServeOptions options);
  ~WebServer();
  WebServer(const WebServer&) = delete;
  WebServer& operator=(const WebServer&) = delete;

  /// The bound port (the real one when the options asked for port 0).
  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
  /// Serves on the calling thread until stop().
  void run();
  /// Safe from another thread.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::uint16_t port_ = 0;
};

}  // namespace fluxwatch::web
