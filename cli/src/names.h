#pragma once
/// Domain names and tags as the user types them on the command line: every command that
/// takes a domain normalises it the way `watchlist import` does (case, trailing dot,
/// Unicode to A-labels, URL to host), so `explain FLUX-ALPHA.TEST.` finds flux-alpha.test.

#include <istream>
#include <string>
#include <string_view>
#include <vector>

#include "fluxwatch/common/domain_name.h"
#include "fluxwatch/common/endpoint.h"
#include "fluxwatch/common/types.h"
#include "fluxwatch/storage/watchlist_store.h"

namespace CLI {
class App;
}

namespace fluxwatch::cli {

/// The stored form of a domain given as `what` (e.g. "explain"): through the watchlist
/// parser, so a URL or "domain,tags" line is read as in a watchlist file.
/// @throw ConfigError (exit 2) naming the input when it is not a domain name.
[[nodiscard]] std::string normalise_domain_arg(std::string_view text, std::string_view what);
/// The same without throwing: the name, or why it is not one.
[[nodiscard]] NormalisedName normalise_name(std::string_view text);
/// normalise_domain_arg() of each.
[[nodiscard]] std::vector<std::string> normalise_domain_args(const std::vector<std::string>& texts,
                                                             std::string_view what);
/// @throw ConfigError (exit 2) when a tag given as `what` cannot be stored (watchlist::tag_error).
void check_tags(const std::vector<std::string>& tags, std::string_view what);

/// --resolver ip[:port] values. @throw ConfigError (exit 2) naming a bad one.
[[nodiscard]] std::vector<Endpoint> parse_resolver_flags(const std::vector<std::string>& texts);
/// --types values (any type ldns knows, or TYPE<n>), each once.
/// @throw ConfigError (exit 2) naming an unknown one.
[[nodiscard]] std::vector<RrType> parse_type_flags(const std::vector<std::string>& texts);

/// Flags that pick a subset of the watchlist: --domain, --tag, --source.
struct SelectionFlags {
  std::vector<std::string> domains;
  std::vector<std::string> tags;
  std::vector<std::string> sources;
};
void add_selection_flags(CLI::App* command, SelectionFlags& flags, std::string_view verb);
/// The filter of those flags (domains normalised).
[[nodiscard]] storage::WatchlistFilter selection_filter(const SelectionFlags& flags);
/// "--tag x, --source y" for messages; empty when nothing is selected.
[[nodiscard]] std::string describe(const storage::WatchlistFilter& filter);

}  // namespace fluxwatch::cli
