// Database: the libpqxx 6.4 repository behind fluxwatch::storage.
//
// Bulk rows go through text COPY. The hot path, probes and records in store(), uses
// detail::CopyWriter (copy_writer.h: the format rules, one buffer, raw libpq sends); the
// smaller streams (watchlist import, GeoIP stage) use pqxx::stream_to with std::tuple
// rows. In that format a std::optional without a value or a nullptr is written as \N,
// i.e. NULL (an empty std::string is '', not NULL, so "unknown" strings are mapped to
// nullopt first); timestamps are UTC text with microseconds ("2026-11-22
// 10:00:00.123456+00"); the dns_outcome enum and inet columns take their text form. Both
// escape tabs, newlines and backslashes, and UTF-8 survives (tested).
//
// Every public call runs through Session::run() (session.h: the one retry policy of every
// store), and every write transaction commits through Session::commit(), which settles a
// COMMIT that got no answer. What is not the writer lives beside it, by what it stores:
// migrations (migration_store.cc), the watchlist import (watchlist_store.cc), the report's
// summaries (report_store.cc); Database keeps those entry points for its callers.

#include "fluxwatch/storage/database.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <pqxx/pqxx>
#include <string_view>
#include <tuple>
#include <utility>

#include "copy_text.h"
#include "copy_writer.h"
#include "fluxwatch/common/error.h"
#include "fluxwatch/common/logging.h"
#include "fluxwatch/storage/session.h"
#include "migration_store.h"
#include "probe_writer.h"
#include "report_queries.h"
#include "schedule_sql.h"
#include "watchlist_import.h"

namespace fluxwatch::storage {
namespace {

/// Ids one nextval('probe_id_blocks') reserves; must equal the sequence's INCREMENT BY
/// (migrations/0001_initial.sql).
constexpr std::int64_t kProbeIdBlock = 1000;

std::optional<std::string> float_text(std::optional<double> value) {
  if (!value || !std::isfinite(*value)) {
    return std::nullopt;
  }
  return fmt::format("{}", *value);  // shortest text that reads back to the same double
}

// --- SQL --------------------------------------------------------------------------------

constexpr const char* kExpiredPartitionsSql = R"sql(
SELECT c.relname, to_char(to_date(substr(c.relname, 15), 'YYYYMMDD'), 'YYYY-MM-DD'),
       pg_total_relation_size(c.oid)
FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
WHERE i.inhparent = 'observations'::regclass AND c.relname ~ '^observations_p[0-9]{8}$'
  AND (to_date(substr(c.relname, 15), 'YYYYMMDD') + 1)::timestamp AT TIME ZONE 'UTC'
      <= $1::timestamptz - make_interval(days => $2)
ORDER BY c.relname
)sql";

// The probe contexts of runs that finished a day before the oldest kept partition began:
// none of their observations is left (every probe of a run is sent before it finishes; the
// day covers a client clock ahead of the server's), unless a late write put one in the
// default partition. Contexts grow per run, not per probe, but a `probe` from cron adds a
// few every time; after a prune they would only ever be joined to nothing.
constexpr const char* kPruneContextsSql = R"sql(
DELETE FROM probe_contexts c USING probe_runs r
WHERE c.run_id = r.run_id
  AND r.finished_at < date_trunc('day', ($1::timestamptz - make_interval(days => $2))
                                        AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
                      - interval '1 day'
  AND NOT EXISTS (SELECT 1 FROM observations_default d WHERE d.context_id = c.context_id)
)sql";

}  // namespace

// --- Impl -------------------------------------------------------------------------------

struct Database::Impl {
  Impl(std::string dsn, const RetryPolicy& policy) : session(std::move(dsn), "storage", policy) {}

  /// The geo_builds id of `tag`, created on first use. Only committed ids are cached.
  int geo_build_id(pqxx::work& tx, const std::string& tag) {
    if (const auto found = geo_build_ids_.find(tag); found != geo_build_ids_.end()) {
      return found->second;
    }
    // DO UPDATE (not DO NOTHING) so that RETURNING yields the row even when it exists.
    return tx
        .exec_params1(
            "INSERT INTO geo_builds (tag) VALUES ($1) "
            "ON CONFLICT (tag) DO UPDATE SET tag = excluded.tag RETURNING geo_build_id",
            tag)[0]
        .as<int>();
  }

