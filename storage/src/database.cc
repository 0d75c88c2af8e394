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
// Every public call runs through Impl::run(), which maps libpqxx exceptions to
// fluxwatch::Error and, after a lost connection, reconnects and re-runs the whole
// transaction (see there).

#include "fluxwatch/storage/database.h"

#include <fmt/format.h>
#include <libpq-fe.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <pqxx/pqxx>
#include <string_view>
#include <thread>
#include <tuple>
#include <utility>

#include "copy_text.h"
#include "copy_writer.h"
#include "fluxwatch/common/error.h"
#include "fluxwatch/common/logging.h"
#include "migrations.h"
#include "probe_writer.h"
#include "schedule_sql.h"

namespace fluxwatch::storage {
namespace {

/// Key of the transaction-scoped advisory lock that serialises migrate() across processes
/// (two `fluxwatch init` at once): arbitrary, but fixed forever ("fluxmigr" in ASCII).
constexpr std::int64_t kMigrationLockKey = 0x666c75786d696772;

/// Ids one nextval('probe_id_blocks') reserves; must equal the sequence's INCREMENT BY
/// (migrations/0001_initial.sql).
constexpr std::int64_t kProbeIdBlock = 1000;

/// Waits before each reconnection attempt after a lost connection (see Impl::run()).
constexpr std::array<std::chrono::milliseconds, 5> kReconnectBackoff = {
    std::chrono::milliseconds(200), std::chrono::milliseconds(400), std::chrono::milliseconds(800),
    std::chrono::milliseconds(1600), std::chrono::milliseconds(3000)};

/// libpq messages end in a newline and sometimes span lines; errors are one line.
std::string one_line(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    if (c == '\n' || c == '\r' || c == '\t') {
      if (!out.empty() && out.back() != ' ') {
        out += ' ';
      }
    } else {
      out += c;
    }
  }
  while (!out.empty() && out.back() == ' ') {
    out.pop_back();
  }
  return out;
}

struct ConninfoDeleter {
  void operator()(PQconninfoOption* options) const noexcept { PQconninfoFree(options); }
};

/// "host=... port=... dbname=... user=..." of a DSN (never its password), with values
/// from the PG* environment where the DSN has none: what libpq will try.
std::string describe_target(const std::string& dsn) {
  std::map<std::string, std::string, std::less<>> values;
  if (!dsn.empty()) {
    char* error = nullptr;
    std::unique_ptr<PQconninfoOption, ConninfoDeleter> options(
        PQconninfoParse(dsn.c_str(), &error));
    if (!options) {
      std::string message = error != nullptr ? one_line(error) : "invalid connection string";
      PQfreemem(error);
      return "unparsable dsn: " + message;
    }
    for (const PQconninfoOption* option = options.get(); option->keyword != nullptr; ++option) {
      if (option->val != nullptr && *option->val != '\0') {
        values[option->keyword] = option->val;
      }
    }
  }
  const auto pick = [&](const char* key, const char* env) -> std::string {
    if (auto found = values.find(key); found != values.end()) {
      return found->second;
    }
    const char* value = std::getenv(env);
    return value != nullptr ? value : "";
  };
  std::string text;
  for (const auto& [key, env] : {std::pair{"host", "PGHOST"}, std::pair{"port", "PGPORT"},
                                 std::pair{"dbname", "PGDATABASE"}, std::pair{"user", "PGUSER"}}) {
    if (const auto value = pick(key, env); !value.empty()) {
      text += fmt::format("{}{}={}", text.empty() ? "" : " ", key, value);
    }
  }
  if (dsn.empty()) {
    text += text.empty() ? "libpq defaults" : ", from the PG* environment";
  }
  return text;
}

/// A lost connection (as opposed to an SQL error): worth reconnecting and retrying.
bool is_connection_loss(const pqxx::failure& error, const pqxx::connection* connection) {
  if (dynamic_cast<const pqxx::broken_connection*>(&error) != nullptr) {
    return true;
  }
  if (const auto* sql = dynamic_cast<const pqxx::sql_error*>(&error); sql != nullptr) {
    const std::string& state = sql->sqlstate();
    // Class 08: connection exception; 57P01-57P03: the server terminated the session
    // (pg_terminate_backend, shutdown, crash recovery).
    if (state.starts_with("08") || state == "57P01" || state == "57P02" || state == "57P03") {
      return true;
    }
  }
  return connection == nullptr || !connection->is_open();
}

/// What a pqxx exception means, as one line for fluxwatch::Error.
std::string describe_failure(const std::exception& error) {
  if (const auto* sql = dynamic_cast<const pqxx::sql_error*>(&error);
      sql != nullptr && !sql->sqlstate().empty()) {
    return fmt::format("{} (SQLSTATE {})", one_line(sql->what()), sql->sqlstate());
  }
  return one_line(error.what());
}

std::optional<std::string> float_text(std::optional<double> value) {
  if (!value || !std::isfinite(*value)) {
    return std::nullopt;
  }
  return fmt::format("{}", *value);  // shortest text that reads back to the same double
}

/// Reads an int64 column that may be NULL. (libpqxx 6.4 cannot read std::optional: its
/// string_traits<optional>::null() needs PQXX_HAVE_OPTIONAL, which the Debian build lacks.)
std::optional<std::int64_t> optional_int(const pqxx::field& field) {
  if (field.is_null()) {
    return std::nullopt;
  }
  return field.as<std::int64_t>();
}

// --- SQL --------------------------------------------------------------------------------

constexpr const char* kImportSql = R"sql(
WITH src AS (
  SELECT domain,
         (array_agg(source ORDER BY ord) FILTER (WHERE source IS NOT NULL))[1] AS source,
         coalesce(array_agg(DISTINCT tag ORDER BY tag) FILTER (WHERE tag IS NOT NULL),
                  '{}') AS tags,
         min(ord) AS ord
  FROM fw_watch_import
  GROUP BY domain
), upserted AS (
  INSERT INTO watchlist (domain, source, tags)
  SELECT domain, source, tags FROM src ORDER BY ord
  ON CONFLICT (domain) DO UPDATE
    SET tags = ARRAY(SELECT DISTINCT t FROM unnest(watchlist.tags || excluded.tags) AS t
                     ORDER BY t),
        removed_at = NULL  -- a removed domain imported again is watched again
    WHERE NOT excluded.tags <@ watchlist.tags OR watchlist.removed_at IS NOT NULL
  -- xmax = 0 only on a freshly inserted row version; an updated one carries our xid.
  RETURNING (xmax = 0) AS inserted
)
SELECT (SELECT count(*) FROM src) AS total,
       (SELECT count(*) FROM upserted WHERE inserted) AS added
)sql";

