#include "fluxwatch/fetch/http_client.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <functional>
#include <regex>
#include <string_view>
#include <thread>

#include "curl_handles.h"
#include "fluxwatch/common/error.h"
#include "fluxwatch/common/text.h"

namespace fluxwatch::fetch {
namespace {

constexpr std::size_t kMaxHeaderValue = 1024;
constexpr std::chrono::milliseconds kMaxBackoff{60000};

bool iequals_prefix(std::string_view line, std::string_view name) {
  if (line.size() <= name.size() || line[name.size()] != ':') {
    return false;
  }
  return std::equal(name.begin(), name.end(), line.begin(), [](char a, char b) {
    return std::tolower(static_cast<unsigned char>(a)) ==
           std::tolower(static_cast<unsigned char>(b));
  });
}

/// State of one attempt, reached from libcurl's callbacks.
struct Attempt {
  std::function<bool(std::string_view)> sink;  ///< false = stop (write error)
  std::size_t max_bytes = 0;
  std::size_t bytes = 0;
  bool too_large = false;
  bool sink_failed = false;
  Validators validators;
};

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto* attempt = static_cast<Attempt*>(user);
  const std::size_t length = size * count;
  if (attempt->bytes + length > attempt->max_bytes) {
    attempt->too_large = true;
    return 0;  // CURLE_WRITE_ERROR: abort the transfer
  }
  attempt->bytes += length;
  if (!attempt->sink(std::string_view(data, length))) {
    attempt->sink_failed = true;
    return 0;
  }
  return length;
}

std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
  auto* attempt = static_cast<Attempt*>(user);
  const std::string_view line(data, size * count);
  if (line.starts_with("HTTP/")) {
    attempt->validators = {};  // a new response (after a redirect or 100): forget the last
  } else if (iequals_prefix(line, "etag")) {
    attempt->validators.etag = std::string(trim(line.substr(5)).substr(0, kMaxHeaderValue));
  } else if (iequals_prefix(line, "last-modified")) {
    attempt->validators.last_modified =
        std::string(trim(line.substr(14)).substr(0, kMaxHeaderValue));
  }
  return size * count;
}

/// curl's message without its " after 0 ms" timing: a refused connection is not slow, and
/// the time says nothing the user can act on.
std::string without_elapsed(std::string_view message) {
  static const std::regex elapsed(R"( after [0-9]+ ms)");
  return std::regex_replace(std::string(message), elapsed, "");
}

bool retryable_curl_error(CURLcode code) {
  switch (code) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_PARTIAL_FILE:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_BAD_CONTENT_ENCODING:  // e.g. a gzip stream cut short
      return true;
    default:
      return false;
  }
}

bool retryable_status(long status) {
  return status == 408 || status == 429 || (status >= 500 && status <= 599);
}

}  // namespace

struct HttpClient::Impl {
  explicit Impl(FetchOptions opts) : options(std::move(opts)), easy(detail::make_easy()) {}

  FetchResult run(const std::string& url, const Validators& validators, const BasicAuth* auth,
                  const std::function<void()>& reset_sink,
                  const std::function<bool(std::string_view)>& sink) {
    FetchResult result;
    const bool is_file = url.starts_with("file:");
    std::chrono::milliseconds backoff = options.retry_backoff;
    for (int attempt_number = 0; attempt_number <= options.retries; ++attempt_number) {
      if (attempt_number > 0) {
        spdlog::debug("fetch: retrying url={} in {} ms after: {}", redact_url(url), backoff.count(),
                      result.error);
        std::this_thread::sleep_for(backoff);
        backoff = std::min(backoff * 2, kMaxBackoff);
      }
      reset_sink();
      result = FetchResult{};
      result.attempts = attempt_number + 1;
      Attempt attempt;
      attempt.sink = sink;
      attempt.max_bytes = options.max_bytes;
      const CURLcode code = perform(url, validators, auth, is_file, attempt, result);
      result.bytes = attempt.bytes;
      result.validators = attempt.validators;
      if (code != CURLE_OK) {
        if (attempt.too_large || code == CURLE_FILESIZE_EXCEEDED) {
          result.error =
              fmt::format("the body is larger than the limit of {} bytes", options.max_bytes);
          return result;  // not transient
        }
        if (attempt.sink_failed) {
          result.error = "cannot write the downloaded data (disk full?)";
          return result;
        }
        result.error =
            fmt::format("{} ({})", curl_easy_strerror(code), without_elapsed(error_buffer.data()));
        if (!retryable_curl_error(code)) {
          return result;
        }
        continue;
      }
      if (is_file || (result.http_status >= 200 && result.http_status <= 299)) {
        result.status = FetchResult::Status::Ok;
        return result;
      }
      if (result.http_status == 304) {
        result.status = FetchResult::Status::NotModified;
        return result;
      }
      result.error = fmt::format("HTTP status {}", result.http_status);
      if (!retryable_status(result.http_status)) {
        return result;
      }
    }
    return result;
  }