  /// Stores `batch` in one transaction under the session's retry policy; a batch left in
  /// doubt by an earlier call is settled first.
  std::size_t store(const ProbeBatch& batch, const ScheduleCommit* commit);
  std::size_t store_once(pqxx::connection& connection, const ProbeBatch& batch,
                         const ScheduleCommit* commit);

  /// A batch whose COMMIT got no answer while the server stayed away too long to be asked
  /// (Unavailable with the transaction's id). The callers that ride out outages store the
  /// same batch again once the server is back; it may have been committed, so the server is
  /// asked first: storing it again then would count every probe of it twice.
  struct InDoubtBatch {
    const ProbeBatch* batch = nullptr;
    std::int64_t run_id = 0;
    std::size_t size = 0;
    std::string xid;
    std::size_t stored = 0;  ///< what store() returns for it once it is known committed

    [[nodiscard]] bool is(const ProbeBatch& other) const {
      return batch == &other && run_id == other.run_id && size == other.results.size();
    }
  };
  /// For the batch in doubt, if `batch` is it: how many probes it stored if it was committed,
  /// nullopt if it must be stored (again). @throw Unavailable while the server cannot say.
  std::optional<std::size_t> settle_in_doubt(const ProbeBatch& batch);

  Session session;
  std::optional<InDoubtBatch> in_doubt_;
  std::map<std::string, int, std::less<>> geo_build_ids_;
  detail::ProbeWriter writer_;
};

std::size_t Database::Impl::store(const ProbeBatch& batch, const ScheduleCommit* commit) {
  if (const auto stored = settle_in_doubt(batch)) {
    return *stored;
  }
  return session.run(
      "store", [&](pqxx::connection& connection) { return store_once(connection, batch, commit); });
}

std::optional<std::size_t> Database::Impl::settle_in_doubt(const ProbeBatch& batch) {
  if (!in_doubt_) {
    return std::nullopt;
  }
  if (!in_doubt_->is(batch)) {
    // The caller moved on without storing that batch again; its fate stays in the log.
    logger()->warn("storage: transaction {} (a batch of {} probes) was never settled",
                   in_doubt_->xid, in_doubt_->size);
    in_doubt_.reset();
    return std::nullopt;
  }
  switch (session.commit_outcome(in_doubt_->xid)) {
    case CommitOutcome::Committed: {
      logger()->warn(
          "storage: the batch of {} probes whose COMMIT got no answer (transaction {}) was "
          "committed; it is not stored again",
          in_doubt_->size, in_doubt_->xid);
      writer_.committed();  // what the writer learnt in that transaction holds now
      const std::size_t stored = in_doubt_->stored;
      in_doubt_.reset();
      return stored;
    }
    case CommitOutcome::Aborted:
      logger()->info(
          "storage: the batch of {} probes whose COMMIT got no answer (transaction {}) was not "
          "committed; storing it again",
          in_doubt_->size, in_doubt_->xid);
      in_doubt_.reset();
      return std::nullopt;
    case CommitOutcome::Unknown:
      break;
  }
  throw Unavailable(
      fmt::format("storage: the server is still away, so whether transaction {} (a batch of {} "
                  "probes whose COMMIT got no answer) was committed is not known yet; the batch "
                  "is stored again only once the server says it was not",
                  in_doubt_->xid, in_doubt_->size),
      in_doubt_->xid);
}

