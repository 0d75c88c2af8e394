#include "fluxwatch/fetch/feeds.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <zlib.h>

#include <algorithm>
#include <functional>
#include <istream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "fluxwatch/common/error.h"
#include "fluxwatch/common/text.h"
#include "fluxwatch/storage/database.h"
#include "fluxwatch/storage/feed_store.h"

namespace fluxwatch::fetch {
namespace {

constexpr std::size_t kShownTextLength = 200;
/// The longest csv/jsonl line parse_feed_each() reads; the rest of a longer line is skipped.
constexpr std::size_t kMaxStreamedLineLength = std::size_t{1} << 16;

std::vector<std::string_view> split_lines(std::string_view content) {
  std::vector<std::string_view> lines;
  while (!content.empty()) {
    const auto end = content.find('\n');
    lines.push_back(content.substr(0, end));
    if (end == std::string_view::npos) {
      break;
    }
    content.remove_prefix(end + 1);
  }
  return lines;
}

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

/// A value that would change the meaning of a watchlist line (a comma starts the tags
/// column, '#' a comment) or that watchlist::parse would take for a header.
std::optional<std::string> unsafe_value(std::string_view value) {
  if (value.empty()) {
    return "empty domain field";
  }
  if (value.find_first_of(",# \t\r\n\"") != std::string_view::npos || value == "domain") {
    return fmt::format("'{}' is not a domain name", value.substr(0, 100));
  }
  return std::nullopt;
}

/// The domain field of one csv/jsonl line (already trimmed), or nullopt for a blank line, a
/// comment, the CSV header (which sets `column_index`) or a line rejected through `reject`.
template <typename Reject>
std::optional<std::string> extract_value(std::string_view line, std::size_t number,
                                         FeedFormat format, const std::string& column,
                                         std::optional<std::size_t>& column_index,
                                         const Reject& reject) {
  std::optional<std::string> value;
  if (line.empty() || line.front() == '#') {
    // blank or comment: nothing
  } else if (format == FeedFormat::Csv) {
    auto fields = csv_fields(line);
    if (!column_index) {
      const auto found = std::find_if(fields.begin(), fields.end(), [&](const std::string& f) {
        return equals_ignoring_case(f, column);
      });
      if (found == fields.end()) {
        throw Error(fmt::format("the CSV header (line {}) has no column '{}'", number, column));
      }
      column_index = static_cast<std::size_t>(found - fields.begin());
    } else if (*column_index >= fields.size()) {
      reject(fmt::format("no '{}' column on this line", column));
    } else {
      value = std::move(fields[*column_index]);
    }
  } else {
    const auto json = nlohmann::json::parse(line, nullptr, false);
    if (json.is_discarded() || !json.is_object()) {
      reject("not a JSON object");
    } else if (const auto member = json.find(column);
               member == json.end() || !member->is_string()) {
      reject(fmt::format("no string member '{}'", column));
    } else {
      value = member->get<std::string>();
    }
  }
  if (value) {
    if (auto why = unsafe_value(*value)) {
      reject(std::move(*why));
      value.reset();
    }
  }
  return value;
}

/// Turns csv/jsonl content into one watchlist line per input line (line numbers stay), then
/// parses that; problems show the original line.
watchlist::ParseResult parse_extracted(std::string_view content, FeedFormat format,
                                       const std::string& column) {
  const auto lines = split_lines(content);
  std::string text;
  std::vector<watchlist::Problem> problems;
  std::optional<std::size_t> column_index;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const auto line = trim(lines[i]);
    const std::size_t number = i + 1;
    const auto reject = [&](std::string message) {
      problems.push_back(
          {number, std::string(line.substr(0, kShownTextLength)), std::move(message)});
    };
    text += extract_value(line, number, format, column, column_index, reject).value_or("");
    text += '\n';
  }
  if (format == FeedFormat::Csv && !column_index) {
    throw Error(fmt::format("the CSV feed has no header line naming the column '{}'", column));
  }
  std::istringstream in(text);
  auto result = watchlist::parse(in);
  for (auto& problem : result.problems) {
    if (problem.line >= 1 && problem.line <= lines.size()) {
      problem.text = std::string(trim(lines[problem.line - 1]).substr(0, kShownTextLength));
    }
  }
  result.problems.insert(result.problems.end(), problems.begin(), problems.end());
  std::stable_sort(result.problems.begin(), result.problems.end(),
                   [](const auto& a, const auto& b) { return a.line < b.line; });
  result.lines = lines.size();
  return result;
}

std::string join_tags(const std::vector<std::string>& tags) {
  std::string out;
  for (const auto& tag : tags) {
    out += (out.empty() ? "" : ";") + tag;
  }
  return out;
}

}  // namespace

std::chrono::seconds failed_feed_backoff(int consecutive_failures,
                                         std::chrono::seconds refresh_interval) {
  const int doublings = std::clamp(consecutive_failures - 1, 0, 16);
  return std::min(refresh_interval, std::chrono::seconds(30) * (1 << doublings));
}

