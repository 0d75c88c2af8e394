#pragma once
/// FeatureScan: the features of every watched domain at once, from one streaming pass over
/// the window's probes and records (as ScoreStore::compute_features() reads them with COPY).
/// It computes what compute_features() (features.h, the reference) computes for one domain,
/// with IpAddress values and interned names instead of strings, so that 10M probes
/// and 25M records fit in a few hundred MB and a few seconds of CPU. Input order:
/// add_domain() for every watched domain (the output order), add_geo(), then add_probe() for
/// every probe of the window, then add_record() for records in any order (records of probes
/// that were not added are ignored), then finish().

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "fluxwatch/scoring/features.h"

namespace fluxwatch::scoring {

class FeatureScan {
 public:
  /// `domain_id` as in the watchlist; domains are reported in the order they were added.
  void add_domain(std::int64_t domain_id, std::string domain);
  /// The enrichment of one address (the newest GeoIP build's).
  void add_geo(const IpAddress& address, const AddressInfo& info);
  /// A probe of the window. `own`: it belongs to the watched domain `domain_id` and passes the
  /// campaign filter (its records make the domain's features); otherwise it only serves as a
  /// source of NS host addresses.
  void add_probe(std::int64_t probe_id, std::int64_t domain_id, RrType qtype,
                 std::int64_t sent_at_us, bool own);
  /// One record of a probe (`type`: an RrType value or any other type number; address:
  /// A/AAAA only; target: the NS target or empty; soa: SOA only).
  void add_record(std::int64_t probe_id, Section section, std::string_view owner,
                  std::uint16_t type, std::int64_t ttl, const std::optional<IpAddress>& address,
                  std::string_view target, const std::optional<SoaRecord>& soa);
  /// The smallest and largest probe id added (for narrowing the records read); nullopt if none.
  [[nodiscard]] std::optional<std::pair<std::int64_t, std::int64_t>> probe_id_range() const;
  /// The features of every domain, in add_domain() order.
  [[nodiscard]] std::vector<std::pair<std::int64_t, Features>> finish();

  /// For progress messages.
  [[nodiscard]] std::size_t probes() const noexcept { return probes_.size(); }
  [[nodiscard]] std::size_t records() const noexcept { return records_seen_; }

 private:
  struct Geo {
    std::optional<std::int64_t> asn;
    std::int32_t country = -1;  ///< index into countries_, -1 unknown
    bool has_point = false;
    LatLon point;
  };
  struct Probe {
    std::int64_t probe_id;
    std::int64_t sent_at_us;
    std::int32_t domain;  ///< index into domains_, -1 when not own
    std::uint8_t qtype;   ///< kA, kAaaa or kOther
  };
  struct AddressRecord {
    std::uint32_t probe;  ///< index into probes_ (after sorting)
    std::uint32_t ttl;
    IpAddress address;
  };
  struct NameRecord {
    std::uint32_t probe;
    std::uint32_t ttl;
    std::uint32_t name;  ///< interned NS target
  };
  struct Serial {
    std::uint32_t probe;
    std::int64_t serial;
  };
  struct HostAddress {
    std::uint32_t owner;  ///< interned owner name
    IpAddress address;
  };

  void sort_probes();
  std::optional<std::uint32_t> find_probe(std::int64_t probe_id);
  std::uint32_t intern(std::string_view name);
  Features features_of(std::int32_t domain, std::size_t& probe_at, std::size_t& address_at,
                       std::size_t& ns_at, std::size_t& serial_at,
                       const std::vector<std::vector<IpAddress>>& name_addresses) const;

  std::vector<std::pair<std::int64_t, std::string>> domains_;
  std::unordered_map<std::int64_t, std::int32_t> domain_index_;
  std::unordered_map<IpAddress, Geo> geo_;
  std::vector<std::string> countries_;
  std::vector<Probe> probes_;
  bool sorted_ = false;
  std::vector<std::pair<std::int64_t, std::uint32_t>> by_id_;  ///< probe id -> index, sorted
  std::size_t last_found_ = 0;
  std::vector<AddressRecord> address_records_;
  std::vector<NameRecord> ns_records_;
  std::vector<Serial> serials_;
  std::vector<HostAddress> host_addresses_;
  std::unordered_map<std::string, std::uint32_t> names_;
  std::string last_owner_;
  std::uint32_t last_owner_id_ = 0;
  bool has_last_owner_ = false;
  std::size_t records_seen_ = 0;
};

}  // namespace fluxwatch::scoring
