#pragma once
/// Storage of HTTP probes (table http_probes, migration 0006_feeds_http): which (domain,
/// address) pairs the crawler saw and nobody probed yet, and the probes' results.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace fluxwatch::storage {

using TimePoint = std::chrono::system_clock::time_point;

/// A (domain, address) the crawler saw in an A/AAAA answer and nobody HTTP-probed yet.
struct NewAddress {
  std::int64_t domain_id = 0;
  std::string domain;
  std::string address;
  bool operator==(const NewAddress&) const = default;
};

/// One HTTP probe, as stored in http_probes.
struct HttpProbeRow {
  std::int64_t domain_id = 0;  ///< 0: not on the watchlist (NULL)
  std::string domain;
  std::string address;
  std::string url;
  TimePoint started_at{};
  std::optional<std::int64_t> connect_us;
  std::optional<std::int64_t> ttfb_us;
  std::optional<std::int64_t> total_us;
  std::optional<int> status;
  std::string server;
  std::string content_type;
  std::string location;
  std::int64_t body_length = 0;
  bool body_truncated = false;
  std::string body_sha256;  ///< empty: NULL
  std::string error;
  std::string campaign;
};

/**
 * HTTP probes in PostgreSQL (the schema must be migrated; see Database::migrate). SQL is
 * parameterised; rows go in with COPY.
 * @throw fluxwatch::Error on connection or SQL failures (storage::Session's retry policy).
 * Thread affinity: one thread at a time (one libpq connection).
 */
class HttpProbeStore {
 public:
  explicit HttpProbeStore(const std::string& dsn);
  ~HttpProbeStore();
  HttpProbeStore(const HttpProbeStore&) = delete;
  HttpProbeStore& operator=(const HttpProbeStore&) = delete;
  HttpProbeStore(HttpProbeStore&&) noexcept;
  HttpProbeStore& operator=(HttpProbeStore&&) noexcept;

  /// (domain, address) pairs from A/AAAA answers of probes sent at or after `since` (and of
  /// `campaign`, unless empty) that have no HTTP probe yet; at most `limit`, newest first.
  [[nodiscard]] std::vector<NewAddress> unprobed_addresses(std::optional<TimePoint> since,
                                                           const std::string& campaign,
                                                           std::size_t limit);
  /// Writes HTTP probe rows with COPY in one transaction.
  void store_http_probes(const std::vector<HttpProbeRow>& rows);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace fluxwatch::storage
