// `fluxwatch watchlist import|list|remove|tag|untag`.
#include <fmt/chrono.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <array>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <nlohmann/json.hpp>

#include "context.h"
#include "fetch_commands.h"
#include "fluxwatch/common/domain_name.h"
#include "fluxwatch/common/error.h"
#include "fluxwatch/fetch/feeds.h"
#include "fluxwatch/storage/watchlist_store.h"
#include "fluxwatch/watchlist/parser.h"
#include "names.h"

namespace fluxwatch::cli {
namespace {

/// A gzip-compressed local watchlist (read whole, not streamed) larger than this is refused,
/// as is one that decompresses to more (the same bound as a feed download).
constexpr std::size_t kMaxLocalBytes = std::size_t{1} << 30;

struct ImportFlags {
  std::string file;
  std::string source;
  std::vector<std::string> tags;
  bool strict = false;
  std::string format;             // plain, csv, jsonl; empty: plain, or from the file name
  std::string column = "domain";  // csv column / jsonl field
  bool column_given = false;
};

/// The format to read `file` in: --format, else csv when --column was given, else jsonl for
/// *.jsonl / *.ndjson, else plain (the watchlist format, which reads CSV with a `domain`
/// header too).
fetch::FeedFormat import_format(const ImportFlags& flags) {
  if (!flags.format.empty()) {
    return *fetch::parse_feed_format(flags.format);  // CLI11 checked the spelling
  }
  if (flags.column_given) {
    return fetch::FeedFormat::Csv;
  }
  const auto extension = std::filesystem::path(flags.file).extension().string();
  if (extension == ".jsonl" || extension == ".ndjson") {
    return fetch::FeedFormat::JsonLines;
  }
  return fetch::FeedFormat::Plain;
}

std::string read_all(std::istream& in, const std::string& name) {
  std::string content;
  std::array<char, 1 << 16> buffer{};
  while (in.read(buffer.data(), buffer.size()) || in.gcount() > 0) {
    content.append(buffer.data(), static_cast<std::size_t>(in.gcount()));
    if (content.size() > kMaxLocalBytes) {
      throw Error(fmt::format("{}: larger than {} bytes; split it", name, kMaxLocalBytes));
    }
  }
  return content;
}

/// True when `in` starts with the gzip magic byte (a plain, csv or jsonl watchlist never
/// starts with the control character 0x1f). Reads nothing.
bool looks_gzipped(std::istream& in) { return in.rdbuf()->sgetc() == 0x1f; }

int run_import(const config::Config& config, const ImportFlags& flags) {
  check_tags(flags.tags, "--tag");
  if (is_fetchable_url(flags.file)) {  // http, https, file: through the fetcher, as a feed
    const auto format = fetch::feed_format_name(import_format(flags));
    return import_watchlist_url(config, {flags.file, flags.source, flags.tags, flags.strict,
                                         std::string(format), flags.column});
  }
  // Streamed: each line goes to PostgreSQL by COPY as it is read, and duplicates are merged
  // there, so a watchlist of millions of lines takes no more memory than one of ten. The
  // same parsers as feeds (csv/jsonl columns, every name normalised); a gzip-compressed
  // input is decompressed whole (bounded), as a feed is.
  const bool from_stdin = flags.file == "-";
  const std::string shown_name = from_stdin ? "stdin" : flags.file;
  const auto format = import_format(flags);
  std::string source = flags.source;
  if (source.empty()) {
    source = from_stdin ? "stdin" : std::filesystem::path(flags.file).filename().string();
  }
  std::size_t problems = 0;
  std::size_t accepted = 0;
  bool stdin_read = false;
  const auto produce = [&](const storage::WatchSink& add) {
    problems = 0;  // counted again if a lost connection makes the import start over
    accepted = 0;
    std::ifstream file;
    if (from_stdin) {
      if (stdin_read) {
        throw Error(
            "the connection to PostgreSQL was lost while importing from standard "
            "input, which cannot be read twice: nothing was imported; run it again");
      }
      stdin_read = true;
    } else {
      file.open(flags.file, std::ios::binary);
      if (!file) {
        throw Error(fmt::format("cannot read watchlist {}: check the path", flags.file));
      }
    }
    std::istream& in = from_stdin ? std::cin : file;
    storage::WatchEntry row;
    row.source = source;
    const auto on_entry = [&](watchlist::Entry&& entry) {
      ++accepted;
      row.domain = std::move(entry.domain);
      row.tags = std::move(entry.tags);
      for (const auto& tag : flags.tags) {
        if (std::ranges::find(row.tags, tag) == row.tags.end()) {
          row.tags.push_back(tag);
        }
      }
      add(row);
    };
    const auto on_problem = [&](watchlist::Problem&& problem) {
      ++problems;
      spdlog::warn("{}:{}: skipped: {} (line: '{}')", shown_name, problem.line, problem.message,
                   problem.text);
    };
    const auto on_tag_problem = [&](watchlist::Problem&& problem) {
      spdlog::warn("{}:{}: tag left off: {} (line: '{}')", shown_name, problem.line,
                   problem.message, problem.text);
    };
    if (looks_gzipped(in)) {
      auto parsed =
          fetch::parse_feed(read_all(in, shown_name), format, flags.column, kMaxLocalBytes);
      for (auto& problem : parsed.problems) {
        on_problem(std::move(problem));
      }
      for (auto& problem : parsed.tag_problems) {
        on_tag_problem(std::move(problem));
      }
      for (auto& entry : parsed.entries) {
        on_entry(std::move(entry));
      }
      return;
    }
    fetch::parse_feed_each(in, format, flags.column, on_entry, on_problem, on_tag_problem);
  };
  if (!from_stdin && !std::ifstream(flags.file)) {  // before connecting: the likelier mistake
    throw Error(fmt::format("cannot read watchlist {}: check the path", flags.file));
  }
  auto db = open_database(config);
  const auto stats = db.import_watchlist_stream(produce);
  if (accepted == 0 && problems > 0) {
    fmt::print(stderr,
               "fluxwatch: {}: no domain imported, every one of {} line{} was rejected: is it "
               "read in the right format ({})? See --format plain|csv|jsonl and --column\n",
               shown_name, problems, plural(problems), fetch::feed_format_name(format));
    return kExitFailure;
  }
  const std::size_t domains = stats.added + stats.existing;
  fmt::print(
      "imported {} domain{} from {}: {} new, {} already watched, {} duplicate line{}, "
      "{} rejected line{}\n",
      domains, plural(domains), source, stats.added, stats.existing, stats.duplicates,
      plural(stats.duplicates), problems, plural(problems));
  return flags.strict && problems > 0 ? kExitPartial : kExitOk;
}

struct ListFlags {
  std::string format = "text";
  bool long_form = false;
  SelectionFlags selection;
};

std::string time_text(std::chrono::system_clock::time_point when) {
  return fmt::format("{:%Y-%m-%dT%H:%M:%SZ}",
                     std::chrono::time_point_cast<std::chrono::seconds>(when));
}

std::string unicode_form(const std::string& domain) { return unicode_domain(domain); }

int run_list(const config::Config& config, const ListFlags& flags) {
  [[maybe_unused]] auto db = open_database(config);  // migrates
  storage::WatchlistStore store(database_dsn(config));
  const auto rows = store.rows(selection_filter(flags.selection));
  if (flags.format == "json") {
    auto array = nlohmann::json::array();
    for (const auto& row : rows) {
      nlohmann::json item{{"id", row.id}, {"domain", row.domain}};
      if (flags.long_form) {
        item["unicode"] = unicode_form(row.domain);
        item["source"] = row.source;
        item["tags"] = row.tags;
        item["added_at"] = time_text(row.added_at);
      }
      array.push_back(std::move(item));
    }
    fmt::print("{}\n", array.dump(2, ' ', false, nlohmann::json::error_handler_t::replace));
    return kExitOk;
  }
  if (!flags.long_form) {
    for (const auto& row : rows) {
      fmt::print("{}\n", row.domain);
    }
    return kExitOk;
  }
  // Tab-separated: names, sources and tags never hold tabs (normalised / checked).
  fmt::print("domain\tunicode\tsource\ttags\tadded_at\n");
  for (const auto& row : rows) {
    fmt::print("{}\t{}\t{}\t{}\t{}\n", row.domain, unicode_form(row.domain),
               row.source.empty() ? "-" : row.source,
               row.tags.empty() ? "-" : fmt::format("{}", fmt::join(row.tags, ";")),
               time_text(row.added_at));
  }
  return kExitOk;
}

struct EditFlags {
  std::vector<std::string> domains;
  std::string tag;
  bool from_stdin = false;
};

/// The domains named on the command line, or read from stdin (one per line) with `-`.
std::vector<std::string> edit_targets(const EditFlags& flags, std::string_view what) {
  if (flags.domains.size() == 1 && flags.domains.front() == "-") {
    const auto parsed = watchlist::parse(std::cin);
    for (const auto& problem : parsed.problems) {
      spdlog::warn("stdin:{}: skipped: {} (line: '{}')", problem.line, problem.message,
                   problem.text);
    }
    std::vector<std::string> names;
    for (const auto& entry : parsed.entries) {
      names.push_back(entry.domain);
    }
    return names;
  }
  return normalise_domain_args(flags.domains, what);
}

int run_remove(const config::Config& config, const EditFlags& flags) {
  const auto names = edit_targets(flags, "watchlist remove");
  [[maybe_unused]] auto db = open_database(config);
  storage::WatchlistStore store(database_dsn(config));
  const auto removed = store.remove(names);
  for (const auto& name : names) {
    if (std::ranges::find(removed, name) == removed.end()) {
      spdlog::warn("{}: not on the watchlist", name);
    }
  }
  fmt::print(
      "removed {} domain{} from the watchlist (their probes and scores are kept; "
      "importing them again watches them again)\n",
      removed.size(), plural(removed.size()));
  return removed.size() == names.size() ? kExitOk : kExitPartial;
}

int run_tag(const config::Config& config, const EditFlags& flags, bool add) {
  const std::vector<std::string> tags{flags.tag};
  check_tags(tags, add ? "watchlist tag" : "watchlist untag");
  const auto names = edit_targets(flags, add ? "watchlist tag" : "watchlist untag");
  [[maybe_unused]] auto db = open_database(config);
  storage::WatchlistStore store(database_dsn(config));
  const auto watched = store.find(names);
  for (const auto& name : names) {
    if (std::ranges::none_of(watched, [&](const auto& w) { return w.domain == name; })) {
      spdlog::warn("{}: not on the watchlist", name);
    }
  }
  const auto changed = add ? store.add_tags(names, tags) : store.remove_tags(names, tags);
  fmt::print("tag '{}' {} {} of {} domain{}\n", flags.tag, add ? "added to" : "removed from",
             changed, names.size(), plural(names.size()));
  return watched.size() == names.size() ? kExitOk : kExitPartial;
}

}  // namespace

void add_watchlist_commands(CLI::App& app, CommandTable& table) {
  auto* watchlist_cmd = app.add_subcommand("watchlist", "Manage the watchlist");
  watchlist_cmd->require_subcommand(1);

  auto flags = std::make_shared<ImportFlags>();
  auto* import = watchlist_cmd->add_subcommand(
      "import",
      "Import domains from FILE ('-' for stdin) or a URL: one per line, '#' comments, optional\n"
      "CSV columns domain,tags (tags separated by ';'); or --format csv/jsonl with --column.\n"
      "A file is streamed (memory stays flat whatever its size). Bad lines are reported with\n"
      "their line number and skipped; re-importing never duplicates a domain (and watches a\n"
      "removed one again).");
  import
      ->add_option("file", flags->file,
                   "Watchlist file, - for standard input, or an http(s):// or file:// URL")
      ->required();
  import->add_option("--source", flags->source,
                     "Source label stored with the domains (default: the file name)");
  import
      ->add_option("--tag", flags->tags,
                   "Tag to add to every imported domain (repeatable; inner spaces kept)")
      ->expected(1)
      ->take_all()
      ->allow_extra_args(false);
  import->add_flag("--strict", flags->strict, "Exit with status 3 if any line was rejected");
  import
      ->add_option("--format", flags->format,
                   "plain, csv or jsonl, for files, stdin and URLs alike (default: plain; csv "
                   "when --column is given; jsonl for *.jsonl and *.ndjson files)")
      ->check(CLI::IsMember({"plain", "csv", "jsonl"}));
  import
      ->add_option("--column", flags->column, "The csv column / jsonl field holding the domain")
      ->each([flags](const std::string&) { flags->column_given = true;
})
      ->capture_default_str();
table.add(import, [flags](const config::Config& config) { return run_import(config, *flags); });

auto list_flags = std::make_shared<ListFlags>();
auto* list = watchlist_cmd->add_subcommand("list", "Print the watched domains");
list->add_option("--format", list_flags->format,
                 "text (one per line, tab-separated with --long) or json")
    ->check(CLI::IsMember({"text", "json"}))
    ->capture_default_str();
list->add_flag("-l,--long", list_flags->long_form,
               "Every column: domain, Unicode form, source, tags, added_at");
add_selection_flags(list, list_flags->selection, "list");
table.add(list,
          [list_flags](const config::Config& config) { return run_list(config, *list_flags); });

auto remove_flags = std::make_shared<EditFlags>();
auto* remove = watchlist_cmd->add_subcommand(
    "remove",
    "Stop watching DOMAIN... ('-': names from stdin). Their probes and scores are kept.\n"
    "Exit status 3 when some were not on the watchlist");
remove->add_option("domains", remove_flags->domains, "Domains (or - for stdin)")->required();
table.add(remove, [remove_flags](const config::Config& config) {
  return run_remove(config, *remove_flags);
});

for (const bool add : {true, false}) {
  auto edit = std::make_shared<EditFlags>();
  auto* command = watchlist_cmd->add_subcommand(
      add ? "tag" : "untag",
      add ? "Add TAG to watched DOMAIN... (tags may hold inner spaces; not , ; |)"
          : "Remove TAG from watched DOMAIN...");
  command->add_option("tag", edit->tag, "The tag")->required();
  command->add_option("domains", edit->domains, "Domains (or - for stdin)")->required();
  table.add(command,
            [edit, add](const config::Config& config) { return run_tag(config, *edit, add); });
}
}  // namespace fluxwatch::cli

}  // namespace fluxwatch::cli
