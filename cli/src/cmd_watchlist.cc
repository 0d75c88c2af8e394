// `fluxwatch watchlist import|list`.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "context.h"
#include "fetch_commands.h"
#include "fluxwatch/common/error.h"
#include "fluxwatch/watchlist/parser.h"

namespace fluxwatch::cli {
namespace {

struct ImportFlags {
  std::string file;
  std::string source;
  std::vector<std::string> tags;
  bool strict = false;
  std::string format = "plain";   // URL imports: plain, csv, jsonl
  std::string column = "domain";  // URL imports: csv column / jsonl field
};

int run_import(const config::Config& config, const ImportFlags& flags) {
  if (is_fetchable_url(flags.file)) {  // http, https, file: through the fetcher, as a feed
    return import_watchlist_url(config, {flags.file, flags.source, flags.tags, flags.strict,
                                         flags.format, flags.column});
  }
  watchlist::ParseResult parsed;
  const bool from_stdin = flags.file == "-";
  std::string source = flags.source;
  if (from_stdin) {
    parsed = watchlist::parse(std::cin);
    source = source.empty() ? "stdin" : source;
  } else {
    std::ifstream in(flags.file);
    if (!in) {
      throw Error(fmt::format("cannot read watchlist {}: check the path", flags.file));
    }
    parsed = watchlist::parse(in);
    source = source.empty() ? std::filesystem::path(flags.file).filename().string() : source;
  }
  for (const auto& problem : parsed.problems) {
    spdlog::warn("{}:{}: skipped: {} (line: '{}')", from_stdin ? "stdin" : flags.file,
                 problem.line, problem.message, problem.text);
  }
  std::vector<storage::WatchEntry> entries;
  entries.reserve(parsed.entries.size());
  for (auto& entry : parsed.entries) {
    auto tags = std::move(entry.tags);
    for (const auto& tag : flags.tags) {
      if (std::ranges::find(tags, tag) == tags.end()) {
        tags.push_back(tag);
      }
    }
    entries.push_back({std::move(entry.domain), source, std::move(tags)});
  }
  auto db = open_database(config);
  const auto stats = db.import_watchlist(entries);
  fmt::print("imported {} domain{} from {}: {} new, {} already watched, {} duplicate line{}, "
             "{} rejected line{}\n",
             entries.size(), plural(entries.size()), source, stats.added, stats.existing,
             parsed.duplicates, plural(parsed.duplicates), parsed.problems.size(),
             plural(parsed.problems.size()));
  return flags.strict && !parsed.problems.empty() ? kExitPartial : kExitOk;
}

int run_list(const config::Config& config, const std::string& format) {
  auto db = open_database(config);
  const auto domains = db.watched_domains();
  if (format == "json") {
    auto array = nlohmann::json::array();
    for (const auto& domain : domains) {
      array.push_back({{"id", domain.id}, {"domain", domain.domain}});
    }
    fmt::print("{}\n", array.dump(2));
  } else {
    for (const auto& domain : domains) {
      fmt::print("{}\n", domain.domain);
    }
  }
  return kExitOk;
}

}  // namespace

void add_watchlist_commands(CLI::App& app, CommandTable& table) {
  auto* watchlist_cmd = app.add_subcommand("watchlist", "Manage the watchlist");
  watchlist_cmd->require_subcommand(1);

  auto flags = std::make_shared<ImportFlags>();
  auto* import = watchlist_cmd->add_subcommand(
      "import",
      "Import domains from FILE ('-' for stdin): one per line, '#' comments, optional CSV\n"
      "columns domain,tags (tags separated by ';'). Bad lines are reported with their line\n"
      "number and skipped; re-importing never duplicates a domain.");
  import->add_option("file", flags->file,
                     "Watchlist file, - for standard input, or an http(s):// or file:// URL")
      ->required();
  import->add_option("--source", flags->source,
                     "Source label stored with the domains (default: the file name)");
  import->add_option("--tag", flags->tags, "Tag to add to every imported domain (repeatable)");
  import->add_flag("--strict", flags->strict, "Exit with status 3 if any line was rejected");
  import->add_option("--format", flags->format, "For URLs: plain, csv or jsonl")
      ->check(CLI::IsMember({"plain", "csv", "jsonl"}));
  import->add_option("--column", flags->column, "For URLs: the csv column / jsonl field");
  table.add(import, [flags](const config::Config& config) { return run_import(config, *flags); });

  auto format = std::make_shared<std::string>("text");
  auto* list = watchlist_cmd->add_subcommand("list", "Print the watched domains");
  list->add_option("--format", *format, "text (one per line) or json")
      ->check(CLI::IsMember({"text", "json"}));
  table.add(list, [format](const config::Config& config) { return run_list(config, *format); });
}

}  // namespace fluxwatch::cli
