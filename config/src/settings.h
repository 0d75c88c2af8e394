#pragma once
/// Internal: the settings table. A row names a key, the member it sets, the kind of value
/// (setting_kinds.h: parsing, range, JSON form), its help and how it is shown. Parsing,
/// `fluxwatch config`, the JSON recorded with each run and the README's table all walk it,
/// so adding a setting is one row plus the struct member.

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "fluxwatch/common/redact.h"
#include "fluxwatch/config/config.h"
#include "setting_kinds.h"

namespace fluxwatch::config::detail {

/// How a value is shown by `fluxwatch config` and whether a run records it.
enum class Show {
  Plain,
  Dsn,         ///< a libpq DSN: shown with its password redacted
  SetOrEmpty,  ///< a token or key: shown as "(set)"
  Url,         ///< a URL: shown without userinfo and query values
  Alias,       ///< another name of the row before it: read, never shown
};

struct RowOptions {
  Show show = Show::Plain;
  /// Stored in the settings JSON of each run (it shapes the measurement). A secret is
  /// recorded only as whether it is set (`<key>_configured`).
  bool recorded = false;
  /// The documented default, where it depends on the machine (state_dir).
  std::string_view doc_default;
};

template <typename Owner>
struct Field {
  std::string_view key;
  std::string_view help;
  std::string range;
  std::optional<IntegerRange> integers;  ///< for flags that override a whole-number key
  RowOptions options;
  std::function<void(Owner&, const Reporter&, const YAML::Node&, std::string_view)> read;
  std::function<Json(const Owner&)> value;  ///< unredacted
  /// Item keys of a list of mappings (feeds, campaigns), for the documentation.
  std::function<std::vector<SettingDoc>(std::string_view)> item_docs;
};

/// A row: `get` returns the member of an Owner (const or not): [](auto& c) -> auto& {...}.
template <typename Owner, typename Get, typename Kind>
Field<Owner> field(std::string_view key, Get get, Kind kind, std::string_view help,
                   RowOptions options = {}) {
  using Member = std::remove_cvref_t<decltype(get(std::declval<Owner&>()))>;
  Field<Owner> row;
  row.key = key;
  row.help = help;
  row.range = kind.range();
  row.options = options;
  if constexpr (requires { requires std::is_same_v<decltype(Kind::low), long long>; }) {
    row.integers = IntegerRange{kind.low, kind.high};
  }
  row.read = [get, kind](Owner& owner, const Reporter& r, const YAML::Node& n, std::string_view k) {
    get(owner) = kind.template read<Member>(r, n, k);
  };
  row.value = [get, kind](const Owner& owner) -> Json { return kind.json(get(owner)); };
  if constexpr (requires { kind.docs(key); }) {
    row.item_docs = [kind](std::string_view prefix) { return kind.docs(prefix); };
  }
  return row;
}

/// The value as `fluxwatch config` shows it (secrets redacted).
template <typename Owner>
Json shown(const Field<Owner>& row, const Owner& owner) {
  auto value = row.value(owner);
  switch (row.options.show) {
    case Show::Dsn:
      return redact_dsn(value.template get<std::string>());
    case Show::SetOrEmpty:
      return value.template get<std::string>().empty() ? "" : "(set)";
    case Show::Url:
      return redact_url(value.template get<std::string>());
    case Show::Plain:
    case Show::Alias:
      break;
  }
  return value;
}

/// A row's default (or value) as written in the documentation: "2000", "[A, NS]", "empty".
std::string doc_text(const Json& value);

/// The key list of an unknown-setting message: "url, format, column, ...".
template <typename Owner>
std::string known_keys(const std::vector<Field<Owner>>& rows) {
  std::string out;
  for (const auto& row : rows) {
    out += (out.empty() ? "" : ", ") + std::string(row.key);
  }
  return out;
}

/// One item of a list (a feed, a campaign) as shown: its keys, unset ones left out.
template <typename Item>
Json item_json(const std::vector<Field<Item>>& rows, const Item& item) {
  Json object = Json::object();
  for (const auto& row : rows) {
    if (row.options.show != Show::Alias) {
      if (auto value = shown(row, item); !value.is_null()) {
        object[std::string(row.key)] = std::move(value);
      }
    }
  }
  return object;
}

/// A list of mappings (feeds, campaigns): each item's keys are rows of their own table;
/// `check` runs after each item (cross-field rules; the items before it are given).
template <typename Item>
struct Items {
  const std::vector<Field<Item>>& (*rows)();
  std::string_view expected;  ///< "a list of feeds ({url: ..., ...})"
  std::function<void(const std::vector<Item>& before, const Item& item, const YAML::Node& node,
                     std::string_view key, const Reporter& r)>
      check;

  template <typename T>
  [[nodiscard]] T read(const Reporter& r, const YAML::Node& n, std::string_view k) const {
    if (n.IsNull()) {
      return {};
    }
    if (!n.IsSequence()) {
      r.fail(n, k, fmt::format("expected {}", expected));
    }
    T items;
    for (const auto& node : n) {
      if (!node.IsMap()) {
        r.fail(node, k, fmt::format("expected a mapping with {}", known_keys(rows())));
      }
      Item item;
      for (const auto& pair : node) {
        const auto name = pair.first.as<std::string>();
        const auto path = fmt::format("{}.{}", k, name);
        const auto row = std::ranges::find(rows(), name, &Field<Item>::key);
        if (row == rows().end()) {
          r.fail(pair.first, path,
                 fmt::format("unknown setting (known here: {})", known_keys(rows())));
        }
        row->read(item, r, pair.second, path);
      }
      if (check) {
        check(items, item, node, k, r);
      }
      items.push_back(std::move(item));
    }
    return items;
  }
  [[nodiscard]] Json json(const std::vector<Item>& items) const {
    Json out = Json::array();
    for (const auto& item : items) {
      out.push_back(item_json(rows(), item));
    }
    return out;
  }
  [[nodiscard]] std::string range() const { return "list"; }
  [[nodiscard]] std::vector<SettingDoc> docs(std::string_view prefix) const {
    std::vector<SettingDoc> out;
    const Item defaults{};
    for (const auto& row : rows()) {
      out.push_back(
          {fmt::format("{}[].{}", prefix, row.key),
           row.options.show == Show::Alias ? std::string("-") : doc_text(row.value(defaults)),
           row.range, std::string(row.help)});
    }
    return out;
  }
};

/// The tables (settings_table.cc).
const std::vector<Field<Config>>& config_rows();
const std::vector<Field<Config::Feed>>& feed_rows();
const std::vector<Field<Campaign>>& campaign_rows();

}  // namespace fluxwatch::config::detail