// One statement for every domain, from the summaries the writer keeps (migrations 0009,
// 0013): addresses from domain_address_seen, NS names from the domain's answer sets, the
// probe count one grouped pass over observations; the latest probe (and latest A probe) per
// domain from its rows through observations_domain_idx.
constexpr const char* kSummariesSql = R"sql(
WITH address_stats AS (
  SELECT domain_id,
         count(*) FILTER (WHERE family(address) = 4) AS ipv4,
         count(*) FILTER (WHERE family(address) = 6) AS ipv6,
         min(min_ttl) AS min_ttl
  FROM domain_address_seen GROUP BY domain_id
), geo_stats AS (
  SELECT a.domain_id, count(DISTINCT g.asn) AS asns, count(DISTINCT g.country) AS countries
  FROM domain_address_seen a
  JOIN address_geo g ON g.address = a.address
  GROUP BY a.domain_id
), ns_stats AS (
  SELECT domain_id, count(DISTINCT target) AS ns_names
  FROM answer_set_records
  WHERE domain_id <> 0 AND rtype = 'NS'
  GROUP BY domain_id
), probe_counts AS (
  SELECT domain_id, count(*) AS probes FROM observations WHERE domain_id IS NOT NULL
  GROUP BY domain_id
)
SELECT w.domain,
       coalesce(pc.probes, 0),
       coalesce(ad.ipv4, 0),
       coalesce(ad.ipv6, 0),
       coalesce(gs.asns, 0),
       coalesce(gs.countries, 0),
       coalesce(ns.ns_names, 0),
       ad.min_ttl,
       coalesce(latest_a.outcome, latest.outcome)::text,
       (extract(epoch FROM latest.sent_at) * 1000000)::bigint
