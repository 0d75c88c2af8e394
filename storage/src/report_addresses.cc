// The address part of `fluxwatch report`: three COPY streams counted in memory (see the
// header for why).
#include "report_addresses.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "copy_text.h"

namespace fluxwatch::storage::detail {
namespace {

// Every address with each GeoIP build's word on it (one row per build; a row of NULLs for an
// address never enriched).
constexpr const char* kAddressFactsSql =
    "(SELECT a.address_id, family(a.address), g.asn, g.country "
    "FROM addresses a LEFT JOIN address_geo g ON g.address = a.address)";
// Every answer set seen at least once, with its address ids and what gives each record's
// smallest TTL: the set's TTL offsets and its counters' smallest TTLs.
constexpr const char* kSeenSetsSql =
    "(SELECT c.domain_id, c.address_ids, c.ttl_offsets, k.min_ttl, k.min_ttls "
    "FROM answer_set_contents c JOIN answer_set_counters k USING (domain_id, answer_set_id) "
    "WHERE c.domain_id <> 0 AND k.times_seen > 0 AND c.address_ids IS NOT NULL)";
// What schema 12's pruned probes had added (migration 0013), by address: its id when the
// address is in a set too, and its geo.
constexpr const char* kCarriedSql =
    "(SELECT s.domain_id, a.address_id, host(s.address), family(s.address), s.min_ttl, g.asn, "
    "g.country FROM domain_address_seen_carried s LEFT JOIN addresses a USING (address) "
    "LEFT JOIN address_geo g ON g.address = s.address)";

constexpr std::string_view kNull = "\\N";

/// Calls `row` with the tab-separated fields of each line of `query` (a parenthesised
/// SELECT) streamed with COPY. The fields are numbers, array texts of numbers, addresses and
/// country codes: COPY escapes none of them that matters here (a country is only compared).
template <typename Row>
void copy_rows(pqxx::transaction_base& tx, const char* query, Row&& row) {
  pqxx::stream_from stream(tx, query);
  std::string line;
  std::vector<std::string_view> fields;
  while (stream.get_raw_line(line)) {
    copy_fields(line, fields);
    row(fields);
  }
  stream.complete();
}

std::optional<std::int64_t> optional_integer(std::string_view field) {
  if (field == kNull) {
    return std::nullopt;
  }
  return copy_integer(field);
}

/// The elements of an integer array's text ("{1,NULL,3}", or \N: none), through libpqxx's
/// array parser.
void integer_array(std::string_view field, std::vector<std::optional<std::int64_t>>& out) {
  out.clear();
  if (field == kNull) {
    return;
  }
  const std::string text(field);
  pqxx::array_parser parser(text.c_str());
  for (auto [kind, value] = parser.get_next(); kind != pqxx::array_parser::done;
       std::tie(kind, value) = parser.get_next()) {
    if (kind == pqxx::array_parser::null_value) {
      out.emplace_back();
    } else if (kind == pqxx::array_parser::string_value) {
      out.emplace_back(copy_integer(value));
    }
  }
}

/// The smaller of two TTLs that may be unknown (SQL's least()).
std::optional<std::int64_t> least(std::optional<std::int64_t> a, std::optional<std::int64_t> b) {
  if (!a) {
    return b;
  }
  if (!b) {
    return a;
  }
  return std::min(*a, *b);
}

/// What is known of each address: its family and the ASNs and countries of its GeoIP rows.
class AddressBook {
 public:
  void add(std::int32_t id, std::string_view family, std::string_view asn,
           std::string_view country) {
    Facts& facts = facts_[id];
    facts.ipv6 = family == "6";
    if (asn != kNull) {
      facts.asns.push_back(copy_integer(asn));
    }
    if (country != kNull) {
      facts.countries.push_back(
          countries_.try_emplace(std::string(country), countries_.size()).first->second);
    }
  }
  /// An id for an address of the carried summary that no set holds (below every real id).
  std::int32_t id_of_unlisted(std::string_view address) {
    return unlisted_
        .try_emplace(std::string(address), -1 - static_cast<std::int32_t>(unlisted_.size()))
        .first->second;
  }
  [[nodiscard]] bool known(std::int64_t id) const {
    return id >= std::numeric_limits<std::int32_t>::min() &&
           id <= std::numeric_limits<std::int32_t>::max() &&
           facts_.contains(static_cast<std::int32_t>(id));
  }

