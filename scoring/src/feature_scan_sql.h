#pragma once
// The reads behind ScoreStore::compute_features(): the watchlist, the newest enrichment of
// every address, the probe contexts, the answer sets the window may reference with their
// records, and the window's probes (one narrow row each: its set's id and TTLs), each
// streamed with COPY ... TO STDOUT into a FeatureScan (feature_scan.h), in one read-only
// repeatable-read transaction. COPY takes no bind parameters: the window is set as
// transaction-local settings (set_config with bind parameters) and read back with
// current_setting() in scalar subqueries: InitPlans, evaluated once per statement (in a
// plain expression or a joined one-row subquery they are evaluated, and parsed, per row).
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <string_view>
#include <vector>

#include "fluxwatch/common/error.h"

namespace fluxwatch::scoring::detail {

// $1 window start ('-infinity' for none), $2 window end.
constexpr const char* kScanSettingsSql =
    "SELECT set_config('fluxwatch.score_since', $1, true), "
    "set_config('fluxwatch.score_until', $2, true)";

constexpr const char* kDomainsSql = "SELECT domain_id, domain FROM watchlist ORDER BY domain";

// What the probes of a run share: the query type, and what decides whether a probe is its
// domain's own (mode, campaign; see ScoreStore::compute_features()).
constexpr const char* kContextsSql = "SELECT context_id, qtype, mode, campaign FROM probe_contexts";

// The "tables" below are queries: libpqxx 6.4's stream_from writes COPY <table> TO STDOUT
// with the name as given.

// address, asn, country, latitude, longitude: what the newest GeoIP build says.
constexpr const char* kGeoCopySql =
    "(SELECT address, asn, country, latitude, longitude FROM address_geo_newest)";

// domain_id, answer_set_id, ord, section, owner (A/AAAA only), rtype, ttl_offset, address,
// target (NS/SOA only), set_ttl: the records scoring uses of every set seen in the window
// (first seen before its end and last seen at or after its start: a superset of the sets the
// window's probes got; the scan ignores the others), unpacked by the set_records view
// (migration 0015: a set's answer section and its shared part), with the set's own smallest
// TTL (a probe's where observations.ttl is NULL). Read once per set, however many probes got
// it.
constexpr const char* kSetRecordsCopySql =
    "(SELECT r.domain_id, r.answer_set_id, r.ord, r.section, "
    "CASE WHEN r.rtype IN ('A', 'AAAA') THEN r.owner END, r.rtype, r.ttl_offset, r.address, "
    "CASE WHEN r.rtype IN ('NS', 'SOA') THEN r.target END, r.set_ttl "
    "FROM answer_set_counters k JOIN set_records r USING (domain_id, answer_set_id) "
    "WHERE k.last_seen >= (SELECT current_setting('fluxwatch.score_since')::timestamptz) "
    "AND k.first_seen < (SELECT current_setting('fluxwatch.score_until')::timestamptz) "
    "AND r.rtype IN ('A', 'AAAA', 'NS', 'SOA'))";

// probe_id, domain_id, context_id, sent_at (microseconds since the epoch), answer_set_id,
// ttl (NULL: the set's own), ttls: every probe of the window (the window selects the daily
// partitions).
constexpr const char* kProbesCopySql =
    "(SELECT o.probe_id, o.domain_id, o.context_id, "
    "(date_part('epoch', o.sent_at) * 1000000)::bigint, o.answer_set_id, o.ttl, o.ttls "
    "FROM observations o "
    "WHERE o.sent_at >= (SELECT current_setting('fluxwatch.score_since')::timestamptz) "
    "AND o.sent_at < (SELECT current_setting('fluxwatch.score_until')::timestamptz))";

/// The fields of one line of COPY text output: tab-separated, \N for NULL, backslash escapes.
class CopyFields {
 public:
  void parse(std::string_view line) {
    if (!line.empty() && line.back() == '\n') {
      line.remove_suffix(1);
    }
    fields_.clear();
    std::size_t index = 0;
    while (true) {
      const auto tab = line.find('\t');
      auto field = line.substr(0, tab);
      if (field.find('\\') != std::string_view::npos && field != "\\N") {
        if (unescaped_.size() <= index) {
          unescaped_.resize(index + 1);
        }
        unescape(field, unescaped_[index]);
        field = unescaped_[index];
      }
      fields_.push_back(field);
      ++index;
      if (tab == std::string_view::npos) {
        break;
      }
      line.remove_prefix(tab + 1);
    }
  }

