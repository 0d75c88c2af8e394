// ReportStore: the read-only queries of `fluxwatch report` (and Database::summaries()), on
// database.read_dsn when it is set (a hot standby or a reader login): two connections sharing
// one snapshot, the probe pass on one and the address streams on the other.
#include "fluxwatch/storage/report_store.h"

#include <libpq-fe.h>
#include <spdlog/spdlog.h>

#include <array>
#include <chrono>
#include <future>
#include <memory>
#include <pqxx/pqxx>
#include <string>
#include <unordered_map>

#include "copy_text.h"
#include "fluxwatch/storage/libpq_access.h"
#include "migration_store.h"
#include "report_addresses.h"
#include "report_queries.h"

namespace fluxwatch::storage {
namespace {

/// Reads an int64 column that may be NULL. (libpqxx 6.4 cannot read std::optional: its
/// string_traits<optional>::null() needs PQXX_HAVE_OPTIONAL, which the Debian build lacks.)
std::optional<std::int64_t> optional_int(const pqxx::field& field) {
  if (field.is_null()) {
    return std::nullopt;
  }
  return field.as<std::int64_t>();
}

// Per domain, from the summaries the writer keeps (migrations 0009, 0013, 0015): its NS names
// (answer section and shared part of its sets), and one grouped pass over observations for
// the probe count and the latest probe (and latest A probe): the largest (sent_at, probe_id)
// with its context, as an array (arrays compare element by element). Per domain, an index
// probe for its latest row would read all its rows (observations_domain_idx has no time
// order: a sort per domain, ~1 ms a domain at 50M probes, 15 min for 500,000 domains); the
// pass reads each row once. The addresses, ASNs, countries and TTLs are counted apart
// (report_addresses.h).
constexpr const char* kSummariesSql = R"sql(
WITH ns_stats AS (
  SELECT domain_id, count(DISTINCT target) AS ns_names
  FROM (SELECT c.domain_id, u.target
        FROM answer_set_contents c
        CROSS JOIN LATERAL unnest(c.rtypes, c.targets) AS u(rtype, target)
        WHERE c.domain_id <> 0 AND u.rtype = 'NS'
        UNION ALL
        SELECT c.domain_id, u.target
        FROM answer_set_contents c
        JOIN shared_parts p ON p.shared_id = c.shared_id
        CROSS JOIN LATERAL unnest(p.rtypes, p.targets) AS u(rtype, target)
        WHERE c.domain_id <> 0 AND u.rtype = 'NS') ns
  GROUP BY domain_id
), probe_stats AS (
  SELECT o.domain_id, count(*) AS probes,
         max(ARRAY[(date_part('epoch', o.sent_at) * 1000000)::bigint, o.probe_id, o.context_id])
           AS latest,
         max(ARRAY[(date_part('epoch', o.sent_at) * 1000000)::bigint, o.probe_id, o.context_id])
           FILTER (WHERE c.qtype = 'A') AS latest_a
  FROM observations o JOIN probe_contexts c USING (context_id)
  WHERE o.domain_id IS NOT NULL
  GROUP BY o.domain_id
)
SELECT w.domain,
       w.domain_id,
       coalesce(ps.probes, 0),
       coalesce(ns.ns_names, 0),
       coalesce(latest_a.outcome, latest.outcome)::text,
       ps.latest[1]
FROM watchlist w
LEFT JOIN probe_stats ps ON ps.domain_id = w.domain_id
LEFT JOIN ns_stats ns ON ns.domain_id = w.domain_id
LEFT JOIN probe_contexts latest ON latest.context_id = ps.latest[3]
LEFT JOIN probe_contexts latest_a ON latest_a.context_id = ps.latest_a[3]
ORDER BY w.domain
)sql";

using ReadOnlyTransaction = pqxx::transaction<pqxx::repeatable_read, pqxx::read_only>;

struct CancelDeleter {
  void operator()(PGcancel* cancel) const noexcept { PQfreeCancel(cancel); }
};

/// The probe and NS-name statement on a second connection, in the snapshot of the first, so
/// that it runs beside the address streams (each about a minute at 50M probes, each keeping a
/// server process busy) and both see the same rows. Opened on the caller's thread; run() may
/// be called on another; cancel() stops a statement that is running, from any thread.
class ProbePass {
 public:
  ProbePass(const std::string& dsn, const std::string& snapshot)
      : connection_(dsn), tx_(connection_, "summaries (probes)") {
    tx_.exec("SET TRANSACTION SNAPSHOT " + tx_.quote(snapshot));
    // One hash table of every domain's counters (~350 bytes a domain), not batches on disk.
    tx_.exec("SET LOCAL work_mem = '256MB'");
    cancel_.reset(PQgetCancel(libpq::raw_connection(tx_)));
  }
  pqxx::result run() {
    const auto start = std::chrono::steady_clock::now();
    pqxx::result rows = tx_.exec(kSummariesSql);
    spdlog::debug("report: probes and NS names of {} domains read in {} ms", rows.size(),
                  std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - start)
                      .count());
    return rows;
  }
  void cancel() noexcept {
    std::array<char, 256> error{};
    if (cancel_) {
      PQcancel(cancel_.get(), error.data(), static_cast<int>(error.size()));
    }
  }

