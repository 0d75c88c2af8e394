#pragma once
/// The continuous scheduler's state in PostgreSQL (table `schedule`, migration 0003): which
/// domains a campaign watches, when each is due, and leases that let several workers share
/// one database (FOR UPDATE SKIP LOCKED). Probes and their schedule updates are committed
/// together by Database::store(const ProbeBatch&, const ScheduleCommit&).

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace fluxwatch::storage {

/// One domain a worker has leased.
struct LeasedDomain {
  std::int64_t domain_id = 0;
  std::string domain;
  std::chrono::system_clock::time_point due;
  std::uint32_t interval_ms = 0;  ///< the interval that gave `due` (0: never probed)
  std::uint16_t stable_runs = 0;
  std::optional<std::uint64_t> answer_hash;  ///< of the last probe's answers
  bool operator==(const LeasedDomain&) const = default;
};

/// The new schedule of one probed domain.
struct ScheduleUpdate {
  std::int64_t domain_id = 0;
  std::chrono::system_clock::time_point next_due;
  std::uint32_t interval_ms = 0;
  std::uint16_t stable_runs = 0;
  std::optional<std::uint64_t> answer_hash;
  std::chrono::system_clock::time_point last_sent;
};

/// Schedule updates committed with a ProbeBatch: only domains whose lease `worker` still
/// holds are updated, and only their results are written (so nothing is stored twice when
/// a lease ran out and another worker took the domain over).
struct ScheduleCommit {
  std::string campaign;
  std::string worker;
  std::vector<ScheduleUpdate> updates;
};

/// Who holds a domain's schedule row now (for saying why a late result was dropped).
struct LeaseHolder {
  std::int64_t domain_id = 0;
  std::string domain;
  std::optional<std::string> owner;  ///< the worker holding its lease; nullopt: free
  std::optional<std::chrono::system_clock::time_point> last_sent;  ///< of its last stored probe
};

/// Which watchlist entries a campaign covers: entries with any of `tags` or from any of
/// `sources`; both empty means the whole watchlist.
struct CampaignSelection {
  std::vector<std::string> tags;
  std::vector<std::string> sources;
};

/**
 * The scheduler's queries, on a connection of its own (storage::Session: a connection lost
 * during a call is restored with backoff and the call run again; a server already away
 * fails the call at once, and the caller retries with its own backoff).
 * @throw fluxwatch::Error when the database cannot be reached or a query fails.
 * Thread affinity: one thread at a time.
 */
class ScheduleStore {
 public:
  explicit ScheduleStore(const std::string& dsn);
  ~ScheduleStore();
  ScheduleStore(const ScheduleStore&) = delete;
  ScheduleStore& operator=(const ScheduleStore&) = delete;
  ScheduleStore(ScheduleStore&&) noexcept;
  ScheduleStore& operator=(ScheduleStore&&) noexcept;

  /// Adds the campaign's new domains (due at `first_due` or now, whichever is later) and
  /// drops those no longer selected. Returns how many domains the campaign has.
  std::int64_t sync_campaign(const std::string& campaign, const CampaignSelection& selection,
                             std::optional<std::chrono::system_clock::time_point> first_due);

  /**
   * Leases up to `limit` free domains of `campaign` due before `due_before`, earliest
   * first, for `lease` (rows leased by others are skipped, not waited for; expired leases
   * count as free).
   */
  std::vector<LeasedDomain> lease_due(const std::string& campaign, const std::string& worker,
                                      std::chrono::system_clock::time_point due_before,
                                      std::size_t limit, std::chrono::milliseconds lease);
  /// Extends every lease `worker` holds in `campaign`; returns how many.
  std::int64_t renew(const std::string& campaign, const std::string& worker,
                     std::chrono::milliseconds lease);
  /// Frees every lease `worker` holds in `campaign` (their domains keep their due time).
  std::int64_t release(const std::string& campaign, const std::string& worker);

  /**
   * Takes the session-level advisory lock of `campaign` for `fluxwatch run --once`; false
   * if another session holds it. Held until this store is destroyed (or its connection
   * is lost).
   */
  bool try_lock_campaign(const std::string& campaign);

  /// The lease state of `domain_ids` in `campaign` (at most the first 1,000 are asked).
  std::vector<LeaseHolder> lease_holders(const std::string& campaign,
                                         const std::vector<std::int64_t>& domain_ids);

  /// Domains of `campaign` due now (for logs and tests).
  [[nodiscard]] std::int64_t due_count(const std::string& campaign);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace fluxwatch::storage
