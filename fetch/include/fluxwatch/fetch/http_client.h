#pragma once
/// A small HTTP(S)/file client on libcurl's easy interface for feeds and GeoIP downloads:
/// conditional requests (ETag / If-Modified-Since, RFC 9110 13.1), gzip/deflate decoding,
/// timeouts, retries with exponential backoff, a size limit on the decoded body and TLS
/// verification on by default.

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <memory>
#include <string>

#include "fluxwatch/common/redact.h"

namespace fluxwatch::fetch {

/// Settings of one HttpClient.
struct FetchOptions {
  std::string user_agent = "fluxwatch";
  std::chrono::milliseconds timeout{60000};          ///< whole transfer, per attempt
  std::chrono::milliseconds connect_timeout{10000};  ///< per attempt
  int retries = 3;                                   ///< further attempts after a transient failure
  std::chrono::milliseconds retry_backoff{1000};     ///< wait before the first retry, then doubled
  std::size_t max_bytes = 64U << 20;                 ///< decoded body limit
  bool verify_tls = true;                            ///< verify the peer certificate and host name
  std::string ca_file;     ///< extra CA bundle (PEM); empty = system store
  long max_redirects = 5;  ///< http(s) redirects only, never to file://
};

/// Validators of the version the caller already has (RFC 9110 8.8); empty = none.
struct Validators {
  std::string etag;           ///< sent as If-None-Match
  std::string last_modified;  ///< sent as If-Modified-Since
  bool operator==(const Validators&) const = default;
};

/// Optional HTTP basic authentication (MaxMind account id and licence key). libcurl sends it
/// only to the host of the URL, never to the host of a redirect.
struct BasicAuth {
  std::string user;
  std::string password;
};

/// What one fetch (all its attempts) ended with.
struct FetchResult {
  enum class Status {
    Ok,           ///< 2xx (or a file:// read): `body` / the file holds the content
    NotModified,  ///< 304: the caller's version is current
    Failed,       ///< anything else; `error` says why
  };
  Status status = Status::Failed;
  long http_status = 0;       ///< of the last response; 0 when none (or file://)
  std::string body;           ///< get() only
  std::size_t bytes = 0;      ///< decoded body bytes received
  Validators validators;      ///< ETag / Last-Modified of the response
  std::string effective_url;  ///< after redirects
  std::string error;          ///< why it failed (empty otherwise)
  int attempts = 0;           ///< tries made
  [[nodiscard]] bool ok() const noexcept { return status == Status::Ok; }
};

/**
 * HTTP client for http, https and file URLs (redirects may only go to http/https).
 * Transient failures (connection errors, timeouts, truncated bodies, 408/429/5xx) are
 * retried with exponential backoff; 4xx, a body over the size limit and TLS verification
 * failures are not. Failures are returned, not thrown: a feed that fails is data.
 * Needs a CurlGlobal alive. Thread affinity: one thread at a time (it reuses one easy
 * handle, and thus its connections, across calls).
 */
class HttpClient {
 public:
  explicit HttpClient(FetchOptions options);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;
  HttpClient(HttpClient&&) noexcept;
  HttpClient& operator=(HttpClient&&) noexcept;

  /// Fetches `url` into FetchResult::body.
  [[nodiscard]] FetchResult get(const std::string& url, const Validators& validators = {},
                                const BasicAuth* auth = nullptr);
  /// Fetches `url` into the file `to` (created or truncated; left partial on failure, for
  /// the caller to remove), for downloads too large to hold in memory.
  [[nodiscard]] FetchResult download(const std::string& url, const std::filesystem::path& to,
                                     const Validators& validators = {},
                                     const BasicAuth* auth = nullptr);

  [[nodiscard]] const FetchOptions& options() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Credentials cut out of a URL before it is logged or stored (common/redact.h).
using fluxwatch::redact_url;

}  // namespace fluxwatch::fetch
