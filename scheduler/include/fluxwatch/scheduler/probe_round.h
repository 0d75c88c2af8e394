#pragma once
/// One probe round: every watched domain x every record type, resolved by the crawler,
/// enriched with GeoIP/ASN data, and written to PostgreSQL in COPY batches by a writer
/// thread while resolution goes on.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "fluxwatch/common/types.h"
#include "fluxwatch/crawler/crawler.h"
#include "fluxwatch/scheduler/observer.h"

namespace fluxwatch::geo {
class Enricher;
}
namespace fluxwatch::storage {
class Database;
}

namespace fluxwatch::scheduler {

struct RoundOptions {
  std::vector<RrType> record_types{RrType::A};
  std::size_t batch_size = 5000;     ///< results per COPY transaction
  std::size_t queued_batches = 4;    ///< batches waiting for the writer before probing pauses
  std::string settings_json = "{}";  ///< recorded with the run
  /// False: resolve (and enrich) but store nothing, not even a probe_runs row; run_id is
  /// 0. For measuring resolution apart from storage (bench/run.sh).
  bool store = true;
  /// Ask every resolver of the crawler (its servers at construction) for every name and
  /// type, instead of spreading the queries over them.
  bool every_resolver = false;
  /// Authoritative mode (crawler/delegation.h): per domain the NS set through the
  /// resolvers, then every name server directly with RD=0. every_resolver is ignored.
  bool authoritative = false;
  std::uint16_t authoritative_port = 53;
  std::size_t authoritative_max_servers = 16;
  std::string vantage;  ///< stored with every probe (empty: NULL)
  BatchObserver observer;  ///< sees every batch before it is stored (metrics, --trace)
};

/// Where a round is; handed to the progress callback.
struct Progress {
  std::size_t done = 0;
  std::size_t total = 0;
  std::size_t errors = 0;  ///< timeouts and other failures (not NXDOMAIN/SERVFAIL answers)
  std::chrono::steady_clock::duration elapsed{};
};

struct RoundSummary {
  std::int64_t run_id = 0;
  std::size_t queries = 0;
  std::size_t records = 0;
  std::size_t errors = 0;
  std::map<Outcome, std::size_t> outcomes;
  std::size_t tcp_retries = 0;
  std::size_t mismatched = 0;      ///< replies dropped for matching no query (CrawlStats)
  std::size_t edns_fallbacks = 0;  ///< queries re-sent without EDNS0 (CrawlStats)
  std::size_t enrichment_rows = 0;
  std::chrono::duration<double> elapsed{};
};

using ProgressCallback = std::function<void(const Progress&)>;

/// True for outcomes that mean "no answer was measured" (as opposed to an answer that
/// said NXDOMAIN, SERVFAIL, ...).
[[nodiscard]] bool is_failure(Outcome outcome) noexcept;

/// The queries of one round, domain-major so a domain's types are asked together.
[[nodiscard]] std::vector<crawler::Query> plan_round(const std::vector<WatchedDomain>& domains,
                                                     const std::vector<RrType>& types);
/// The same, each query once per server index 0..resolvers-1 (every-resolver mode),
/// resolver-minor so one name goes to all resolvers at about the same moment.
[[nodiscard]] std::vector<crawler::Query> plan_round(const std::vector<WatchedDomain>& domains,
                                                     const std::vector<RrType>& types,
                                                     std::size_t resolvers);

/**
 * Runs one round over `domains` and stores everything (unless `options.store` is false). `writer`
 * is used only from the writer thread while this runs; the caller must not use it concurrently.
 * @throw fluxwatch::Error if storing fails after the storage layer's retries.
 */
RoundSummary run_round(const std::vector<WatchedDomain>& domains, crawler::Crawler& crawler,
                       geo::Enricher& enricher, storage::Database& writer,
                       const RoundOptions& options, const ProgressCallback& progress = {});

/**
 * run_round() with several writers, one connection each, each on its own thread taking
 * batches from one queue: PostgreSQL's COPY then works on as many cores (one backend is
 * the bound of a round's storage). `writers[0]` records the run. The same address is never
 * enriched in two batches of a round, so the writers' transactions do not conflict.
 */
RoundSummary run_round(const std::vector<WatchedDomain>& domains, crawler::Crawler& crawler,
                       geo::Enricher& enricher, std::span<storage::Database* const> writers,
                       const RoundOptions& options, const ProgressCallback& progress = {});

}  // namespace fluxwatch::scheduler
