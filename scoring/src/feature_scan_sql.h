#pragma once
// The reads behind ScoreStore::compute_features(): the watchlist, the newest enrichment of
// every address, the window's probes and their records, each streamed with COPY ... TO STDOUT
// into a FeatureScan (feature_scan.h), in one read-only repeatable-read transaction.
// COPY takes no bind parameters: the window, campaign and probe id range are set as
// transaction-local settings (set_config with bind parameters) and read back with
// current_setting() in scalar subqueries: InitPlans, evaluated once per statement (in a
// plain expression or a joined one-row subquery they are evaluated, and parsed, per row).
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <pqxx/pqxx>
#include <string>
#include <string_view>
#include <vector>

#include "fluxwatch/common/error.h"

namespace fluxwatch::scoring::detail {

// $1 window start ('-infinity' for none), $2 window end, $3 campaign ('' = every probe).
constexpr const char* kScanSettingsSql =
    "SELECT set_config('fluxwatch.score_since', $1, true), "
    "set_config('fluxwatch.score_until', $2, true), "
    "set_config('fluxwatch.score_campaign', $3, true)";

// $1, $2: the smallest and largest probe id of the window.
constexpr const char* kProbeRangeSql =
    "SELECT set_config('fluxwatch.score_min_probe', $1, true), "
    "set_config('fluxwatch.score_max_probe', $2, true)";

constexpr const char* kDomainsSql = "SELECT domain_id, domain FROM watchlist ORDER BY domain";

// The probe rows of every partition of observations, as ANALYZE last counted them.
constexpr const char* kProbeRowsEstimateSql =
    "SELECT coalesce(sum(greatest(c.reltuples, 0)), 0)::bigint FROM pg_inherits i "
    "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'observations'::regclass";

// The "tables" below are queries: libpqxx 6.4's stream_from writes COPY <table> TO STDOUT
// with the name as given.

// address, asn, country, latitude, longitude: what the newest GeoIP build says.
constexpr const char* kGeoCopySql =
    "(SELECT address, asn, country, latitude, longitude FROM address_geo_newest)";

// probe_id, domain_id, qtype, sent_at (microseconds since the epoch), own: every probe of the
// window; own = it is a watched domain's and passes the campaign filter. Authoritative
// mode's address lookups of NS names (mode 'delegation', other than NS) belong to the name
// servers, not to the domain: they are not own (their records still give NS host addresses).
constexpr const char* kProbesCopySql =
    "(SELECT p.probe_id, p.domain_id, p.qtype, "
    "(date_part('epoch', p.sent_at) * 1000000)::bigint, "
    "p.domain_id IS NOT NULL AND (p.mode <> 'delegation' OR p.qtype = 'NS') "
    "AND ((SELECT current_setting('fluxwatch.score_campaign')) = '' "
    "OR p.campaign = (SELECT current_setting('fluxwatch.score_campaign'))) "
    "FROM probes p "
    "WHERE p.sent_at >= (SELECT current_setting('fluxwatch.score_since')::timestamptz) "
    "AND p.sent_at < (SELECT current_setting('fluxwatch.score_until')::timestamptz))";

// probe_id, section, owner (A/AAAA only), rtype, ttl, address, target (NS/SOA only): the
// records scoring uses, of the window's probes (the scan drops those it did not keep). Read
// from the answer sets of the window's observations (migrations 0009, 0015: set_records, whose
// set_ttl is a probe's smallest TTL where observations.ttl is NULL): the window selects
// the daily partitions, and a set's records are joined to every probe that saw it. Owner and
// target are left out where unused: less to send.
constexpr const char* kRecordsCopySql =
    "(SELECT o.probe_id, r.section, CASE WHEN r.rtype IN ('A', 'AAAA') THEN r.owner END, "
    "r.rtype, coalesce(o.ttls[r.ord + 1], coalesce(o.ttl, r.set_ttl) + r.ttl_offset), "
    "r.address, CASE WHEN r.rtype IN ('NS', 'SOA') THEN r.target END "
    "FROM observations o JOIN set_records r "
    "ON r.domain_id = coalesce(o.domain_id, 0) AND r.answer_set_id = o.answer_set_id "
    "WHERE o.sent_at >= (SELECT current_setting('fluxwatch.score_since')::timestamptz) "
    "AND o.sent_at < (SELECT current_setting('fluxwatch.score_until')::timestamptz) "
    "AND r.rtype IN ('A', 'AAAA', 'NS', 'SOA'))";

// When the window holds most probes, reading the records in index order costs more than one
// sequential scan; the planner cannot know that from the parameters.
constexpr const char* kPreferSeqScanSql =
    "SET LOCAL enable_indexscan = off; SET LOCAL enable_bitmapscan = off";

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
