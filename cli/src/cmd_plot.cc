// `fluxwatch plot DOMAIN --out FILE.svg|.png`: a domain's addresses over time and its growth
// curves (web/src/svg_plot.cc), for papers and tickets.
#include <fmt/format.h>
#include <spawn.h>
#include <spdlog/spdlog.h>
#include <sys/wait.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <fstream>
#include <memory>

#include "fluxwatch/common/error.h"
#include "fluxwatch/web/charts.h"
#include "fluxwatch/web/pages.h"
#include "fluxwatch/web/queries.h"
#include "fluxwatch/web/svg_plot.h"
#include "web_commands.h"

extern char** environ;

namespace fluxwatch::cli {
namespace {

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

void add_plot_command(CLI::App& app, CommandTable& table) {
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
