#pragma once
/// The probing engine shared by `fluxwatch probe` (probe_round.h) and `fluxwatch run`
/// (worker.h): what to ask (EngineOptions), how a domain's queries are fanned out over
/// record types and resolvers and, in authoritative mode, driven through the delegation
/// plan (Dispatcher), and how finished results are enriched and handed to storage (the one
/// place they go: hand_to_storage()).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "fluxwatch/common/types.h"
#include "fluxwatch/crawler/crawler.h"
#include "fluxwatch/crawler/delegation.h"
#include "fluxwatch/scheduler/resolver_health.h"

namespace fluxwatch::geo {
class Enricher;
}
namespace fluxwatch::storage {
class Database;
struct ProbeBatch;
struct ScheduleCommit;
}  // namespace fluxwatch::storage

namespace fluxwatch::scheduler {

/// How a domain is asked.
enum class EngineMode {
  Recursive,      ///< each record type once, through one of the resolvers
  EveryResolver,  ///< each record type through every resolver at the same moment
  Authoritative,  ///< NS set through a resolver, then every name server directly (RD=0)
};

/// What both commands ask and how; filled by the CLI from the config and flags.
struct EngineOptions {
  EngineMode mode = EngineMode::Recursive;
  std::vector<RrType> record_types{RrType::A};
  std::uint16_t authoritative_port = 53;
  std::size_t authoritative_max_servers = 16;
  std::string vantage;               ///< stored with every probe (empty: NULL)
  std::size_t batch_size = 5000;     ///< results per COPY transaction
  std::string settings_json = "{}";  ///< recorded with the run
  /// When a resolver counts as unhealthy and how often it is still tried.
  ResolverHealthOptions health;
};

/// True for outcomes that mean "no answer was measured" (as opposed to an answer that
/// said NXDOMAIN, SERVFAIL, ...).
[[nodiscard]] bool is_failure(Outcome outcome) noexcept;

/// A domain to probe now.
struct DomainTask {
  std::int64_t domain_id = 0;
  std::string name;
  /// Scheduled probes: when it was due (stored in every result), and the campaign.
  std::optional<std::chrono::system_clock::time_point> due;
  std::string campaign;
};

/// A domain whose every query is back.
struct FinishedDomain {
  DomainTask task;
  std::vector<ProbeResult> results;
};

/**
 * Fans domains out into queries on the crawler's submit/poll interface and collects each
 * domain's results until all are back. Resolver choice and rate limits stay with the
 * caller (it passes the resolver to start()); the dispatcher reports every result to the
 * resolver health table so that dead resolvers are noticed.
 * Thread affinity: the thread that owns the crawler.
 */
class Dispatcher {
 public:
  using FinishedSink = std::function<void(FinishedDomain&&)>;
  Dispatcher(crawler::Crawler& crawler, EngineOptions options);

  /// Queries a domain starts with, for each resolver it is sent to (the rate-limit cost).
  [[nodiscard]] std::size_t initial_queries() const noexcept;
  /// Resolvers a domain goes to at once: all of them in every-resolver mode, else 1.
  [[nodiscard]] std::size_t fanout() const noexcept;
  /// The resolvers given to the crawler at construction.
  [[nodiscard]] std::size_t resolvers() const noexcept { return resolvers_; }
  /// True when the crawler has room for another domain's first queries.
  [[nodiscard]] bool has_room() const noexcept;
  /// Domains started and not finished.
  [[nodiscard]] std::size_t active() const noexcept { return active_.size(); }
  [[nodiscard]] std::size_t in_flight() const noexcept;
  /// Queries in flight or results not delivered yet (a server c-ares refused).
  [[nodiscard]] bool busy() const noexcept { return in_flight() > 0 || !refused_.empty(); }
  /// Authoritative mode: follow-up queries waiting to be sent.
  [[nodiscard]] bool followups_waiting() const noexcept { return !followups_.empty(); }
  /// Queries started (or failed before starting) so far.
  [[nodiscard]] std::size_t sent() const noexcept { return sent_; }
  [[nodiscard]] const EngineOptions& options() const noexcept { return options_; }
  [[nodiscard]] ResolverHealth& health() noexcept { return health_; }
  /// Takes over a new vantage label (reload); the rest of the options stay.
  void set_vantage(std::string vantage) { options_.vantage = std::move(vantage); }