FROM watchlist w
LEFT JOIN probe_counts pc ON pc.domain_id = w.domain_id
LEFT JOIN address_stats ad ON ad.domain_id = w.domain_id
LEFT JOIN geo_stats gs ON gs.domain_id = w.domain_id
LEFT JOIN ns_stats ns ON ns.domain_id = w.domain_id
LEFT JOIN LATERAL (
  SELECT c.outcome, o.sent_at FROM observations o JOIN probe_contexts c USING (context_id)
  WHERE o.domain_id = w.domain_id
  ORDER BY o.sent_at DESC, o.probe_id DESC LIMIT 1
) latest ON true
LEFT JOIN LATERAL (
  SELECT c.outcome FROM observations o JOIN probe_contexts c USING (context_id)
  WHERE o.domain_id = w.domain_id AND c.qtype = 'A'
  ORDER BY o.sent_at DESC, o.probe_id DESC LIMIT 1
) latest_a ON true
ORDER BY w.domain
)sql";

constexpr const char* kExpiredPartitionsSql = R"sql(
SELECT c.relname, to_char(to_date(substr(c.relname, 15), 'YYYYMMDD'), 'YYYY-MM-DD'),
       pg_total_relation_size(c.oid)
FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
WHERE i.inhparent = 'observations'::regclass AND c.relname ~ '^observations_p[0-9]{8}$'
  AND (to_date(substr(c.relname, 15), 'YYYYMMDD') + 1)::timestamp AT TIME ZONE 'UTC'
      <= $1::timestamptz - make_interval(days => $2)
ORDER BY c.relname
)sql";

}  // namespace

// --- Impl -------------------------------------------------------------------------------

struct Database::Impl {
  explicit Impl(std::string dsn) : dsn_(std::move(dsn)) { connect(); }

  /// (Re)opens the connection. @throw fluxwatch::Error saying what to configure.
  void connect() {
    if (auto error = try_connect()) {
      throw Error(fmt::format(
          "cannot connect to PostgreSQL ({}): {}. Set database.dsn or PGHOST/PGDATABASE, or "
          "leave both unset to let fluxwatch run its own server",
          describe_target(dsn_), *error));
    }
  }

  /// (Re)opens the connection; libpq's complaint if that fails.
  std::optional<std::string> try_connect() {
    connection_.reset();
    try {
      connection_ = std::make_unique<pqxx::connection>(dsn_);
      return std::nullopt;
    } catch (const std::exception& error) {
      return one_line(error.what());
    }
  }

  /**
   * Runs `body(connection)`, which must do all its writes in one transaction, and turns
   * libpqxx exceptions into fluxwatch::Error. When the connection is lost (server restart,
   * pg_terminate_backend, network), reconnects with backoff (0.2 s doubling to 3 s, 5
   * attempts) and runs `body` again from the start. That is safe because an interrupted
   * transaction left nothing behind, and for store() the probe ids are simply allocated
   * anew from the sequence. A connection lost during COMMIT (pqxx::in_doubt_error) is not
   * retried: the batch may or may not have been written, and a retry could store it twice.
   */
  template <typename Body>
  auto run(std::string_view what, Body&& body)
      -> decltype(body(std::declval<pqxx::connection&>())) {
    std::size_t retries = 0;
    while (true) {
      try {
        if (!connection_ || !connection_->is_open()) {
          connect();
        }
        return body(*connection_);
      } catch (const Error&) {
        throw;
      } catch (const pqxx::in_doubt_error& error) {
        throw Error(fmt::format(
            "storage: {}: the connection broke during COMMIT, so it is unknown whether the "
            "data was written: {}",
            what, describe_failure(error)));
      } catch (const pqxx::failure& error) {
        if (!is_connection_loss(error, connection_.get())) {
          throw Error(fmt::format("storage: {} failed: {}", what, describe_failure(error)));
        }
        if (!reconnect_after_loss(what, error, retries)) {
          throw Error(fmt::format(
              "storage: {} failed: lost the connection to PostgreSQL and could not restore "
              "it after {} attempts: {}",
              what, kReconnectBackoff.size(), describe_failure(error)));
        }
      } catch (const std::exception& error) {
        throw Error(fmt::format("storage: {} failed: {}", what, one_line(error.what())));
      }
    }
  }

