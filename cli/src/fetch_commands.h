#pragma once
/// Commands built on fluxwatch::fetch (libcurl): `watchlist import URL`, `feeds`, `geo
/// update`, `http-probe`.

#include <string>
#include <vector>

#include "fluxwatch/config/config.h"

namespace CLI {
class App;
}

namespace fluxwatch::cli {

class CommandTable;

/// `fluxwatch watchlist import URL`: what cmd_watchlist.cc hands over.
struct UrlImport {
  std::string url;
  std::string source;
  std::vector<std::string> tags;
  bool strict = false;
  std::string format = "plain";
  std::string column = "domain";
};

/// True for http://, https:// and file:// arguments (they go through the fetcher).
[[nodiscard]] bool is_fetchable_url(const std::string& text);

/// Fetches, parses and imports a watchlist from a URL as a feed (conditional request,
/// listing history). Exit status as for a file import.
int import_watchlist_url(const config::Config& config, const UrlImport& import);

/// Adds `feeds refresh|list`, `geo update` and `http-probe`.
void add_fetch_commands(CLI::App& app, CommandTable& table);

}  // namespace fluxwatch::cli
