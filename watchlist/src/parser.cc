#include "fluxwatch/watchlist/parser.h"

#include <fmt/format.h>

#include <algorithm>
#include <functional>
#include <istream>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "fluxwatch/common/domain_name.h"
#include "fluxwatch/common/text.h"

namespace fluxwatch::watchlist {
namespace {

constexpr std::size_t kMaxLineLength = 4096;
constexpr std::size_t kShownTextLength = 200;
constexpr std::size_t kMaxTagLength = 64;

std::vector<std::string_view> split(std::string_view text, std::string_view separators) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (true) {
    const auto end = text.find_first_of(separators, start);
    parts.push_back(trim(text.substr(start, end == std::string_view::npos ? end : end - start)));
    if (end == std::string_view::npos) {
      return parts;
    }
    start = end + 1;
  }
}

// "https://user@evil.example:8080/path?x" -> "evil.example"
std::string_view host_of_url(std::string_view field) {
  const auto scheme = field.find("://");
  if (scheme == std::string_view::npos) {
    return field;
  }
  auto rest = field.substr(scheme + 3);
  rest = rest.substr(0, rest.find_first_of("/?#"));
  if (const auto at = rest.rfind('@'); at != std::string_view::npos) {
    rest.remove_prefix(at + 1);
  }
  if (!rest.empty() && rest.front() != '[') {
    rest = rest.substr(0, rest.find(':'));
  }
  return rest;
}

std::string shown(std::string_view line) { return std::string(line.substr(0, kShownTextLength)); }

struct Columns {
  std::size_t domain = 0;
  std::optional<std::size_t> tags = 1;
};

}  // namespace

std::string tag_error(std::string_view tag) {
  if (tag.empty()) {
    return "empty tag";
  }
  if (tag.size() > kMaxTagLength) {
    return fmt::format("tag longer than {} characters", kMaxTagLength);
  }
  if (tag.front() == ' ' || tag.back() == ' ') {
    return "tag starts or ends with a space";
  }
  // Printable ASCII; inner spaces are kept ("needs review"). ',' separates CSV fields and
  // ';' / '|' separate tags in a watchlist line, so a tag cannot hold them.
  const bool printable = std::ranges::all_of(tag, [](char c) {
    const auto code = static_cast<unsigned char>(c);
    return code >= 0x20 && code < 0x7f && c != ',' && c != ';' && c != '|';
  });
  return printable ? std::string()
                   : std::string("tag has a character outside printable ASCII, or , ; |");
}

std::size_t parse_each(std::istream& in, const std::function<void(Entry&&)>& on_entry,
                       const std::function<void(Problem&&)>& on_problem,
                       const std::function<void(Problem&&)>& on_tag_problem) {
  Columns columns;
  bool first_content_line = true;
  std::string line;
  bool cut = false;
  std::size_t number = 0;
  while (read_bounded_line(in, line, kMaxLineLength, cut)) {
    ++number;
    if (cut || line.size() > kMaxLineLength) {
      on_problem(
          {number, shown(line), fmt::format("line is longer than {} bytes", kMaxLineLength)});
      continue;
    }
    std::string_view text = line;
    if (number == 1 && text.starts_with("\xEF\xBB\xBF")) {
      text.remove_prefix(3);  // UTF-8 byte order mark
    }
    text = trim(text);
    if (text.empty() || text.front() == '#') {
      continue;
    }
    if (const auto comment = text.find(" #"); comment != std::string_view::npos) {
      text = trim(text.substr(0, comment));
    }
    const auto fields = csv_fields(text);
    if (first_content_line) {
      first_content_line = false;
      const auto is_domain = [](std::string_view f) { return f == "domain"; };
      if (std::ranges::any_of(fields, is_domain)) {  // a CSV header naming the columns
        columns.tags.reset();
        for (std::size_t i = 0; i < fields.size(); ++i) {
          if (is_domain(fields[i])) {
            columns.domain = i;
          } else if (fields[i] == "tags") {
            columns.tags = i;
          }
        }
        continue;
      }
    }
    if (columns.domain >= fields.size()) {
      on_problem({number, shown(line), "no domain column on this line"});
      continue;
    }
    const auto raw = host_of_url(fields[columns.domain]);
    auto normalised = normalise_domain(raw);
    if (auto* error = std::get_if<NameError>(&normalised)) {
      on_problem({number, shown(line), error->message});
      continue;
    }
    std::vector<std::string> tags;
    if (columns.tags && *columns.tags < fields.size()) {
      for (auto tag : split(fields[*columns.tags], ";|")) {
        tag = trim(tag);
        if (tag.empty()) {
          continue;
        }
        if (auto error = tag_error(tag); !error.empty()) {
          // The domain is kept; the tag is reported, never dropped silently.
          if (on_tag_problem) {
            on_tag_problem({number, shown(line), fmt::format("{}: '{}'", error, shown(tag))});
          }
        } else if (std::ranges::find(tags, tag) == tags.end()) {
          tags.emplace_back(tag);
        }
      }
    }
    on_entry({std::move(std::get<std::string>(normalised)), std::move(tags), number});
  }
  return number;
}

ParseResult parse(std::istream& in) {
  ParseResult result;
  std::unordered_map<std::string, std::size_t> index_of;  // domain -> entries index
  result.lines = parse_each(
      in,
      [&](Entry&& entry) {
        if (auto found = index_of.find(entry.domain); found != index_of.end()) {
          ++result.duplicates;
          auto& merged = result.entries[found->second].tags;
          for (auto& tag : entry.tags) {
            if (std::ranges::find(merged, tag) == merged.end()) {
              merged.push_back(std::move(tag));
            }
          }
          return;
        }
        index_of.emplace(entry.domain, result.entries.size());
        result.entries.push_back(std::move(entry));
      },
      [&](Problem&& problem) { result.problems.push_back(std::move(problem)); },
      [&](Problem&& problem) { result.tag_problems.push_back(std::move(problem)); });
  return result;
}

}  // namespace fluxwatch::watchlist
