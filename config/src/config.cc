#include "fluxwatch/config/config.h"

#include <fmt/format.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "campaigns.h"
#include "fluxwatch/common/error.h"

namespace fluxwatch::config {
namespace {

constexpr std::array<std::string_view, 6> kLogLevels{"trace", "debug", "info",
                                                     "warn",  "error", "off"};

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
      reporter.fail(
          item, key,
          fmt::format("unknown record type '{}' (A, AAAA, NS, MX, TXT, ... or TYPE<n>)", text));
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

std::string optional_text(const Reporter& r, const YAML::Node& n, std::string_view k) {
  return n.IsNull() ? std::string() : scalar<std::string>(r, n, k, "a string");
}

std::vector<std::string> text_list(const Reporter& r, const YAML::Node& n, std::string_view k) {
  if (n.IsNull()) {
    return {};
  }
  if (!n.IsSequence()) {
    r.fail(n, k, "expected a list of strings");
  }
  std::vector<std::string> out;
  for (const auto& item : n) {
    out.push_back(scalar<std::string>(r, item, k, "a string"));
  }
  return out;
}

std::chrono::milliseconds millis(const Reporter& r, const YAML::Node& n, std::string_view k,
                                 int low, int high) {
  return std::chrono::milliseconds(integer_in<int>(r, n, k, low, high));
}

bool is_feed_url(std::string_view url) {
  return url.starts_with("http://") || url.starts_with("https://") || url.starts_with("file://");
}

// `feeds`: a list of {url, format, column, tag, refresh_minutes}.
std::vector<Config::Feed> parse_feeds(const Reporter& r, const YAML::Node& n, std::string_view k) {
  if (n.IsNull()) {
    return {};
  }
  if (!n.IsSequence()) {
    r.fail(n, k, "expected a list of feeds ({url: ..., format: plain|csv|jsonl, ...})");
  }
  std::vector<Config::Feed> feeds;
  for (const auto& item : n) {
    if (!item.IsMap()) {
      r.fail(item, k, "expected a mapping with url, format, column, tag, refresh_minutes");
    }
    Config::Feed feed;
    for (const auto& field : item) {
      const auto name = field.first.as<std::string>();
      const auto key = fmt::format("{}.{}", k, name);
      if (name == "url") {
        feed.url = scalar<std::string>(r, field.second, key, "a URL");
        if (!is_feed_url(feed.url)) {
          r.fail(field.second, key, "expected an http://, https:// or file:// URL");
        }
      } else if (name == "format") {
        feed.format = scalar<std::string>(r, field.second, key, "plain, csv or jsonl");
        if (feed.format != "plain" && feed.format != "csv" && feed.format != "jsonl") {
          r.fail(field.second, key, fmt::format("'{}' is not plain, csv or jsonl", feed.format));
        }
      } else if (name == "column" || name == "field") {
        feed.column = scalar<std::string>(r, field.second, key, "a column or field name");
      } else if (name == "tag") {
        feed.tag = optional_text(r, field.second, key);
      } else if (name == "refresh_minutes") {
        feed.refresh_interval =
            std::chrono::minutes(integer_in<int>(r, field.second, key, 1, 60 * 24 * 365));
      } else {
        r.fail(field.first, key,
               "unknown setting (known here: url, format, column, field, tag, refresh_minutes)");
      }
    }
    if (feed.url.empty()) {
      r.fail(item, k, "a feed needs a url");
    }
    feeds.push_back(std::move(feed));
  }
  return feeds;
}

/// A `scoring.*` whole-number setting in [low, high].
Key scoring_count(std::string_view path, std::int64_t Config::Scoring::*member, std::int64_t low,
                  std::int64_t high) {
  return {path, [member, low, high](Config& c, const Reporter& r, const YAML::Node& n,
                                    std::string_view k) {
            c.scoring.*member = integer_in<std::int64_t>(r, n, k, low, high);
          }};
}

/// A `scoring.*` number setting in [low, high] (finite).
template <typename Member>
Key scoring_number(std::string_view path, Member member, double low, double high) {
  return {path, [member, low, high](Config& c, const Reporter& r, const YAML::Node& n,
                                    std::string_view k) {
            const auto value = scalar<double>(r, n, k, "a number");
            if (!(value >= low && value <= high)) {
              r.fail(n, k,
                     fmt::format("{} is out of range (a number from {} to {})", value, low, high));
            }
            c.scoring.*member = value;
          }};
}

/// A `scoring.holz.*` weight (any finite number).
Key holz_weight(std::string_view path, double Config::Scoring::Holz::*member) {
  return {path, [member](Config& c, const Reporter& r, const YAML::Node& n, std::string_view k) {
            const auto value = scalar<double>(r, n, k, "a number");
            if (!std::isfinite(value)) {
              r.fail(n, k, "expected a finite number");
            }
            c.scoring.holz.*member = value;
          }};
}

// The one table of settings: YAML key path -> how to apply it.
const std::vector<Key>& keys() {
  static const std::
      vector<Key>
          table{
              {"state_dir",
               [](Config& c, const Reporter& r, const YAML::Node& n, std::string_view k) {
                 c.state_dir = scalar<std::string>(r, n, k, "a directory path");
               }},
              {"database.dsn",
               [](Config& c, const Reporter& r, const YAML::Node& n, std::string_view k) {
                 c.database.dsn =
                     n.IsNull() ? "" : scalar<std::string>(r, n, k, "a libpq connection string");
               }},
              {"storage.retention_days",
               [](Config& c, const Reporter& r, const YAML::Node& n, std::string_view k) {
                 c.storage.retention_days = integer_in<int>(r, n, k, 0, 1000000);
               }},
              {"database.read_dsn",
               [](Config& c, const Reporter& r, const YAML::Node& n, std::string_view k) {
                 c.database.read_dsn =
                     n.IsNull() ? "" : scalar<std::string>(r, n, k, "a libpq connection string");
               }},
              {"serve.listen",
               [](Config& c, const Reporter& r, const YAML::Node& n, std::string_view k) {
                 c.serve.listen = scalar<std::string>(r, n, k, "HOST:PORT");
               }},
              {"serve.token",
               [](Config& c, const Reporter& r, const YAML::Node& n, std::string_view k) {
                 c.serve.token = n.IsNull() ? "" : scalar<std::string>(r, n, k, "a token");
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
              {"probe.stall_ms",
               [](Config& c, const Reporter& r, const YAML::Node& n, std::string_view k) {
                 c.probe.stall_after =
                     std::chrono::milliseconds(integer_in<int>(r, n, k, 0, 60000));
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
              {"probe.authoritative_port",
               [](Config& c, const Reporter& r, const YAML::Node& n, std::string_view k) {
                 c.probe.authoritative_port = integer_in<std::uint16_t>(r, n, k, 1, 65535);
               }},
              {"probe.authoritative_max_servers",
               [](Config& c, const Reporter& r, const YAML::Node& n, std::string_view k) {
                 c.probe.authoritative_max_servers = integer_in<std::size_t>(r, n, k, 1, 64);
               }},
              {"geoip.asn_database",
               [](Config& c, const Reporter& r, const YAML::Node& n, std::string_view k) {
                 c.geoip.asn_database =
                     n.IsNull() ? "" : scalar<std::string>(r, n, k, "a file path");
               }},
              {"geoip.city_database",
               [](Config& c, const Reporter& r, const YAML::Node& n, std::string_view k) {
                 c.geoip.city_database =
                     n.IsNull() ? "" : scalar<std::string>(r, n, k, "a file path");
               }},
              {"geoip.cache_entries",
               [](Config& c, const Reporter& r, const YAML::Node& n, std::string_view k) {
                 c.geoip.cache_entries = integer_in<std::size_t>(r, n, k, 0, 1U << 28);
               }},
              // --- geoip.update, feeds, fetch, http_probe (issue 7) ---
              {"geoip.update.asn_url",
               [](Config& c, const Reporter& r, const YAML::Node& n, std::string_view k) {
                 c.geoip.update.asn_url = optional_text(r, n, k);
               }},
              {"geoip.update.city_url",
               [](Config& c, const Reporter& r, const YAML::Node& n, std::string_view k) {
                 c.geoip.update.city_url = optional_text(r, n, k);
               }},
              {"geoip.update.account_id",
               [](Config& c, const Reporter& r, const YAML::Node& n, std::string_view k) {
                 c.geoip.update.account_id = optional_text(r, n, k);
               }},
              {"geoip.update.license_key",
               [](Config& c, const Reporter& r, const YAML::Node& n, std::string_view k) {
                 c.geoip.update.license_key = optional_text(r, n, k);
               }},
              {"geoip.update.edition_ids",
               [](Config& c, const Reporter& r, const YAML::Node& n, std::string_view k) {
                 c.geoip.update.edition_ids = text_list(r, n, k);
               }},
              {"geoip.update.maxmind_url",
               [](Config& c, const Reporter& r, const YAML::Node& n, std::string_view k) {
                 c.geoip.update.maxmind_url = scalar<std::string>(r, n, k, "a URL");
               }},
              {"feeds", [](Config& c, const Reporter& r, const YAML::Node& n,
                           std::string_view k) { c.feeds = parse_feeds(r, n, k); }},
              {"fetch.user_agent",
               [](Config& c, const Reporter& r, const YAML::Node& n, std::string_view k) {
                 c.fetch.user_agent = scalar<std::string>(r, n, k, "a string");
               }},
              {"fetch.timeout_ms",
               [](Config& c, const Reporter& r, const YAML::Node& n, std::string_view k) {
                 c.fetch.timeout = millis(r, n, k, 100, 3600000);
               }},
              {"fetch.connect_timeout_ms",
               [](Config& c, const Reporter& r, const YAML::Node& n, std::string_view k) {
                 c.fetch.connect_timeout = millis(r, n, k, 10, 600000);
               }},
              {"fetch.retries",
               [](Config& c, const Reporter& r, const YAML::Node& n, std::string_view k) {
                 c.fetch.retries = integer_in<int>(r, n, k, 0, 10);
               }},
              {"fetch.retry_backoff_ms",
               [](Config& c, const Reporter& r, const YAML::Node& n, std::string_view k) {
                 c.fetch.retry_backoff = millis(r, n, k, 0, 600000);
               }},
              {"fetch.max_feed_bytes",
               [](Config& c, const Reporter& r, const YAML::Node& n, std::string_view k) {
                 c.fetch.max_feed_bytes = integer_in<std::size_t>(r, n, k, 1, std::size_t{1} << 34);
               }},
              {"fetch.max_download_bytes",
               [](Config& c, const Reporter& r, const YAML::Node& n, std::string_view k) {
                 c.fetch.max_download_bytes =
                     integer_in<std::size_t>(r, n, k, 1, std::size_t{1} << 36);
               }},
              {"fetch.verify_tls",
               [](Config& c, const Reporter& r, const YAML::Node& n, std::string_view k) {
                 c.fetch.verify_tls = scalar<bool>(r, n, k, "true or false");
               }},
              {"fetch.ca_file",
               [](Config& c, const Reporter& r, const YAML::Node& n, std::string_view k) {
                 c.fetch.ca_file = optional_text(r, n, k);
               }},
              {"http_probe.enabled",
               [](Config& c, const Reporter& r, const YAML::Node& n, std::string_view k) {
                 c.http_probe.enabled = scalar<bool>(r, n, k, "true or false");
               }},
              {"http_probe.user_agent",
               [](Config& c, const Reporter& r, const YAML::Node& n, std::string_view k) {
                 c.http_probe.user_agent = scalar<std::string>(r, n, k, "a string");
               }},
              {"http_probe.https",
               [](Config& c, const Reporter& r, const YAML::Node& n, std::string_view k) {
                 c.http_probe.https = scalar<bool>(r, n, k, "true or false");
               }},
              {"http_probe.connect_timeout_ms",
               [](Config& c, const Reporter& r, const YAML::Node& n, std::string_view k) {
                 c.http_probe.connect_timeout = millis(r, n, k, 10, 60000);
               }},
              {"http_probe.timeout_ms",
               [](Config& c, const Reporter& r, const YAML::Node& n, std::string_view k) {
                 c.http_probe.timeout = millis(r, n, k, 10, 300000);
               }},
              {"http_probe.max_body_bytes",
               [](Config& c, const Reporter& r, const YAML::Node& n, std::string_view k) {
                 c.http_probe.max_body_bytes = integer_in<std::size_t>(r, n, k, 0, 64U << 20);
               }},
              {"http_probe.concurrency",
               [](Config& c, const Reporter& r, const YAML::Node& n, std::string_view k) {
                 c.http_probe.concurrency = integer_in<std::size_t>(r, n, k, 1, 10000);
               }},
              {"http_probe.rate_per_second",
               [](Config& c, const Reporter& r, const YAML::Node& n, std::string_view k) {
                 const auto rate = scalar<double>(r, n, k, "a number of requests per second");
                 if (!(rate > 0 && rate <= 100000)) {
                   r.fail(n, k, "expected a rate above 0 and at most 100000");
                 }
                 c.http_probe.rate_per_second = rate;
               }},
              {"http_probe.per_address_interval_ms",
               [](Config& c, const Reporter& r, const YAML::Node& n, std::string_view k) {
                 c.http_probe.per_address_interval = millis(r, n, k, 0, 3600000);
               }},
              // --- campaigns and scheduler.* (issue 3, parsed in campaigns.cc) ---
              {"campaigns",
               [](Config& c, const Reporter& r, const YAML::Node& n, std::string_view k) {
                 c.campaigns = detail::parse_campaigns(
                     n, k,
                     [&r](const YAML::Node& at, std::string_view key, std::string_view message) {
                       r.fail(at, key, message);
                     });
               }},
              {"scheduler.lease_seconds",
               [](Config& c, const Reporter& r, const YAML::Node& n, std::string_view k) {
                 c.scheduler.lease =
                     std::chrono::milliseconds(integer_in<int>(r, n, k, 1, 86400) * 1000);
               }},
              {"scheduler.lease_batch",
               [](Config& c, const Reporter& r, const YAML::Node& n, std::string_view k) {
                 c.scheduler.lease_batch = integer_in<std::size_t>(r, n, k, 1, 1000000);
               }},
              {"scheduler.flush_ms",
               [](Config& c, const Reporter& r, const YAML::Node& n, std::string_view k) {
                 c.scheduler.flush_interval =
                     std::chrono::milliseconds(integer_in<int>(r, n, k, 10, 600000));
               }},
              {"scheduler.buffer_limit",
               [](Config& c, const Reporter& r, const YAML::Node& n, std::string_view k) {
                 c.scheduler.buffer_limit = integer_in<std::size_t>(r, n, k, 100, 100000000);
               }},
              {"scheduler.shutdown_grace_ms",
               [](Config& c, const Reporter& r, const YAML::Node& n, std::string_view k) {
                 c.scheduler.shutdown_grace =
                     std::chrono::milliseconds(integer_in<int>(r, n, k, 0, 3600000));
               }},
              {"log.level",
               [](Config& c, const Reporter& r, const YAML::Node& n, std::string_view k) {
                 auto level = scalar<std::string>(r, n, k, "a log level");
                 if (std::ranges::find(kLogLevels, level) == kLogLevels.end()) {
                   r.fail(n, k,
                          fmt::format("'{}' is not one of trace, debug, info, warn, error, off",
                                      level));
                 }
                 c.log.level = level;
               }},
              {"log.format",
               [](Config& c, const Reporter& r, const YAML::Node& n, std::string_view k) {
                 c.log.format = scalar<std::string>(r, n, k, "text or json");
                 if (c.log.format != "text" && c.log.format != "json") {
                   r.fail(n, k, fmt::format("'{}' is not text or json", c.log.format));
                 }
               }},
              {"metrics.listen",
               [](Config& c, const Reporter& r, const YAML::Node& n, std::string_view k) {
                 c.metrics.listen = scalar<std::string>(r, n, k, "ip:port");
                 if (!c.metrics.listen.empty() && !parse_endpoint(c.metrics.listen)) {
                   r.fail(n, k, "expected ip:port, e.g. 127.0.0.1:9109 (empty: off)");
                 }
               }},
              scoring_count("scoring.window_hours", &Config::Scoring::window_hours, 0,
                            24 * 366 * 100),
              scoring_count("scoring.min_lookups", &Config::Scoring::min_lookups, 1, 1000000),
              scoring_count("scoring.flux_min_addresses", &Config::Scoring::flux_min_addresses, 1,
                            1000000),
              scoring_count("scoring.flux_min_asns", &Config::Scoring::flux_min_asns, 1, 1000000),
              scoring_count("scoring.flux_max_ttl", &Config::Scoring::flux_max_ttl, 0,
                            4294967295LL),
              scoring_number("scoring.flux_min_change_ratio",
                             &Config::Scoring::flux_min_change_ratio, 0, 1),
              scoring_count("scoring.double_flux_min_ns_names",
                            &Config::Scoring::double_flux_min_ns_names, 1, 1000000),
              scoring_number("scoring.double_flux_min_ns_change_ratio",
                             &Config::Scoring::double_flux_min_ns_change_ratio, 0, 1),
              scoring_count("scoring.double_flux_min_ns_addresses",
                            &Config::Scoring::double_flux_min_ns_addresses, 1, 1000000),
              scoring_count("scoring.double_flux_min_ns_asns",
                            &Config::Scoring::double_flux_min_ns_asns, 1, 1000000),
              scoring_count("scoring.cdn_min_addresses", &Config::Scoring::cdn_min_addresses, 1,
                            1000000),
              scoring_count("scoring.cdn_max_asns", &Config::Scoring::cdn_max_asns, 1, 1000000),
              scoring_count("scoring.round_robin_min_answer",
                            &Config::Scoring::round_robin_min_answer, 1, 1000000),
              scoring_count("scoring.round_robin_max_addresses",
                            &Config::Scoring::round_robin_max_addresses, 1, 1000000),
              holz_weight("scoring.holz.w_a", &Config::Scoring::Holz::w_a),
              holz_weight("scoring.holz.w_asn", &Config::Scoring::Holz::w_asn),
              holz_weight("scoring.holz.w_ns", &Config::Scoring::Holz::w_ns),
              holz_weight("scoring.holz.bias", &Config::Scoring::Holz::bias),
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

// geoip.update (inside the open geoip map, then closes it) when `top_level` is false; feeds,
// fetch and http_probe when true. The licence key is never printed.
void emit_fetch_sections(YAML::Emitter& out, const Config& config, bool top_level) {
  if (!top_level) {
    const auto& u = config.geoip.update;
    out << YAML::Key << "update" << YAML::Value << YAML::BeginMap;
    out << YAML::Key << "asn_url" << YAML::Value << u.asn_url;
    out << YAML::Key << "city_url" << YAML::Value << u.city_url;
    out << YAML::Key << "account_id" << YAML::Value << u.account_id;
    out << YAML::Key << "license_key" << YAML::Value << (u.license_key.empty() ? "" : "(set)");
    out << YAML::Key << "edition_ids" << YAML::Value << YAML::Flow << u.edition_ids;
    out << YAML::Key << "maxmind_url" << YAML::Value << u.maxmind_url;
    out << YAML::EndMap << YAML::EndMap;
    return;
  }
  out << YAML::Key << "feeds" << YAML::Value << YAML::BeginSeq;
  for (const auto& feed : config.feeds) {
    out << YAML::BeginMap << YAML::Key << "url" << YAML::Value << feed.url;
    out << YAML::Key << "format" << YAML::Value << feed.format;
    out << YAML::Key << "column" << YAML::Value << feed.column;
    out << YAML::Key << "tag" << YAML::Value << feed.tag;
    out << YAML::Key << "refresh_minutes" << YAML::Value
        << std::chrono::duration_cast<std::chrono::minutes>(feed.refresh_interval).count();
    out << YAML::EndMap;
  }
  out << YAML::EndSeq;
  const auto& f = config.fetch;
  out << YAML::Key << "fetch" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "user_agent" << YAML::Value << f.user_agent;
  out << YAML::Key << "timeout_ms" << YAML::Value << f.timeout.count();
  out << YAML::Key << "connect_timeout_ms" << YAML::Value << f.connect_timeout.count();
  out << YAML::Key << "retries" << YAML::Value << f.retries;
  out << YAML::Key << "retry_backoff_ms" << YAML::Value << f.retry_backoff.count();
  out << YAML::Key << "max_feed_bytes" << YAML::Value << f.max_feed_bytes;
  out << YAML::Key << "max_download_bytes" << YAML::Value << f.max_download_bytes;
  out << YAML::Key << "verify_tls" << YAML::Value << f.verify_tls;
  out << YAML::Key << "ca_file" << YAML::Value << f.ca_file;
  out << YAML::EndMap;
  const auto& h = config.http_probe;
  out << YAML::Key << "http_probe" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "enabled" << YAML::Value << h.enabled;
  out << YAML::Key << "user_agent" << YAML::Value << h.user_agent;
  out << YAML::Key << "https" << YAML::Value << h.https;
  out << YAML::Key << "connect_timeout_ms" << YAML::Value << h.connect_timeout.count();
  out << YAML::Key << "timeout_ms" << YAML::Value << h.timeout.count();
  out << YAML::Key << "max_body_bytes" << YAML::Value << h.max_body_bytes;
  out << YAML::Key << "concurrency" << YAML::Value << h.concurrency;
  out << YAML::Key << "rate_per_second" << YAML::Value << h.rate_per_second;
  out << YAML::Key << "per_address_interval_ms" << YAML::Value << h.per_address_interval.count();
  out << YAML::EndMap;
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

/// The `scoring:` section of to_yaml().
static void emit_scoring_section(YAML::Emitter& out, const Config::Scoring& s) {
  out << YAML::Key << "scoring" << YAML::Value << YAML::BeginMap;
  const std::pair<const char*, std::int64_t> counts[] = {
      {"window_hours", s.window_hours},
      {"min_lookups", s.min_lookups},
      {"flux_min_addresses", s.flux_min_addresses},
      {"flux_min_asns", s.flux_min_asns},
      {"flux_max_ttl", s.flux_max_ttl},
      {"double_flux_min_ns_names", s.double_flux_min_ns_names},
      {"double_flux_min_ns_addresses", s.double_flux_min_ns_addresses},
      {"double_flux_min_ns_asns", s.double_flux_min_ns_asns},
      {"cdn_min_addresses", s.cdn_min_addresses},
      {"cdn_max_asns", s.cdn_max_asns},
      {"round_robin_min_answer", s.round_robin_min_answer},
      {"round_robin_max_addresses", s.round_robin_max_addresses}};
  for (const auto& [key, value] : counts) {
    out << YAML::Key << key << YAML::Value << value;
  }
  out << YAML::Key << "flux_min_change_ratio" << YAML::Value << s.flux_min_change_ratio;
  out << YAML::Key << "double_flux_min_ns_change_ratio" << YAML::Value
      << s.double_flux_min_ns_change_ratio;
  out << YAML::Key << "holz" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "w_a" << YAML::Value << s.holz.w_a;
  out << YAML::Key << "w_asn" << YAML::Value << s.holz.w_asn;
  out << YAML::Key << "w_ns" << YAML::Value << s.holz.w_ns;
  out << YAML::Key << "bias" << YAML::Value << s.holz.bias;
  out << YAML::EndMap << YAML::EndMap;
}

std::string to_yaml(const Config& config) {
  YAML::Emitter out;
  out.SetDoublePrecision(15);  // 0.3, not 0.29999999999999999 (17 digits round-trip noise)
  out << YAML::BeginMap;
  out << YAML::Key << "state_dir" << YAML::Value << config.state_dir.string();
  out << YAML::Key << "database" << YAML::Value << YAML::BeginMap << YAML::Key << "dsn"
      << YAML::Value << redact_dsn(config.database.dsn) << YAML::Key << "read_dsn" << YAML::Value
      << redact_dsn(config.database.read_dsn) << YAML::EndMap;
  // Secrets are shown redacted (as geoip.update.license_key): `config` output is pasted into
  // tickets and chats. to_json() (stored with every run) leaves them out altogether.
  out << YAML::Key << "serve" << YAML::Value << YAML::BeginMap << YAML::Key << "listen"
      << YAML::Value << config.serve.listen << YAML::Key << "token" << YAML::Value
      << (config.serve.token.empty() ? "" : "(set)") << YAML::EndMap;
  out << YAML::Key << "storage" << YAML::Value << YAML::BeginMap << YAML::Key << "retention_days"
      << YAML::Value << config.storage.retention_days << YAML::EndMap;
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
  out << YAML::Key << "stall_ms" << YAML::Value << config.probe.stall_after.count();
  out << YAML::Key << "recursion" << YAML::Value << config.probe.recursion;
  out << YAML::Key << "edns" << YAML::Value << config.probe.edns;
  out << YAML::Key << "edns_udp_size" << YAML::Value << config.probe.edns_udp_size;
  out << YAML::Key << "socket_buffer_bytes" << YAML::Value << config.probe.socket_buffer_bytes;
  out << YAML::Key << "batch_size" << YAML::Value << config.probe.batch_size;
  out << YAML::Key << "authoritative_port" << YAML::Value << config.probe.authoritative_port;
  out << YAML::Key << "authoritative_max_servers" << YAML::Value
      << config.probe.authoritative_max_servers;
  out << YAML::EndMap;
  out << YAML::Key << "geoip" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "asn_database" << YAML::Value << config.geoip.asn_database.string();
  out << YAML::Key << "city_database" << YAML::Value << config.geoip.city_database.string();
  out << YAML::Key << "cache_entries" << YAML::Value << config.geoip.cache_entries;
  emit_fetch_sections(out, config, false);
  emit_fetch_sections(out, config, true);
  out << YAML::Key << "log" << YAML::Value << YAML::BeginMap << YAML::Key << "level" << YAML::Value
      << config.log.level << YAML::Key << "format" << YAML::Value << config.log.format
      << YAML::EndMap;
  out << YAML::Key << "metrics" << YAML::Value << YAML::BeginMap << YAML::Key << "listen"
      << YAML::Value << config.metrics.listen << YAML::EndMap;
  emit_scoring_section(out, config.scoring);
  detail::emit_campaigns(out, config);
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
        {"stall_ms", config.probe.stall_after.count()},
        {"recursion", config.probe.recursion},
        {"edns", config.probe.edns},
        {"edns_udp_size", config.probe.edns_udp_size},
        {"batch_size", config.probe.batch_size},
        {"authoritative_port", config.probe.authoritative_port},
        {"authoritative_max_servers", config.probe.authoritative_max_servers}}},
      {"geoip",
       {{"asn_database", config.geoip.asn_database.string()},
        {"city_database", config.geoip.city_database.string()}}},
      {"http_probe", {{"enabled", config.http_probe.enabled}}},
  };
  return json.dump();
}

}  // namespace fluxwatch::config
