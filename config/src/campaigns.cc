#include "campaigns.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <ctime>
#include <set>

#include "fluxwatch/common/utc_time.h"

namespace fluxwatch::config::detail {
namespace {

constexpr std::string_view kCampaignKeys =
    "name, tags, sources, record_types, resolvers, base_interval, min_interval, max_interval, "
    "jitter, start, end, vantage, qps, qps_per_resolver, mode, resolver_mode";

std::string text(const YAML::Node& node, std::string_view key, std::string_view expected,
                 const FailAt& fail) {
  if (!node.IsScalar()) {
    fail(node, key, fmt::format("expected {}", expected));
  }
  return node.Scalar();
}

double number(const YAML::Node& node, std::string_view key, double low, double high,
              const FailAt& fail) {
  const auto expected = fmt::format("a number from {} to {}", low, high);
  const std::string value = text(node, key, expected, fail);
  double parsed = 0;
  try {
    parsed = node.as<double>();
  } catch (const YAML::Exception&) {
    fail(node, key, fmt::format("'{}' is not {}", value, expected));
  }
  if (!std::isfinite(parsed) || parsed < low || parsed > high) {
    fail(node, key, fmt::format("{} is out of range ({})", value, expected));
  }
  return parsed;
}

/// Safe in tags/sources: printable, no control characters (they separate list items in SQL
/// parameters).
std::vector<std::string> labels(const YAML::Node& node, std::string_view key, const FailAt& fail) {
  if (node.IsNull()) {
    return {};
  }
  if (!node.IsSequence()) {
    fail(node, key, "expected a list of strings");
  }
  std::vector<std::string> out;
  for (const auto& item : node) {
    auto value = text(item, key, "a string", fail);
    if (value.empty() ||
        std::ranges::any_of(value, [](char c) { return static_cast<unsigned char>(c) < 0x20; })) {
      fail(item, key, "expected a non-empty string without control characters");
    }
    out.push_back(std::move(value));
  }
  return out;
}

/// "2026-11-22T10:00:00Z" (or with +00:00, or a space instead of T).
std::chrono::system_clock::time_point timestamp(const YAML::Node& node, std::string_view key,
                                                const FailAt& fail) {
  const std::string value = text(node, key, "an ISO 8601 UTC time", fail);
  const auto parsed = parse_utc_time(value, UtcTimeForm::WithZone);
  if (!parsed) {
    fail(node, key, fmt::format("'{}' is not a UTC time like 2026-11-22T10:00:00Z", value));
  }
  return parsed.value();
}

double seconds_of(std::chrono::milliseconds ms) { return static_cast<double>(ms.count()) / 1000.0; }

}  // namespace

std::chrono::milliseconds parse_seconds(const YAML::Node& node, std::string_view key, double low,
                                        double high, const FailAt& fail) {
  return std::chrono::milliseconds(std::llround(number(node, key, low, high, fail) * 1000.0));
}

std::vector<Campaign> parse_campaigns(const YAML::Node& node, std::string_view key,
                                      const FailAt& fail) {
  if (node.IsNull()) {
    return {};
  }
  if (!node.IsSequence()) {
    fail(node, key, "expected a list of campaigns ({name: ..., tags: [...], ...})");
  }
  constexpr double kMaxSeconds = 366.0 * 86400.0;
  std::vector<Campaign> campaigns;
  std::set<std::string> names;
  for (const auto& item : node) {
    if (!item.IsMap()) {
      fail(item, key, fmt::format("expected a mapping with {}", kCampaignKeys));
    }
    Campaign campaign;
    bool has_min = false;
    bool has_max = false;
    for (const auto& field : item) {
      const auto name = field.first.as<std::string>();
      const auto path = fmt::format("{}.{}", key, name);
      const YAML::Node& value = field.second;
      if (name == "name") {
        campaign.name = text(value, path, "a name", fail);
        if (campaign.name.empty() || campaign.name.size() > 100 ||
            !std::ranges::all_of(campaign.name, [](char c) {
              return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_' ||
                     c == '.';
            })) {
          fail(value, path, "expected 1-100 letters, digits, '-', '_' or '.'");
        }
        if (!names.insert(campaign.name).second) {
          fail(value, path, fmt::format("campaign '{}' is defined twice", campaign.name));
        }
      } else if (name == "tags") {
        campaign.tags = labels(value, path, fail);
      } else if (name == "sources") {
        campaign.sources = labels(value, path, fail);
      } else if (name == "record_types") {
        if (!value.IsSequence() || value.size() == 0) {
          fail(value, path, "expected a non-empty list of record types, e.g. [A, AAAA, NS]");
        }
        for (const auto& type_node : value) {
          const auto type_text = text(type_node, path, "a record type", fail);
          const auto type = parse_rrtype(type_text);
          if (!type) {
            fail(type_node, path,
                 fmt::format("unknown record type '{}' (A, AAAA, NS, MX, TXT, ... or TYPE<n>)",
                             type_text));
          }
          if (std::ranges::find(campaign.record_types, *type) == campaign.record_types.end()) {
            campaign.record_types.push_back(*type);
          }
        }
      } else if (name == "resolvers") {
        if (!value.IsSequence()) {
          fail(value, path, "expected a list of \"ip[:port]\" strings");
        }
        for (const auto& resolver : value) {
          const auto endpoint_text = text(resolver, path, "an \"ip[:port]\" string", fail);
          const auto endpoint = parse_endpoint(endpoint_text);
          if (!endpoint) {
            fail(resolver, path, fmt::format("'{}' is not ip[:port]", endpoint_text));
          }
          campaign.resolvers.push_back(*endpoint);
        }
      } else if (name == "base_interval") {
        campaign.base_interval = parse_seconds(value, path, 0.1, kMaxSeconds, fail);
      } else if (name == "min_interval") {
        campaign.min_interval = parse_seconds(value, path, 0.1, kMaxSeconds, fail);
        has_min = true;
      } else if (name == "max_interval") {
        campaign.max_interval = parse_seconds(value, path, 0.1, kMaxSeconds, fail);
        has_max = true;
      } else if (name == "jitter") {
        campaign.jitter = number(value, path, 0.0, 0.5, fail);
      } else if (name == "start") {
        campaign.start = timestamp(value, path, fail);
      } else if (name == "end") {
        campaign.end = timestamp(value, path, fail);
      } else if (name == "vantage") {
        campaign.vantage = value.IsNull() ? "" : text(value, path, "a label", fail);
      } else if (name == "qps") {
        campaign.qps = number(value, path, 0.0, 10000000.0, fail);
      } else if (name == "qps_per_resolver") {
        campaign.qps_per_resolver = number(value, path, 0.0, 10000000.0, fail);
      } else if (name == "mode") {
        const auto mode = text(value, path, "recursive or authoritative", fail);
        if (mode != "recursive" && mode != "authoritative") {
          fail(value, path, fmt::format("'{}' is not recursive or authoritative", mode));
        }
        campaign.authoritative = mode == "authoritative";
      } else if (name == "resolver_mode") {
        const auto mode = text(value, path, "spread or every", fail);
        if (mode != "spread" && mode != "every") {
          fail(value, path, fmt::format("'{}' is not spread or every", mode));
        }
        campaign.every_resolver = mode == "every";
      } else {
        fail(field.first, path, fmt::format("unknown setting (known here: {})", kCampaignKeys));
      }
    }
    if (campaign.name.empty()) {
      fail(item, key, "a campaign needs a name");
    }
    if (campaign.min_interval > campaign.max_interval) {
      fail(item, fmt::format("{}.min_interval", key),
           fmt::format("campaign '{}': min_interval ({} s) is above max_interval ({} s){}",
                       campaign.name, seconds_of(campaign.min_interval),
                       seconds_of(campaign.max_interval),
                       has_min && has_max ? "" : " (a default applies to the one not given)"));
    }
    if (campaign.start && campaign.end && *campaign.end <= *campaign.start) {
      fail(item, fmt::format("{}.end", key),
           fmt::format("campaign '{}': end is not after start", campaign.name));
    }
    campaigns.push_back(std::move(campaign));
  }
  return campaigns;
}

void emit_campaigns(YAML::Emitter& out, const Config& config) {
  out << YAML::Key << "campaigns" << YAML::Value << YAML::BeginSeq;
  for (const Campaign& c : config.campaigns) {
    out << YAML::BeginMap;
    out << YAML::Key << "name" << YAML::Value << c.name;
    out << YAML::Key << "tags" << YAML::Value << YAML::Flow << c.tags;
    out << YAML::Key << "sources" << YAML::Value << YAML::Flow << c.sources;
    if (!c.record_types.empty()) {  // empty: probe.record_types, and `[]` would not parse
      out << YAML::Key << "record_types" << YAML::Value << YAML::Flow << YAML::BeginSeq;
      for (auto type : c.record_types) {
        out << rrtype_name(static_cast<std::uint16_t>(type));
      }
      out << YAML::EndSeq;
    }
    out << YAML::Key << "resolvers" << YAML::Value << YAML::Flow << YAML::BeginSeq;
    for (const auto& resolver : c.resolvers) {
      out << resolver.to_string();
    }
    out << YAML::EndSeq;
    out << YAML::Key << "base_interval" << YAML::Value << seconds_of(c.base_interval);
    out << YAML::Key << "min_interval" << YAML::Value << seconds_of(c.min_interval);
    out << YAML::Key << "max_interval" << YAML::Value << seconds_of(c.max_interval);
    out << YAML::Key << "jitter" << YAML::Value << c.jitter;
    if (c.start) {
      out << YAML::Key << "start" << YAML::Value << format_iso8601_utc(*c.start);
    }
    if (c.end) {
      out << YAML::Key << "end" << YAML::Value << format_iso8601_utc(*c.end);
    }
    out << YAML::Key << "vantage" << YAML::Value << c.vantage;
    out << YAML::Key << "qps" << YAML::Value << c.qps;
    out << YAML::Key << "qps_per_resolver" << YAML::Value << c.qps_per_resolver;
    out << YAML::Key << "mode" << YAML::Value << (c.authoritative ? "authoritative" : "recursive");
    out << YAML::Key << "resolver_mode" << YAML::Value << (c.every_resolver ? "every" : "spread");
    out << YAML::EndMap;
  }
  out << YAML::EndSeq;
  const auto& s = config.scheduler;
  out << YAML::Key << "scheduler" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "lease_seconds" << YAML::Value << seconds_of(s.lease);
  out << YAML::Key << "lease_batch" << YAML::Value << s.lease_batch;
  out << YAML::Key << "flush_ms" << YAML::Value << s.flush_interval.count();
  out << YAML::Key << "buffer_limit" << YAML::Value << s.buffer_limit;
  out << YAML::Key << "shutdown_grace_ms" << YAML::Value << s.shutdown_grace.count();
  out << YAML::EndMap;
}

}  // namespace fluxwatch::config::detail
