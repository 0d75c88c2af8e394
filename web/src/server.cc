#include "fluxwatch/web/server.h"

#include <httplib.h>
#include <spdlog/spdlog.h>

#include <fstream>
#include <sstream>

#include "assets.h"
#include "fluxwatch/common/address_scope.h"
#include "fluxwatch/common/error.h"
#include "fluxwatch/web/pages.h"
#include "fluxwatch/web/queries.h"

namespace fluxwatch::web {
namespace {

std::optional<std::string> base64_decode(std::string_view text) {
  std::string out;
  std::uint32_t buffer = 0;
  int bits = 0;
  for (char c : text) {
    int value = -1;
    if (c >= 'A' && c <= 'Z') {
      value = c - 'A';
    } else if (c >= 'a' && c <= 'z') {
      value = c - 'a' + 26;
    } else if (c >= '0' && c <= '9') {
      value = c - '0' + 52;
    } else if (c == '+') {
      value = 62;
    } else if (c == '/') {
      value = 63;
    } else if (c == '=') {
      break;
    } else {
      return std::nullopt;
    }
    buffer = (buffer << 6) | static_cast<std::uint32_t>(value);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buffer >> bits) & 0xFF);
    }
  }
  return out;
}

bool same_secret(std::string_view given, std::string_view expected) {
  // Every byte of the expected token is compared, whatever the given text is.
  unsigned char diff = given.size() == expected.size() ? 0 : 1;
  for (std::size_t i = 0; i < expected.size(); ++i) {
    diff |= static_cast<unsigned char>(expected[i] ^ (i < given.size() ? given[i] : 0));
  }
  return diff == 0;
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return {};
  }
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

Params params_of(const httplib::Request& request) {
  Params params;
  for (const auto& [name, value] : request.params) {
    params.emplace(name, value);  // the first value of a repeated name
  }
  return params;
}

void html(httplib::Response& response, int status, const std::string& body) {
  response.status = status;
  response.set_content(body, "text/html; charset=utf-8");
}

}  // namespace

