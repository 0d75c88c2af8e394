#pragma once
/// fluxwatch's settings: one YAML file (yaml-cpp) with documented defaults, overridden by
/// command-line flags. Unknown keys and bad values are rejected with the file, line and
/// key path.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fluxwatch/common/endpoint.h"
#include "fluxwatch/common/types.h"
#include "fluxwatch/scoring/classifier.h"

namespace fluxwatch::config {

/// One entry of `campaigns:`: what `fluxwatch run` probes and how often (docs/scheduler.md).
struct Campaign {
  std::string name;                  ///< `name`: unique; stored with every probe
  std::vector<std::string> tags;     ///< `tags`: watchlist entries with any of these tags
  std::vector<std::string> sources;  ///< `sources`: ... or from any of these sources
  std::vector<RrType> record_types;  ///< `record_types`: empty = probe.record_types
  std::vector<Endpoint> resolvers;   ///< `resolvers`: empty = the top-level resolvers
  std::chrono::milliseconds base_interval{std::chrono::hours(1)};   ///< `base_interval` (s)
  std::chrono::milliseconds min_interval{std::chrono::minutes(1)};  ///< `min_interval` (s)
  std::chrono::milliseconds max_interval{std::chrono::hours(24)};   ///< `max_interval` (s)
  double jitter = 0.05;  ///< `jitter`: fraction of the interval
  std::optional<std::chrono::system_clock::time_point> start;  ///< `start`: ISO 8601 UTC
  std::optional<std::chrono::system_clock::time_point> end;    ///< `end`
  std::string vantage;          ///< `vantage`: label stored with every probe
  double qps = 0;               ///< `qps`: queries per second overall, 0 = unlimited
  double qps_per_resolver = 0;  ///< `qps_per_resolver`: per resolver, 0 = unlimited
  /// `mode`: recursive (ask the resolvers) or authoritative (find the delegation through
  /// the resolvers, then ask each of the domain's name servers directly, RD=0).
  bool authoritative = false;
  /// `resolver_mode`: spread (each domain to one resolver, in turn) or every (each domain to
  /// every resolver of the campaign at the same moment: a spatial snapshot).
  bool every_resolver = false;
};

/// Every setting, with its default. Each member is read, shown and documented through its row
/// in the settings table (config/src/settings_table.cc): a new key is a member plus a row.
struct Config {
  /// `state_dir`: where fluxwatch keeps its own PostgreSQL cluster and runtime files.
  std::filesystem::path state_dir;

  struct Database {
    /// `database.dsn`: libpq connection string or URI. Empty: the PG* environment
    /// variables if any is set, else a cluster fluxwatch runs itself under state_dir.
    std::string dsn;
    /// `database.read_dsn`: where readers (`serve`, `plot`) connect, e.g. a hot standby or
    /// a login with only fluxwatch_reader. Empty: the database above.
    std::string read_dsn;
  } database;

  struct Storage {
    /// `storage.retention_days`: `fluxwatch prune` drops the daily partitions of probe rows
    /// older than this many days (summaries stay). 0: keep everything.
    int retention_days = 0;
  } storage;

  struct Serve {
    /// `serve.listen`: HOST:PORT of the web view. A non-loopback host needs serve.token.
    std::string listen = "127.0.0.1:8080";
    /// `serve.token`: bearer token (or HTTP Basic password) every request must carry.
    /// Never stored in any table.
    std::string token;
  } serve;

  /// `resolvers`: DNS servers as "ip[:port]". Empty: the system's /etc/resolv.conf.
  std::vector<Endpoint> resolvers;

  struct Probe {
    std::vector<RrType> record_types{RrType::A, RrType::AAAA,
                                     RrType::NS};  ///< `probe.record_types`
    std::size_t concurrency = 2000;                ///< `probe.concurrency`: queries in flight
    std::chrono::milliseconds timeout{2000};       ///< `probe.timeout_ms`: per try
    int tries = 2;                                 ///< `probe.tries`
    /// `probe.stall_ms`: unanswered this long, a query stops counting against concurrency
    std::chrono::milliseconds stall_after{500};
    bool recursion = true;               ///< `probe.recursion`: RD bit
    bool edns = true;                    ///< `probe.edns`
    std::uint16_t edns_udp_size = 1232;  ///< `probe.edns_udp_size`
    int socket_buffer_bytes = 4 << 20;   ///< `probe.socket_buffer_bytes`
    std::size_t batch_size = 5000;       ///< `probe.batch_size`: results per COPY
    /// `probe.authoritative_port`: the port of domains' own name servers in authoritative
    /// mode (53; the lab serves on another).
    std::uint16_t authoritative_port = 53;
    /// `probe.authoritative_max_servers`: name server addresses asked per domain at most.
    std::size_t authoritative_max_servers = 16;
  } probe;

