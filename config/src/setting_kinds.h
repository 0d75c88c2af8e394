#pragma once
/// Internal: the kinds of value a setting holds. Each kind reads its value from a YAML node
/// (with the message a user gets for a bad one), writes it back as JSON (which `config`
/// prints as YAML and every run records) and says its range for the documentation. The
/// settings table (settings_table.cc) pairs each key with a member and one of these.

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <functional>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fluxwatch/common/endpoint.h"
#include "fluxwatch/common/error.h"
#include "fluxwatch/common/types.h"

namespace fluxwatch::config::detail {

using Json = nlohmann::ordered_json;

/// Reports a problem at a YAML node: "FILE:LINE: KEY: message".
class Reporter {
 public:
  explicit Reporter(std::string_view source) : source_(source) {}
  [[noreturn]] void fail(const YAML::Node& node, std::string_view key,
                         std::string_view message) const {
    const auto mark = node.Mark();
    if (mark.line >= 0) {
      throw ConfigError(fmt::format("{}:{}: {}: {}", source_, mark.line + 1, key, message));
    }
    throw ConfigError(fmt::format("{}: {}: {}", source_, key, message));
  }

 private:
  std::string source_;
};

/// A scalar as T, or the message "expected ..." / "'x' is not ...".
template <typename T>
T scalar(const Reporter& reporter, const YAML::Node& node, std::string_view key,
         std::string_view expected) {
  if (!node.IsScalar()) {
    reporter.fail(node, key, fmt::format("expected {}", expected));
  }
  try {
    return node.as<T>();
  } catch (const YAML::Exception&) {
    reporter.fail(node, key, fmt::format("'{}' is not {}", node.Scalar(), expected));
  }
}

/// A whole number in [low, high].
struct Count {
  long long low;
  long long high;
  template <typename T>
  [[nodiscard]] T read(const Reporter& r, const YAML::Node& n, std::string_view k) const {
    const auto expected = fmt::format("a whole number from {} to {}", low, high);
    const auto value = scalar<long long>(r, n, k, expected);
    if (value < low || value > high) {
      r.fail(n, k, fmt::format("{} is out of range ({})", value, expected));
    }
    return static_cast<T>(value);
  }
  template <typename T>
  [[nodiscard]] Json json(const T& value) const {
    return value;
  }
  [[nodiscard]] std::string range() const { return fmt::format("{} to {}", low, high); }
};

/// A whole number of `Unit`s in [low, high], held as a std::chrono duration.
template <typename Unit>
struct Duration {
  long long low;
  long long high;
  template <typename T>
  [[nodiscard]] T read(const Reporter& r, const YAML::Node& n, std::string_view k) const {
    return std::chrono::duration_cast<T>(Unit(Count{low, high}.read<long long>(r, n, k)));
  }
  template <typename T>
  [[nodiscard]] Json json(const T& value) const {
    return std::chrono::duration_cast<Unit>(value).count();
  }
  [[nodiscard]] std::string range() const { return Count{low, high}.range(); }
};

/// A number in [low, high] (or above low when `above`); infinite bounds: any finite number.
struct Number {
  double low = -std::numeric_limits<double>::infinity();
  double high = std::numeric_limits<double>::infinity();
  bool above = false;
  [[nodiscard]] std::string range() const {
    if (std::isinf(low) && std::isinf(high)) {
      return "a finite number";
    }
    return fmt::format("a number {} {} {} {}", above ? "above" : "from", low,
                       above ? "and at most" : "to", high);
  }
  template <typename T>
  [[nodiscard]] T read(const Reporter& r, const YAML::Node& n, std::string_view k) const {
    const auto expected = range();
    const auto value = scalar<double>(r, n, k, expected);
    const bool low_ok = above ? value > low : value >= low;
    if (!std::isfinite(value) || !low_ok || value > high) {
      r.fail(n, k, fmt::format("{} is out of range ({})", n.Scalar(), expected));
    }
    return static_cast<T>(value);
  }
  template <typename T>
  [[nodiscard]] Json json(const T& value) const {
    return value;
  }
};

/// A number of seconds (fractions allowed) in [low, high], held as milliseconds.
struct Seconds {
  double low;
  double high;
  template <typename T>
  [[nodiscard]] T read(const Reporter& r, const YAML::Node& n, std::string_view k) const {
    return T(std::llround(Number{low, high}.read<double>(r, n, k) * 1000.0));
  }
  template <typename T>
  [[nodiscard]] Json json(const T& value) const {
    return static_cast<double>(value.count()) / 1000.0;
  }
  [[nodiscard]] std::string range() const { return Number{low, high}.range() + " (seconds)"; }
};

struct Flag {
  template <typename T>
  [[nodiscard]] T read(const Reporter& r, const YAML::Node& n, std::string_view k) const {
    return scalar<bool>(r, n, k, "true or false");
  }
  [[nodiscard]] Json json(bool value) const { return value; }
  [[nodiscard]] std::string range() const { return "true or false"; }
};

/// Text; `check` returns what is wrong with a value, or nothing. A null (`key:` with nothing
/// after it) is the empty text when `nullable`.
struct Text {
  std::string_view expected = "a string";
  bool nullable = false;
  std::function<std::optional<std::string>(const std::string&)> check;
  template <typename T>
  [[nodiscard]] T read(const Reporter& r, const YAML::Node& n, std::string_view k) const {
    if (nullable && n.IsNull()) {
      return T();
    }
    auto value = scalar<std::string>(r, n, k, expected);
    if (check) {
      if (auto problem = check(value)) {
        r.fail(n, k, *problem);
      }
    }
    return T(std::move(value));
  }
  template <typename T>
  [[nodiscard]] Json json(const T& value) const {
    if constexpr (std::is_same_v<T, std::filesystem::path>) {
      return value.string();
    } else {
      return value;
    }
  }
  [[nodiscard]] std::string range() const { return ""; }
};

/// Any text, e.g. text("a URL"); optional_text: a null value is the empty text.
inline Text text(std::string_view expected = "a string") { return {expected, false, {}}; }
inline Text optional_text(std::string_view expected = "a string") { return {expected, true, {}}; }

/// "a, b or c"; more than three: "one of a, b, c, d".
std::string choices_text(const std::vector<std::string_view>& names);

/// One of a few names, held as text.
struct OneOf {
  std::vector<std::string_view> names;
  template <typename T>
  [[nodiscard]] T read(const Reporter& r, const YAML::Node& n, std::string_view k) const {
    auto value = scalar<std::string>(r, n, k, choices_text(names));
    if (std::ranges::find(names, value) == names.end()) {
      r.fail(n, k, fmt::format("'{}' is not {}", value, choices_text(names)));
    }
    return value;
  }
  [[nodiscard]] Json json(const std::string& value) const { return value; }
  [[nodiscard]] std::string range() const { return choices_text(names); }
};

/// One of two names, held as a bool (true = `on`).
struct Either {
  std::string_view off;
  std::string_view on;
  template <typename T>
  [[nodiscard]] T read(const Reporter& r, const YAML::Node& n, std::string_view k) const {
    return OneOf{{off, on}}.read<std::string>(r, n, k) == on;
  }
  [[nodiscard]] Json json(bool value) const { return value ? on : off; }
  [[nodiscard]] std::string range() const { return fmt::format("{} or {}", off, on); }
};

/// A list read item by item with `each`; null is the empty list.
template <typename T, typename Each>
T read_list(const Reporter& r, const YAML::Node& n, std::string_view k, std::string_view expected,
            Each each) {
  if (n.IsNull()) {
    return {};
  }
  if (!n.IsSequence()) {
    r.fail(n, k, fmt::format("expected {}", expected));
  }
  T out;
  for (const auto& item : n) {
    out.push_back(each(item));
  }
  return out;
}

/// A non-empty list of record types, duplicates dropped. `may_be_unset`: an empty list
/// means "inherit" and is left out of the YAML (`[]` would not parse back).
struct RecordTypes {
  bool may_be_unset = false;
  template <typename T>
  [[nodiscard]] T read(const Reporter& r, const YAML::Node& n, std::string_view k) const {
    if (!n.IsSequence() || n.size() == 0) {
      r.fail(n, k, "expected a non-empty list of record types, e.g. [A, AAAA, NS]");
    }
    T types;
    for (const auto& item : n) {
      const auto text = scalar<std::string>(r, item, k, "a record type");
      const auto type = parse_rrtype(text);
      if (!type) {
        r.fail(
            item, k,
            fmt::format("unknown record type '{}' (A, AAAA, NS, MX, TXT, ... or TYPE<n>)", text));
      }
      if (std::ranges::find(types, *type) == types.end()) {
        types.push_back(*type);
      }
    }
    return types;
  }
  [[nodiscard]] Json json(const std::vector<RrType>& types) const;
  [[nodiscard]] std::string range() const {
    return "any type ldns knows (A, MX, CAA, ...) or TYPEnnn";
  }
};

/// A list of "ip[:port]"; null is the empty list.
struct Resolvers {
  template <typename T>
  [[nodiscard]] T read(const Reporter& r, const YAML::Node& n, std::string_view k) const {
    return read_list<T>(r, n, k, "a list of \"ip[:port]\" strings", [&](const YAML::Node& item) {
      const auto text = scalar<std::string>(r, item, k, "an \"ip[:port]\" string");
      auto endpoint = parse_endpoint(text);
      if (!endpoint) {
        r.fail(item, k,
               fmt::format("'{}' is not ip[:port] (e.g. 127.0.0.1:5300 or [::1]:53)", text));
      }
      return *endpoint;
    });
  }
  [[nodiscard]] static Json json(const std::vector<Endpoint>& endpoints);
  [[nodiscard]] std::string range() const { return "ip[:port] list"; }
};

/// A list of strings; null is the empty list. `labels`: each non-empty and without control
/// characters (tags and sources: they separate list items in SQL parameters).
struct TextList {
  bool labels = false;
  template <typename T>
  [[nodiscard]] T read(const Reporter& r, const YAML::Node& n, std::string_view k) const {
    return read_list<T>(r, n, k, "a list of strings", [&](const YAML::Node& item) {
      auto value = scalar<std::string>(r, item, k, "a string");
      if (labels && (value.empty() || std::ranges::any_of(value, [](char c) {
                       return static_cast<unsigned char>(c) < 0x20;
                     }))) {
        r.fail(item, k, "expected a non-empty string without control characters");
      }
      return value;
    });
  }
  [[nodiscard]] Json json(const std::vector<std::string>& values) const { return values; }
  [[nodiscard]] std::string range() const { return "list of strings"; }
};

/// A UTC time ("2026-11-22T10:00:00Z", +00:00 or a space for T), optional.
struct UtcTime {
  using TimePoint = std::chrono::system_clock::time_point;
  template <typename T>
  [[nodiscard]] T read(const Reporter& r, const YAML::Node& n, std::string_view k) const {
    return parse(r, n, k);
  }
  [[nodiscard]] static TimePoint parse(const Reporter& r, const YAML::Node& n, std::string_view k);
  [[nodiscard]] static Json json(const std::optional<TimePoint>& value);
  [[nodiscard]] std::string range() const { return "ISO 8601 UTC time"; }
};

}  // namespace fluxwatch::config::detail