std::optional<ListenAddress> parse_listen(const std::string& text) {
  std::string host;
  std::string port;
  if (text.starts_with('[')) {
    const auto close = text.find("]:");
    if (close == std::string::npos) {
      return std::nullopt;
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string::npos || text.find(':') != colon) {
      return std::nullopt;
    }
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  if (host.empty() || port.empty() || port.size() > 5 ||
      port.find_first_not_of("0123456789") != std::string::npos || std::stoul(port) > 65535) {
    return std::nullopt;
  }
  return ListenAddress{host, static_cast<std::uint16_t>(std::stoul(port))};
}

bool is_loopback(const std::string& host) {
  if (host == "localhost") {
    return true;
  }
  const auto address = IpAddress::parse(host);
  return address && fluxwatch::is_loopback(*address);
}

void require_token_off_loopback(const ListenAddress& listen, const std::string& token) {
  if (!is_loopback(listen.host) && token.empty()) {
    throw ConfigError("serve.listen " + listen.host +
                      " is not a loopback address: set serve.token (a bearer token or password) "
                      "before serving to the network, or listen on 127.0.0.1");
  }
}

bool authorised(const std::string& authorization, const std::string& token) {
  if (token.empty()) {
    return true;
  }
  if (authorization.starts_with("Bearer ")) {
    return same_secret(std::string_view(authorization).substr(7), token);
  }
  if (authorization.starts_with("Basic ")) {
    const auto decoded = base64_decode(std::string_view(authorization).substr(6));
    const auto colon = decoded ? decoded->find(':') : std::string::npos;
    return colon != std::string::npos &&
           same_secret(std::string_view(*decoded).substr(colon + 1), token);
  }
  return false;
}

struct WebServer::Impl {
  ServeOptions options;
  httplib::Server server;
  std::string chart_js;

  void routes();
  /// A page read in one session of its own (libpq connections are not shared by threads).
  void page(httplib::Response& response, const std::function<std::string(ReadStore&)>& render) {
    ReadStore store(options.dsn);
    html(response, 200, render(store));
  }
};

void WebServer::Impl::routes() {
  server.set_pre_routing_handler(
      [this](const httplib::Request& request, httplib::Response& response) {
        if (authorised(request.get_header_value("Authorization"), options.token)) {
          return httplib::Server::HandlerResponse::Unhandled;
        }
        response.set_header("WWW-Authenticate", "Basic realm=\"fluxwatch\", charset=\"UTF-8\"");
        html(response, 401, render_error(401, "This fluxwatch needs its serve.token."));
        return httplib::Server::HandlerResponse::Handled;
      });
  server.set_post_routing_handler([](const httplib::Request&, httplib::Response& response) {
    response.set_header("Content-Security-Policy", kContentSecurityPolicy);
    response.set_header("X-Content-Type-Options", "nosniff");
    response.set_header("Referrer-Policy", "no-referrer");
    response.set_header("X-Frame-Options", "DENY");
  });
  server.set_exception_handler([](const httplib::Request& request, httplib::Response& response,
                                  std::exception_ptr error) {
    std::string what = "unknown error";
    try {
      std::rethrow_exception(error);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    spdlog::warn("serve: {} {}: {}", request.method, request.path, what);
    html(response, 500, render_error(500, "The database could not answer; see fluxwatch's log."));
  });
  server.set_error_handler([](const httplib::Request&, httplib::Response& response) {
    if (response.body.empty()) {
      html(response, response.status, render_error(response.status, "No such page."));
    }
  });

  server.Get("/static/chart.min.js", [this](const httplib::Request&, httplib::Response& response) {
    response.set_header("Cache-Control", "max-age=86400");
    response.set_content(chart_js, "text/javascript; charset=utf-8");
  });
  server.Get("/static/fluxwatch.js", [](const httplib::Request&, httplib::Response& response) {
    response.set_content(std::string(assets::kFluxwatchJs), "text/javascript; charset=utf-8");
  });
  server.Get("/static/fluxwatch.css", [](const httplib::Request&, httplib::Response& response) {
    response.set_content(std::string(assets::kFluxwatchCss), "text/css; charset=utf-8");
  });
  server.Get("/healthz", [](const httplib::Request&, httplib::Response& response) {
    response.set_content("ok\n", "text/plain");
  });

  server.Get("/", [this](const httplib::Request&, httplib::Response& response) {
    page(response,
         [this](ReadStore& store) { return render_overview(store.overview(options.campaigns)); });
  });
  server.Get("/domains", [this](const httplib::Request& request, httplib::Response& response) {
    const auto query = domain_query_from(params_of(request), options.campaigns);
    page(response, [&](ReadStore& store) {
      return render_domains(store.domains(query), query, options.campaigns);
    });
  });
  server.Get(R"(/domains\.(csv|json))", [this](const httplib::Request& request,
                                               httplib::Response& response) {
    auto query = domain_query_from(params_of(request), options.campaigns);
    // The whole selection, not one page of it.
    const bool paged = request.has_param("limit") || request.has_param("offset");
    if (!paged) {
      query.offset = 0;
      query.limit = std::numeric_limits<std::int32_t>::max();
    }
    ReadStore store(options.dsn);
    const auto rows = store.domains(query);
    if (request.matches[1] == "csv") {
      response.set_header("Content-Disposition", "attachment; filename=\"fluxwatch-domains.csv\"");
      response.set_content(domains_csv(rows), "text/csv; charset=utf-8");
    } else {
      response.set_content(domains_json(rows), "application/json");
    }
  });
  server.Get(
      R"(/domain/([^/]+))", [this](const httplib::Request& request, httplib::Response& response) {
        const auto params = params_of(request);
        std::string error;
        const auto window = time_window_from(params, std::chrono::system_clock::now(), error);
        if (!window) {
          html(response, 400, render_error(400, error));
          return;
        }
        ReadStore store(options.dsn);
        const auto history = store.domain(request.matches[1], *window);
        if (!history) {
          html(response, 404,
               render_error(404, std::string(request.matches[1]) + " is not on the watchlist."));
          return;
        }
        html(response, 200, render_domain(*history, params));
      });
  server.Get(
      R"(/address/([^/]+))", [this](const httplib::Request& request, httplib::Response& response) {
        ReadStore store(options.dsn);
        const auto history = store.address(request.matches[1]);
        if (!history) {
          html(response, 404,
               render_error(404, std::string(request.matches[1]) + " is not an IP address."));
          return;
        }
        html(response, 200, render_address(*history));
      });
}

WebServer::WebServer(ServeOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  const auto& listen = impl_->options.listen;
  require_token_off_loopback(listen, impl_->options.token);
  impl_->chart_js = read_file(impl_->options.chart_js);
  if (impl_->chart_js.empty()) {
    throw ConfigError("cannot read Chart.js at " + impl_->options.chart_js.string() +
                      ": install Debian's libjs-chart.js (deploy/install-deps)");
  }
  impl_->routes();
  if (listen.port == 0) {
    const int port = impl_->server.bind_to_any_port(listen.host);
    port_ = port > 0 ? static_cast<std::uint16_t>(port) : 0;
  } else if (impl_->server.bind_to_port(listen.host, listen.port)) {
    port_ = listen.port;
  }
  if (port_ == 0) {
    throw ConfigError("cannot listen on " + listen.host + ":" + std::to_string(listen.port) +
                      ": the address is in use or not local (serve.listen / --listen)");
  }
}

WebServer::~WebServer() = default;

void WebServer::run() { impl_->server.listen_after_bind(); }

void WebServer::stop() { impl_->server.stop(); }

}  // namespace fluxwatch::web
