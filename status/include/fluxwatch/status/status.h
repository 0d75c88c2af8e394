#pragma once
/// `fluxwatch status`: a snapshot of a fluxwatch database as an operator sees it (is it
/// reachable, how much is watched and stored, is every campaign keeping up, which workers
/// hold leases, how old the GeoIP data is, how the feeds fare) and a verdict on it:
/// healthy, degraded or down. The metrics exporter reads the same snapshot.

#include <chrono>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace fluxwatch::status {

using Clock = std::chrono::system_clock;

struct CampaignStatus {
  std::string name;
  std::int64_t domains = 0;  ///< scheduled domains of the campaign
  std::int64_t due_now = 0;  ///< next_due has passed
  std::int64_t backlog = 0;  ///< due and held by no live lease: nobody is probing them
  std::optional<double> oldest_overdue_seconds;  ///< of the backlog
  std::optional<double> lateness_p50_seconds;    ///< sent_at - due_at, recent probes
  std::optional<double> lateness_p95_seconds;
  std::optional<Clock::time_point> last_probe;  ///< newest schedule.last_sent
};

struct WorkerStatus {
  std::string worker;  ///< lease owner id (host:pid:random)
  std::string campaign;
  std::int64_t leases = 0;
  Clock::time_point lease_until;  ///< latest expiry of its leases
};

struct GeoBuildStatus {
  std::string tag;  ///< "GeoLite2-ASN@<epoch>,..." as stored in geo_builds
  Clock::time_point first_used;
};

/// A GeoIP database file from the configuration, as libmaxminddb reads it.
struct GeoFileStatus {
  std::string path;
  std::string database_type;  ///< empty when it could not be opened
  std::optional<Clock::time_point> built;
  std::string error;
};

struct FeedStatus {
  std::string url;
  std::optional<Clock::time_point> last_attempt;
  std::optional<Clock::time_point> last_success;
  std::optional<int> last_status;
  std::string last_error;  ///< of the last attempt; empty when it succeeded
  int consecutive_failures = 0;
  std::optional<std::int64_t> entries;
};

/// A resolver as its stored results of the last 15 minutes show it (recursive and
/// delegation queries; a domain's own name servers are not resolvers). The same rule as
/// the engine's (scheduler/resolver_health.h): failed queries in a row since its last
/// answer mark it unhealthy, so `status` sees what `run` logged.
struct ResolverStatus {
  std::string resolver;                          ///< "ip:port" as stored
  std::int64_t queries = 0;                      ///< in the last 15 minutes
  std::int64_t failures = 0;                     ///< timeouts, refused, malformed, network errors
  std::int64_t failures_since_answer = 0;        ///< failed queries after its last answer
  std::optional<Clock::time_point> last_answer;  ///< none in the window: never answered
  std::optional<Clock::time_point> last_query;
  /// Set by judge(): false when the configuration no longer lists it (its stored results
  /// are shown, it is not judged).
  bool configured = true;
  bool healthy = true;  ///< set by judge(); a resolver no longer configured stays true
};

enum class Health { Healthy, Degraded, Down };
[[nodiscard]] const char* health_name(Health health) noexcept;

struct StatusReport {
  std::string database;  ///< the DSN in use, password masked
  bool reachable = false;
  std::string error;  ///< why not reachable
  int schema_version = 0;
  std::int64_t watched_domains = 0;
  std::int64_t probes_today = 0;  ///< since midnight UTC
  std::int64_t probes_total = 0;  ///< PostgreSQL's estimate (exact counting is a table scan)
  double rate_1m = 0;             ///< probes stored per second over the last minute
  double rate_5m = 0;
  double rate_15m = 0;
  std::vector<CampaignStatus> campaigns;
  std::vector<WorkerStatus> workers;
  std::vector<GeoBuildStatus> geo_builds;  ///< newest first
  std::vector<GeoFileStatus> geo_files;
  std::vector<FeedStatus> feeds;
  std::vector<ResolverStatus> resolvers;  ///< by resolver; Detail::Full only
  /// The resolvers ("ip:port") the configuration asks now (top level and campaigns); nullopt
  /// judges every stored one. A resolver removed from the config keeps its results of the
  /// last 15 minutes, which must not keep flagging it.
  std::optional<std::set<std::string>> configured_resolvers;
  Clock::time_point checked_at;

  Health health = Health::Down;
  std::vector<std::string> problems;  ///< why not healthy, one sentence each
};

/// Where a campaign counts as late and GeoIP as stale; `status` flags override them.
struct HealthLimits {
  std::chrono::seconds max_overdue{300};   ///< backlog older than this: degraded
  std::chrono::seconds max_lateness{300};  ///< p95 lateness above this: degraded
  std::chrono::hours max_geoip_age{24 * 35};
  int max_feed_failures = 3;  ///< consecutive failed fetches of one feed
  /// Failed queries in a row since a resolver's last answer that make it unhealthy (the
  /// engine's default: resolver_health.h).
  int max_resolver_failures = 3;
};

/// How much to read: Full for `status`; Schedule (watchlist, schema, schedule, leases
/// only: no scan of recent probes) for a daemon's periodic metrics.
enum class Detail { Full, Schedule };

/// Reads the snapshot (read-only; never migrates). An unreachable database gives
/// reachable = false and the error, not an exception.
[[nodiscard]] StatusReport read_status(const std::string& dsn, const std::string& shown_dsn,
                                       Detail detail = Detail::Full);

/// Sets health and problems from the snapshot.
void judge(StatusReport& report, const HealthLimits& limits);

/// The DSN with any password replaced by "***" (key=value and URI forms).
[[nodiscard]] std::string mask_password(const std::string& dsn);

[[nodiscard]] std::string render_table(const StatusReport& report);
/// A stable JSON object (documented in docs/operations.md).
[[nodiscard]] std::string render_json(const StatusReport& report);

}  // namespace fluxwatch::status
