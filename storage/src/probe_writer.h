#pragma once
/// The write path of a probe batch in the layout of migrations 0009 and 0013: answer sets
/// stored once (content-addressed) with their summary counters, one narrow observation row
/// per probe, all in the caller's transaction.
///
/// The writer keeps what it knows is committed (answer sets and their TTL shapes, probe
/// contexts, partitions, watched domains' names) in caches, so an unchanged answer costs
/// one observation row and one in-place counter update of its set per batch. Cache entries
/// learnt in a transaction count only after committed(); a rolled-back or retried batch
/// calls rolled_back() (or write() again).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <pqxx/pqxx>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "answer_set.h"
#include "fluxwatch/common/types.h"

namespace fluxwatch::storage::detail {

class ProbeWriter {
 public:
  /// Creates the daily partitions of observations the results need (and the next day's)
  /// in a transaction of their own, unless they are known to exist.
  void ensure_partitions(pqxx::connection& connection, const std::vector<ProbeResult>& results);

  /// Writes the probes of `results` (ids from `probe_ids`, one each) and their answer sets
  /// in `tx`. Returns how many A/AAAA records had no valid IP address (kept as text).
  std::size_t write(pqxx::work& tx, std::int64_t run_id, const std::vector<ProbeResult>& results,
                    const std::vector<std::int64_t>& probe_ids);

  /// The transaction of the last write() committed: keep what it learnt.
  void committed();
  /// It did not: forget what it learnt.
  void rolled_back();

 private:
  struct SetKey {
    std::int64_t domain_id;
    std::int64_t answer_set_id;
    bool operator==(const SetKey&) const = default;
    auto operator<=>(const SetKey&) const = default;
  };
  struct SetKeyHash {
    std::size_t operator()(const SetKey& key) const noexcept {
      constexpr std::uint64_t kGolden = 0x9e3779b97f4a7c15;
      return std::hash<std::uint64_t>{}(static_cast<std::uint64_t>(key.answer_set_id) ^
                                        (static_cast<std::uint64_t>(key.domain_id) * kGolden));
    }
  };
  /// What one batch adds to a set's summary (answer_sets.first_seen ... min_ttls).
  struct SetCounters {
    std::chrono::system_clock::time_point first;
    std::chrono::system_clock::time_point last;
    std::int64_t times = 0;
    std::optional<std::uint32_t> min_ttl;  ///< probes with the set's TTL shape
    std::vector<std::uint32_t> min_ttls;   ///< per record, the other probes (empty: none)
    /// Per record, the probes with the set's shape: what they count if the stored shape
    /// turns out to be another (only sent for sets whose stored shape is not known).
    std::vector<std::uint32_t> shape_ttls;
  };
  using SetMap = std::unordered_map<SetKey, std::size_t, SetKeyHash>;

  /// The stored TTL shape of `key`, if known (committed or learnt in this transaction).
  [[nodiscard]] const std::int64_t* stored_shape(const SetKey& key) const;
  /// Asks the database for the sets of `keys` not known yet; learns their TTL shapes.
  void look_up_sets(pqxx::work& tx, const std::vector<SetKey>& keys,
                    const std::vector<CanonicalAnswer>& answers, const SetMap& first_probe);
  /// Inserts the batch's new sets and adds its counters to the stored ones, one row per set
  /// in `counters` (with its TTL shape in `shapes`); learns every stored shape. Returns the
  /// sets it inserted.
  std::vector<SetKey> upsert_sets(
      pqxx::work& tx, const std::unordered_map<SetKey, SetCounters, SetKeyHash>& counters,
      const std::unordered_map<SetKey, std::int64_t, SetKeyHash>& shapes,
      const std::vector<CanonicalAnswer>& answers, const SetMap& first_probe);
  /// The records of the sets `keys`, by COPY. Returns how many A/AAAA records had no valid
  /// IP address.
  std::size_t insert_records(pqxx::work& tx, const std::vector<SetKey>& keys,
                             const std::vector<ProbeResult>& results,
                             const std::vector<CanonicalAnswer>& answers,
                             const SetMap& first_probe);
  /// Learns the watchlist names of the batch's domains not known yet (for qname).
  void look_up_domains(pqxx::work& tx, const std::vector<ProbeResult>& results);
  int context_id(pqxx::work& tx, std::int64_t run_id, const ProbeResult& result);
  /// Creates the session's staging tables unless they exist (after a reconnection they
  /// do not).
  static void stage_tables(pqxx::work& tx);

  /// Answer sets known to be stored, with their TTL shape. Bounded: cleared when full.
  std::unordered_map<SetKey, std::int64_t, SetKeyHash> known_sets_;
  std::unordered_map<SetKey, std::int64_t, SetKeyHash> pending_sets_;
  std::unordered_map<std::string, int> contexts_;
  std::unordered_map<std::string, int> pending_contexts_;
  /// Watched domains' names (immutable in the watchlist). Bounded: cleared when full.
  std::unordered_map<std::int64_t, std::string> domain_names_;
  std::string context_key_;  ///< reused buffer
  std::set<std::chrono::sys_days> partitions_;
};

}  // namespace fluxwatch::storage::detail
