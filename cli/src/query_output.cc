#include "query_output.h"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <cmath>
#include <nlohmann/json.hpp>

namespace fluxwatch::cli {
namespace {

bool is_address(const ResourceRecord& record) {
  return record.type == static_cast<std::uint16_t>(RrType::A) ||
         record.type == static_cast<std::uint16_t>(RrType::AAAA);
}

nlohmann::json record_json(const ResourceRecord& record, const GeoLookup& geo) {
  nlohmann::json item{{"name", record.owner},
                      {"type", rrtype_name(record.type)},
                      {"class", "IN"},
                      {"ttl", record.ttl},
                      {"data", record.data}};
  if (is_address(record)) {  // every address record has these keys; null when not known
    const GeoRecord found = geo && record.address ? geo(*record.address) : GeoRecord{};
    item["asn"] = found.asn ? nlohmann::json(*found.asn) : nlohmann::json(nullptr);
    item["as_org"] = found.as_org.empty() ? nlohmann::json(nullptr) : nlohmann::json(found.as_org);
    item["country"] =
        found.country_iso.empty() ? nlohmann::json(nullptr) : nlohmann::json(found.country_iso);
  }
  return item;
}

std::string dump(const nlohmann::json& value) {
  // Names and RDATA are untrusted bytes: invalid UTF-8 becomes U+FFFD instead of an
  // exception or a broken line.
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

std::string rfc3339_micros(std::chrono::system_clock::time_point when) {
  const auto micros =
      std::chrono::duration_cast<std::chrono::microseconds>(when.time_since_epoch()).count();
  const auto seconds = std::chrono::sys_seconds(
      std::chrono::seconds(micros >= 0 ? micros / 1000000 : (micros - 999999) / 1000000));
  const auto fraction = micros - seconds.time_since_epoch().count() * 1000000;
  return fmt::format("{:%Y-%m-%dT%H:%M:%S}.{:06}Z", seconds, fraction);
}

std::string query_result_json(const ProbeResult& result, const GeoLookup& geo) {
  nlohmann::json sections{{"answers", nlohmann::json::array()},
                          {"authorities", nlohmann::json::array()},
                          {"additionals", nlohmann::json::array()}};
  for (const auto& record : result.records) {
    const char* key = record.section == Section::Answer      ? "answers"
                      : record.section == Section::Authority ? "authorities"
                                                             : "additionals";
    sections[key].push_back(record_json(record, geo));
  }
  const bool answered = result.rcode >= 0;
  nlohmann::json line{
      {"name", result.name},
      {"type", rrtype_name(static_cast<std::uint16_t>(result.qtype))},
      {"class", "IN"},
      {"status", outcome_name(result.outcome)},
      {"rcode", answered ? nlohmann::json(result.rcode) : nlohmann::json(nullptr)},
      {"authoritative", answered ? nlohmann::json(result.authoritative) : nlohmann::json(nullptr)},
      {"protocol", result.via_tcp ? "tcp" : "udp"},
      {"resolver", result.resolver},
      {"timestamp", rfc3339_micros(result.sent_at)},
      {"duration_ms", std::round(static_cast<double>(result.latency.count()) / 10.0) / 100.0},
      {"data", std::move(sections)}};
  if (!result.detail.empty()) {
    line["error"] = result.detail;
  }
  return dump(line);
}

std::string illegal_input_json(const std::string& input, const std::string& why, std::size_t line) {
  return dump(
      nlohmann::json{{"name", input}, {"status", "ILLEGAL_INPUT"}, {"error", why}, {"line", line}});
}

}  // namespace fluxwatch::cli
