#include "fluxwatch/watchlist/parser.h"

#include <fmt/format.h>

#include <algorithm>
#include <optional>
#include <string_view>
#include <unordered_map>

#include "fluxwatch/common/domain_name.h"

namespace fluxwatch::watchlist {
namespace {

constexpr std::size_t kMaxLineLength = 4096;
constexpr std::size_t kShownTextLength = 200;
constexpr std::size_t kMaxTagLength = 64;

std::string_view trim(std::string_view text) {
  const auto first = text.find_first_not_of(" \t\r\n\f\v");
  if (first == std::string_view::npos) {
    return {};
  }
  const auto last = text.find_last_not_of(" \t\r\n\f\v");
  return text.substr(first, last - first + 1);
}

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

std::string_view strip_quotes(std::string_view field) {
  if (field.size() >= 2 && field.front() == '"' && field.back() == '"') {
    return field.substr(1, field.size() - 2);
  }
  return field;
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

namespace {

struct Columns {
  std::size_t domain = 0;
  std::optional<std::size_t> tags = 1;
};

}  // namespace

ParseResult parse(std::istream& in) {
  ParseResult result;
  std::unordered_map<std::string, std::size_t> index_of;  // domain -> entries index
  Columns columns;
  bool first_content_line = true;
  std::string line;
  std::size_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.size() > kMaxLineLength) {
      result.problems.push_back(
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
    const auto fields = split(text, ",");
    if (first_content_line) {
      first_content_line = false;
      const auto is_domain = [](std::string_view f) { return strip_quotes(f) == "domain"; };
      if (std::ranges::any_of(fields, is_domain)) {  // a CSV header naming the columns
        columns.tags.reset();
        for (std::size_t i = 0; i < fields.size(); ++i) {
          if (is_domain(fields[i])) {
            columns.domain = i;
          } else if (strip_quotes(fields[i]) == "tags") {
            columns.tags = i;
          }
        }
        continue;
      }
    }
    if (columns.domain >= fields.size()) {
      result.problems.push_back({number, shown(line), "no domain column on this line"});
      continue;
    }
    const auto raw = host_of_url(strip_quotes(fields[columns.domain]));
    auto normalised = normalise_domain(raw);
    if (auto* error = std::get_if<NameError>(&normalised)) {
      result.problems.push_back({number, shown(line), error->message});
      continue;
    }
    auto& domain = std::get<std::string>(normalised);
    std::vector<std::string> tags;
    if (columns.tags && *columns.tags < fields.size()) {
      for (auto tag : split(strip_quotes(fields[*columns.tags]), ";|")) {
        tag = trim(tag);
        if (tag.empty()) {
          continue;
        }
        if (auto error = tag_error(tag); !error.empty()) {
          // The domain is kept; the tag is reported, never dropped silently.
          result.tag_problems.push_back(
              {number, shown(line), fmt::format("{}: '{}'", error, shown(tag))});
        } else if (std::ranges::find(tags, tag) == tags.end()) {
          tags.emplace_back(tag);
        }
      }
    }
    if (auto found = index_of.find(domain); found != index_of.end()) {
      ++result.duplicates;
      auto& merged = result.entries[found->second].tags;
      for (auto& tag : tags) {
        if (std::ranges::find(merged, tag) == merged.end()) {
          merged.push_back(std::move(tag));
        }
      }
      continue;
    }
    index_of.emplace(domain, result.entries.size());
    result.entries.push_back({std::move(domain), std::move(tags), number});
  }
  result.lines = number;
  return result;
}

}  // namespace fluxwatch::watchlist