std::size_t Database::Impl::store_once(pqxx::connection& connection, const ProbeBatch& all,
                                       const ScheduleCommit* commit) {
  writer_.ensure_partitions(connection, all.results);
  pqxx::work tx(connection, "store");
  // Scheduled probes: only those of domains whose lease this worker still holds.
  ProbeBatch fenced;
  if (commit != nullptr) {
    const auto held = detail::apply_schedule_commit(tx, *commit);
    fenced = ProbeBatch{all.run_id, {}, all.enrichment, all.geo_build};
    for (const ProbeResult& result : all.results) {
      if (held.contains(result.domain_id)) {
        fenced.results.push_back(result);
      }
    }
  }
  const ProbeBatch& batch = commit != nullptr ? fenced : all;

  // Probe ids, hi/lo: one nextval() reserves kProbeIdBlock ids (see 0001_initial.sql).
  std::vector<std::int64_t> probe_ids;
  probe_ids.reserve(batch.results.size());
  if (!batch.results.empty()) {
    const auto blocks =
        static_cast<std::int64_t>((batch.results.size() + kProbeIdBlock - 1) / kProbeIdBlock);
    for (const auto& row :
         tx.exec_params("SELECT nextval('probe_id_blocks') FROM generate_series(1, $1)", blocks)) {
      const auto first = row[0].as<std::int64_t>();
      for (std::int64_t id = first;
           id < first + kProbeIdBlock && probe_ids.size() < batch.results.size(); ++id) {
        probe_ids.push_back(id);
      }
    }
  }

  // The hot path: answer sets, observations and the address summary (probe_writer.h).
  std::size_t bad_addresses =
      batch.results.empty() ? 0 : writer_.write(tx, batch.run_id, batch.results, probe_ids);

  std::optional<std::pair<std::string, int>> new_build;
  if (!batch.enrichment.empty()) {
    std::string tag = batch.geo_build;
    if (tag.empty()) {
      logger()->warn("storage: enrichment without a GeoIP build tag; storing it as 'unknown'");
      tag = "unknown";
    }
    const int build_id = geo_build_id(tx, tag);
    new_build.emplace(tag, build_id);

    // COPY cannot skip conflicting rows, so stage them and INSERT ... ON CONFLICT.
    tx.exec(
        "CREATE TEMP TABLE fw_geo_stage (address inet, asn bigint, as_org text, country text, "
        "country_name text, city text, latitude double precision, longitude double precision) "
        "ON COMMIT DROP");
    pqxx::stream_to stage(
        tx, "fw_geo_stage",
        std::vector<std::string>{"address", "asn", "as_org", "country", "country_name", "city",
                                 "latitude", "longitude"});
    for (const AddressGeo& row : batch.enrichment) {
      if (!detail::is_ip_address(row.address)) {
        ++bad_addresses;
        continue;
      }
      std::optional<std::int64_t> asn;
      if (row.geo.asn) {
        asn = *row.geo.asn;
      }
      stage << std::make_tuple(row.address, asn, detail::null_if_empty(row.geo.as_org),
                               detail::null_if_empty(row.geo.country_iso),
                               detail::null_if_empty(row.geo.country_name),
                               detail::null_if_empty(row.geo.city), float_text(row.geo.latitude),
                               float_text(row.geo.longitude));
    }
    stage.complete();
    tx.exec_params(
        "INSERT INTO address_geo (address, geo_build_id, asn, as_org, country, country_name, "
        "city, latitude, longitude) "
        "SELECT DISTINCT ON (address) address, $1, asn, as_org, country, country_name, city, "
        "latitude, longitude FROM fw_geo_stage ORDER BY address "
        "ON CONFLICT (address, geo_build_id) DO NOTHING",
        build_id);
  }

  try {
    session.commit(tx);
  } catch (const Unavailable& error) {
    if (!error.in_doubt_transaction().empty()) {
      in_doubt_ = InDoubtBatch{&all, all.run_id, all.results.size(), error.in_doubt_transaction(),
                               batch.results.size()};
    }
    throw;
  }
  writer_.committed();
  if (new_build) {
    geo_build_ids_.insert(*new_build);
  }
  if (bad_addresses > 0) {
    logger()->warn("storage: {} A/AAAA record(s) or enrichment row(s) had no valid IP address",
                   bad_addresses);
  }
  return batch.results.size();
}

// --- Database ---------------------------------------------------------------------------

Database::Database(const std::string& dsn) : Database(dsn, RetryPolicy{}) {}
Database::Database(const std::string& dsn, const RetryPolicy& policy)
    : impl_(std::make_unique<Impl>(dsn, policy)) {}
Database::~Database() = default;
Database::Database(Database&&) noexcept = default;
Database& Database::operator=(Database&&) noexcept = default;

int Database::migrate(int up_to_version) {
  return detail::apply_migrations(impl_->session, up_to_version);
}

int Database::schema_version() { return detail::schema_version(impl_->session); }

