#pragma once
/// HTTP probing of flux agents: `http://DOMAIN/` fetched from each address the domain
/// resolved to, with the connection pinned to that address (CURLOPT_CONNECT_TO), many at
/// once through libcurl's multi interface, with strict time and size limits and rate limits.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fluxwatch::fetch {

/// Settings of a probe batch (config `http_probe`).
struct HttpProbeOptions {
  std::string user_agent = "Mozilla/5.0 (compatible; fluxwatch)";
  std::chrono::milliseconds connect_timeout{3000};
  std::chrono::milliseconds timeout{10000};  ///< whole transfer
  std::size_t max_body_bytes = 256U << 10;   ///< more is cut off (and flagged), not an error
  std::size_t concurrency = 200;             ///< transfers in flight
  double rate_per_second = 50;               ///< transfers started per second, overall
  std::chrono::milliseconds per_address_interval{1000};  ///< between starts to one address
};

/// One fetch to make: `scheme://domain:port/` with the TCP connection made to `address`.
struct HttpProbeTarget {
  std::int64_t domain_id = 0;      ///< watchlist id (0: not on the watchlist)
  std::string domain;              ///< normalised name: the Host header (and TLS SNI)
  std::string address;             ///< IPv4 or IPv6 text form: where to connect
  std::string scheme = "http";     ///< http or https
  std::uint16_t port = 0;          ///< URL port; 0 = the scheme's default (80 / 443)
  std::uint16_t connect_port = 0;  ///< port to connect to at `address`; 0 = `port` (tests)
  bool operator==(const HttpProbeTarget&) const = default;
};

/// What one fetch measured. A failure (refused, timeout) is a measurement, not an error.
struct HttpProbeResult {
  HttpProbeTarget target;
  std::string url;
  std::chrono::system_clock::time_point started_at{};
  std::optional<std::int64_t> connect_us;  ///< TCP (+TLS) connection up; nullopt: never
  std::optional<std::int64_t> ttfb_us;     ///< first response byte
  std::optional<std::int64_t> total_us;    ///< whole transfer
  std::optional<int> status;               ///< HTTP status; nullopt: no response
  std::string server;                      ///< response headers (last response), cut to 256 B
  std::string content_type;
  std::string location;
  std::uint64_t body_length = 0;  ///< decoded body bytes kept (<= max_body_bytes)
  bool body_truncated = false;    ///< the body was longer than max_body_bytes
  std::string body_sha256;        ///< lower-case hex of the kept bytes; empty: no response
  std::string error;              ///< libcurl's error, empty on success
};

/**
 * Runs batches of HTTP probes on one multi handle. TLS certificates are not verified
 * (flux agents rarely have valid ones, and only timing and a hash are kept); proxies from
 * the environment are ignored, so every connection goes to the pinned address. Redirects
 * are recorded (Location), not followed. Needs a CurlGlobal alive. Thread affinity: one
 * thread at a time.
 */
class HttpProber {
 public:
  explicit HttpProber(HttpProbeOptions options);
  ~HttpProber();
  HttpProber(const HttpProber&) = delete;
  HttpProber& operator=(const HttpProber&) = delete;
  HttpProber(HttpProber&&) noexcept;
  HttpProber& operator=(HttpProber&&) noexcept;

  /// Probes every target (targets with an unusable address get an error result) and
  /// returns one result per target, in the order given. Blocks until all are done.
  [[nodiscard]] std::vector<HttpProbeResult> run(const std::vector<HttpProbeTarget>& targets);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// SHA-256 of `data` as lower-case hex (OpenSSL EVP).
[[nodiscard]] std::string sha256_hex(std::string_view data);

}  // namespace fluxwatch::fetch