  /// Counts the distinct addresses `ids` (sorted, unique) and their ASNs and countries.
  void count(const std::vector<std::int32_t>& ids, DomainAddressStats& stats) {
    asns_.clear();
    countries_seen_.clear();
    for (const auto id : ids) {
      const Facts& facts = facts_.at(id);
      ++(facts.ipv6 ? stats.ipv6_addresses : stats.ipv4_addresses);
      asns_.insert(asns_.end(), facts.asns.begin(), facts.asns.end());
      countries_seen_.insert(countries_seen_.end(), facts.countries.begin(), facts.countries.end());
    }
    stats.asns = distinct(asns_);
    stats.countries = distinct(countries_seen_);
  }

 private:
  struct Facts {
    bool ipv6 = false;
    std::vector<std::int64_t> asns;
    std::vector<std::size_t> countries;
  };
  template <typename T>
  static std::int64_t distinct(std::vector<T>& values) {
    std::ranges::sort(values);
    return std::ranges::distance(values.begin(), std::unique(values.begin(), values.end()));
  }

  std::unordered_map<std::int32_t, Facts> facts_;  // addresses.address_id is an integer
  std::unordered_map<std::string, std::size_t> countries_;
  std::unordered_map<std::string, std::int32_t> unlisted_;
  std::vector<std::int64_t> asns_;
  std::vector<std::size_t> countries_seen_;
};

/// A domain's address ids as read (repeats included) and its smallest TTL so far.
struct DomainAddresses {
  std::vector<std::int32_t> ids;
  std::optional<std::int64_t> min_ttl;
};

}  // namespace

std::unordered_map<std::int64_t, DomainAddressStats> domain_address_stats(
    pqxx::transaction_base& tx) {
  const auto start = std::chrono::steady_clock::now();
  const auto since_start = [&] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                 start)
        .count();
  };
  AddressBook book;
  copy_rows(tx, kAddressFactsSql, [&](const std::vector<std::string_view>& f) {
    book.add(static_cast<std::int32_t>(copy_integer(f.at(0))), f.at(1), f.at(2), f.at(3));
  });

  spdlog::debug("report: addresses and their geo read in {} ms", since_start());
  std::unordered_map<std::int64_t, DomainAddresses> domains;
  std::vector<std::optional<std::int64_t>> ids;
  std::vector<std::optional<std::int64_t>> offsets;
  std::vector<std::optional<std::int64_t>> min_ttls;
  copy_rows(tx, kSeenSetsSql, [&](const std::vector<std::string_view>& f) {
    DomainAddresses& domain = domains[copy_integer(f.at(0))];
    integer_array(f.at(1), ids);
    integer_array(f.at(2), offsets);
    const auto set_min_ttl = optional_integer(f.at(3));
    integer_array(f.at(4), min_ttls);
    for (std::size_t n = 0; n < ids.size(); ++n) {
      if (!ids[n] || !book.known(*ids[n])) {
        continue;  // not an address record
      }
      domain.ids.push_back(static_cast<std::int32_t>(*ids[n]));
      // A record's smallest TTL: the set's smallest shifted by the record's offset, or the
      // smallest of the probes whose TTLs were not a shift (migration 0015, min_ttls).
      const auto offset = n < offsets.size() && offsets[n] ? *offsets[n] : 0;
      const auto shifted = set_min_ttl ? std::optional(*set_min_ttl + offset) : std::nullopt;
      domain.min_ttl =
          least(domain.min_ttl, least(shifted, n < min_ttls.size() ? min_ttls[n] : std::nullopt));
    }
  });
  spdlog::debug("report: answer sets read at {} ms", since_start());
  copy_rows(tx, kCarriedSql, [&](const std::vector<std::string_view>& f) {
    const auto id = f.at(1) == kNull ? book.id_of_unlisted(f.at(2))
                                     : static_cast<std::int32_t>(copy_integer(f.at(1)));
    book.add(id, f.at(3), f.at(5), f.at(6));
    DomainAddresses& domain = domains[copy_integer(f.at(0))];
    domain.ids.push_back(id);
    domain.min_ttl = least(domain.min_ttl, optional_integer(f.at(4)));
  });

  std::unordered_map<std::int64_t, DomainAddressStats> stats;
  stats.reserve(domains.size());
  for (auto& [domain_id, domain] : domains) {
    std::ranges::sort(domain.ids);
    domain.ids.erase(std::unique(domain.ids.begin(), domain.ids.end()), domain.ids.end());
    DomainAddressStats& out = stats[domain_id];
    book.count(domain.ids, out);
    out.min_ttl = domain.min_ttl;
    domain.ids = {};  // release as we go
  }
  spdlog::debug("report: addresses of {} domains counted at {} ms", stats.size(), since_start());
  return stats;
}

}  // namespace fluxwatch::storage::detail
