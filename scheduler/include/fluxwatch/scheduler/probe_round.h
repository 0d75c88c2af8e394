#pragma once
/// One probe round (`fluxwatch probe`): every watched domain x every record type, resolved
/// by the engine (engine.h), enriched with GeoIP/ASN data, and written to PostgreSQL in
/// COPY batches by writer threads while resolution goes on.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "fluxwatch/common/clock.h"
#include "fluxwatch/common/types.h"
#include "fluxwatch/crawler/crawler.h"
#include "fluxwatch/scheduler/domain_feed.h"
#include "fluxwatch/scheduler/engine.h"
#include "fluxwatch/scheduler/observer.h"

namespace fluxwatch::geo {
class Enricher;
}
namespace fluxwatch::storage {
class Database;
}

namespace fluxwatch::scheduler {

struct RoundOptions {
  EngineOptions engine;
  std::size_t queued_batches = 4;  ///< batches waiting for the writers before probing pauses
  /// The same while a writer waits out a database outage (`probe`: scheduler.buffer_limit
  /// results), so that probing goes on meanwhile; not in normal operation, where a deep
  /// queue only holds a whole round's results in memory at once (peak RSS) and stores
  /// nothing sooner. 0: queued_batches.
  std::size_t outage_batches = 0;
  /// False: resolve (and enrich) but store nothing, not even a probe_runs row; run_id is
  /// 0. For measuring resolution apart from storage (bench/run.sh).
  bool store = true;
  /// This round's number: moves every domain on to the next resolver (the spread).
  std::uint64_t round = 0;
  /// Queries per second over all resolvers, 0 = unlimited (`probe --qps`, as zdns,
  /// massdns and dnsx have it): a token bucket (rate_limit.h) that starts full with
  /// max(one domain's queries, qps / 100) tokens, so N queries take at least
  /// (N - that burst) / qps seconds. Follow-up queries (authoritative mode) count too.
  double qps = 0;
  /// How long the database may stay away: results wait in the bounded queue (probing
  /// pauses when it is full), storing is retried with backoff, then the round goes on.
  std::chrono::milliseconds outage_tolerance{std::chrono::minutes(5)};
  /// Set (from a signal handler) to stop: no new domain is started, queries in flight get
  /// `stop_grace` to finish, and everything back is stored.
  const std::atomic<bool>* stop = nullptr;
  std::chrono::milliseconds stop_grace{15000};
  BatchObserver observer;  ///< sees every batch as it is handed to storage (metrics, --trace)
};

/// Where a round is; handed to the progress callback.
struct Progress {
  std::size_t done = 0;
  std::size_t total = 0;
  std::size_t errors = 0;  ///< timeouts and other failures (not NXDOMAIN/SERVFAIL answers)
  SteadyClock::duration elapsed{};
};

/// What one server got in a round (to tell a dead or mistyped resolver from a bad domain).
struct ResolverTally {
  std::size_t queries = 0;
  std::size_t failures = 0;  ///< is_failure() outcomes: no answer was measured
};

/// Totals of a round; queries/records/errors are what probe_runs records (as for `run`).
struct RoundSummary {
  std::int64_t run_id = 0;
  std::map<std::string, ResolverTally> resolvers;  ///< by ProbeResult::resolver ("ip:port")
  std::size_t queries = 0;  ///< results (one per query sent), stored unless --no-store
  std::size_t records = 0;
  std::size_t errors = 0;
  std::map<Outcome, std::size_t> outcomes;
  std::size_t tcp_retries = 0;
  std::size_t mismatched = 0;      ///< replies dropped for matching no query (CrawlStats)
  std::size_t edns_fallbacks = 0;  ///< queries re-sent without EDNS0 (CrawlStats)
  std::size_t enrichment_rows = 0;
  bool interrupted = false;   ///< stopped by `stop` before every domain was started
  std::size_t abandoned = 0;  ///< queries still in flight when the stop grace ran out
  std::chrono::duration<double> elapsed{};
};

using ProgressCallback = std::function<void(const Progress&)>;

/**
 * Runs one round over `domains` and stores everything (unless `options.store` is false). `writer`
 * is used only from the writer thread while this runs; the caller must not use it concurrently.
 * @throw fluxwatch::Error if the database stays away longer than the outage tolerance.
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

/**
 * run_round() over domains that may still be loading (`probe`: the watchlist streams in on
 * another thread): domains are started as they arrive, and the round ends once the feed is
 * complete and every domain is done. A loader's failure (DomainFeed::fail) is rethrown as
 * any other error of the round.
 */
RoundSummary run_round(const DomainFeed& domains, crawler::Crawler& crawler,
                       geo::Enricher& enricher, std::span<storage::Database* const> writers,
                       const RoundOptions& options, const ProgressCallback& progress = {});

}  // namespace fluxwatch::scheduler
