#pragma once
// The address part of `fluxwatch report` (report_store.cc): per watched domain, the distinct
// A/AAAA addresses of the answer sets its probes got, their ASNs and countries, and the
// smallest TTL. Counted in the client from three streams instead of one SQL statement: at 50M
// probes a domain's (domain, address) pairs are 25M rows, and PostgreSQL sorted them on disk
// (twice: once per address, once more per geo row) for 4 minutes; here each set is read once,
// each address's geo once, and the pairs are counted in memory (~4 bytes a pair).

#include <cstdint>
#include <optional>
#include <pqxx/pqxx>
#include <unordered_map>

namespace fluxwatch::storage::detail {

/// What `report` shows of one domain's addresses.
struct DomainAddressStats {
  std::int64_t ipv4_addresses = 0;
  std::int64_t ipv6_addresses = 0;
  std::int64_t asns = 0;       ///< distinct known ASNs over every GeoIP build of the addresses
  std::int64_t countries = 0;  ///< distinct known countries, the same way
  std::optional<std::int64_t> min_ttl;
};

/// The stats of every watched domain (domain_id) that has an address, read in `tx`: the
/// answer sets seen at least once (answer_set_contents, answer_set_counters), the summary
/// schema 12 carried over (domain_address_seen_carried), addresses and address_geo.
[[nodiscard]] std::unordered_map<std::int64_t, DomainAddressStats> domain_address_stats(
    pqxx::transaction_base& tx);

}  // namespace fluxwatch::storage::detail