  [[nodiscard]] bool null(std::size_t i) const { return at(i) == "\\N"; }
  /// The text of field i; empty for NULL.
  [[nodiscard]] std::string_view text(std::size_t i) const {
    return null(i) ? std::string_view() : at(i);
  }
  [[nodiscard]] std::int64_t int64(std::size_t i) const {
    const auto field = at(i);
    std::int64_t value = 0;
    const auto [end, error] = std::from_chars(field.data(), field.data() + field.size(), value);
    if (error != std::errc() || end != field.data() + field.size()) {
      throw Error("scoring: unexpected COPY field '" + std::string(field) + "' (an integer)");
    }
    return value;
  }
  [[nodiscard]] double float64(std::size_t i) const {
    const std::string field(at(i));
    char* end = nullptr;
    const double value = std::strtod(field.c_str(), &end);
    if (end != field.c_str() + field.size()) {
      throw Error("scoring: unexpected COPY field '" + field + "' (a number)");
    }
    return value;
  }

 private:
  [[nodiscard]] std::string_view at(std::size_t i) const {
    if (i >= fields_.size()) {
      throw Error("scoring: COPY line with too few fields");
    }
    return fields_[i];
  }

  static void unescape(std::string_view in, std::string& out) {
    out.clear();
    for (std::size_t i = 0; i < in.size(); ++i) {
      if (in[i] != '\\' || i + 1 == in.size()) {
        out += in[i];
        continue;
      }
      const char c = in[++i];
      switch (c) {
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'v':
          out += '\v';
          break;
        case 'x': {
          int value = 0;
          int digits = 0;
          while (digits < 2 && i + 1 < in.size() &&
                 std::isxdigit(static_cast<unsigned char>(in[i + 1]))) {
            const char h = in[++i];
            value = value * 16 + (h <= '9' ? h - '0' : (h | 0x20) - 'a' + 10);
            ++digits;
          }
          out += static_cast<char>(value);
          break;
        }
        default:
          if (c >= '0' && c <= '7') {
            int value = c - '0';
            for (int digits = 1;
                 digits < 3 && i + 1 < in.size() && in[i + 1] >= '0' && in[i + 1] <= '7';
                 ++digits) {
              value = value * 8 + (in[++i] - '0');
            }
            out += static_cast<char>(value);
          } else {
            out += c;  // \\ and any other escaped character stand for themselves
          }
      }
    }
  }

  std::vector<std::string_view> fields_;
  std::vector<std::string> unescaped_;
};

/// The elements of a bigint[] in PostgreSQL's text form ("{30,NULL,60}"); NULL elements empty.
inline std::vector<std::optional<std::int64_t>> parse_bigint_array(std::string_view text) {
  std::vector<std::optional<std::int64_t>> out;
  if (text.size() < 2 || text.front() != '{' || text.back() != '}') {
    throw Error("scoring: unexpected bigint[] '" + std::string(text) + "'");
  }
  text = text.substr(1, text.size() - 2);
  while (!text.empty()) {
    const auto comma = text.find(',');
    const auto item = text.substr(0, comma);
    if (item == "NULL") {
      out.emplace_back();
    } else {
      std::int64_t value = 0;
      const auto [end, error] = std::from_chars(item.data(), item.data() + item.size(), value);
      if (error != std::errc() || end != item.data() + item.size()) {
        throw Error("scoring: unexpected bigint[] element '" + std::string(item) + "'");
      }
      out.emplace_back(value);
    }
    if (comma == std::string_view::npos) {
      break;
    }
    text.remove_prefix(comma + 1);
  }
  return out;
}

/// Streams `query` (a parenthesised SELECT) with COPY TO STDOUT, calling `row` after parsing
/// each line into `fields`.
template <typename Row>
void copy_out(pqxx::transaction_base& tx, const std::string& query, CopyFields& fields, Row&& row) {
  pqxx::stream_from stream(tx, query);
  std::string line;
  while (stream.get_raw_line(line)) {
    fields.parse(line);
    row();
  }
  stream.complete();
}

}  // namespace fluxwatch::scoring::detail
