#pragma once
/// Longitudinal storage in PostgreSQL (libpqxx): schema migrations, the watchlist, and every
/// probe with its records and per-address enrichment. Bulk rows go through COPY (the
/// writer's own COPY text, copy_writer.h; pqxx::stream_to for small staging tables), never
/// row-by-row INSERTs; SQL is parameterised, never built from data.

#include <chrono>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "fluxwatch/common/types.h"

namespace fluxwatch::storage {

struct ScheduleCommit;  // schedule_store.h
struct RetryPolicy;     // session.h

/// One line of a watchlist, normalised, ready to import.
struct WatchEntry {
  std::string domain;
  std::string source;             ///< e.g. the file name, "stdin", a feed URL
  std::vector<std::string> tags;  ///< free-form labels (merged on re-import)
  bool operator==(const WatchEntry&) const = default;
};

struct ImportStats {
  std::size_t added = 0;       ///< domains new to the watchlist
  std::size_t existing = 0;    ///< domains already present (tags merged, nothing duplicated)
  std::size_t duplicates = 0;  ///< entries naming a domain an earlier entry of this import named
};

/// Where a streamed watchlist import puts each entry (see Database::import_watchlist).
using WatchSink = std::function<void(const WatchEntry&)>;

/// Enrichment of one address by one GeoIP build.
struct AddressGeo {
  std::string address;  ///< text form, as in ResourceRecord::data
  GeoRecord geo;
};

/// A batch handed to the writer: probe results of one run plus the enrichment of
/// addresses the writer has not stored yet for this GeoIP build.
struct ProbeBatch {
  std::int64_t run_id = 0;
  std::vector<ProbeResult> results;
  std::vector<AddressGeo> enrichment;
  std::string geo_build;  ///< Enricher::build_tag() that produced `enrichment`
};

/// Per-domain summary for `fluxwatch report`.
struct DomainSummary {
  std::string domain;
  std::int64_t probes = 0;
  std::int64_t ipv4_addresses = 0;      ///< distinct A addresses ever seen
  std::int64_t ipv6_addresses = 0;      ///< distinct AAAA addresses ever seen
  std::int64_t asns = 0;                ///< distinct ASNs behind those addresses
  std::int64_t countries = 0;           ///< distinct countries behind those addresses
  std::int64_t ns_names = 0;            ///< distinct NS names seen
  std::optional<std::int64_t> min_ttl;  ///< over A/AAAA answer records
  std::string last_outcome;             ///< outcome of the latest A probe (else any), "" if none
  std::optional<std::chrono::system_clock::time_point> last_probe;
  bool operator==(const DomainSummary&) const = default;
};

/// Counters written at the end of a run.
struct RunTotals {
  std::int64_t probes = 0;
  std::int64_t records = 0;
  std::int64_t errors = 0;  ///< probes whose outcome is Timeout/ConnRefused/Malformed/NetError
};

/// One daily partition of the observations (probe rows), as `fluxwatch prune` lists it.
struct ObservationPartition {
  std::string name;  ///< observations_pYYYYMMDD
  std::string day;   ///< YYYY-MM-DD (UTC)
  std::int64_t probes = 0;
  std::int64_t bytes = 0;  ///< with its indexes and TOAST
  bool operator==(const ObservationPartition&) const = default;
};

/// The schema version this fluxwatch creates (its newest embedded migration).
[[nodiscard]] int latest_schema_version();

/**
 * A connection to the fluxwatch database.
 * @throw fluxwatch::Error (with the DSN's host/db and what to do) if it cannot connect.
 * Thread affinity: one thread at a time (one libpq connection).
 */
class Database {
 public:
  /// `dsn`: a libpq connection string or URI; empty uses the PG* environment variables.
  explicit Database(const std::string& dsn);
  /// The same with its session's reconnection policy (tests shorten the deadline).
  Database(const std::string& dsn, const RetryPolicy& policy);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;
  Database(Database&&) noexcept;
  Database& operator=(Database&&) noexcept;

  /// Applies every migration not yet applied, in order, each in its own transaction, and
  /// records it in schema_migrations. Idempotent. Returns how many were applied now.
  /// `up_to_version` stops after that version (tests build databases of older schemas).
  int migrate(int up_to_version = std::numeric_limits<int>::max());
  /// Highest applied migration version, 0 on an empty database.
  [[nodiscard]] int schema_version();

