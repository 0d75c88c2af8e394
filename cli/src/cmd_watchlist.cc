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
    return import_watchlist_url(
        config, {flags.file, flags.source, flags.tags, flags.strict, flags.format, flags.column});
  }
  // Streamed: each line goes to PostgreSQL by COPY as it is read, and duplicates are merged
  // there, so a watchlist of millions of lines takes no more memory than one of ten.
  const bool from_stdin = flags.file == "-";
  std::string source = flags.source;
  if (source.empty()) {
    source = from_stdin ? "stdin" : std::filesystem::path(flags.file).filename().string();
  }
  const std::string shown_name = from_stdin ? "stdin" : flags.file;
  std::size_t problems = 0;
  bool stdin_read = false;
  const auto produce = [&](const storage::WatchSink& add) {
    problems = 0;  // counted again if a lost connection makes the import start over
    std::ifstream file;
    if (from_stdin) {
      if (stdin_read) {
        throw Error(
            "the connection to PostgreSQL was lost while importing from standard "
            "input, which cannot be read twice: nothing was imported; run it again");
      }
      stdin_read = true;
    } else {
      file.open(flags.file);
      if (!file) {
        throw Error(fmt::format("cannot read watchlist {}: check the path", flags.file));
      }
    }
    std::istream& in = from_stdin ? std::cin : file;
    storage::WatchEntry row;
    row.source = source;
    watchlist::parse_each(
        in,
        [&](watchlist::Entry&& entry) {
          row.domain = std::move(entry.domain);
          row.tags = std::move(entry.tags);
          for (const auto& tag : flags.tags) {
            if (std::ranges::find(row.tags, tag) == row.tags.end()) {
              row.tags.push_back(tag);
            }
          }
          add(row);
        },
        [&](watchlist::Problem&& problem) {
          ++problems;
          spdlog::warn("{}:{}: skipped: {} (line: '{}')", shown_name, problem.line, problem.message,
                       problem.text);
        });
  };
  if (!from_stdin && !std::ifstream(flags.file)) {  // before connecting: the likelier mistake
    throw Error(fmt::format("cannot read watchlist {}: check the path", flags.file));
  }
  auto db = open_database(config);
  const auto stats = db.import_watchlist_stream(produce);
  const std::size_t domains = stats.added + stats.existing;
  fmt::print(
      "imported {} domain{} from {}: {} new, {} already watched, {} duplicate line{}, "
      "{} rejected line{}\n",
      domains, plural(domains), source, stats.added, stats.existing, stats.duplicates,
      plural(stats.duplicates), problems, plural(problems));
  return flags.strict && problems > 0 ? kExitPartial : kExitOk;
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
  import
      ->add_option("file", flags->file,
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