  /// Sleeps and reconnects until it works or the backoff schedule is used up (false).
  bool reconnect_after_loss(std::string_view what, const std::exception& error,
                            std::size_t& retries) {
    logger()->warn("storage: {}: lost the connection to PostgreSQL ({}); reconnecting", what,
                   describe_failure(error));
    connection_.reset();
    while (retries < kReconnectBackoff.size()) {
      std::this_thread::sleep_for(kReconnectBackoff.at(retries));
      ++retries;
      if (const auto failure = try_connect()) {
        logger()->warn("storage: {}: reconnection attempt {} failed: {}", what, retries, *failure);
      } else {
        logger()->info("storage: {}: reconnected to PostgreSQL (attempt {}); retrying", what,
                       retries);
        return true;
      }
    }
    return false;
  }

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

  void store_once(pqxx::connection& connection, const ProbeBatch& batch);
  std::size_t store_once(pqxx::connection& connection, const ProbeBatch& batch,
                         const ScheduleCommit* commit);

  std::string dsn_;
  std::unique_ptr<pqxx::connection> connection_;
  std::map<std::string, int, std::less<>> geo_build_ids_;
  detail::ProbeWriter writer_;
};

void Database::Impl::store_once(pqxx::connection& connection, const ProbeBatch& batch) {
  store_once(connection, batch, nullptr);
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

  tx.commit();
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

Database::Database(const std::string& dsn) : impl_(std::make_unique<Impl>(dsn)) {}
Database::~Database() = default;
Database::Database(Database&&) noexcept = default;
Database& Database::operator=(Database&&) noexcept = default;

int Database::migrate(int up_to_version) {
  auto migrations = detail::embedded_migrations();
  while (!migrations.empty() && migrations.back().version > up_to_version) {
    migrations = migrations.first(migrations.size() - 1);
  }
  int applied = 0;  // outside run(): survives a retry after a lost connection
  impl_->run("migrate", [&](pqxx::connection& connection) {
    for (const detail::Migration& migration : migrations) {
      pqxx::work tx(connection, "migrate");
      // Held until this transaction ends: a concurrent migrate() waits here, then sees the
      // migration as applied.
      tx.exec_params("SELECT pg_advisory_xact_lock($1)", kMigrationLockKey);
      const bool has_table =
          tx.exec("SELECT to_regclass('schema_migrations') IS NOT NULL")[0][0].as<bool>();
      if (has_table &&
          tx.exec_params1("SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = $1)",
                          migration.version)[0]
              .as<bool>()) {
        tx.commit();
        continue;
      }
      tx.exec(std::string(migration.sql));
      tx.exec_params("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                     migration.version, std::string(migration.name));
      tx.commit();
      ++applied;
      logger()->info("storage: applied migration {:04}_{}", migration.version, migration.name);
    }
  });
  const int version = schema_version();
  const auto known = detail::embedded_migrations();
  if (!known.empty() && version > known.back().version) {
    logger()->warn(
        "storage: the database schema is at version {}, newer than this fluxwatch knows "
        "({}); upgrade fluxwatch",
        version, known.back().version);
  }
  return applied;
}

int Database::schema_version() {
  return impl_->run("schema_version", [](pqxx::connection& connection) {
    pqxx::read_transaction tx(connection, "schema_version");
    if (!tx.exec("SELECT to_regclass('schema_migrations') IS NOT NULL")[0][0].as<bool>()) {
      return 0;
    }
    return tx.exec("SELECT coalesce(max(version), 0) FROM schema_migrations")[0][0].as<int>();
  });
}

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
  return impl_->run("import_watchlist", [&](pqxx::connection& connection) {
    pqxx::work tx(connection, "import_watchlist");
    // One row per (entry, tag), or one with a NULL tag: no array literals to escape. Rows
    // stream to the server as they come (libpq's COPY buffer), so nothing grows here.
    tx.exec(
        "CREATE TEMP TABLE fw_watch_import (ord bigint, domain text, source text, tag text) "
        "ON COMMIT DROP");
    pqxx::stream_to stage(tx, "fw_watch_import",
                          std::vector<std::string>{"ord", "domain", "source", "tag"});
    std::int64_t ord = 0;
    produce([&](const WatchEntry& entry) {
      const auto source = detail::null_if_empty(entry.source);
      bool any_tag = false;
      for (const std::string& tag : entry.tags) {
        if (!tag.empty()) {
          stage << std::make_tuple(ord, entry.domain, source, tag);
          any_tag = true;
        }
      }
      if (!any_tag) {
        stage << std::make_tuple(ord, entry.domain, source, nullptr);
      }
      ++ord;
    });
    stage.complete();
    if (ord == 0) {
      return ImportStats{};
    }
    const pqxx::row counts = tx.exec1(kImportSql);
    tx.commit();
    const auto total = counts[0].as<std::int64_t>();
    const auto added = counts[1].as<std::int64_t>();
    return ImportStats{static_cast<std::size_t>(added), static_cast<std::size_t>(total - added),
                       static_cast<std::size_t>(ord - total)};
  });
}

std::vector<WatchedDomain> Database::watched_domains() {
  return impl_->run("watched_domains", [](pqxx::connection& connection) {
    pqxx::read_transaction tx(connection, "watched_domains");
    std::vector<WatchedDomain> domains;
    const pqxx::result rows = tx.exec(
        "SELECT domain_id, domain FROM watchlist WHERE removed_at IS NULL ORDER BY domain_id");
    domains.reserve(rows.size());
    for (const auto& row : rows) {
      domains.push_back(WatchedDomain{row[0].as<std::int64_t>(), row[1].as<std::string>()});
    }
    return domains;
  });
}

std::int64_t Database::begin_run(const std::string& kind, const std::string& settings_json) {
  if (!settings_json.empty() && !nlohmann::json::accept(settings_json)) {
    throw Error("storage: begin_run: the run settings are not valid JSON");
  }
  return impl_->run("begin_run", [&](pqxx::connection& connection) {
    pqxx::work tx(connection, "begin_run");
    const auto run_id = tx.exec_params1(
                              "INSERT INTO probe_runs (kind, settings) "
                              "VALUES ($1, NULLIF($2, '')::jsonb) RETURNING run_id",
                              kind, settings_json)[0]
                            .as<std::int64_t>();
    tx.commit();
    return run_id;
  });
}

void Database::finish_run(std::int64_t run_id, const RunTotals& totals) {
  impl_->run("finish_run", [&](pqxx::connection& connection) {
    pqxx::work tx(connection, "finish_run");
    const pqxx::result updated = tx.exec_params(
        "UPDATE probe_runs SET finished_at = now(), probes = $2, records = $3, errors = $4 "
        "WHERE run_id = $1",
        run_id, totals.probes, totals.records, totals.errors);
    if (updated.affected_rows() != 1) {
      throw Error(fmt::format("storage: finish_run: there is no probe run {}", run_id));
    }
    tx.commit();
  });
}

std::size_t Database::store(const ProbeBatch& batch, const ScheduleCommit& commit) {
  return impl_->run("store", [&](pqxx::connection& connection) {
    return impl_->store_once(connection, batch, &commit);
  });
}

void Database::store(const ProbeBatch& batch) {
  if (batch.results.empty() && batch.enrichment.empty()) {
    return;
  }
  impl_->run("store", [&](pqxx::connection& connection) { impl_->store_once(connection, batch); });
}

std::vector<DomainSummary> Database::summaries() {
  return impl_->run("summaries", [](pqxx::connection& connection) {
    pqxx::read_transaction tx(connection, "summaries");
    const pqxx::result rows = tx.exec(kSummariesSql);
    std::vector<DomainSummary> summaries;
    summaries.reserve(rows.size());
    for (const auto& row : rows) {
      DomainSummary summary;
      summary.domain = row[0].as<std::string>();
      summary.probes = row[1].as<std::int64_t>();
      summary.ipv4_addresses = row[2].as<std::int64_t>();
      summary.ipv6_addresses = row[3].as<std::int64_t>();
      summary.asns = row[4].as<std::int64_t>();
      summary.countries = row[5].as<std::int64_t>();
      summary.ns_names = row[6].as<std::int64_t>();
      summary.min_ttl = optional_int(row[7]);
      summary.last_outcome = row[8].is_null() ? std::string() : row[8].as<std::string>();
      if (const auto micros = optional_int(row[9])) {
        summary.last_probe = detail::from_unix_micros(*micros);
      }
      summaries.push_back(std::move(summary));
    }
    return summaries;
  });
}

std::vector<ObservationPartition> Database::prune(int retention_days, bool dry_run,
                                                  std::chrono::system_clock::time_point now) {
  if (retention_days < 1) {
    throw Error("storage: prune: retention_days must be at least 1 (0 keeps everything)");
  }
  return impl_->run("prune", [&](pqxx::connection& connection) {
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
      tx.commit();
    }
    return partitions;
  });
}

}  // namespace fluxwatch::storage
