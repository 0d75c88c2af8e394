// The public Crawler and the c-ares channels it resolves through: one UDP and one TCP
// channel per server. The rest of the engine is in the files crawler_impl.h lists.
#include "fluxwatch/crawler/crawler.h"

#include <ares.h>
#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <sys/epoll.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <limits>
#include <utility>

#include "crawler_impl.h"
#include "fluxwatch/common/error.h"

namespace fluxwatch::crawler {
namespace {

std::string server_text(const ares_addr_port_node& node) {
  std::array<char, INET6_ADDRSTRLEN> buffer{};
  const void* address = node.family == AF_INET6 ? static_cast<const void*>(&node.addr.addr6)
                                                : static_cast<const void*>(&node.addr.addr4);
  if (inet_ntop(node.family, address, buffer.data(), buffer.size()) == nullptr) {
    return {};
  }
  const auto port = static_cast<std::uint16_t>(node.udp_port != 0 ? node.udp_port : 53);
  return Endpoint{buffer.data(), port}.to_string();
}

void validate(const CrawlerOptions& options) {
  if (options.max_in_flight == 0) {
    throw ConfigError("crawler: max_in_flight must be at least 1");
  }
  if (options.timeout.count() <= 0 || options.timeout.count() > std::numeric_limits<int>::max()) {
    throw ConfigError(
        fmt::format("crawler: timeout must be positive, got {} ms", options.timeout.count()));
  }
  if (options.stall_after.count() < 0) {
    throw ConfigError("crawler: stall_after must not be negative");
  }
  if (options.tries < 1) {
    throw ConfigError(fmt::format("crawler: tries must be at least 1, got {}", options.tries));
  }
  if (options.edns && options.edns_udp_size < 512) {
    throw ConfigError(fmt::format("crawler: edns_udp_size must be at least 512 (RFC 6891), got {}",
                                  options.edns_udp_size));
  }
}

}  // namespace

Crawler::Impl::Impl(CrawlerOptions options)
    : options_(std::move(options)),
      max_in_flight_(std::min(options_.max_in_flight, kMaxInFlight)),
      slot_count_(options_.stall_after.count() > 0
                      ? std::min(max_in_flight_ + options_.max_stalled, kMaxInFlight)
                      : max_in_flight_),
      stall_window_(options_.stall_after),
      epoll_(epoll_create1(EPOLL_CLOEXEC)),
      events_(kEpollBatch),
      random_(std::random_device{}()) {
  validate(options_);
  if (!epoll_.valid()) {
    throw Error(fmt::format("crawler: epoll_create1 failed: {}", std::strerror(errno)));
  }
  open_channels();
}

Crawler::Impl::~Impl() {
  tcp_.clear();
  udp_.clear();
}

void Crawler::Impl::open_channels() {
  if (options_.servers.empty()) {
    // c-ares reads /etc/resolv.conf (and falls back to 127.0.0.1:53).
    const auto probe = make_channel({}, 0, false);
    ares_addr_port_node* raw = nullptr;
    const int status = ares_get_servers_ports(probe->handle.get(), &raw);
    const AresServerList list(raw);
    if (status != ARES_SUCCESS) {
      throw Error(
          fmt::format("crawler: cannot read the system's DNS servers: {}", ares_strerror(status)));
    }
    for (const ares_addr_port_node* node = list.get(); node != nullptr; node = node->next) {
      if (auto text = server_text(*node); !text.empty()) {
        servers_.push_back(std::move(text));
      }
    }
    if (servers_.empty()) {
      throw ConfigError("crawler: no DNS servers configured and none in /etc/resolv.conf");
    }
  } else {
    for (const Endpoint& endpoint : options_.servers) {
      servers_.push_back(endpoint.to_string());
    }
  }
  edns_refused_.assign(servers_.size(), false);
  for (std::size_t i = 0; i < servers_.size(); ++i) {
    udp_.push_back(make_channel(servers_[i], i, false));
    tcp_.push_back(make_channel(servers_[i], i, true));
  }
  spread_servers_ = servers_.size();
}

std::size_t Crawler::Impl::server_index(const Endpoint& server) {
  const std::string text = server.to_string();
  const auto found = std::find(servers_.begin(), servers_.end(), text);
  if (found != servers_.end()) {
    return static_cast<std::size_t>(found - servers_.begin());
  }
  // Channels live behind unique_ptr, so adding one while queries are in flight moves none.
  const std::size_t index = servers_.size();
  auto udp = make_channel(text, index, false);
  auto tcp = make_channel(text, index, true);
  udp_.push_back(std::move(udp));
  tcp_.push_back(std::move(tcp));
  servers_.push_back(text);
  return index;
}

std::unique_ptr<Crawler::Impl::Channel> Crawler::Impl::make_channel(const std::string& server,
                                                                    std::size_t index, bool tcp) {
  auto channel = std::make_unique<Channel>();
  channel->owner = this;
  channel->server = server;
  channel->index = index;
  channel->tcp = tcp;

  ares_options options{};
  int mask = ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_SOCK_STATE_CB;
  // NOCHECKRESP: SERVFAIL/REFUSED are answers to record, not reasons to retry elsewhere.
  // IGNTC: return truncated answers; this crawler re-asks them on its TCP channel itself.
  options.flags =
      ARES_FLAG_NOCHECKRESP | ARES_FLAG_IGNTC | ARES_FLAG_NOSEARCH | ARES_FLAG_NOALIASES;
  if (tcp) {
    options.flags |= ARES_FLAG_USEVC;
  }
  if (!options_.recursion_desired) {
    options.flags |= ARES_FLAG_NORECURSE;  // only informative: RD is set in each packet
  }
  if (options_.edns && !tcp) {
    options.flags |= ARES_FLAG_EDNS;
    mask |= ARES_OPT_EDNSPSZ;
    options.ednspsz = kChannelEdnsPayload;
  }
  options.timeout = static_cast<int>(options_.timeout.count());
  options.tries = options_.tries;
  options.sock_state_cb = &Impl::socket_state_callback;
  options.sock_state_cb_data = channel.get();
#if defined(ARES_OPT_QUERY_CACHE)
  // c-ares 1.23+ caches answers by TTL (on by default): a re-probe within the TTL would be
  // answered from memory and never reach the wire. A crawler measures; it must not cache.
  mask |= ARES_OPT_QUERY_CACHE;
  options.qcache_max_ttl = 0;
#endif
  if (options_.socket_buffer_bytes > 0) {
    mask |= ARES_OPT_SOCK_RCVBUF | ARES_OPT_SOCK_SNDBUF;
    options.socket_receive_buffer_size = options_.socket_buffer_bytes;
    options.socket_send_buffer_size = options_.socket_buffer_bytes;
  }

  ares_channel raw = nullptr;
  const int status = ares_init_options(&raw, &options, mask);
  if (status != ARES_SUCCESS) {
    if (raw != nullptr) {
      ares_destroy(raw);
    }
    throw Error(fmt::format("crawler: cannot create a c-ares channel: {}", ares_strerror(status)));
  }
  channel->handle.reset(raw);
  ares_set_socket_configure_callback(raw, &Impl::socket_configure_callback, channel.get());
  // c-ares keeps the pointer: static storage. With these, c-ares sets no socket options
  // itself (socket_open does).
  static const ares_socket_functions functions{&Impl::socket_open, &Impl::socket_close,
                                               &Impl::socket_connect, &Impl::socket_receive,
                                               &Impl::socket_send};
  ares_set_socket_functions(raw, &functions, channel.get());
  if (!server.empty()) {
    const int set = ares_set_servers_ports_csv(raw, server.c_str());
    if (set != ARES_SUCCESS) {
      throw ConfigError(
          fmt::format("crawler: bad DNS server '{}': {}", server, ares_strerror(set)));
    }
  }
  return channel;
}

Crawler::Crawler(CrawlerOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
Crawler::~Crawler() = default;
Crawler::Crawler(Crawler&&) noexcept = default;
Crawler& Crawler::operator=(Crawler&&) noexcept = default;

CrawlStats Crawler::run(std::span<const Query> queries, const ResultSink& sink) {
  if (!impl_) {
    throw Error("crawler: run() on a moved-from Crawler");
  }
  return impl_->run(queries, sink);
}

bool Crawler::submit(const Query& query) {
  if (!impl_) {
    throw Error("crawler: submit() on a moved-from Crawler");
  }
  return impl_->submit(query);
}

std::size_t Crawler::poll(std::chrono::milliseconds max_wait, const ResultSink& sink) {
  if (!impl_) {
    throw Error("crawler: poll() on a moved-from Crawler");
  }
  return impl_->poll(max_wait, sink);
}

std::size_t Crawler::in_flight() const noexcept { return impl_ ? impl_->in_flight() : 0; }

CrawlStats Crawler::stats() const noexcept { return impl_ ? impl_->stats_ : CrawlStats{}; }

std::size_t Crawler::capacity_left() const noexcept {
  if (!impl_) {
    return 0;
  }
  const Impl& impl = *impl_;
  if (impl.slots_.size() != impl.slot_count_) {  // nothing submitted yet
    return impl.max_in_flight_;
  }
  return std::min(impl.free_.size(),
                  impl.max_in_flight_ - std::min(impl.active_, impl.max_in_flight_));
}

std::size_t Crawler::server_index(const Endpoint& server) {
  if (!impl_) {
    throw Error("crawler: server_index() on a moved-from Crawler");
  }
  return impl_->server_index(server);
}

std::vector<std::string> Crawler::servers() const {
  return impl_ ? impl_->servers_ : std::vector<std::string>{};
}

std::size_t Crawler::resolver_count() const noexcept { return impl_ ? impl_->spread_servers_ : 0; }

AresLibrary::AresLibrary() {
  const int status = ares_library_init(ARES_LIB_INIT_ALL);
  if (status != ARES_SUCCESS) {
    throw Error(fmt::format("c-ares initialisation failed: {}", ares_strerror(status)));
  }
}

AresLibrary::~AresLibrary() { ares_library_cleanup(); }

}  // namespace fluxwatch::crawler
