#pragma once
/// FeatureScan: the features of every watched domain at once, from one streaming pass over
/// the window's probes and the answer sets they reference (as ScoreStore::compute_features()
/// reads them with COPY). It computes what compute_features() (features.h, the reference)
/// computes for one domain, with IpAddress values and interned names instead of strings.
/// A set's records are read once, however many probes got it (schema 13: answers are stored
/// once per (domain, set)); a probe brings only its set's id and its TTLs. So 10M probes cost
/// one narrow row each, and a domain whose answer does not change costs one set.
/// Input order: add_domain() for every watched domain (the output order), add_geo(), then
/// add_set_record() for the records of every set the window's probes may reference (sets in
/// any order, a set's records one after the other, in any order; sets no probe references
/// are ignored), and add_probe() for every probe of the
/// window, then finish(). add_set_record() and add_probe() touch separate state: one thread
/// may add the sets while another adds the probes (ScoreStore reads both streams at once);
/// a probe's set is looked up in finish().

#include <array>
#include <climits>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "fluxwatch/scoring/dense_id_map.h"
#include "fluxwatch/scoring/features.h"

namespace fluxwatch::scoring {

class FeatureScan {
 public:
  /// `domain_id` as in the watchlist; domains are reported in the order they were added.
  void add_domain(std::int64_t domain_id, std::string domain);
  /// The enrichment of one address (the newest GeoIP build's).
  void add_geo(const IpAddress& address, const AddressInfo& info);
  /// One record of the answer set (`domain_id`, `set_id`) (domain_id 0: names not watched):
  /// its position `ord` (from 0, the canonical order), section, `owner` (empty: the domain's
  /// own name), `type` (an RrType value or any other type number), TTL offset from the set's
  /// smallest TTL, and, as they apply, address (A/AAAA), target (NS; empty otherwise) and soa;
  /// `set_ttl`: the set's own smallest TTL (a probe's when it stores none). `address_id`:
  /// the address's addresses.address_id when known (-1: not known): its enrichment is then
  /// looked up once per address, not once per record.
  void add_set_record(std::int64_t domain_id, std::int64_t set_id, std::int32_t ord,
                      Section section, std::string_view owner, std::uint16_t type,
                      std::int64_t ttl_offset, const std::optional<IpAddress>& address,
                      std::string_view target, const std::optional<SoaRecord>& soa,
                      std::int64_t set_ttl = 0, std::int64_t address_id = -1);
  /// A probe of the window. `own`: it belongs to the watched domain `domain_id` and passes the
  /// campaign filter (its records make the domain's features); otherwise it only serves as a
  /// source of NS host addresses. `set_id`: its answer set (of `domain_id`, 0 for names not
  /// watched), nullopt without records; `ttl` its smallest TTL (nullopt: the set's own, as
  /// observations.ttl NULL since migration 0015); `ttls` every record's TTL by
  /// ord when they are not the set's offsets shifted by `ttl` (empty otherwise; a missing or
  /// NULL element falls back to ttl + offset, as in the records view).
  void add_probe(std::int64_t probe_id, std::int64_t domain_id, RrType qtype,
                 std::int64_t sent_at_us, bool own, std::optional<std::int64_t> set_id,
                 std::optional<std::int64_t> ttl,
                 const std::vector<std::optional<std::int64_t>>& ttls = {});
  /// Room for `count` probes (an estimate of the window's): spares the growth of the probe
  /// array, whose copies would otherwise hold up to 1.5 times its size at once.
  void reserve_probes(std::size_t count);
  /// Likewise for `count` set records (the largest array while the sets are read).
  void reserve_set_records(std::size_t count);
  /// The features of every domain, in add_domain() order.
  [[nodiscard]] std::vector<std::pair<std::int64_t, Features>> finish();

  /// For progress messages.
  [[nodiscard]] std::size_t probes() const noexcept { return probe_count_; }
  [[nodiscard]] std::size_t set_records() const noexcept { return record_count_; }
  [[nodiscard]] std::size_t sets() const noexcept { return set_keys_.size(); }

 private:
  static constexpr std::uint32_t kNone = UINT32_MAX;

