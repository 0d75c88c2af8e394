#include "fluxwatch/fetch/maintenance.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "fluxwatch/common/error.h"
#include "fluxwatch/storage/http_probe_store.h"

namespace fluxwatch::fetch {

FetchOptions fetch_options(const config::Config& config, bool download) {
  FetchOptions options;
  options.user_agent = config.fetch.user_agent;
  options.timeout = config.fetch.timeout;
  options.connect_timeout = config.fetch.connect_timeout;
  options.retries = config.fetch.retries;
  options.retry_backoff = config.fetch.retry_backoff;
  options.max_bytes = download ? config.fetch.max_download_bytes : config.fetch.max_feed_bytes;
  options.verify_tls = config.fetch.verify_tls;
  options.ca_file = config.fetch.ca_file;
  return options;
}

HttpProbeOptions http_probe_options(const config::Config& config) {
  HttpProbeOptions options;
  options.user_agent = config.http_probe.user_agent;
  options.connect_timeout = config.http_probe.connect_timeout;
  options.timeout = config.http_probe.timeout;
  options.max_body_bytes = config.http_probe.max_body_bytes;
  options.concurrency = config.http_probe.concurrency;
  options.rate_per_second = config.http_probe.rate_per_second;
  options.per_address_interval = config.http_probe.per_address_interval;
  return options;
}

FeedSpec feed_spec(const config::Config::Feed& feed) {
  const auto format = parse_feed_format(feed.format);
  if (!format) {
    throw ConfigError(
        fmt::format("feeds: unknown format '{}' for {}", feed.format, redact_url(feed.url)));
  }
  FeedSpec spec;
  spec.url = feed.url;
  spec.format = *format;
  spec.column = feed.column;
  if (!feed.tag.empty()) {
    spec.tags.push_back(feed.tag);
  }
  spec.refresh_interval = feed.refresh_interval;
  return spec;
}

struct FetchMaintenance::Impl {
  Impl(const config::Config& cfg, const std::string& dsn)
      : config(cfg), refresher(dsn, fetch_options(cfg, false)), store(dsn) {
    for (const auto& feed : cfg.feeds) {
      feeds.push_back(feed_spec(feed));
    }
  }
  config::Config config;
  std::vector<FeedSpec> feeds;
  FeedRefresher refresher;
  storage::HttpProbeStore store;
  std::unique_ptr<HttpProber> prober;  // created on first use
};

FetchMaintenance::FetchMaintenance(const config::Config& config, const std::string& dsn)
    : impl_(std::make_unique<Impl>(config, dsn)) {}
FetchMaintenance::~FetchMaintenance() = default;

std::vector<FeedOutcome> FetchMaintenance::refresh_due_feeds(
    std::chrono::system_clock::time_point now) {
  return impl_->refresher.refresh_due(impl_->feeds, now);
}

HttpProbeSummary FetchMaintenance::probe_new_addresses(const HttpProbeRequest& request) {
  HttpProbeSummary summary;
  const auto& settings = impl_->config.http_probe;
  if (!settings.enabled) {
    return summary;
  }
  const auto fresh =
      impl_->store.unprobed_addresses(request.since, request.campaign, request.limit);
  if (fresh.empty()) {
    return summary;
  }
  if (!impl_->prober) {
    impl_->prober = std::make_unique<HttpProber>(http_probe_options(impl_->config));
  }
  std::vector<HttpProbeTarget> targets;
  for (const auto& item : fresh) {
    for (const char* scheme : {"http", "https"}) {
      if (std::string_view(scheme) == "https" && !settings.https) {
        continue;
      }
      HttpProbeTarget target;
      target.domain_id = item.domain_id;
      target.domain = item.domain;
      target.address = item.address;
      target.scheme = scheme;
      target.connect_port = request.connect_port;
      targets.push_back(std::move(target));
    }
  }
  const auto results = impl_->prober->run(targets);
  std::vector<storage::HttpProbeRow> rows;
  rows.reserve(results.size());
  for (const auto& result : results) {
    storage::HttpProbeRow row;
    row.domain_id = result.target.domain_id;
    row.domain = result.target.domain;
    row.address = result.target.address;
    row.url = result.url;
    row.started_at = result.started_at;
    row.connect_us = result.connect_us;
    row.ttfb_us = result.ttfb_us;
    row.total_us = result.total_us;
    row.status = result.status;
    row.server = result.server;
    row.content_type = result.content_type;
    row.location = result.location;
    row.body_length = static_cast<std::int64_t>(result.body_length);
    row.body_truncated = result.body_truncated;
    row.body_sha256 = result.body_sha256;
    row.error = result.error;
    row.campaign = request.campaign;
    rows.push_back(std::move(row));
    ++summary.targets;
    if (result.status) {
      ++summary.responses;
    } else {
      ++summary.failures;
    }
  }
  impl_->store.store_http_probes(rows);
  spdlog::info("http_probe: {} fetches, {} responses, {} without response", summary.targets,
               summary.responses, summary.failures);
  return summary;
}

}  // namespace fluxwatch::fetch
