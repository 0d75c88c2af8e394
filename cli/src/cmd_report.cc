// `fluxwatch report`: the per-domain summary.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <memory>

#include "context.h"
#include "fluxwatch/report/report.h"

namespace fluxwatch::cli {

void add_report_commands(CLI::App& app, CommandTable& table) {
  auto format = std::make_shared<std::string>("table");
  auto* report_cmd = app.add_subcommand(
      "report",
      "Per-domain summary: probes, distinct addresses, ASNs, countries, NS names, min TTL, "
      "last outcome");
  report_cmd->add_option("--format", *format, "table, csv or json (csv/json: stable for scripts)")
      ->check(CLI::IsMember({"table", "csv", "json"}));
  table.add(report_cmd, [format](const config::Config& config) {
    auto db = open_database(config);
    fmt::print("{}", report::render(db.summaries(), *report::parse_format(*format)));
    return kExitOk;
  });
}

}  // namespace fluxwatch::cli
