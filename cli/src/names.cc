#include "names.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <sstream>

#include "fluxwatch/common/error.h"
#include "fluxwatch/watchlist/parser.h"

namespace fluxwatch::cli {

NormalisedName normalise_name(std::string_view text) {
  std::istringstream in{std::string(text)};
  auto parsed = watchlist::parse(in);
  if (parsed.entries.size() == 1 && parsed.problems.empty() && parsed.lines == 1) {
    return std::move(parsed.entries.front().domain);
  }
  return NameError{parsed.problems.empty() ? std::string("not one domain name")
                                           : parsed.problems.front().message};
}

std::string normalise_domain_arg(std::string_view text, std::string_view what) {
  auto normalised = normalise_name(text);
  if (auto* name = std::get_if<std::string>(&normalised)) {
    return std::move(*name);
  }
  throw ConfigError(
      fmt::format("{} '{}': {}", what, text, std::get<NameError>(normalised).message));
}

std::vector<std::string> normalise_domain_args(const std::vector<std::string>& texts,
                                               std::string_view what) {
  std::vector<std::string> out;
  out.reserve(texts.size());
  for (const auto& text : texts) {
    out.push_back(normalise_domain_arg(text, what));
  }
  return out;
}

void check_tags(const std::vector<std::string>& tags, std::string_view what) {
  for (const auto& tag : tags) {
    if (auto error = watchlist::tag_error(tag); !error.empty()) {
      throw ConfigError(fmt::format("{} '{}': {}", what, tag, error));
    }
  }
}

std::vector<Endpoint> parse_resolver_flags(const std::vector<std::string>& texts) {
  std::vector<Endpoint> out;
  for (const auto& text : texts) {
    auto endpoint = parse_endpoint(text);
    if (!endpoint) {
      throw ConfigError(fmt::format("--resolver {}: not ip[:port] (e.g. 127.0.0.1:5300)", text));
    }
    out.push_back(*endpoint);
  }
  return out;
}

std::vector<RrType> parse_type_flags(const std::vector<std::string>& texts) {
  std::vector<RrType> out;
  for (const auto& text : texts) {
    const auto type = parse_rrtype(text);
    if (!type) {
      throw ConfigError(
          fmt::format("--types {}: unknown record type (A, AAAA, NS, MX, TXT, PTR, SRV, CAA, "
                      "DS, DNSKEY, ... any type ldns knows, or TYPE<n>)",
                      text));
    }
    if (std::ranges::find(out, *type) == out.end()) {
      out.push_back(*type);
    }
  }
  return out;
}

void add_selection_flags(CLI::App* command, SelectionFlags& flags, std::string_view verb) {
  // One value per flag (repeat the flag for more), so positionals after them stay positionals.
  command
      ->add_option("--domain", flags.domains,
                   fmt::format("Only {} this watched domain (repeatable)", verb))
      ->expected(1)
      ->take_all()
      ->allow_extra_args(false);
  command
      ->add_option(
          "--tag", flags.tags,
          fmt::format("Only {} watched domains with this tag (repeatable: any of them)", verb))
      ->expected(1)
      ->take_all()
      ->allow_extra_args(false);
  command
      ->add_option(
          "--source", flags.sources,
          fmt::format("Only {} watched domains imported from this source (repeatable)", verb))
      ->expected(1)
      ->take_all()
      ->allow_extra_args(false);
}

storage::WatchlistFilter selection_filter(const SelectionFlags& flags) {
  return storage::WatchlistFilter{normalise_domain_args(flags.domains, "--domain"), flags.tags,
                                  flags.sources};
}

std::string describe(const storage::WatchlistFilter& filter) {
  std::vector<std::string> parts;
  for (const auto& domain : filter.domains) {
    parts.push_back("--domain " + domain);
  }
  for (const auto& tag : filter.tags) {
    parts.push_back(fmt::format("--tag '{}'", tag));
  }
  for (const auto& source : filter.sources) {
    parts.push_back(fmt::format("--source '{}'", source));
  }
  return fmt::format("{}", fmt::join(parts, " "));
}

}  // namespace fluxwatch::cli