  /// Starts `task`'s queries on `resolver` (every-resolver mode: on all of them). The
  /// caller checked has_room(). A domain already active is ignored (returns false).
  bool start(DomainTask task, std::size_t resolver);
  /**
   * Authoritative mode: sends waiting follow-up queries while the crawler has room and
   * `allow(resolver charged)` grants them (rate limits); stops at the first refusal.
   */
  void send_followups(const std::function<bool(std::size_t)>& allow);
  /// Waits at most `wait` for results; every finished domain goes to `finished`, every
  /// single result first to `each` (if set, e.g. progress).
  void poll(std::chrono::milliseconds wait, const FinishedSink& finished,
            const std::function<void(const ProbeResult&)>& each = {});
  /// After a stop: the results back so far of the domains not finished (with `abandoned`
  /// queries still in flight); they are forgotten here.
  std::vector<FinishedDomain> take_unfinished();

 private:
  struct Active {
    DomainTask task;
    std::vector<ProbeResult> results;
    std::size_t remaining = 0;
    std::optional<crawler::AuthoritativePlan> plan;
    std::size_t resolver = 0;  ///< charged for its (delegation) lookups
  };
  void take(ProbeResult&& result, const FinishedSink& finished,
            const std::function<void(const ProbeResult&)>& each);
  void submit(const crawler::Query& query);
  void finish(std::unordered_map<std::int64_t, Active>::iterator found,
              const FinishedSink& finished);

  crawler::Crawler* crawler_;
  EngineOptions options_;
  std::size_t resolvers_;
  std::unordered_map<std::string, std::size_t> resolver_index_;  ///< "ip:port" -> index
  ResolverHealth health_;
  std::unordered_map<std::int64_t, Active> active_;
  std::deque<crawler::PlannedQuery> followups_;
  std::deque<ProbeResult> refused_;  ///< servers c-ares would not take: failed results
  std::size_t sent_ = 0;
};

/**
 * Adds to `batch.enrichment` the GeoIP/ASN data of every address in its results that this
 * cache has not queued before for the enricher's build. The cache is cleared when it grows
 * past its limit or the build changes (memory bound; the database ignores rows it has).
 */
class BatchEnricher {
 public:
  explicit BatchEnricher(geo::Enricher& enricher) : enricher_(&enricher) {}
  void enrich(storage::ProbeBatch& batch);
  /// Addresses queued since construction (across clears).
  [[nodiscard]] std::size_t queued() const noexcept { return queued_; }

 private:
  geo::Enricher* enricher_;
  std::string build_;
  std::unordered_set<IpAddress> seen_;
  std::size_t queued_ = 0;
};

/**
 * The one place where results are handed to storage, for both commands: one COPY
 * transaction, with `commit`'s schedule updates when given (then only results of domains
 * whose lease is still held are written). Returns how many results were written.
 * @throw fluxwatch::Error as Database::store().
 */
std::size_t hand_to_storage(storage::Database& database, const storage::ProbeBatch& batch,
                            const storage::ScheduleCommit* commit = nullptr);

/**
 * Runs `body` until it succeeds, retrying on storage::Unavailable (the database cannot be
 * reached) with backoff (0.2 s doubling to 10 s) for as long as `tolerance` from the first
 * failure; logs the outage once and its end. Rethrows the last error after that. Any other
 * exception (an SQL error such as a constraint violation, bad data, a bug) passes at once:
 * running the body again would fail the same way. `on_outage` (if set) hears true when an
 * outage starts and false when it ends (either way).
 */
void retry_through_outage(const std::string& what, std::chrono::milliseconds tolerance,
                          const std::function<void()>& body,
                          const std::function<void(bool away)>& on_outage = {});

/**
 * Resolves plain queries (`fluxwatch query`) at most `qps` per second overall: the
 * crawler's run() when qps <= 0, else its submit/poll interface paced by a token bucket
 * that starts full with max(1, qps / 100) tokens (rate_limit.h), as run_round() paces a
 * probe round.
 */
void resolve_at_rate(crawler::Crawler& crawler, std::span<const crawler::Query> queries, double qps,
                     const crawler::Crawler::ResultSink& sink);

/// Records of the results (the `records` total of a run).
[[nodiscard]] std::size_t count_records(const std::vector<ProbeResult>& results) noexcept;

}  // namespace fluxwatch::scheduler
