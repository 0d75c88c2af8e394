#include "fluxwatch/fetch/http_prober.h"

#include <fmt/format.h>
#include <openssl/evp.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <deque>
#include <map>
#include <memory>

#include "curl_handles.h"
#include "fluxwatch/common/clock.h"
#include "fluxwatch/common/error.h"
#include "fluxwatch/common/ip_address.h"
#include "fluxwatch/common/text.h"

namespace fluxwatch::fetch {
namespace {

using WallClock = std::chrono::system_clock;  ///< the clock of HttpProbeResult::started_at
constexpr std::size_t kMaxHeaderValue = 256;

struct DigestDeleter {
  void operator()(EVP_MD_CTX* context) const noexcept { EVP_MD_CTX_free(context); }
};
using Digest = std::unique_ptr<EVP_MD_CTX, DigestDeleter>;

Digest new_sha256() {
  Digest digest(EVP_MD_CTX_new());
  if (!digest || EVP_DigestInit_ex(digest.get(), EVP_sha256(), nullptr) != 1) {
    throw Error("OpenSSL: cannot initialise SHA-256");
  }
  return digest;
}

std::string finish_hex(EVP_MD_CTX* digest) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> out{};
  unsigned int length = 0;
  if (EVP_DigestFinal_ex(digest, out.data(), &length) != 1) {
    throw Error("OpenSSL: SHA-256 failed");
  }
  std::string hex;
  hex.reserve(length * 2);
  for (unsigned int i = 0; i < length; ++i) {
    hex += fmt::format("{:02x}", out[i]);
  }
  return hex;
}

/// The header's value if `line` is "Name: value" (case-insensitive name).
std::optional<std::string> header_value(std::string_view line, std::string_view name) {
  if (line.size() <= name.size() || line[name.size()] != ':') {
    return std::nullopt;
  }
  for (std::size_t i = 0; i < name.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(line[i])) != name[i]) {
      return std::nullopt;
    }
  }
  std::string value(trim(line.substr(name.size() + 1)).substr(0, kMaxHeaderValue));
  // Stored as text: keep printable ASCII only (the peer is untrusted).
  std::replace_if(
      value.begin(), value.end(),
      [](char c) {
        return static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f;
      },
      '?');
  return value;
}

/// One transfer in flight: its easy handle, CONNECT_TO list and what the callbacks collect.
struct Transfer {
  std::size_t index = 0;  ///< into the targets / results
  detail::EasyHandle easy;
  detail::Slist connect_to;
  Digest digest;
  HttpProbeResult* result = nullptr;
  std::size_t max_body = 0;
  std::array<char, CURL_ERROR_SIZE> error{};
  CURLM* multi = nullptr;  ///< set while added to the multi handle

  Transfer() = default;
  Transfer(const Transfer&) = delete;
  Transfer& operator=(const Transfer&) = delete;
  Transfer(Transfer&&) = delete;
  Transfer& operator=(Transfer&&) = delete;
  ~Transfer() {
    if (multi != nullptr) {
      curl_multi_remove_handle(multi, easy.get());
    }
  }
};

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  const std::size_t length = size * count;
  auto& result = *transfer->result;
  const std::size_t room =
      transfer->max_body - std::min<std::size_t>(transfer->max_body, result.body_length);
  const std::size_t kept = std::min(room, length);
  if (kept > 0) {
    EVP_DigestUpdate(transfer->digest.get(), data, kept);
    result.body_length += kept;
  }
  if (kept < length) {
    result.body_truncated = true;
    return 0;  // enough: abort (reported as CURLE_WRITE_ERROR, which is expected here)
  }
  return length;
}

std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  auto& result = *transfer->result;
  const std::string_view line(data, size * count);
  if (auto value = header_value(line, "server")) {
    result.server = std::move(*value);
  } else if (auto type = header_value(line, "content-type")) {
    result.content_type = std::move(*type);
  } else if (auto location = header_value(line, "location")) {
    result.location = std::move(*location);
  }
  return size * count;
}

std::optional<std::int64_t> micros(CURL* easy, CURLINFO info) {
  curl_off_t value = 0;
  if (curl_easy_getinfo(easy, info, &value) != CURLE_OK || value <= 0) {
    return std::nullopt;
  }
  return static_cast<std::int64_t>(value);
}

}  // namespace

struct HttpProber::Impl {
  explicit Impl(HttpProbeOptions opts) : options(std::move(opts)), multi(detail::make_multi()) {
    curl_multi_setopt(multi.get(), CURLMOPT_MAXCONNECTS,
                      static_cast<long>(std::max<std::size_t>(options.concurrency, 1)));
  }

