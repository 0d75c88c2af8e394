#include "fluxwatch/config/config.h"

#include <fmt/format.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>

#include "fluxwatch/common/error.h"

namespace fluxwatch::config {
namespace {

constexpr std::array<std::string_view, 6> kLogLevels{"trace", "debug", "info", "warn", "error",
                                                     "off"};

std::string env(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr ? std::string(value) : std::string();
}

std::filesystem::path home_dir() {
  const auto home = env("HOME");
  return home.empty() ? std::filesystem::path("/tmp") : std::filesystem::path(home);
}

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

template <typename T>
T integer_in(const Reporter& reporter, const YAML::Node& node, std::string_view key, T low,
             T high) {
  const auto expected = fmt::format("a whole number from {} to {}", low, high);
  const auto value = scalar<long long>(reporter, node, key, expected);
  if (value < static_cast<long long>(low) || value > static_cast<long long>(high)) {
    reporter.fail(node, key, fmt::format("{} is out of range ({})", value, expected));
  }
  return static_cast<T>(value);
}

using Handler = std::function<void(Config&, const Reporter&, const YAML::Node&, std::string_view)>;
struct Key {
  std::string_view path;
  Handler apply;
};

std::vector<RrType> parse_types(const Reporter& reporter, const YAML::Node& node,
                                std::string_view key) {
  if (!node.IsSequence() || node.size() == 0) {
    reporter.fail(node, key, "expected a non-empty list of record types, e.g. [A, AAAA, NS]");
  }
  std::vector<RrType> types;
  for (const auto& item : node) {
    const auto text = scalar<std::string>(reporter, item, key, "a record type");
    auto type = parse_rrtype(text);
    if (!type) {
      reporter.fail(item, key, fmt::format("unknown record type '{}' (A, AAAA, NS, CNAME, SOA)", text));
    }
    if (std::ranges::find(types, *type) == types.end()) {
      types.push_back(*type);
    }
  }
  return types;
}

std::vector<Endpoint> parse_resolvers(const Reporter& reporter, const YAML::Node& node,
                                      std::string_view key) {
  if (!node.IsSequence()) {
    reporter.fail(node, key, "expected a list of \"ip[:port]\" strings");
  }
  std::vector<Endpoint> out;
  for (const auto& item : node) {
    const auto text = scalar<std::string>(reporter, item, key, "an \"ip[:port]\" string");
    auto endpoint = parse_endpoint(text);
    if (!endpoint) {
      reporter.fail(item, key,
                    fmt::format("'{}' is not ip[:port] (e.g. 127.0.0.1:5300 or [::1]:53)", text));
    }
    out.push_back(*endpoint);
  }
  return out;
}

// The one table of settings: YAML key path -> how to apply it.
const std::vector<Key>& keys() {
  static const std::vector<Key> table{
      {"state_dir",
       [](Config& c, const Reporter& r, const YAML::Node& n, std::string_view k) {
         c.state_dir = scalar<std::string>(r, n, k, "a directory path");
       }},
      {"database.dsn",
       [](Config& c, const Reporter& r, const YAML::Node& n, std::string_view k) {
         c.database.dsn = n.IsNull() ? "" : scalar<std::string>(r, n, k, "a libpq connection string");
       }},
      {"resolvers",
       [](Config& c, const Reporter& r, const YAML::Node& n, std::string_view k) {
         c.resolvers = n.IsNull() ? std::vector<Endpoint>{} : parse_resolvers(r, n, k);
       }},
      {"probe.record_types",
       [](Config& c, const Reporter& r, const YAML::Node& n, std::string_view k) {
         c.probe.record_types = parse_types(r, n, k);
       }},
      {"probe.concurrency",
       [](Config& c, const Reporter& r, const YAML::Node& n, std::string_view k) {
         c.probe.concurrency = integer_in<std::size_t>(r, n, k, 1, 100000);
       }},
      {"probe.timeout_ms",
       [](Config& c, const Reporter& r, const YAML::Node& n, std::string_view k) {
         c.probe.timeout = std::chrono::milliseconds(integer_in<int>(r, n, k, 10, 60000));
       }},
      {"probe.tries",
       [](Config& c, const Reporter& r, const YAML::Node& n, std::string_view k) {
         c.probe.tries = integer_in<int>(r, n, k, 1, 10);
       }},
      {"probe.recursion",
       [](Config& c, const Reporter& r, const YAML::Node& n, std::string_view k) {
         c.probe.recursion = scalar<bool>(r, n, k, "true or false");
       }},
      {"probe.edns",
       [](Config& c, const Reporter& r, const YAML::Node& n, std::string_view k) {
         c.probe.edns = scalar<bool>(r, n, k, "true or false");
       }},
      {"probe.edns_udp_size",
       [](Config& c, const Reporter& r, const YAML::Node& n, std::string_view k) {
         c.probe.edns_udp_size = integer_in<std::uint16_t>(r, n, k, 512, 4096);
       }},
      {"probe.socket_buffer_bytes",
       [](Config& c, const Reporter& r, const YAML::Node& n, std::string_view k) {
         c.probe.socket_buffer_bytes = integer_in<int>(r, n, k, 0, 1 << 28);
       }},
      {"probe.batch_size",
       [](Config& c, const Reporter& r, const YAML::Node& n, std::string_view k) {
         c.probe.batch_size = integer_in<std::size_t>(r, n, k, 1, 1000000);
       }},
      {"geoip.asn_database",
       [](Config& c, const Reporter& r, const YAML::Node& n, std::string_view k) {
         c.geoip.asn_database = n.IsNull() ? "" : scalar<std::string>(r, n, k, "a file path");
       }},
      {"geoip.city_database",
       [](Config& c, const Reporter& r, const YAML::Node& n, std::string_view k) {
         c.geoip.city_database = n.IsNull() ? "" : scalar<std::string>(r, n, k, "a file path");
       }},
      {"geoip.cache_entries",
       [](Config& c, const Reporter& r, const YAML::Node& n, std::string_view k) {
         c.geoip.cache_entries = integer_in<std::size_t>(r, n, k, 0, 1U << 28);
       }},
      {"log.level",
       [](Config& c, const Reporter& r, const YAML::Node& n, std::string_view k) {
         auto level = scalar<std::string>(r, n, k, "a log level");
         if (std::ranges::find(kLogLevels, level) == kLogLevels.end()) {
           r.fail(n, k, fmt::format("'{}' is not one of trace, debug, info, warn, error, off", level));
         }
         c.log.level = level;
       }},
  };
  return table;
}

const Key* find_key(std::string_view path) {
  for (const auto& key : keys()) {
    if (key.path == path) {
      return &key;
    }
  }
  return nullptr;
}

bool is_section(std::string_view path) {
  return std::ranges::any_of(keys(), [&](const Key& key) {
    return key.path.size() > path.size() && key.path.starts_with(path) &&
           key.path[path.size()] == '.';
  });
}

std::string known_keys_under(std::string_view prefix) {
  std::string out;
  for (const auto& key : keys()) {
    std::string_view path = key.path;
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
    if (const auto* key = find_key(path)) {
      key->apply(config, reporter, item.second, path);
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

}  // namespace

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
    throw ConfigError(fmt::format("cannot read config file {}: check the path given to --config "
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
  const auto candidate = (xdg.empty() ? home_dir() / ".config" : std::filesystem::path(xdg)) /
                         "fluxwatch/config.yaml";
  std::error_code ec;
  return std::filesystem::exists(candidate, ec) ? candidate : std::filesystem::path();
}

std::string to_yaml(const Config& config) {
  YAML::Emitter out;
  out << YAML::BeginMap;
  out << YAML::Key << "state_dir" << YAML::Value << config.state_dir.string();
  out << YAML::Key << "database" << YAML::Value << YAML::BeginMap << YAML::Key << "dsn"
      << YAML::Value << config.database.dsn << YAML::EndMap;
  out << YAML::Key << "resolvers" << YAML::Value << YAML::Flow << YAML::BeginSeq;
  for (const auto& resolver : config.resolvers) {
    out << resolver.to_string();
  }
  out << YAML::EndSeq;
  out << YAML::Key << "probe" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "record_types" << YAML::Value << YAML::Flow << YAML::BeginSeq;
  for (auto type : config.probe.record_types) {
    out << rrtype_name(static_cast<std::uint16_t>(type));
  }
  out << YAML::EndSeq;
  out << YAML::Key << "concurrency" << YAML::Value << config.probe.concurrency;
  out << YAML::Key << "timeout_ms" << YAML::Value << config.probe.timeout.count();
  out << YAML::Key << "tries" << YAML::Value << config.probe.tries;
  out << YAML::Key << "recursion" << YAML::Value << config.probe.recursion;
  out << YAML::Key << "edns" << YAML::Value << config.probe.edns;
  out << YAML::Key << "edns_udp_size" << YAML::Value << config.probe.edns_udp_size;
  out << YAML::Key << "socket_buffer_bytes" << YAML::Value << config.probe.socket_buffer_bytes;
  out << YAML::Key << "batch_size" << YAML::Value << config.probe.batch_size;
  out << YAML::EndMap;
  out << YAML::Key << "geoip" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "asn_database" << YAML::Value << config.geoip.asn_database.string();
  out << YAML::Key << "city_database" << YAML::Value << config.geoip.city_database.string();
  out << YAML::Key << "cache_entries" << YAML::Value << config.geoip.cache_entries;
  out << YAML::EndMap;
  out << YAML::Key << "log" << YAML::Value << YAML::BeginMap << YAML::Key << "level"
      << YAML::Value << config.log.level << YAML::EndMap;
  out << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

std::string to_json(const Config& config) {
  nlohmann::json types = nlohmann::json::array();
  for (auto type : config.probe.record_types) {
    types.push_back(rrtype_name(static_cast<std::uint16_t>(type)));
  }
  nlohmann::json resolvers = nlohmann::json::array();
  for (const auto& resolver : config.resolvers) {
    resolvers.push_back(resolver.to_string());
  }
  // The DSN may hold a password: record only whether one was configured.
  const nlohmann::json json{
      {"database", {{"dsn_configured", !config.database.dsn.empty()}}},
      {"resolvers", resolvers},
      {"probe",
       {{"record_types", types},
        {"concurrency", config.probe.concurrency},
        {"timeout_ms", config.probe.timeout.count()},
        {"tries", config.probe.tries},
        {"recursion", config.probe.recursion},
        {"edns", config.probe.edns},
        {"edns_udp_size", config.probe.edns_udp_size},
        {"batch_size", config.probe.batch_size}}},
      {"geoip",
       {{"asn_database", config.geoip.asn_database.string()},
        {"city_database", config.geoip.city_database.string()}}},
  };
  return json.dump();
}

}  // namespace fluxwatch::config
