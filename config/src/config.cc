// Parsing, showing and documenting the configuration by walking the settings table
// (settings_table.cc): one row per key, so no key is written anywhere else.
#include "fluxwatch/config/config.h"

#include <fmt/format.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>

#include "settings.h"

namespace fluxwatch::config {
namespace {

using detail::config_rows;
using detail::Field;
using detail::Json;
using detail::Reporter;
using detail::Show;

std::string env(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr ? std::string(value) : std::string();
}

std::filesystem::path home_dir() {
  const auto home = env("HOME");
  return home.empty() ? std::filesystem::path("/tmp") : std::filesystem::path(home);
}

/// Rejects a key written twice in one mapping, at any depth: yaml-cpp keeps both and the
/// last would silently win. The message names both lines.
void reject_duplicate_keys(const Reporter& reporter, const YAML::Node& node,
                           const std::string& path) {
  if (node.IsSequence()) {
    for (std::size_t i = 0; i < node.size(); ++i) {
      reject_duplicate_keys(reporter, node[i], fmt::format("{}[{}]", path, i));
    }
    return;
  }
  if (!node.IsMap()) {
    return;
  }
  std::map<std::string, int> first_line;
  for (const auto& pair : node) {
    if (!pair.first.IsScalar()) {
      continue;  // not a setting name: reported where the settings are read
    }
    const auto& key = pair.first.Scalar();
    const auto full = path.empty() ? key : path + "." + key;
    const int line = pair.first.Mark().line + 1;
    if (const auto [at, inserted] = first_line.emplace(key, line); !inserted) {
      reporter.fail(pair.first, full,
                    fmt::format("given twice (lines {} and {}): keep one", at->second, line));
    }
    reject_duplicate_keys(reporter, pair.second, full);
  }
}

const Field<Config>* find_row(std::string_view path) {
  const auto& rows = config_rows();
  const auto found = std::ranges::find(rows, path, &Field<Config>::key);
  return found == rows.end() ? nullptr : &*found;
}

bool is_section(std::string_view path) {
  return std::ranges::any_of(config_rows(), [&](const Field<Config>& row) {
    return row.key.size() > path.size() && row.key.starts_with(path) && row.key[path.size()] == '.';
  });
}

std::string known_keys_under(std::string_view prefix) {
  std::string out;
  for (const auto& row : config_rows()) {
    std::string_view path = row.key;
    if (!prefix.empty()) {
      if (!path.starts_with(prefix) || path.size() <= prefix.size() || path[prefix.size()] != '.') {
        continue;
      }
      path.remove_prefix(prefix.size() + 1);
    }
    std::string head(path.substr(0, path.find('.')));
    if (out.find(head) == std::string::npos) {
      out += (out.empty() ? "" : ", ") + head;
    }
  }
  return out;
}

void apply_map(Config& config, const Reporter& reporter, const YAML::Node& map,
               const std::string& prefix) {
  for (const auto& item : map) {
    const auto name = item.first.as<std::string>();
    const auto path = prefix.empty() ? name : prefix + "." + name;
    if (const auto* row = find_row(path)) {
      row->read(config, reporter, item.second, path);
    } else if (is_section(path)) {
      if (item.second.IsNull()) {
        continue;  // an empty section keeps its defaults
      }
      if (!item.second.IsMap()) {
        reporter.fail(item.second, path, "expected a mapping of settings");
      }
      apply_map(config, reporter, item.second, path);
    } else {
      reporter.fail(item.first, path,
                    fmt::format("unknown setting (known here: {})", known_keys_under(prefix)));
    }
  }
}

/// Writes a JSON value built from the table as YAML: lists of scalars in flow style, nulls
/// (unset optional values) left out, numbers in their shortest form.
void emit(YAML::Emitter& out, const Json& value) {
  if (value.is_object()) {
    out << YAML::BeginMap;
    for (const auto& [key, item] : value.items()) {
      if (!item.is_null()) {
        out << YAML::Key << key << YAML::Value;
        emit(out, item);
      }
    }
    out << YAML::EndMap;
  } else if (value.is_array()) {
    const bool flat = std::ranges::none_of(value, [](const Json& v) { return v.is_structured(); });
    out << (flat ? YAML::Flow : YAML::Block) << YAML::BeginSeq;
    for (const auto& item : value) {
      emit(out, item);
    }
    out << YAML::EndSeq;
  } else if (value.is_string()) {
    out << value.get<std::string>();
  } else if (value.is_boolean()) {
    out << value.get<bool>();
  } else if (value.is_number_unsigned()) {
    out << value.get<std::uint64_t>();
  } else if (value.is_number_integer()) {
    out << value.get<std::int64_t>();
  } else if (value.is_number_float()) {
    out << value.get<double>();
  } else {
    out << YAML::Null;
  }
}

/// `target` at a dotted path, creating the objects on the way: "probe.tries" -> [probe][tries].
Json& at_path(Json& root, std::string_view path) {
  Json* node = &root;
  for (auto dot = path.find('.'); dot != std::string_view::npos; dot = path.find('.')) {
    node = &(*node)[std::string(path.substr(0, dot))];
    path.remove_prefix(dot + 1);
  }
  return (*node)[std::string(path)];
}

}  // namespace

namespace detail {

std::string doc_text(const Json& value) {
  if (value.is_string()) {
    return value.get<std::string>().empty() ? "empty" : value.get<std::string>();
  }
  if (value.is_array()) {
    std::string out;
    for (const auto& item : value) {
      out += (out.empty() ? "" : ", ") + doc_text(item);
    }
    return "[" + out + "]";
  }
  return value.is_null() ? "empty" : value.dump();
}

}  // namespace detail

void Config::validate() const {
  if (state_dir.empty()) {
    throw ConfigError("state_dir: must not be empty");
  }
  if (probe.record_types.empty()) {
    throw ConfigError("probe.record_types: at least one record type is needed");
  }
}

Config default_config() {
  Config config;
  if (auto dir = env("FLUXWATCH_STATE_DIR"); !dir.empty()) {
    config.state_dir = dir;
  } else if (geteuid() == 0) {
    // /root is mode 700: the postgres user that runs the managed cluster could not reach it.
    config.state_dir = "/var/lib/fluxwatch";
  } else if (auto xdg = env("XDG_STATE_HOME"); !xdg.empty()) {
    config.state_dir = std::filesystem::path(xdg) / "fluxwatch";
  } else {
    config.state_dir = home_dir() / ".local/state/fluxwatch";
  }
  return config;
}

Config parse_config(std::string_view yaml_text, std::string_view source) {
  const Reporter reporter(source);
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml_text));
  } catch (const YAML::ParserException& e) {
    throw ConfigError(fmt::format("{}:{}: not valid YAML: {}", source, e.mark.line + 1, e.msg));
  }
  Config config = default_config();
  if (root.IsNull()) {
    return config;  // an empty file means "all defaults"
  }
  if (!root.IsMap()) {
    reporter.fail(root, "(top level)", "expected a mapping of settings");
  }
  reject_duplicate_keys(reporter, root, "");
  apply_map(config, reporter, root, "");
  try {
    config.validate();
  } catch (const ConfigError& e) {
    throw ConfigError(fmt::format("{}: {}", source, e.what()));
  }
  return config;
}

