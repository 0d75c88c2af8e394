#pragma once
/// The write path of a probe batch in the layout of migration 0009: answer sets stored once
/// (content-addressed), one narrow observation row per probe, the per (domain, address)
/// summary upserted once per batch, all in the caller's transaction.
///
/// The writer keeps what it knows is committed (answer sets, probe contexts, partitions) in
/// caches, so an unchanged answer costs one observation
/// row and nothing else. Cache entries learnt in a transaction count only after
/// committed(); a rolled-back or retried batch calls rolled_back() (or write() again).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <pqxx/pqxx>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

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
  };
  struct SetKeyHash {
    std::size_t operator()(const SetKey& key) const noexcept {
      return std::hash<std::int64_t>{}(key.answer_set_id ^ (key.domain_id * 0x9e3779b97f4a7c15));
    }
  };

  int context_id(pqxx::work& tx, const ProbeResult& result);
  /// Creates the session's staging tables unless they exist (after a reconnection they
  /// do not).
  static void stage_tables(pqxx::work& tx);

  /// Answer sets known to be stored, with their TTL shape. Bounded: cleared when full.
  std::unordered_map<SetKey, std::int64_t, SetKeyHash> known_sets_;
  std::unordered_map<SetKey, std::int64_t, SetKeyHash> pending_sets_;
  std::unordered_map<std::string, int> contexts_;
  std::unordered_map<std::string, int> pending_contexts_;
  std::string context_key_;  ///< reused buffer
  std::set<std::chrono::sys_days> partitions_;
};

}  // namespace fluxwatch::storage::detail