  /// Adds domains not yet watched; for present ones merges tags. Duplicates in `entries`
  /// are fine.
  ImportStats import_watchlist(const std::vector<WatchEntry>& entries);
  /**
   * The same for inputs too large to hold in memory: `produce` is called with a sink and
   * adds every entry through it, in input order, duplicates allowed (merged here as above:
   * the first entry's source, the union of the tags). Entries go to PostgreSQL by COPY as
   * they come, in one transaction, so memory stays flat whatever the input's size.
   * After a lost connection `produce` is called again and must start over from the
   * beginning, or throw fluxwatch::Error when it cannot (standard input).
   */
  ImportStats import_watchlist_stream(const std::function<void(const WatchSink&)>& produce);
  /// Every watched domain, ordered by id.
  [[nodiscard]] std::vector<WatchedDomain> watched_domains();
  /// watched_domains() streamed (`probe` starts on the first while the rest loads):
  /// `on_count` gets their number first, then `each` every domain in id order, all from one
  /// snapshot.
  void watched_domains(const std::function<void(std::size_t)>& on_count,
                       const std::function<void(WatchedDomain&&)>& each);

  /// Starts a probe run and returns its id. `settings_json` records the effective settings.
  std::int64_t begin_run(const std::string& kind, const std::string& settings_json);
  void finish_run(std::int64_t run_id, const RunTotals& totals);

  /// Reads now what the writers of this process keep of the stored answer sets and the
  /// watched names (their first batch reads it otherwise, shared by every Database of the
  /// process on the same database): `probe` does it on a connection of its own while the
  /// round starts.
  void warm_up_writer();

  /// Writes a batch in one transaction with COPY: probes, their records, and new
  /// enrichment rows (address, build) not yet stored. Safe to call with an empty batch.
  void store(const ProbeBatch& batch);
  /// store() for the scheduler: in the same transaction, applies `commit` (schedule_store.h)
  /// and writes only the results of domains whose lease is still held. Returns how many
  /// results were written.
  std::size_t store(const ProbeBatch& batch, const ScheduleCommit& commit);

  /// Summaries of every watched domain (also those never probed), ordered by domain.
  [[nodiscard]] std::vector<DomainSummary> summaries();

  /// Retention (`storage.retention_days`): the daily partitions of observations whose whole
  /// day ended more than `retention_days` days before `now`, oldest first; dropped (in one
  /// transaction) unless `dry_run`, with the probe contexts of runs that finished a day
  /// before the oldest day kept. Answer sets, the (domain, address) first/last seen and
  /// scores stay. @throw fluxwatch::Error if retention_days < 1.
  std::vector<ObservationPartition> prune(
      int retention_days, bool dry_run,
      std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/**
 * A PostgreSQL cluster that fluxwatch creates and runs itself under `data_dir` (initdb +
 * pg_ctl from Debian's PostgreSQL packages), reachable only over a Unix socket in
 * `data_dir`. Used when no DSN and no PG* variables are configured. As root, the server
 * runs as the `postgres` user (PostgreSQL refuses to run as root).
 */
class ManagedCluster {
 public:
  explicit ManagedCluster(std::string data_dir);
  /// initdb if the directory holds no cluster, start if not running, create the database
  /// `fluxwatch` if missing. Returns quickly when already running.
  /// @throw fluxwatch::Error with the server log's tail when it does not come up.
  void ensure_running();
  /// Stops the server if it runs (fast shutdown).
  void stop();
  [[nodiscard]] bool running() const;
  /// True when the server answers on its socket with the `fluxwatch` database there: what
  /// ensure_running() makes sure of, checked with one connection instead of pg_ctl
  /// processes (every command's start-up).
  [[nodiscard]] bool accepting_connections() const;
  /// Connection string for the cluster's `fluxwatch` database.
  [[nodiscard]] std::string dsn() const;
  [[nodiscard]] const std::string& data_dir() const noexcept { return data_dir_; }

 private:
  std::string data_dir_;
};

/// Where Debian's PostgreSQL server binaries are (e.g. /usr/lib/postgresql/15/bin); empty
/// if not installed.
[[nodiscard]] std::string find_postgres_bindir();

}  // namespace fluxwatch::storage
