#pragma once
/// The entry points a long-running process (the `fluxwatch run` daemon) calls between probe
/// rounds: refresh the configured feeds that are due, and HTTP-probe addresses the DNS
/// probes found that were not HTTP-probed yet (only when http_probe.enabled).

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "fluxwatch/config/config.h"
#include "fluxwatch/fetch/feeds.h"
#include "fluxwatch/fetch/http_client.h"
#include "fluxwatch/fetch/http_prober.h"

namespace fluxwatch::fetch {

/// HttpClient settings from `fetch.*`; `download` selects max_download_bytes (GeoIP) over
/// max_feed_bytes.
[[nodiscard]] FetchOptions fetch_options(const config::Config& config, bool download);
/// HttpProber settings from `http_probe.*`.
[[nodiscard]] HttpProbeOptions http_probe_options(const config::Config& config);
/// A configured feed as a FeedSpec. @throw fluxwatch::ConfigError for an unknown format.
[[nodiscard]] FeedSpec feed_spec(const config::Config::Feed& feed);

/// Which addresses to HTTP-probe.
struct HttpProbeRequest {
  std::string campaign;  ///< only DNS probes of this campaign (stored with the results); "" = any
  std::optional<std::chrono::system_clock::time_point> since;  ///< only DNS probes since then
  std::size_t limit = 10000;       ///< at most this many (domain, address) pairs per call
  std::uint16_t connect_port = 0;  ///< tests only: connect to this port instead of 80/443
};

/// What one probe_new_addresses() call did.
struct HttpProbeSummary {
  std::size_t targets = 0;    ///< fetches made
  std::size_t responses = 0;  ///< with an HTTP status
  std::size_t failures = 0;   ///< without (refused, timeout, ...)
};

/**
 * Feeds and HTTP probes for one database (migrated). Construct once per daemon (after
 * CurlGlobal) and call from the daemon's thread between rounds; both calls block.
 * Thread affinity: one thread at a time.
 */
class FetchMaintenance {
 public:
  FetchMaintenance(const config::Config& config, const std::string& dsn);
  ~FetchMaintenance();
  FetchMaintenance(const FetchMaintenance&) = delete;
  FetchMaintenance& operator=(const FetchMaintenance&) = delete;

  /// Refreshes every `feeds:` entry whose refresh interval has passed.
  std::vector<FeedOutcome> refresh_due_feeds(std::chrono::system_clock::time_point now);
  /// HTTP-probes new (domain, address) pairs and stores the results; does nothing and
  /// returns zeros unless http_probe.enabled (nothing is fetched unless asked for).
  HttpProbeSummary probe_new_addresses(const HttpProbeRequest& request);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace fluxwatch::fetch