  struct Geo {
    std::optional<std::int64_t> asn;
    std::int32_t country = -1;  ///< index into countries_, -1 unknown
    bool has_point = false;
    LatLon point;
  };
  /// A probe of a watched domain (own), kept with its domain's. 40 bytes: at 10M probes the
  /// largest part of the memory.
  struct Probe {
    std::int64_t probe_id;
    std::int64_t sent_at_us;
    /// As added: the answer set's id (kNoSet: none); after resolve_probes(): the index into
    /// set_keys_ (kNone: no records, or a set not read).
    std::int64_t set;
    /// The smallest TTL as added (kNoTtl: the set's own); after resolve_probes(): the TTL.
    std::int64_t ttl;
    std::uint8_t qtype;  ///< kA, kAaaa or kOther
    bool has_ttls;       ///< its record TTLs are in ttl_lists_ (by probe id)
  };
  static constexpr std::int64_t kNoSet = INT64_MIN;
  static constexpr std::int64_t kNoTtl = INT64_MIN;
  /// A probe's set index once resolve_probes() ran.
  static std::uint32_t resolved_set(const Probe& probe) {
    return static_cast<std::uint32_t>(probe.set);
  }
  /// A record of the set being read (only the kinds scoring uses), until the set is
  /// complete and goes into the index.
  struct SetRecord {
    std::int64_t ttl_offset;
    std::int32_t ord;
    std::uint32_t name = 0;    ///< NS target, or the owner of an address (interned)
    std::uint32_t serial = 0;  ///< an SOA's serial (32 bits in DNS)
    IpAddress address;
    std::uint8_t kind;          ///< kAnswerA, kAnswerAaaa, kNs, kSoa, kHostOnly
    std::uint32_t geo = kNone;  ///< the address's enrichment in geo_values_
  };
  /// One address or NS name of a set with the record it came from (for its TTL).
  template <typename T>
  struct Item {
    T value;
    std::int32_t ord;
    std::int64_t ttl_offset;
    std::uint32_t geo;   ///< an address's enrichment in geo_values_ (kNone: none)
    std::uint32_t name;  ///< an address's owner (interned): is it an NS host's?
  };
  /// An address with its enrichment (geo_values_ index, kNone: none): the one look-up per
  /// address made as its records were read travels with it.
  using GeoAddress = std::pair<IpAddress, std::uint32_t>;
  struct SetKeyHash {
    std::size_t operator()(const std::pair<std::int64_t, std::int64_t>& key) const noexcept {
      return std::hash<std::int64_t>()(key.first * 1000003 ^ key.second);
    }
  };
  /// What a probe's features need of its set, built as each set is read (no array of
  /// every record to sort afterwards). Each *_begin has one more entry than there are sets.
  struct SetIndex {
    std::vector<std::uint32_t> a_begin{0};     ///< into a_items: A answer records by address
    std::vector<std::uint32_t> aaaa_begin{0};  ///< into aaaa_items
    std::vector<std::uint32_t> ns_begin{0};    ///< into ns_items: NS answer targets by name
    std::vector<std::uint32_t> host_begin{0};  ///< into host_items: additional A/AAAA (glue)
    std::vector<Item<IpAddress>> a_items;
    std::vector<Item<IpAddress>> aaaa_items;
    std::vector<Item<std::uint32_t>> ns_items;
    std::vector<Item<IpAddress>> host_items;
    std::vector<std::uint32_t> distinct_a;  ///< distinct addresses per set
    std::vector<std::uint32_t> distinct_aaaa;
    std::vector<std::optional<std::int64_t>> serial;  ///< smallest SOA serial per set
  };

  /// A range of domain indexes [begin, end): the share of one thread in finish().
  struct DomainRange {
    std::int32_t begin;
    std::int32_t end;
  };
  /// Hashes std::string and std::string_view alike: names are looked up without a copy.
  struct NameHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view name) const noexcept {
      return std::hash<std::string_view>()(name);
    }
  };

  std::uint32_t intern(std::string_view name);
  /// The enrichment of `address` in geo_values_ (kNone: none); by `address_id` once known.
  std::uint32_t geo_of(const IpAddress& address, std::int64_t address_id);
  /// The index of a watched domain's id (-1: not watched).
  [[nodiscard]] std::int32_t domain_of(std::int64_t domain_id) const;
  /// The domains cut in two at about half the probes.
  [[nodiscard]] std::array<DomainRange, 2> halves() const;
  /// For the domains of `range`: their probes in time order (ties by id), set ids to set
  /// indexes and their TTLs; marks in `referenced` the sets those probes got.
  void resolve_probes(DomainRange range, std::vector<bool>& referenced);
  std::uint32_t own_name(std::int64_t domain_id);
  [[nodiscard]] std::int64_t record_ttl(const Probe& probe, std::int32_t ord,
                                        std::int64_t offset) const;
  /// The set being read (pending_) into sets_.
  void index_pending_set();
  Features features_of(std::int32_t domain, const SetIndex& sets,
                       const std::vector<std::vector<GeoAddress>>& name_addresses) const;

  std::vector<std::pair<std::int64_t, std::string>> domains_;
  DenseIdMap<std::int32_t> domain_index_;  ///< by watchlist id
  std::vector<std::uint32_t> own_names_;   ///< by domain index: its interned name, kNone
  std::unordered_map<IpAddress, std::uint32_t> geo_index_;  ///< into geo_values_
  std::vector<Geo> geo_values_;
  /// geo_of() by address_id: kNone (none) or the geo_values_ index; kUnresolved: not asked.
  static constexpr std::uint32_t kUnresolved = kNone - 1;
  std::vector<std::uint32_t> geo_by_address_id_;
  std::vector<std::string> countries_;
  std::unordered_map<std::pair<std::int64_t, std::int64_t>, std::uint32_t, SetKeyHash> set_index_;
  std::vector<std::pair<std::int64_t, std::int64_t>> set_keys_;
  std::vector<std::int64_t> set_ttls_;  ///< by set: its own smallest TTL
  SetIndex sets_;
  std::vector<SetRecord> pending_;  ///< the records of set last_set_ so far
  std::uint32_t last_set_ = kNone;
  std::size_t record_count_ = 0;
  /// By domain index: its probes, as they came (time order once resolve_probes() ran).
  /// Kept apart from the start, so that no pass over all probes has to group them (a sort,
  /// or a scatter, of 10M probes is one cache miss per probe).
  std::vector<std::vector<Probe>> domain_probes_;
  std::size_t probe_count_ = 0;
  /// Record TTLs by probe id, of the few probes whose TTLs are not the set's offsets shifted.
  std::unordered_map<std::int64_t, std::vector<std::optional<std::int64_t>>> ttl_lists_;
  /// (domain id, set id) of the probes that are not a domain's own: their sets still count.
  std::vector<std::pair<std::int64_t, std::int64_t>> other_sets_;
  std::vector<bool> referenced_;  ///< by set: some probe of the window got it
  std::unordered_map<std::string, std::uint32_t, NameHash, std::equal_to<>> names_;
};

}  // namespace fluxwatch::scoring
