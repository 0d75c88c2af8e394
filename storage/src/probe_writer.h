#pragma once
/// The write path of a probe batch in the layout of migrations 0009, 0013 and 0015: answer
/// sets stored once (content-addressed, packed in one row, their shared part once for all
/// domains) with their summary counters, one narrow observation row per probe, all in the
/// caller's transaction.
///
/// The writer keeps what it knows is committed (answer sets and their TTL shapes, shared
/// parts, address ids, probe contexts, partitions, watched domains' names) in caches, warmed
/// at its first batch (one snapshot per process and database, shared by its writers), so an
/// unchanged answer costs one observation row and one in-place counter update of its set per
/// batch. Cache entries learnt in a transaction count only after committed(); a rolled-back
/// or retried batch calls rolled_back() (or write() again).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <pqxx/pqxx>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "answer_set.h"
#include "binary_params.h"
#include "fluxwatch/common/types.h"
#include "packed_set.h"

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

  /// Reads the process's snapshot of what is stored (once per process and database; the
  /// first write() reads it otherwise), so that `probe` can read it while it resolves.
  void warm_up(pqxx::work& tx);

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
  /// What the writer knows of a stored set (answer_set_contents).
  struct StoredSet {
    std::int64_t ttl_shape;
    std::int64_t digest_check;
    /// answer_set_contents.ttl: a probe with this smallest TTL stores NULL.
    std::optional<std::int64_t> ttl;
  };
  /// What one batch adds to a set's summary (answer_set_counters).
  struct SetCounters {
    std::chrono::system_clock::time_point first;
    std::chrono::system_clock::time_point last;
    std::int64_t times = 0;
    std::optional<std::uint32_t> min_ttl;  ///< probes with the set's stored TTL shape
    std::vector<std::uint32_t> min_ttls;   ///< per record, the other probes (empty: none)
    /// The set's counters row was committed before the batch (found by UPDATE).
    bool known = false;
  };
  using SetMap = std::unordered_map<SetKey, std::size_t, SetKeyHash>;
  /// Heterogeneous look-up of std::string keys by std::string_view.
  struct TextHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view text) const noexcept {
      return std::hash<std::string_view>{}(text);
    }
  };
  using AddressIds = std::unordered_map<std::string, std::int32_t, TextHash, std::equal_to<>>;

  /// What the database held at a writer's first batch that the batches will ask about: the
  /// stored sets (all while they fit, else those seen lately) with their TTL shapes, and
  /// the watched domains' names. Read once per process and database, shared read-only.
  struct WarmSnapshot {
    std::unordered_map<SetKey, StoredSet, SetKeyHash> sets;
    /// `sets` is every set stored when it was read (not only those seen lately).
    bool all_sets = false;
    std::unordered_map<std::int64_t, std::string> names;
  };
  /// The process's snapshot of the database of `tx`, read now (two streamed COPYs) if no
  /// writer has read it yet.
  static std::shared_ptr<const WarmSnapshot> shared_snapshot(pqxx::work& tx);
  static std::shared_ptr<const WarmSnapshot> load_snapshot(pqxx::work& tx);
  /// The watchlist name of `domain_id`, if known.
  [[nodiscard]] const std::string* domain_name(std::int64_t domain_id) const;
  /// The stored set `key`, if known (committed or learnt in this transaction).
  [[nodiscard]] const StoredSet* stored_set(const SetKey& key) const;
  /// The same, for a set the batch has stored. @throw std::logic_error if it has not.
  [[nodiscard]] const StoredSet& stored(const SetKey& key) const;
  /// Stores the sets `keys` (not known to be stored) with their shared parts and addresses,
  /// or learns the stored ones. @throw Error on a 128-bit id collision.
  std::size_t store_new_sets(pqxx::work& tx, const std::vector<SetKey>& keys,
                             const std::vector<ProbeResult>& results,
                             const std::vector<CanonicalAnswer>& answers,
                             const SetMap& first_probe);
  /// Learns which of `keys` are stored (committed) and how; returns their positions.
  std::vector<bool> read_stored_sets(pqxx::work& tx, const std::vector<SetKey>& keys,
                                     const std::vector<CanonicalAnswer>& answers,
                                     const SetMap& first_probe);
  /// Learns the stored set `set` of `key`. @throw Error if its digest check is not the
  /// answer's (a 128-bit id collision).
  void learn_set(const SetKey& key, const StoredSet& set, const CanonicalAnswer& answer);
  /// Whether a set this writer does not know may be stored: its snapshot was not every set,
  /// its cache started over, or another writer stored one it did not know.
  [[nodiscard]] bool unknown_sets_may_be_stored() const;
  /// Learns the addresses.address_id of every address in `texts` (created where missing).
  void resolve_addresses(pqxx::work& tx, const std::vector<std::string_view>& texts);
  /// The id of an address resolve_addresses() learnt.
  [[nodiscard]] std::int32_t address_id(std::string_view address) const;
  /// Stores the shared parts of `parts` not known to be stored.
  void store_shared_parts(pqxx::work& tx, const std::vector<const PackedAnswer*>& parts);
  /// Each probe's stored set (null: no records) and its set's ordinal in the batch.
  struct BatchSets {
    std::vector<const StoredSet*> stored;
    std::vector<std::size_t> ordinal;  ///< kNoSet: no records
    std::size_t count = 0;             ///< distinct sets
  };
  static constexpr std::size_t kNoSet = static_cast<std::size_t>(-1);
  /// The stored set of every probe with records (`first_of`: the batch's first probe of the
  /// same set), looked up once per set. Valid until the caches change (committed()).
  [[nodiscard]] BatchSets batch_sets(const std::vector<ProbeResult>& results,
                                     const std::vector<CanonicalAnswer>& answers,
                                     const std::vector<std::size_t>& first_of) const;
  /// What the batch adds to each set's summary, one entry per set in batch order.
  [[nodiscard]] static std::vector<std::pair<SetKey, SetCounters>> batch_counters(
      const std::vector<ProbeResult>& results, const std::vector<CanonicalAnswer>& answers,
      const BatchSets& sets, const std::unordered_set<SetKey, SetKeyHash>& new_sets);
  /// "{1,2,3}": a bigint[] parameter of `field(item)` for each item of `range`.
  template <typename Range, typename Field>
  static std::string array_text(const Range& range, Field&& field) {
    std::string text = "{";
    for (const auto& item : range) {
      text += text.size() > 1 ? "," : "";
      text += std::to_string(field(item));
    }
    text += '}';
    return text;
  }
  [[noreturn]] static void throw_collision(std::string_view what, std::int64_t domain_id,
                                           std::int64_t id);
  /// Adds the batch's counters to every set in `counters` (inserting the new ones' rows).
  static void add_counters(pqxx::work& tx,
                           const std::vector<std::pair<SetKey, SetCounters>>& counters);
  /// The counters as the six array parameters of kCountersFromArrays (no min_ttls).
  [[nodiscard]] static std::vector<BinaryArray> counter_arrays(
      const std::vector<std::pair<SetKey, SetCounters>>& counters);
  /// The counters into fw_counter_stage by binary COPY.
  static void stage_counters(pqxx::work& tx,
                             const std::vector<std::pair<SetKey, SetCounters>>& counters);
  /// One observation row per probe, by binary COPY.
  void copy_observations(pqxx::work& tx, std::int64_t run_id,
                         const std::vector<ProbeResult>& results,
                         const std::vector<std::int64_t>& probe_ids,
                         const std::vector<CanonicalAnswer>& answers, const BatchSets& sets);
  /// Learns the watchlist names of the batch's domains not known yet (for qname).
  void look_up_domains(pqxx::work& tx, const std::vector<ProbeResult>& results);
  int context_id(pqxx::work& tx, std::int64_t run_id, const ProbeResult& result);
  /// Creates the session's staging tables unless they exist (after a reconnection they
  /// do not).
  static void stage_tables(pqxx::work& tx);

  /// Answer sets known to be stored. Bounded: cleared when full.
  std::unordered_map<SetKey, StoredSet, SetKeyHash> known_sets_;
  std::unordered_map<SetKey, StoredSet, SetKeyHash> pending_sets_;
  /// Shared parts known to be stored (ids; bounded like the sets).
  std::unordered_set<std::int64_t> known_shared_;
  std::unordered_set<std::int64_t> pending_shared_;
  /// addresses.address_id by address text. Bounded: cleared when full.
  AddressIds address_ids_;
  AddressIds pending_address_ids_;
  std::unordered_map<std::string, int> contexts_;
  std::unordered_map<std::string, int> pending_contexts_;
  /// Watched domains' names (immutable in the watchlist). Bounded: cleared when full.
  std::unordered_map<std::int64_t, std::string> domain_names_;
  std::string context_key_;  ///< reused buffer
  std::set<std::chrono::sys_days> partitions_;
  std::shared_ptr<const WarmSnapshot> snapshot_;
  /// The known sets started over, or a set thought new was stored (by another writer).
  bool lost_track_of_sets_ = false;
};

}  // namespace fluxwatch::storage::detail