  struct Geo {
    std::filesystem::path asn_database;   ///< `geoip.asn_database`: GeoLite2-ASN shaped MMDB
    std::filesystem::path city_database;  ///< `geoip.city_database`: GeoLite2-City shaped MMDB
    std::size_t cache_entries = 1 << 20;  ///< `geoip.cache_entries`
    /// `geoip.update`: where `fluxwatch geo update` downloads the databases from: a URL per
    /// database (plain MMDB, .gz or .tar.gz), or MaxMind with account and licence key.
    struct Update {
      std::string asn_url;                   ///< `geoip.update.asn_url`
      std::string city_url;                  ///< `geoip.update.city_url`
      std::string account_id;                ///< `geoip.update.account_id` (MaxMind)
      std::string license_key;               ///< `geoip.update.license_key` (MaxMind)
      std::vector<std::string> edition_ids;  ///< `geoip.update.edition_ids`, e.g. GeoLite2-ASN
      std::string maxmind_url = "https://download.maxmind.com";  ///< `geoip.update.maxmind_url`
    } update;
  } geoip;

  /// `feeds`: watchlists fetched over http(s)/file and refreshed on their interval.
  struct Feed {
    std::string url;                              ///< http, https or file URL
    std::string format = "plain";                 ///< plain (watchlist format), csv, jsonl
    std::string column = "domain";                ///< csv column / jsonl field with the domain
    std::string tag;                              ///< tag added to every entry (optional)
    std::chrono::seconds refresh_interval{3600};  ///< `refresh_minutes`
    bool operator==(const Feed&) const = default;
  };
  std::vector<Feed> feeds;

  /// `fetch`: the HTTP client of feeds and GeoIP downloads (libcurl).
  struct Fetch {
    std::string user_agent = "fluxwatch";              ///< `fetch.user_agent`
    std::chrono::milliseconds timeout{60000};          ///< `fetch.timeout_ms`: whole transfer
    std::chrono::milliseconds connect_timeout{10000};  ///< `fetch.connect_timeout_ms`
    int retries = 3;                                   ///< `fetch.retries` after the first try
    std::chrono::milliseconds retry_backoff{1000};  ///< `fetch.retry_backoff_ms`, doubled each time
    std::size_t max_feed_bytes = 64U << 20;         ///< `fetch.max_feed_bytes` (decoded)
    std::size_t max_download_bytes = 1024U << 20;   ///< `fetch.max_download_bytes` (GeoIP)
    bool verify_tls = true;                         ///< `fetch.verify_tls`
    std::string ca_file;                            ///< `fetch.ca_file`: extra CA bundle
  } fetch;

  /// `http_probe`: opt-in HTTP fetches of `http://DOMAIN/` from each newly seen address.
  struct HttpProbe {
    bool enabled = false;                                            ///< `http_probe.enabled`
    std::string user_agent = "Mozilla/5.0 (compatible; fluxwatch)";  ///< `http_probe.user_agent`
    bool https = false;                                    ///< `http_probe.https`: also https://
    std::chrono::milliseconds connect_timeout{3000};       ///< `http_probe.connect_timeout_ms`
    std::chrono::milliseconds timeout{10000};              ///< `http_probe.timeout_ms`
    std::size_t max_body_bytes = 256U << 10;               ///< `http_probe.max_body_bytes`
    std::size_t concurrency = 200;                         ///< `http_probe.concurrency`
    double rate_per_second = 50;                           ///< `http_probe.rate_per_second`
    std::chrono::milliseconds per_address_interval{1000};  ///< `http_probe.per_address_interval_ms`
  } http_probe;

