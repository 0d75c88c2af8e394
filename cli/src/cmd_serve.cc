// `fluxwatch serve`: the read-only web view (web/). `fluxwatch plot`: a domain's timeline
// and growth curves as an SVG or PNG file.
#include <fmt/format.h>
#include <pthread.h>
#include <spawn.h>
#include <spdlog/spdlog.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <fstream>
#include <memory>
#include <thread>

#include "context.h"
#include "fluxwatch/common/error.h"
#include "fluxwatch/web/charts.h"
#include "fluxwatch/web/pages.h"
#include "fluxwatch/web/queries.h"
#include "fluxwatch/web/server.h"
#include "fluxwatch/web/svg_plot.h"

extern char** environ;

namespace fluxwatch::cli {
namespace {

/// database.read_dsn, else the database every other command uses.
std::string reader_dsn(const config::Config& config) {
  return config.database.read_dsn.empty() ? database_dsn(config) : config.database.read_dsn;
}

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

/// Runs `argv` without a shell; its exit status, or -1 when it could not be started.
int run_program(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const auto& arg : argv) {
    args.push_back(const_cast<char*>(arg.c_str()));
  }
  args.push_back(nullptr);
  pid_t pid = 0;
  if (posix_spawnp(&pid, args[0], nullptr, nullptr, args.data(), environ) != 0) {
    return -1;
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

struct PlotFlags {
  std::string domain;
  std::string out;
  std::string since;
  std::string until;
};

int run_plot(const config::Config& config, const PlotFlags& flags) {
  const std::filesystem::path out(flags.out);
  const auto extension = out.extension().string();
  if (extension != ".svg" && extension != ".png") {
    throw ConfigError(fmt::format("--out {}: the file name must end in .svg or .png", flags.out));
  }
  web::Params params;
  if (!flags.since.empty()) {
    params["since"] = flags.since;
  }
  if (!flags.until.empty()) {
    params["until"] = flags.until;
  }
  std::string error;
  const auto window = web::time_window_from(params, std::chrono::system_clock::now(), error);
  if (!window) {
    throw ConfigError(error);
  }
  web::ReadStore store(reader_dsn(config));
  const auto history = store.domain(flags.domain, *window);
  if (!history) {
    fmt::print(stderr, "fluxwatch: {} is not on the watchlist (see `fluxwatch watchlist list`)\n",
               flags.domain);
    return kExitFailure;
  }
  const auto svg = web::plot_svg(*history);
  const auto svg_path = extension == ".svg" ? out : std::filesystem::path(flags.out + ".tmp.svg");
  {
    std::ofstream file(svg_path, std::ios::binary);
    file << svg;
    if (!file.flush()) {
      throw Error(fmt::format("cannot write {}", svg_path.string()));
    }
  }
  if (extension == ".png") {
    const int status = run_program(
        {"rsvg-convert", "--format", "png", "--output", out.string(), svg_path.string()});
    std::filesystem::remove(svg_path);
    if (status != 0) {
      throw Error(status < 0 ? "PNG needs rsvg-convert: install Debian's librsvg2-bin, or "
                               "write .svg"
                             : fmt::format("rsvg-convert failed (exit {})", status));
    }
  }
  const auto lookups = web::make_growth(history->sightings).size();
  spdlog::info("plot: {} lookups, {} address records of {} written to {}", lookups,
               history->sightings.size(), flags.domain, flags.out);
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

  auto flags = std::make_shared<PlotFlags>();
  auto* plot = app.add_subcommand(
      "plot",
      "Draw a domain's addresses over time (grouped by ASN, coloured by country) and its "
      "distinct addresses and ASNs against lookups, as an SVG or PNG file");
  plot->add_option("domain", flags->domain, "A watched domain")->required();
  plot->add_option("-o,--out", flags->out, "Output file: FILE.svg, or FILE.png (rsvg-convert)")
      ->required();
  plot->add_option("--since", flags->since,
                   "Window start: 2026-11-22T18:00:00Z, 2026-11-22, or a duration back from now "
                   "(30m, 24h, 7d). Default: the first probe");
  plot->add_option("--until", flags->until, "Window end (exclusive), same forms. Default: now");
  table.add(plot, [flags](const config::Config& config) { return run_plot(config, *flags); });
}

}  // namespace fluxwatch::cli