  CURLcode perform(const std::string& url, const Validators& validators, const BasicAuth* auth,
                   bool is_file, Attempt& attempt, FetchResult& result) {
    CURL* h = easy.get();
    curl_easy_reset(h);
    error_buffer.fill('\0');
    detail::set(h, CURLOPT_ERRORBUFFER, error_buffer.data(), "CURLOPT_ERRORBUFFER");
    detail::set(h, CURLOPT_URL, url.c_str(), "CURLOPT_URL");
    detail::set(h, CURLOPT_PROTOCOLS_STR, "http,https,file", "CURLOPT_PROTOCOLS_STR");
    // A feed must never redirect us into the local file system.
    detail::set(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https", "CURLOPT_REDIR_PROTOCOLS_STR");
    detail::set(h, CURLOPT_FOLLOWLOCATION, 1L, "CURLOPT_FOLLOWLOCATION");
    detail::set(h, CURLOPT_MAXREDIRS, options.max_redirects, "CURLOPT_MAXREDIRS");
    detail::set(h, CURLOPT_NOSIGNAL, 1L, "CURLOPT_NOSIGNAL");
    detail::set(h, CURLOPT_USERAGENT, options.user_agent.c_str(), "CURLOPT_USERAGENT");
    detail::set(h, CURLOPT_TIMEOUT_MS, static_cast<long>(options.timeout.count()),
                "CURLOPT_TIMEOUT_MS");
    detail::set(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options.connect_timeout.count()),
                "CURLOPT_CONNECTTIMEOUT_MS");
    detail::set(h, CURLOPT_ACCEPT_ENCODING, "", "CURLOPT_ACCEPT_ENCODING");  // all decoders
    detail::set(h, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(options.max_bytes),
                "CURLOPT_MAXFILESIZE_LARGE");
    detail::set(h, CURLOPT_SSL_VERIFYPEER, options.verify_tls ? 1L : 0L, "CURLOPT_SSL_VERIFYPEER");
    detail::set(h, CURLOPT_SSL_VERIFYHOST, options.verify_tls ? 2L : 0L, "CURLOPT_SSL_VERIFYHOST");
    if (!options.ca_file.empty()) {
      detail::set(h, CURLOPT_CAINFO, options.ca_file.c_str(), "CURLOPT_CAINFO");
    }
    detail::set(h, CURLOPT_WRITEFUNCTION, &on_body, "CURLOPT_WRITEFUNCTION");
    detail::set(h, CURLOPT_WRITEDATA, static_cast<void*>(&attempt), "CURLOPT_WRITEDATA");
    detail::set(h, CURLOPT_HEADERFUNCTION, &on_header, "CURLOPT_HEADERFUNCTION");
    detail::set(h, CURLOPT_HEADERDATA, static_cast<void*>(&attempt), "CURLOPT_HEADERDATA");
    detail::Slist headers;
    if (!is_file) {
      // Header values come from an earlier response: drop anything that could split lines.
      const auto safe = [](const std::string& value) {
        return value.find_first_of("\r\n") == std::string::npos;
      };
      if (!validators.etag.empty() && safe(validators.etag)) {
        headers.append("If-None-Match: " + validators.etag);
      }
      if (!validators.last_modified.empty() && safe(validators.last_modified)) {
        headers.append("If-Modified-Since: " + validators.last_modified);
      }
      detail::set(h, CURLOPT_HTTPHEADER, headers.get(), "CURLOPT_HTTPHEADER");
    }
    if (auth != nullptr) {
      detail::set(h, CURLOPT_HTTPAUTH, static_cast<long>(CURLAUTH_BASIC), "CURLOPT_HTTPAUTH");
      detail::set(h, CURLOPT_USERNAME, auth->user.c_str(), "CURLOPT_USERNAME");
      detail::set(h, CURLOPT_PASSWORD, auth->password.c_str(), "CURLOPT_PASSWORD");
    }
    const CURLcode code = curl_easy_perform(h);
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    result.http_status = status;
    char* effective = nullptr;
    if (curl_easy_getinfo(h, CURLINFO_EFFECTIVE_URL, &effective) == CURLE_OK &&
        effective != nullptr) {
      result.effective_url = effective;
    }
    return code;
  }

  FetchOptions options;
  detail::EasyHandle easy;
  std::array<char, CURL_ERROR_SIZE> error_buffer{};
};

HttpClient::HttpClient(FetchOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
HttpClient::~HttpClient() = default;
HttpClient::HttpClient(HttpClient&&) noexcept = default;
HttpClient& HttpClient::operator=(HttpClient&&) noexcept = default;

const FetchOptions& HttpClient::options() const noexcept { return impl_->options; }

FetchResult HttpClient::get(const std::string& url, const Validators& validators,
                            const BasicAuth* auth) {
  std::string body;
  auto result = impl_->run(
      url, validators, auth, [&] { body.clear(); },
      [&](std::string_view data) {
        body.append(data);
        return true;
      });
  if (result.ok()) {
    result.body = std::move(body);
  }
  return result;
}

FetchResult HttpClient::download(const std::string& url, const std::filesystem::path& to,
                                 const Validators& validators, const BasicAuth* auth) {
  std::ofstream out;
  auto result = impl_->run(
      url, validators, auth,
      [&] {
        out.close();
        out.clear();
        out.open(to, std::ios::binary | std::ios::trunc);
        if (!out) {
          throw Error(
              fmt::format("cannot write {}: check the directory's permissions", to.string()));
        }
      },
      [&](std::string_view data) {
        out.write(data.data(), static_cast<std::streamsize>(data.size()));
        return static_cast<bool>(out);
      });
  out.close();
  if (result.ok() && !out) {
    result.status = FetchResult::Status::Failed;
    result.error = fmt::format("cannot write {} (disk full?)", to.string());
  }
  return result;
}

}  // namespace fluxwatch::fetch