  /// `scoring`: the window and rules of `fluxwatch score` (fluxwatch::scoring; the rules are
  /// described in docs/queries.md). The YAML keys are scoring.<threshold> and scoring.holz.*.
  struct Scoring {
    std::int64_t window_hours = 0;   ///< `scoring.window_hours`: 0 = all history
    scoring::Thresholds thresholds;  ///< `scoring.min_lookups`, `scoring.flux_min_asns`, ...
    scoring::HolzModel holz;         ///< `scoring.holz.w_a`, `w_asn`, `w_ns`, `bias`
  } scoring;

  /// `campaigns`: empty = one campaign "default" over the whole watchlist.
  std::vector<Campaign> campaigns;

  struct Scheduler {
    std::chrono::milliseconds lease{60000};           ///< `scheduler.lease_seconds`
    std::size_t lease_batch = 1000;                   ///< `scheduler.lease_batch`
    std::chrono::milliseconds flush_interval{1000};   ///< `scheduler.flush_ms`
    std::size_t buffer_limit = 100000;                ///< `scheduler.buffer_limit`
    std::chrono::milliseconds shutdown_grace{15000};  ///< `scheduler.shutdown_grace_ms`
  } scheduler;

  struct Log {
    std::string level = "info";   ///< `log.level`: trace, debug, info, warn, error, off
    std::string format = "text";  ///< `log.format`: text, or json (one object per line)
  } log;

  struct Metrics {
    std::string listen;  ///< `metrics.listen`: "ip:port" of run's /metrics; empty = off
  } metrics;

  /// Checks cross-field rules; throws ConfigError naming the key.
  void validate() const;
};

/// The defaults, with state_dir resolved for this user ($FLUXWATCH_STATE_DIR, else
/// /var/lib/fluxwatch as root, else ${XDG_STATE_HOME:-~/.local/state}/fluxwatch).
[[nodiscard]] Config default_config();

/// Parses YAML text over the defaults. `source` names the text in messages (a path).
/// @throw ConfigError "FILE:LINE: KEY.PATH: what is wrong (what is expected)".
[[nodiscard]] Config parse_config(std::string_view yaml_text, std::string_view source);

/// Reads and parses a file. @throw ConfigError if it cannot be read or is invalid.
[[nodiscard]] Config load_config_file(const std::filesystem::path& path);

/// The config file to use when none is given: $FLUXWATCH_CONFIG, else
/// ${XDG_CONFIG_HOME:-~/.config}/fluxwatch/config.yaml if it exists; empty if neither.
[[nodiscard]] std::filesystem::path default_config_path();

/// `dsn` with its password replaced by "(redacted)" (key=value and URI forms), for display.
[[nodiscard]] std::string redact_dsn(const std::string& dsn);

/// The effective configuration as YAML (what `fluxwatch config show` prints): secrets
/// redacted, numbers in their shortest form (0.3, not 0.29999999999999999).
[[nodiscard]] std::string to_yaml(const Config& config);

/// The settings that shape a measurement as JSON, recorded with every probe run; a secret
/// appears only as whether it is set (`database.dsn_configured`).
[[nodiscard]] std::string to_json(const Config& config);

/// One campaign's settings as JSON (its keys as in the YAML), recorded with its runs.
[[nodiscard]] std::string to_json(const Campaign& campaign);

/// The settings under `section` (e.g. "scoring") as JSON, keys relative to it, secrets as
/// whether they are set: what a score run records.
[[nodiscard]] std::string section_json(const Config& config, std::string_view section);

/// One key of the config file, for documentation (README's table, `config --reference`).
struct SettingDoc {
  std::string key;            ///< "probe.timeout_ms"; list items as "feeds[].url"
  std::string default_value;  ///< as written in YAML ("2000", "[A, AAAA, NS]", "empty")
  std::string range;          ///< "10 to 60000", "true or false", "" when any text
  std::string help;
};
/// Every key, in the order of the settings table.
[[nodiscard]] std::vector<SettingDoc> setting_docs();
/// setting_docs() as the Markdown table in README.md ("Configuration").
[[nodiscard]] std::string settings_markdown();

/// The bounds of a whole-number setting (for command-line flags that override it, so the
/// range is written once). @throw std::out_of_range for an unknown or non-integer key.
struct IntegerRange {
  long long low = 0;
  long long high = 0;
};
[[nodiscard]] IntegerRange integer_range(std::string_view key);

}  // namespace fluxwatch::config
