// `fluxwatch serve`: the read-only web view (web/). `fluxwatch plot` is in cmd_plot.cc.
#include <fmt/format.h>
#include <pthread.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <memory>
#include <thread>

#include "fluxwatch/common/error.h"
#include "fluxwatch/web/pages.h"
#include "fluxwatch/web/queries.h"
#include "fluxwatch/web/server.h"
#include "web_commands.h"

namespace fluxwatch::cli {
namespace {

std::vector<web::CampaignRow> campaign_rows(const config::Config& config) {
  std::vector<web::CampaignRow> rows;
  for (const auto& c : config.campaigns) {
    rows.push_back({c.name, c.tags, c.sources,
                    std::chrono::duration_cast<std::chrono::seconds>(c.base_interval), 0});
  }
  return rows;
}

int run_serve(const config::Config& config, const std::string& listen_flag) {
  const auto& listen_text = listen_flag.empty() ? config.serve.listen : listen_flag;
  const auto listen = web::parse_listen(listen_text);
  if (!listen) {
    throw ConfigError(fmt::format(
        "serve.listen '{}': expected HOST:PORT such as 127.0.0.1:8080 or [::1]:8080", listen_text));
  }
  web::require_token_off_loopback(*listen, config.serve.token);  // before touching the database
  web::ServeOptions options;
  options.listen = *listen;
  options.token = config.serve.token;
  options.dsn = reader_dsn(config);
  options.campaigns = campaign_rows(config);
  {
    // Fail now, with the reason, rather than on the first page.
    web::ReadStore probe(options.dsn);
    if (!probe.reader_role()) {
      spdlog::info(
          "serve: the database login is not a member of fluxwatch_reader; pages are "
          "read in read-only transactions");
    }
  }

  // SIGINT/SIGTERM are taken by one thread that stops the server: blocked here, before the
  // server's threads start, so they inherit the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  web::WebServer server(std::move(options));
  std::thread waiter([&server, signals] {
    int signal = 0;
    sigwait(&signals, &signal);
    server.stop();
  });
  const auto host =
      listen->host.find(':') == std::string::npos ? listen->host : "[" + listen->host + "]";
  fmt::print("fluxwatch serve: http://{}:{}/\n", host, server.port());
  std::fflush(stdout);
  spdlog::info("serving the web view on http://{}:{}/ (Ctrl-C stops)", host, server.port());
  server.run();
  pthread_kill(waiter.native_handle(), SIGTERM);  // returns the waiter if run() ended alone
  waiter.join();
  return kExitOk;
}

}  // namespace

void add_serve_commands(CLI::App& app, CommandTable& table) {
  auto listen = std::make_shared<std::string>();
  auto* serve = app.add_subcommand(
      "serve",
      "Serve the read-only web view of the history: overview, domains table (CSV/JSON), one "
      "page per domain and address with charts (loopback only unless serve.token is set)");
  serve->add_option("--listen", *listen,
                    "HOST:PORT to listen on (default: serve.listen, 127.0.0.1:8080; port 0 "
                    "picks a free one and prints it)");
  table.add(serve, [listen](const config::Config& config) { return run_serve(config, *listen); });

  add_plot_command(app, table);
}

}  // namespace fluxwatch::cli
