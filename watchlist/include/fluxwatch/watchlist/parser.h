#pragma once
/// Parsing watchlists: one domain per line, '#' comments, optional CSV columns.
/// Input is untrusted (feeds, files from strangers): every line is checked and normalised;
/// a bad line is reported with its number and the rest is kept.

#include <cstddef>
#include <functional>
#include <istream>
#include <string>
#include <string_view>
#include <vector>

namespace fluxwatch::watchlist {

/// One accepted domain.
struct Entry {
  std::string domain;             ///< normalised (lower case, IDNA A-labels, no trailing dot)
  std::vector<std::string> tags;  ///< from the tags column, plus duplicates' tags merged
  std::size_t line = 0;           ///< first line it appeared on (1-based)
  bool operator==(const Entry&) const = default;
};

/// One rejected line.
struct Problem {
  std::size_t line = 0;  ///< 1-based
  std::string text;      ///< the line as read (cut to 200 characters)
  std::string message;   ///< why it was rejected
};

struct ParseResult {
  std::vector<Entry> entries;     ///< in first-seen order, each domain once
  std::vector<Problem> problems;  ///< in line order
  /// Tags left off an accepted line (the domain is kept), with why; in line order.
  std::vector<Problem> tag_problems;
  std::size_t duplicates = 0;  ///< lines naming a domain seen earlier
  std::size_t lines = 0;       ///< lines read
};

/**
 * Parses a watchlist.
 *
 * Format: blank lines and lines starting with '#' are skipped; text after " #" is a
 * comment. A line is either a bare domain or CSV: `domain,tags` where tags are separated by
 * ';' or '|'. A first line with a field "domain" is a header naming the columns
 * (`domain` is required, `tags` optional, others ignored). A URL (`http://host/path`) is
 * read as its host. Lines over 4096 bytes are rejected without being kept whole.
 */
[[nodiscard]] ParseResult parse(std::istream& in);

/**
 * The streaming form of parse(), for inputs too large to hold: hands each accepted line to
 * `on_entry`, each rejected one to `on_problem` and each tag left off an accepted line to
 * `on_tag_problem` (when given) as it is read, in line order, and keeps nothing per domain,
 * so memory stays flat whatever the size of `in`. A domain named on several lines comes
 * once per line (Entry::line is that line): merging duplicates is the consumer's (the
 * watchlist import does it in PostgreSQL). Returns the lines read.
 */
std::size_t parse_each(std::istream& in, const std::function<void(Entry&&)>& on_entry,
                       const std::function<void(Problem&&)>& on_problem,
                       const std::function<void(Problem&&)>& on_tag_problem = {});

/// Why `tag` cannot be a watchlist tag (empty when it can): tags are 1-64 printable ASCII
/// characters, inner spaces allowed, no ',', ';' or '|', no leading or trailing space.
[[nodiscard]] std::string tag_error(std::string_view tag);

}  // namespace fluxwatch::watchlist