std::optional<FeedFormat> parse_feed_format(std::string_view text) {
  if (text == "plain") {
    return FeedFormat::Plain;
  }
  if (text == "csv") {
    return FeedFormat::Csv;
  }
  if (text == "jsonl") {
    return FeedFormat::JsonLines;
  }
  return std::nullopt;
}

std::string_view feed_format_name(FeedFormat format) noexcept {
  switch (format) {
    case FeedFormat::Plain:
      return "plain";
    case FeedFormat::Csv:
      return "csv";
    case FeedFormat::JsonLines:
      return "jsonl";
  }
  return "plain";
}

std::string gunzip(std::string_view data, std::size_t max_bytes) {
  z_stream stream{};
  if (inflateInit2(&stream, 16 + MAX_WBITS) != Z_OK) {  // 16: gzip wrapper (RFC 1952)
    throw Error("zlib: inflateInit2 failed");
  }
  struct End {
    z_stream* s;
    ~End() { inflateEnd(s); }
  } end{&stream};
  std::string out;
  std::array<char, 64 * 1024> buffer{};
  // zlib's API takes non-const input pointers but does not write through them.
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  stream.avail_in = static_cast<uInt>(data.size());
  while (true) {
    stream.next_out = reinterpret_cast<Bytef*>(buffer.data());
    stream.avail_out = static_cast<uInt>(buffer.size());
    const int status = inflate(&stream, Z_NO_FLUSH);
    if (status != Z_OK && status != Z_STREAM_END) {
      throw Error(fmt::format("the gzip data is broken ({})",
                              stream.msg != nullptr ? stream.msg : "truncated"));
    }
    out.append(buffer.data(), buffer.size() - stream.avail_out);
    if (out.size() > max_bytes) {
      throw Error(
          fmt::format("the decompressed content is larger than the limit of {} bytes", max_bytes));
    }
    if (status == Z_STREAM_END) {
      return out;
    }
    if (stream.avail_in == 0 && stream.avail_out != 0) {
      throw Error("the gzip data is truncated");
    }
  }
}

watchlist::ParseResult parse_feed(std::string_view content, FeedFormat format,
                                  const std::string& column, std::size_t max_bytes) {
  std::string decompressed;
  if (content.size() >= 2 && static_cast<unsigned char>(content[0]) == 0x1f &&
      static_cast<unsigned char>(content[1]) == 0x8b) {
    decompressed = gunzip(content, max_bytes);
    content = decompressed;
  }
  if (format == FeedFormat::Plain) {
    std::istringstream in{std::string(content)};
    return watchlist::parse(in);
  }
  return parse_extracted(content, format, column);
}

std::size_t parse_feed_each(std::istream& in, FeedFormat format, const std::string& column,
                            const std::function<void(watchlist::Entry&&)>& on_entry,
                            const std::function<void(watchlist::Problem&&)>& on_problem,
                            const std::function<void(watchlist::Problem&&)>& on_tag_problem) {
  if (format == FeedFormat::Plain) {
    return watchlist::parse_each(in, on_entry, on_problem, on_tag_problem);
  }
  std::optional<std::size_t> column_index;
  std::string raw;
  bool cut = false;
  std::size_t number = 0;
  while (read_bounded_line(in, raw, kMaxStreamedLineLength, cut)) {
    ++number;
    std::string_view line = raw;
    if (number == 1 && line.starts_with("\xEF\xBB\xBF")) {
      line.remove_prefix(3);  // UTF-8 byte order mark
    }
    line = trim(line);
    const std::string shown(line.substr(0, kShownTextLength));
    if (cut) {
      on_problem(
          {number, shown, fmt::format("line is longer than {} bytes", kMaxStreamedLineLength)});
      continue;
    }
    const auto reject = [&](std::string message) {
      on_problem({number, shown, std::move(message)});
    };
    const auto value = extract_value(line, number, format, column, column_index, reject);
    if (!value) {
      continue;
    }
    // The value alone, through the watchlist parser (URL host, normalise_domain); its
    // results carry this line's number and text.
    std::istringstream one(*value);
    watchlist::parse_each(
        one,
        [&](watchlist::Entry&& entry) {
          entry.line = number;
          on_entry(std::move(entry));
        },
        [&](watchlist::Problem&& problem) {
          problem.line = number;
          problem.text = shown;
          on_problem(std::move(problem));
        });
  }
  if (format == FeedFormat::Csv && !column_index) {
    throw Error(fmt::format("the CSV input has no header line naming the column '{}'", column));
  }
  return number;
}

struct FeedRefresher::Impl {
  Impl(const std::string& dsn, FetchOptions options)
      : client(std::move(options)), database(dsn), store(dsn) {}