ImportStats Database::import_watchlist(const std::vector<WatchEntry>& entries) {
  if (entries.empty()) {
    return {};
  }
  return import_watchlist_stream([&](const WatchSink& add) {
    for (const WatchEntry& entry : entries) {
      add(entry);
    }
  });
}

ImportStats Database::import_watchlist_stream(
    const std::function<void(const WatchSink&)>& produce) {
  return detail::import_watchlist(impl_->session, produce);
}

std::vector<WatchedDomain> Database::watched_domains() {
  return detail::watched_domains(impl_->session);
}

void Database::watched_domains(const std::function<void(std::size_t)>& on_count,
                               const std::function<void(WatchedDomain&&)>& each) {
  detail::watched_domains(impl_->session, on_count, each);
}

void Database::warm_up_writer() {
  impl_->session.run("warm-up", [&](pqxx::connection& connection) {
    pqxx::work tx(connection, "warm-up");
    impl_->writer_.warm_up(tx);
    tx.commit();
  });
}

std::int64_t Database::begin_run(const std::string& kind, const std::string& settings_json) {
  if (!settings_json.empty() && !nlohmann::json::accept(settings_json)) {
    throw Error("storage: begin_run: the run settings are not valid JSON");
  }
  return impl_->session.run("begin_run", [&](pqxx::connection& connection) {
    pqxx::work tx(connection, "begin_run");
    const auto run_id = tx.exec_params1(
                              "INSERT INTO probe_runs (kind, settings) "
                              "VALUES ($1, NULLIF($2, '')::jsonb) RETURNING run_id",
                              kind, settings_json)[0]
                            .as<std::int64_t>();
    impl_->session.commit(tx);
    return run_id;
  });
}

void Database::finish_run(std::int64_t run_id, const RunTotals& totals) {
  impl_->session.run("finish_run", [&](pqxx::connection& connection) {
    pqxx::work tx(connection, "finish_run");
    const pqxx::result updated = tx.exec_params(
        "UPDATE probe_runs SET finished_at = now(), probes = $2, records = $3, errors = $4 "
        "WHERE run_id = $1",
        run_id, totals.probes, totals.records, totals.errors);
    if (updated.affected_rows() != 1) {
      throw Error(fmt::format("storage: finish_run: there is no probe run {}", run_id));
    }
    impl_->session.commit(tx);
  });
}

std::size_t Database::store(const ProbeBatch& batch, const ScheduleCommit& commit) {
  return impl_->store(batch, &commit);
}

void Database::store(const ProbeBatch& batch) {
  if (batch.results.empty() && batch.enrichment.empty()) {
    return;
  }
  impl_->store(batch, nullptr);
}

std::vector<DomainSummary> Database::summaries() {
  return detail::domain_summaries(impl_->session);
}

std::vector<ObservationPartition> Database::prune(int retention_days, bool dry_run,
                                                  std::chrono::system_clock::time_point now) {
  if (retention_days < 1) {
    throw Error("storage: prune: retention_days must be at least 1 (0 keeps everything)");
  }
  return impl_->session.run("prune", [&](pqxx::connection& connection) {
    pqxx::work tx(connection, "prune");
    std::vector<ObservationPartition> partitions;
    // The day is in the name (fluxwatch_create_observation_partition); the cut-off is a UTC
    // day boundary: the partition's end at most `now - retention_days`.
    for (const auto& row :
         tx.exec_params(kExpiredPartitionsSql, detail::format_timestamp_utc(now), retention_days)) {
      ObservationPartition partition;
      partition.name = row[0].as<std::string>();
      partition.day = row[1].as<std::string>();
      partition.bytes = row[2].as<std::int64_t>();
      partition.probes =
          tx.exec("SELECT count(*) FROM " + tx.quote_name(partition.name))[0][0].as<std::int64_t>();
      partitions.push_back(std::move(partition));
    }
    if (!dry_run) {
      for (const auto& partition : partitions) {
        tx.exec("DROP TABLE " + tx.quote_name(partition.name));
      }
      tx.exec_params(kPruneContextsSql, detail::format_timestamp_utc(now), retention_days);
      impl_->session.commit(tx);
    }
    return partitions;
  });
}

}  // namespace fluxwatch::storage