  std::unique_ptr<Transfer> start(std::size_t index, const HttpProbeTarget& target,
                                  HttpProbeResult& result, WallClock::time_point started_at) {
    auto transfer = std::make_unique<Transfer>();
    transfer->index = index;
    transfer->result = &result;
    transfer->max_body = options.max_body_bytes;
    transfer->easy = detail::make_easy();
    transfer->digest = new_sha256();
    const std::uint16_t default_port = target.scheme == "https" ? 443 : 80;
    const std::uint16_t port = target.port != 0 ? target.port : default_port;
    const std::uint16_t connect_port = target.connect_port != 0 ? target.connect_port : port;
    result.url = port == default_port
                     ? fmt::format("{}://{}/", target.scheme, target.domain)
                     : fmt::format("{}://{}:{}/", target.scheme, target.domain, port);
    // run() only starts targets whose address parses.
    const auto ip = IpAddress::parse(target.address);
    const auto address = ip && ip->is_v6() ? "[" + ip->to_string() + "]" : target.address;
    // HOST:PORT:CONNECT-TO-HOST:CONNECT-TO-PORT: the Host header and SNI stay the domain's.
    transfer->connect_to.append(
        fmt::format("{}:{}:{}:{}", target.domain, port, address, connect_port));

    CURL* h = transfer->easy.get();
    detail::set(h, CURLOPT_URL, result.url.c_str(), "CURLOPT_URL");
    detail::set(h, CURLOPT_CONNECT_TO, transfer->connect_to.get(), "CURLOPT_CONNECT_TO");
    detail::set(h, CURLOPT_PROTOCOLS_STR, "http,https", "CURLOPT_PROTOCOLS_STR");
    detail::set(h, CURLOPT_PROXY, "", "CURLOPT_PROXY");  // never via a proxy: pin the address
    detail::set(h, CURLOPT_FOLLOWLOCATION, 0L, "CURLOPT_FOLLOWLOCATION");
    detail::set(h, CURLOPT_NOSIGNAL, 1L, "CURLOPT_NOSIGNAL");
    detail::set(h, CURLOPT_FORBID_REUSE, 1L, "CURLOPT_FORBID_REUSE");    // one connection each
    detail::set(h, CURLOPT_FRESH_CONNECT, 1L, "CURLOPT_FRESH_CONNECT");  // so connect time counts
    detail::set(h, CURLOPT_USERAGENT, options.user_agent.c_str(), "CURLOPT_USERAGENT");
    detail::set(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options.connect_timeout.count()),
                "CURLOPT_CONNECTTIMEOUT_MS");
    detail::set(h, CURLOPT_TIMEOUT_MS, static_cast<long>(options.timeout.count()),
                "CURLOPT_TIMEOUT_MS");
    detail::set(h, CURLOPT_ACCEPT_ENCODING, "", "CURLOPT_ACCEPT_ENCODING");
    detail::set(h, CURLOPT_SSL_VERIFYPEER, 0L, "CURLOPT_SSL_VERIFYPEER");
    detail::set(h, CURLOPT_SSL_VERIFYHOST, 0L, "CURLOPT_SSL_VERIFYHOST");
    detail::set(h, CURLOPT_ERRORBUFFER, transfer->error.data(), "CURLOPT_ERRORBUFFER");
    detail::set(h, CURLOPT_WRITEFUNCTION, &on_body, "CURLOPT_WRITEFUNCTION");
    detail::set(h, CURLOPT_WRITEDATA, static_cast<void*>(transfer.get()), "CURLOPT_WRITEDATA");
    detail::set(h, CURLOPT_HEADERFUNCTION, &on_header, "CURLOPT_HEADERFUNCTION");
    detail::set(h, CURLOPT_HEADERDATA, static_cast<void*>(transfer.get()), "CURLOPT_HEADERDATA");
    detail::set(h, CURLOPT_PRIVATE, static_cast<void*>(transfer.get()), "CURLOPT_PRIVATE");
    result.started_at = started_at;
    if (const CURLMcode code = curl_multi_add_handle(multi.get(), h); code != CURLM_OK) {
      throw Error(fmt::format("libcurl: curl_multi_add_handle: {}", curl_multi_strerror(code)));
    }
    transfer->multi = multi.get();
    return transfer;
  }

  static void finish(Transfer& transfer, CURLcode code) {
    auto& result = *transfer.result;
    CURL* h = transfer.easy.get();
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    if (status > 0) {
      result.status = static_cast<int>(status);
    }
    result.connect_us = micros(h, CURLINFO_CONNECT_TIME_T);
    result.ttfb_us = micros(h, CURLINFO_STARTTRANSFER_TIME_T);
    result.total_us = micros(h, CURLINFO_TOTAL_TIME_T);
    const bool cut_by_us = code == CURLE_WRITE_ERROR && result.body_truncated;
    if (code != CURLE_OK && !cut_by_us) {
      result.error = transfer.error[0] != '\0'
                         ? fmt::format("{}: {}", curl_easy_strerror(code), transfer.error.data())
                         : std::string(curl_easy_strerror(code));
    }
    if (result.status) {
      result.body_sha256 = finish_hex(transfer.digest.get());
    }
  }

  std::vector<HttpProbeResult> run(const std::vector<HttpProbeTarget>& targets) {
    std::vector<HttpProbeResult> results(targets.size());
    std::deque<std::size_t> pending;
    for (std::size_t i = 0; i < targets.size(); ++i) {
      results[i].target = targets[i];
      if (!IpAddress::parse(targets[i].address) || targets[i].domain.empty() ||
          (targets[i].scheme != "http" && targets[i].scheme != "https")) {
        results[i].started_at = std::chrono::system_clock::now();
        results[i].error = fmt::format("not probed: unusable target {} @ {} ({})",
                                       targets[i].domain, targets[i].address, targets[i].scheme);
        continue;
      }
      pending.push_back(i);
    }
    std::map<std::size_t, std::unique_ptr<Transfer>> running;  // by index
    // The per-address spacing is a promise about the stored start times, so it is decided
    // from them: the same clock and the same moment as `started_at`, never a second reading.
    std::map<std::string, WallClock::time_point> address_last_start;
    std::map<std::string, bool> address_busy;
    const auto spacing = std::chrono::duration_cast<SteadyClock::duration>(
        std::chrono::duration<double>(1.0 / std::max(options.rate_per_second, 1e-3)));
    SteadyClock::time_point next_start = SteadyClock::now();

    while (!pending.empty() || !running.empty()) {
      // Start what the limits allow: concurrency, overall rate, one at a time per address.
      const auto now = SteadyClock::now();
      const auto wall_now = WallClock::now();
      SteadyClock::time_point wake = now + std::chrono::milliseconds(200);
      for (auto it = pending.begin();
           it != pending.end() && running.size() < options.concurrency;) {
        if (now < next_start) {
          wake = std::min(wake, next_start);
          break;
        }
        const auto& address = targets[*it].address;
        if (address_busy[address]) {
          ++it;
          continue;
        }
        if (const auto last = address_last_start.find(address); last != address_last_start.end()) {
          const auto free_at = last->second + options.per_address_interval;
          // A wall clock stepped back behind the last start cannot keep the promise anyway:
          // do not stall until it catches up.
          if (wall_now < free_at && wall_now >= last->second) {
            wake = std::min(
                wake, now + std::chrono::duration_cast<SteadyClock::duration>(free_at - wall_now));
            ++it;
            continue;
          }
        }
        const std::size_t index = *it;
        it = pending.erase(it);
        running.emplace(index, start(index, targets[index], results[index], wall_now));
        address_busy[address] = true;
        address_last_start[address] = wall_now;
        next_start = now + spacing;
      }

      int still_running = 0;
      if (const CURLMcode code = curl_multi_perform(multi.get(), &still_running);
          code != CURLM_OK) {
        throw Error(fmt::format("libcurl: curl_multi_perform: {}", curl_multi_strerror(code)));
      }
      int queued = 0;
      while (CURLMsg* message = curl_multi_info_read(multi.get(), &queued)) {
        if (message->msg != CURLMSG_DONE) {
          continue;
        }
        void* user = nullptr;
        curl_easy_getinfo(message->easy_handle, CURLINFO_PRIVATE, &user);
        auto* transfer = static_cast<Transfer*>(user);
        finish(*transfer, message->data.result);
        address_busy[targets[transfer->index].address] = false;
        running.erase(transfer->index);  // removes it from the multi handle, then cleans up
      }
      if (running.empty() && pending.empty()) {
        break;
      }
      const auto wait = std::chrono::ceil<std::chrono::milliseconds>(wake - SteadyClock::now());
      const int wait_ms = static_cast<int>(std::clamp<std::int64_t>(wait.count(), 0, 200));
      if (const CURLMcode code = curl_multi_poll(multi.get(), nullptr, 0, wait_ms, nullptr);
          code != CURLM_OK) {
        throw Error(fmt::format("libcurl: curl_multi_poll: {}", curl_multi_strerror(code)));
      }
    }
    return results;
  }

  HttpProbeOptions options;
  detail::MultiHandle multi;
};

HttpProber::HttpProber(HttpProbeOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}
HttpProber::~HttpProber() = default;
HttpProber::HttpProber(HttpProber&&) noexcept = default;
HttpProber& HttpProber::operator=(HttpProber&&) noexcept = default;

std::vector<HttpProbeResult> HttpProber::run(const std::vector<HttpProbeTarget>& targets) {
  return impl_->run(targets);
}

std::string sha256_hex(std::string_view data) {
  auto digest = new_sha256();
  EVP_DigestUpdate(digest.get(), data.data(), data.size());
  return finish_hex(digest.get());
}

}  // namespace fluxwatch::fetch