  FeedOutcome refresh(const FeedSpec& feed) {
    FeedOutcome outcome;
    outcome.url = redact_url(feed.url);
    storage::FeedDefinition definition{
        feed.url,  // the identity of the feed
        std::string(feed_format_name(feed.format)),
        feed.format == FeedFormat::Plain ? std::string() : feed.column, join_tags(feed.tags),
        feed.refresh_interval};
    const auto state = store.ensure_feed(definition);
    outcome.feed_id = state.feed_id;
    outcome.had_previous_import = state.last_success_at.has_value();
    const auto now = std::chrono::system_clock::now();
    auto result = client.get(feed.url, Validators{state.etag, state.last_modified});
    outcome.http_status = result.http_status;
    const auto fail = [&](std::string error) {
      outcome.kind = FeedOutcome::Kind::Failed;
      outcome.error = std::move(error);
      spdlog::debug("feed {}: {}", outcome.url, outcome.error);  // the caller reports it
      store.record_failure(state.feed_id, static_cast<int>(result.http_status), outcome.error, now);
      return outcome;
    };
    if (result.status == FetchResult::Status::NotModified) {
      outcome.kind = FeedOutcome::Kind::NotModified;
      outcome.entries = static_cast<std::size_t>(state.entries.value_or(0));
      store.record_not_modified(state.feed_id, static_cast<int>(result.http_status), now);
      return outcome;
    }
    if (!result.ok()) {
      return fail(result.error);
    }
    watchlist::ParseResult parsed;
    try {
      parsed = parse_feed(result.body, feed.format, feed.column, client.options().max_bytes);
    } catch (const Error& error) {
      return fail(error.what());
    }
    outcome.problems = parsed.problems;
    outcome.duplicates = parsed.duplicates;
    // An empty version (an error page served with 200, a broken export) would delist
    // everything: refuse it unless the feed was empty before, too.
    if (parsed.entries.empty() && (state.entries.value_or(0) > 0 || !parsed.problems.empty())) {
      return fail(fmt::format("no valid domain in the new version ({} rejected line{})",
                              parsed.problems.size(), parsed.problems.size() == 1 ? "" : "s"));
    }
    std::vector<storage::WatchEntry> entries;
    std::vector<std::string> domains;
    entries.reserve(parsed.entries.size());
    for (auto& entry : parsed.entries) {
      auto tags = std::move(entry.tags);
      for (const auto& tag : feed.tags) {
        if (std::find(tags.begin(), tags.end(), tag) == tags.end()) {
          tags.push_back(tag);
        }
      }
      domains.push_back(entry.domain);
      entries.push_back({std::move(entry.domain), feed.source.empty() ? outcome.url : feed.source,
                         std::move(tags)});
    }
    const auto stats = database.import_watchlist(entries);
    const auto change = store.record_version(state.feed_id, domains, result.validators.etag,
                                             result.validators.last_modified,
                                             static_cast<int>(result.http_status), now);
    outcome.kind = FeedOutcome::Kind::Imported;
    outcome.entries = entries.size();
    outcome.added = stats.added;
    outcome.existing = stats.existing;
    outcome.new_listings = change.new_listings;
    outcome.delisted = change.delisted;
    return outcome;
  }

  HttpClient client;
  storage::Database database;
  storage::FeedStore store;
};

FeedRefresher::FeedRefresher(const std::string& dsn, FetchOptions options)
    : impl_(std::make_unique<Impl>(dsn, std::move(options))) {}
FeedRefresher::~FeedRefresher() = default;
FeedRefresher::FeedRefresher(FeedRefresher&&) noexcept = default;
FeedRefresher& FeedRefresher::operator=(FeedRefresher&&) noexcept = default;

FeedOutcome FeedRefresher::refresh(const FeedSpec& feed) { return impl_->refresh(feed); }

std::vector<FeedOutcome> FeedRefresher::refresh_due(const std::vector<FeedSpec>& feeds,
                                                    std::chrono::system_clock::time_point now) {
  std::vector<FeedOutcome> outcomes;
  for (const auto& feed : feeds) {
    // Stored URLs are redacted (migration 0011): a feed is found by its configured URL.
    const auto found = impl_->store.find_feed(feed.url);
    const auto interval = std::chrono::duration_cast<std::chrono::seconds>(
        feed.refresh_interval.value_or(std::chrono::hours(1)));
    if (found && found->last_attempt_at) {
      const auto& state = *found;
      const bool failed = state.consecutive_failures > 0;
      const auto wait =
          failed ? failed_feed_backoff(state.consecutive_failures, interval) : interval;
      const auto due = *state.last_attempt_at + wait;
      if (due > now) {
        FeedOutcome not_due;
        not_due.url = redact_url(feed.url);
        not_due.kind = FeedOutcome::Kind::NotDue;
        not_due.feed_id = state.feed_id;
        not_due.had_previous_import = state.last_success_at.has_value();
        const auto in = std::chrono::duration_cast<std::chrono::seconds>(due - now).count() + 1;
        not_due.detail =
            failed ? fmt::format("the last {} attempt{} failed ({}); retrying in {} s",
                                 state.consecutive_failures,
                                 state.consecutive_failures == 1 ? "" : "s", state.last_error, in)
                   : fmt::format("due in {} s", in);
        outcomes.push_back(std::move(not_due));
        continue;
      }
    }
    outcomes.push_back(refresh(feed));
  }
  return outcomes;
}

}  // namespace fluxwatch::fetch