Config load_config_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) {
    throw ConfigError(
        fmt::format("cannot read config file {}: check the path given to --config "
                    "or FLUXWATCH_CONFIG",
                    path.string()));
  }
  std::stringstream text;
  text << in.rdbuf();
  return parse_config(text.str(), path.string());
}

std::filesystem::path default_config_path() {
  if (auto path = env("FLUXWATCH_CONFIG"); !path.empty()) {
    return path;
  }
  const auto xdg = env("XDG_CONFIG_HOME");
  const auto candidate =
      (xdg.empty() ? home_dir() / ".config" : std::filesystem::path(xdg)) / "fluxwatch/config.yaml";
  std::error_code ec;
  return std::filesystem::exists(candidate, ec) ? candidate : std::filesystem::path();
}

std::string to_yaml(const Config& config) {
  Json shown = Json::object();
  for (const auto& row : config_rows()) {
    if (row.options.show != Show::Alias) {
      at_path(shown, row.key) = detail::shown(row, config);
    }
  }
  YAML::Emitter out;
  out.SetDoublePrecision(15);  // 0.3, not 0.29999999999999999 (17 digits round-trip noise)
  emit(out, shown);
  return std::string(out.c_str()) + "\n";
}

namespace {

/// The rows `keep` selects as JSON, at their key less `strip`; a secret only as whether it
/// is set (`<key>_configured`).
template <typename Keep>
Json recorded_json(const Config& config, std::string_view strip, Keep keep) {
  Json out = Json::object();
  for (const auto& row : config_rows()) {
    if (!keep(row)) {
      continue;
    }
    const auto key = std::string(row.key.substr(strip.size()));
    if (row.options.show == Show::Plain) {
      at_path(out, key) = row.value(config);
    } else {
      at_path(out, key + "_configured") = !row.value(config).template get<std::string>().empty();
    }
  }
  return out;
}

}  // namespace

std::string to_json(const Config& config) {
  return recorded_json(config, "", [](const Field<Config>& row) { return row.options.recorded; })
      .dump();
}

std::string to_json(const Campaign& campaign) {
  return detail::item_json(detail::campaign_rows(), campaign).dump();
}

std::string section_json(const Config& config, std::string_view section) {
  const auto prefix = std::string(section) + ".";
  return recorded_json(config, prefix,
                       [&](const Field<Config>& row) { return row.key.starts_with(prefix); })
      .dump();
}

std::vector<SettingDoc> setting_docs() {
  const Config defaults = default_config();
  std::vector<SettingDoc> docs;
  for (const auto& row : config_rows()) {
    docs.push_back({std::string(row.key),
                    row.options.doc_default.empty() ? detail::doc_text(detail::shown(row, defaults))
                                                    : std::string(row.options.doc_default),
                    row.range, std::string(row.help)});
    if (row.item_docs) {
      auto items = row.item_docs(row.key);
      docs.insert(docs.end(), items.begin(), items.end());
    }
  }
  return docs;
}

std::string settings_markdown() {
  const auto cell = [](const std::string& text) {
    std::string out;
    for (const char c : text) {
      out += c == '|' ? std::string("\\|") : std::string(1, c);
    }
    return out;
  };
  std::string out = "| key | default | range | meaning |\n| --- | --- | --- | --- |\n";
  for (const auto& doc : setting_docs()) {
    out += fmt::format("| `{}` | {} | {} | {} |\n", doc.key, cell(doc.default_value),
                       cell(doc.range), cell(doc.help));
  }
  return out;
}

IntegerRange integer_range(std::string_view key) {
  const auto& rows = config_rows();
  const auto row = std::ranges::find(rows, key, &Field<Config>::key);
  if (row == rows.end() || !row->integers) {
    throw std::out_of_range(fmt::format("{}: not a whole-number setting", key));
  }
  return *row->integers;
}

}  // namespace fluxwatch::config