 private:
  pqxx::connection connection_;
  ReadOnlyTransaction tx_;
  std::unique_ptr<PGcancel, CancelDeleter> cancel_;
};

}  // namespace

namespace detail {

std::vector<DomainSummary> domain_summaries(Session& session) {
  return session.run("summaries", [&session](pqxx::connection& connection) {
    // One snapshot for the address streams here and the probe pass on a second connection.
    ReadOnlyTransaction tx(connection, "summaries");
    tx.exec("SET LOCAL work_mem = '256MB'");  // as before: the address streams' joins too
    ProbePass probe_pass(session.dsn(),
                         tx.exec("SELECT pg_export_snapshot()")[0][0].as<std::string>());
    std::future<pqxx::result> probes =
        std::async(std::launch::async, [&probe_pass] { return probe_pass.run(); });
    std::unordered_map<std::int64_t, DomainAddressStats> addresses;
    try {
      addresses = domain_address_stats(tx);
    } catch (...) {
      probe_pass.cancel();  // rather than wait for it: the report fails either way
      probes.wait();
      throw;
    }
    const pqxx::result rows = probes.get();
    std::vector<DomainSummary> summaries;
    summaries.reserve(rows.size());
    for (const auto& row : rows) {
      DomainSummary summary;
      summary.domain = row[0].as<std::string>();
      summary.probes = row[2].as<std::int64_t>();
      if (const auto found = addresses.find(row[1].as<std::int64_t>()); found != addresses.end()) {
        const DomainAddressStats& stats = found->second;
        summary.ipv4_addresses = stats.ipv4_addresses;
        summary.ipv6_addresses = stats.ipv6_addresses;
        summary.asns = stats.asns;
        summary.countries = stats.countries;
        summary.min_ttl = stats.min_ttl;
      }
      summary.ns_names = row[3].as<std::int64_t>();
      summary.last_outcome = row[4].is_null() ? std::string() : row[4].as<std::string>();
      if (const auto micros = optional_int(row[5])) {
        summary.last_probe = from_unix_micros(*micros);
      }
      summaries.push_back(std::move(summary));
    }
    return summaries;
  });
}

}  // namespace detail

ReportStore::ReportStore(const std::string& dsn)
    : session_(std::make_unique<Session>(dsn, "report")) {}
ReportStore::~ReportStore() = default;
ReportStore::ReportStore(ReportStore&&) noexcept = default;
ReportStore& ReportStore::operator=(ReportStore&&) noexcept = default;

std::vector<DomainSummary> ReportStore::summaries() { return detail::domain_summaries(*session_); }

int ReportStore::schema_version() { return detail::schema_version(*session_); }

bool ReportStore::in_recovery() {
  return session_->run("in_recovery", [](pqxx::connection& connection) {
    pqxx::read_transaction tx(connection, "in_recovery");
    return tx.exec("SELECT pg_is_in_recovery()")[0][0].as<bool>();
  });
}

}  // namespace fluxwatch::storage
