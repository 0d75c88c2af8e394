#include "fluxwatch/crawler/crawler.h"

#include <ares.h>
#include <arpa/inet.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <exception>
#include <limits>
#include <random>
#include <utility>

#include "fluxwatch/common/error.h"
#include "fluxwatch/crawler/reply.h"
#include "handles.h"

namespace fluxwatch::crawler {
namespace {

using SteadyClock = std::chrono::steady_clock;
using detail::AresChannel;
using detail::AresQueryPacket;
using detail::AresServerList;
using detail::UniqueFd;

/// Query ids are 16 bits and must be unique per channel among queries in flight.
constexpr std::size_t kMaxInFlight = 32768;
/// What the channel (not the query) says about EDNS payload size. c-ares 1.18 cuts UDP
/// answers longer than this when ARES_FLAG_IGNTC is set, so it is set to the size of
/// c-ares's own receive buffer (MAXENDSSZ); the size we advertise is in each query.
constexpr int kChannelEdnsPayload = 4096;
/// Upper bound of one epoll_wait, a safety net: c-ares always has a timeout pending.
constexpr int kMaxWaitMs = 1000;
constexpr int kEpollBatch = 256;
constexpr int kClassIn = 1;  // RFC 1035 3.2.4

std::shared_ptr<spdlog::logger> logger() {
  auto named = spdlog::get("crawler");
  return named ? named : spdlog::default_logger();
}

/// A random, unused query id per query (RFC 5452 9.2: ids must not be guessable). c-ares
/// 1.18's ares_send sends the id found in the packet, so the caller picks it.
class QueryIds {
 public:
  std::uint16_t acquire(std::mt19937& random) noexcept {
    for (;;) {  // at most kMaxInFlight of 65536 are used: ~2 draws on average
      const auto id = static_cast<std::uint16_t>(random());
      std::uint64_t& word = used_[id >> 6U];
      const std::uint64_t bit = std::uint64_t{1} << (id & 63U);
      if ((word & bit) == 0) {
        word |= bit;
        return id;
      }
    }
  }
  void release(std::uint16_t id) noexcept { used_[id >> 6U] &= ~(std::uint64_t{1} << (id & 63U)); }

 private:
  std::array<std::uint64_t, 65536 / 64> used_{};
};

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

/// How long c-ares waits in all before ARES_ETIMEOUT: it doubles the timeout for every
/// retry to the same server (c-ares 1.18 ares__send_query), so 2 x 2000 ms is 6000 ms.
std::int64_t total_timeout_ms(const CrawlerOptions& options) {
  std::int64_t total = 0;
  for (int attempt = 0; attempt < options.tries && attempt < 31; ++attempt) {
    total += options.timeout.count() << attempt;
  }
  return total;
}

void validate(const CrawlerOptions& options) {
  if (options.max_in_flight == 0) {
    throw ConfigError("crawler: max_in_flight must be at least 1");
  }
  if (options.timeout.count() <= 0 || options.timeout.count() > std::numeric_limits<int>::max()) {
    throw ConfigError(
        fmt::format("crawler: timeout must be positive, got {} ms", options.timeout.count()));
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

/// All state of a Crawler; owned and used by one thread.
struct Crawler::Impl {
  /// One c-ares channel talking to one server over one transport. One channel per server
  /// (instead of ARES_OPT_ROTATE) makes the `resolver` of every result exact.
  struct Channel {
    Impl* owner = nullptr;
    std::string server;  // "ip:port"
    std::size_t index = 0;
    bool tcp = false;
    std::size_t in_flight = 0;
    QueryIds ids;
    AresChannel handle;
  };

  /// One query from start to result; lives in `slots_`, so its address is stable and is
  /// the c-ares callback argument.
  struct Pending {
    Channel* channel = nullptr;  // where it is in flight now
    std::uint16_t qid = 0;
    SteadyClock::time_point started;
    bool recursion_desired = true;  // RD bit of this query (also for its TCP retry)
    ProbeResult result;
  };

  explicit Impl(CrawlerOptions options);
  ~Impl();
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;
  Impl(Impl&&) = delete;
  Impl& operator=(Impl&&) = delete;

  CrawlStats run(std::span<const Query> queries, const ResultSink& sink);
  void prepare_slots(std::size_t slots);
  bool submit(const Query& query);
  std::size_t poll(std::chrono::milliseconds max_wait, const ResultSink& sink);
  [[nodiscard]] std::size_t in_flight() const noexcept { return slots_.size() - free_.size(); }

  void open_channels();
  std::size_t server_index(const Endpoint& server);
  std::unique_ptr<Channel> make_channel(const std::string& server, std::size_t index, bool tcp);
  void start(const Query& query);
  void send(Channel& channel, Pending& pending);
  void deliver(const ResultSink& sink);
  void wait_and_process(int cap_ms = kMaxWaitMs);
  void process_timeouts(SteadyClock::time_point now);
  void abort_run() noexcept;
  void on_reply(Pending& pending, int status, const unsigned char* answer, int length);
  void watch(Channel& channel, int fd, bool readable, bool writable) noexcept;
  void configure_socket(int fd) noexcept;

  static void reply_callback(void* arg, int status, int timeouts, unsigned char* answer,
                             int length) noexcept;
  static void socket_state_callback(void* data, ares_socket_t fd, int readable,
                                    int writable) noexcept;
  static int socket_configure_callback(ares_socket_t fd, int type, void* data) noexcept;

  CrawlerOptions options_;
  std::size_t max_in_flight_;
  UniqueFd epoll_;
  std::vector<Channel*> fd_owner_;  // by descriptor: the channel whose socket it is
  std::vector<epoll_event> events_;
  std::vector<Pending> slots_;
  std::vector<Pending*> free_;
  std::vector<Pending*> completed_;  // filled by c-ares callbacks
  std::vector<Pending*> truncated_;  // filled by c-ares callbacks: to re-ask over TCP
  std::vector<Pending*> batch_;      // being delivered or re-sent
  std::mt19937 random_;
  SteadyClock::time_point next_timeout_check_ = SteadyClock::time_point::max();
  std::string loop_error_;  // set by callbacks that cannot throw
  std::size_t next_server_ = 0;
  std::size_t spread_servers_ = 0;  // kAnyServer spreads over the first this many servers
  bool warned_buffers_ = false;
  CrawlStats stats_;
  std::vector<std::string> servers_;
  // Last, so they are destroyed first: ares_destroy calls back into the members above.
  std::vector<std::unique_ptr<Channel>> udp_;
  std::vector<std::unique_ptr<Channel>> tcp_;
};

Crawler::Impl::Impl(CrawlerOptions options)
    : options_(std::move(options)),
      max_in_flight_(std::min(options_.max_in_flight, kMaxInFlight)),
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
  if (options_.edns) {
    options.flags |= ARES_FLAG_EDNS;
    mask |= ARES_OPT_EDNSPSZ;
    options.ednspsz = kChannelEdnsPayload;
  }
  options.timeout = static_cast<int>(options_.timeout.count());
  options.tries = options_.tries;
  options.sock_state_cb = &Impl::socket_state_callback;
  options.sock_state_cb_data = channel.get();
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
  if (!server.empty()) {
    const int set = ares_set_servers_ports_csv(raw, server.c_str());
    if (set != ARES_SUCCESS) {
      throw ConfigError(
          fmt::format("crawler: bad DNS server '{}': {}", server, ares_strerror(set)));
    }
  }
  return channel;
}

CrawlStats Crawler::Impl::run(std::span<const Query> queries, const ResultSink& sink) {
  stats_ = CrawlStats{};
  stats_.queries = queries.size();
  if (queries.empty()) {
    return stats_;
  }
  if (in_flight() != 0) {
    throw Error("crawler: run() while submitted queries are in flight");
  }
  const std::size_t slots = std::min(max_in_flight_, queries.size());
  prepare_slots(slots);

  std::size_t next = 0;
  try {
    while (next < queries.size() || free_.size() < slots) {
      while (!free_.empty() && next < queries.size()) {
        start(queries[next++]);
      }
      deliver(sink);
      if (free_.size() == slots) {
        continue;
      }
      wait_and_process();
      if (!loop_error_.empty()) {
        throw Error(loop_error_);
      }
      deliver(sink);
    }
  } catch (...) {
    abort_run();
    throw;
  }
  return stats_;
}

void Crawler::Impl::prepare_slots(std::size_t slots) {
  if (slots_.size() != slots) {
    slots_ = std::vector<Pending>(slots);
  }
  free_.clear();
  free_.reserve(slots);
  for (Pending& pending : slots_) {
    free_.push_back(&pending);
  }
  // Callbacks push into these without allocating (they must not throw into C code).
  completed_.clear();
  completed_.reserve(slots);
  truncated_.clear();
  truncated_.reserve(slots);
  batch_.clear();
  batch_.reserve(slots);
  loop_error_.clear();
}

bool Crawler::Impl::submit(const Query& query) {
  if (slots_.size() != max_in_flight_) {  // first submit(), or after a run()
    prepare_slots(max_in_flight_);        // run() returns with nothing in flight
  }
  if (free_.empty()) {
    return false;
  }
  ++stats_.queries;
  start(query);
  return true;
}

std::size_t Crawler::Impl::poll(std::chrono::milliseconds max_wait, const ResultSink& sink) {
  std::size_t delivered = 0;
  const ResultSink counting = [&](ProbeResult&& result) {
    ++delivered;
    sink(std::move(result));
  };
  try {
    deliver(counting);
    if (delivered > 0) {
      return delivered;
    }
    const int cap = static_cast<int>(std::clamp<std::int64_t>(max_wait.count(), 0, kMaxWaitMs));
    if (slots_.empty() || in_flight() == 0) {
      if (cap > 0) {  // nothing to wait for but time: still honour the wait
        epoll_wait(epoll_.get(), events_.data(), static_cast<int>(events_.size()), cap);
      }
      return 0;
    }
    wait_and_process(cap);
    if (!loop_error_.empty()) {
      throw Error(loop_error_);
    }
    deliver(counting);
  } catch (...) {
    abort_run();
    throw;
  }
  return delivered;
}

void Crawler::Impl::start(const Query& query) {
  Pending& pending = *free_.back();
  free_.pop_back();
  std::size_t index = next_server_;
  if (query.server != Query::kAnyServer) {
    index = query.server % udp_.size();
  } else {
    next_server_ = (next_server_ + 1) % spread_servers_;
  }
  Channel& channel = *udp_[index];

  pending.result = ProbeResult{};
  pending.result.domain_id = query.domain_id;
  pending.result.name = query.name;
  pending.result.qtype = query.type;
  pending.result.resolver = channel.server;
  pending.result.mode = query.mode;
  pending.result.server_name = query.server_name;
  pending.recursion_desired = query.recursion_desired.value_or(options_.recursion_desired);
  pending.result.sent_at = std::chrono::system_clock::now();
  pending.started = SteadyClock::now();
  send(channel, pending);
}

void Crawler::Impl::send(Channel& channel, Pending& pending) {
  const std::uint16_t qid = channel.ids.acquire(random_);
  unsigned char* raw = nullptr;
  int length = 0;
  const int status = ares_create_query(
      pending.result.name.c_str(), kClassIn, static_cast<int>(pending.result.qtype), qid,
      pending.recursion_desired ? 1 : 0, &raw, &length,
      options_.edns ? static_cast<int>(options_.edns_udp_size) : 0);
  const AresQueryPacket packet(raw);
  if (status != ARES_SUCCESS) {
    channel.ids.release(qid);
    pending.result.outcome = Outcome::NetError;
    pending.result.rcode = -1;
    pending.result.records.clear();
    pending.result.detail = fmt::format("cannot build a query for '{}': {}", pending.result.name,
                                        ares_strerror(status));
    pending.result.latency =
        std::chrono::duration_cast<std::chrono::microseconds>(SteadyClock::now() - pending.started);
    completed_.push_back(&pending);
    return;
  }
  pending.channel = &channel;
  pending.qid = qid;
  ++channel.in_flight;
  next_timeout_check_ = std::min(next_timeout_check_, SteadyClock::now() + options_.timeout);
  // May call reply_callback before it returns (e.g. when no socket can be opened).
  ares_send(channel.handle.get(), packet.get(), length, &Impl::reply_callback, &pending);
}

void Crawler::Impl::deliver(const ResultSink& sink) {
  while (!completed_.empty() || !truncated_.empty()) {
    if (!truncated_.empty()) {
      batch_.swap(truncated_);
      for (Pending* pending : batch_) {
        ++stats_.tcp_retries;
        pending->result.via_tcp = true;
        send(*tcp_[pending->channel->index], *pending);
      }
      batch_.clear();
    }
    batch_.swap(completed_);
    for (Pending* pending : batch_) {
      switch (pending->result.outcome) {
        case Outcome::Timeout:
          ++stats_.timeouts;
          break;
        case Outcome::ConnRefused:
        case Outcome::Malformed:
        case Outcome::NetError:
          ++stats_.failures;
          break;
        default:
          ++stats_.answered;
          break;
      }
      free_.push_back(pending);
      sink(std::move(pending->result));
    }
    batch_.clear();
  }
}

void Crawler::Impl::wait_and_process(int cap_ms) {
  auto now = SteadyClock::now();
  int wait_ms = 0;
  if (next_timeout_check_ > now) {
    const auto left =
        std::chrono::ceil<std::chrono::milliseconds>(next_timeout_check_ - now).count();
    wait_ms = static_cast<int>(std::min<std::int64_t>(left, cap_ms));
  }
  const int ready =
      epoll_wait(epoll_.get(), events_.data(), static_cast<int>(events_.size()), wait_ms);
  if (ready < 0) {
    if (errno == EINTR) {
      return;
    }
    throw Error(fmt::format("crawler: epoll_wait failed: {}", std::strerror(errno)));
  }
  for (int i = 0; i < ready; ++i) {
    const int fd = events_[static_cast<std::size_t>(i)].data.fd;
    const std::uint32_t events = events_[static_cast<std::size_t>(i)].events;
    // The owner is looked up now, not when the event was queued: c-ares may have closed
    // (and reused) the descriptor while handling an earlier event of this batch.
    Channel* channel =
        fd >= 0 && static_cast<std::size_t>(fd) < fd_owner_.size() ? fd_owner_[fd] : nullptr;
    if (channel == nullptr) {
      continue;
    }
    const bool failed = (events & (EPOLLERR | EPOLLHUP)) != 0;
    const ares_socket_t read_fd = (events & EPOLLIN) != 0 || failed ? fd : ARES_SOCKET_BAD;
    const ares_socket_t write_fd = (events & EPOLLOUT) != 0 || failed ? fd : ARES_SOCKET_BAD;
    ares_process_fd(channel->handle.get(), read_fd, write_fd);
  }
  now = SteadyClock::now();
  if (now >= next_timeout_check_) {
    process_timeouts(now);
  } else {
    // Anything c-ares (re)sent just now is due no earlier than one timeout from now.
    next_timeout_check_ = std::min(next_timeout_check_, now + options_.timeout);
  }
}

void Crawler::Impl::process_timeouts(SteadyClock::time_point now) {
  // ares_timeout walks every query of a channel, so it is asked only here, when the
  // cached lower bound of the earliest c-ares deadline has passed.
  auto next = SteadyClock::time_point::max();
  for (auto* channels : {&udp_, &tcp_}) {
    for (const auto& channel : *channels) {
      if (channel->in_flight == 0) {
        continue;
      }
      ares_process_fd(channel->handle.get(), ARES_SOCKET_BAD, ARES_SOCKET_BAD);
      timeval buffer{};
      const timeval* left = ares_timeout(channel->handle.get(), nullptr, &buffer);
      if (left != nullptr) {
        // ares_timeout rounds down to milliseconds; 1 ms more is past the deadline.
        const auto due = now + std::chrono::seconds(left->tv_sec) +
                         std::chrono::microseconds(left->tv_usec) + std::chrono::milliseconds(1);
        next = std::min(next, due);
      }
    }
  }
  next_timeout_check_ =
      next == SteadyClock::time_point::max() ? now + std::chrono::milliseconds(kMaxWaitMs) : next;
}

void Crawler::Impl::abort_run() noexcept {
  // Ends every query still in c-ares (callbacks with ARES_ECANCELLED), then forgets them.
  for (auto* channels : {&udp_, &tcp_}) {
    for (const auto& channel : *channels) {
      if (channel->in_flight > 0) {
        ares_cancel(channel->handle.get());
      }
    }
  }
  completed_.clear();
  truncated_.clear();
  batch_.clear();
  free_.clear();
  for (Pending& pending : slots_) {
    free_.push_back(&pending);
  }
  next_timeout_check_ = SteadyClock::time_point::max();
}

void Crawler::Impl::on_reply(Pending& pending, int status, const unsigned char* answer,
                             int length) {
  ProbeResult& result = pending.result;
  const Channel& channel = *pending.channel;
  if (status == ARES_SUCCESS) {
    const std::span<const std::uint8_t> wire(
        answer, answer == nullptr ? 0U : static_cast<std::size_t>(length));
    const bool truncated = map_reply(wire, result);
    if (truncated && !channel.tcp) {
      truncated_.push_back(&pending);  // RFC 7766 5: re-ask over TCP
      return;
    }
  } else {
    result.rcode = -1;
    result.records.clear();
    switch (status) {
      case ARES_ETIMEOUT:
        result.outcome = Outcome::Timeout;
        result.detail =
            fmt::format("no reply from {} ({}) to {} tries in {} ms", channel.server,
                        channel.tcp ? "tcp" : "udp", options_.tries, total_timeout_ms(options_));
        break;
      case ARES_ECONNREFUSED:
        result.outcome = Outcome::ConnRefused;
        result.detail = fmt::format("{} ({}): {}", channel.server, channel.tcp ? "tcp" : "udp",
                                    ares_strerror(status));
        break;
      case ARES_EBADRESP:
        result.outcome = Outcome::Malformed;
        result.detail = ares_strerror(status);
        break;
      default:  // ARES_ECANCELLED, ARES_EDESTRUCTION, ARES_ENOMEM, ...
        result.outcome = Outcome::NetError;
        result.detail = ares_strerror(status);
        break;
    }
    if (result.via_tcp) {
      result.detail = "UDP answer was truncated; TCP retry failed: " + result.detail;
    }
  }
  result.latency =
      std::chrono::duration_cast<std::chrono::microseconds>(SteadyClock::now() - pending.started);
  completed_.push_back(&pending);
}

void Crawler::Impl::reply_callback(void* arg, int status, int /*timeouts*/, unsigned char* answer,
                                   int length) noexcept {
  auto& pending = *static_cast<Pending*>(arg);
  Channel& channel = *pending.channel;
  Impl& impl = *channel.owner;
  --channel.in_flight;
  channel.ids.release(pending.qid);
  try {
    impl.on_reply(pending, status, answer, length);
  } catch (const std::exception& error) {  // e.g. std::bad_alloc while mapping the reply
    pending.result.outcome = Outcome::NetError;
    pending.result.records.clear();
    try {
      pending.result.detail = fmt::format("internal error: {}", error.what());
    } catch (...) {  // NOLINT(bugprone-empty-catch): the outcome says enough
    }
    impl.completed_.push_back(&pending);  // capacity reserved: does not allocate
  } catch (...) {
    pending.result.outcome = Outcome::NetError;
    pending.result.records.clear();
    impl.completed_.push_back(&pending);
  }
}

void Crawler::Impl::watch(Channel& channel, int fd, bool readable, bool writable) noexcept {
  if (fd < 0) {
    return;
  }
  const auto index = static_cast<std::size_t>(fd);
  if (!readable && !writable) {  // c-ares is about to close it
    if (index < fd_owner_.size() && fd_owner_[index] != nullptr) {
      epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
      fd_owner_[index] = nullptr;
    }
    return;
  }
  try {
    if (index >= fd_owner_.size()) {
      fd_owner_.resize(std::max<std::size_t>(index + 1, fd_owner_.size() * 2), nullptr);
    }
  } catch (const std::exception&) {
    loop_error_ = "crawler: out of memory registering a socket";
    return;
  }
  epoll_event event{};
  event.events = (readable ? EPOLLIN : 0U) | (writable ? EPOLLOUT : 0U);
  event.data.fd = fd;
  int op = fd_owner_[index] != nullptr ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
  int rc = epoll_ctl(epoll_.get(), op, fd, &event);
  if (rc != 0 && (errno == EEXIST || errno == ENOENT)) {
    op = errno == EEXIST ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
    rc = epoll_ctl(epoll_.get(), op, fd, &event);
  }
  if (rc != 0) {
    try {
      loop_error_ =
          fmt::format("crawler: epoll_ctl on socket {} failed: {}", fd, std::strerror(errno));
    } catch (...) {  // NOLINT(bugprone-empty-catch)
      loop_error_ = "crawler: epoll_ctl failed";
    }
    return;
  }
  fd_owner_[index] = &channel;
}

void Crawler::Impl::socket_state_callback(void* data, ares_socket_t fd, int readable,
                                          int writable) noexcept {
  auto& channel = *static_cast<Channel*>(data);
  channel.owner->watch(channel, fd, readable != 0, writable != 0);
}

void Crawler::Impl::configure_socket(int fd) noexcept {
  // SO_RCVBUF (what c-ares sets) is capped by net.core.rmem_max, often 208 KiB: too small
  // for a burst of answers to thousands of queries. SO_RCVBUFFORCE passes the cap when the
  // process may (CAP_NET_ADMIN); otherwise say once what was granted.
  const int wanted = options_.socket_buffer_bytes;
  if (wanted <= 0) {
    return;
  }
  bool short_buffer = false;
  for (const auto& [option, force] :
       {std::pair{SO_RCVBUF, SO_RCVBUFFORCE}, std::pair{SO_SNDBUF, SO_SNDBUFFORCE}}) {
    int granted = 0;
    socklen_t size = sizeof(granted);
    // The kernel reports twice the size asked for (bookkeeping overhead, socket(7)).
    if (getsockopt(fd, SOL_SOCKET, option, &granted, &size) == 0 && granted / 2 < wanted) {
      if (setsockopt(fd, SOL_SOCKET, force, &wanted, sizeof(wanted)) != 0) {
        short_buffer = true;
      }
    }
  }
  if (short_buffer && !warned_buffers_) {
    warned_buffers_ = true;
    try {
      logger()->warn(
          "crawler: socket buffers are smaller than socket_buffer_bytes={} (capped by "
          "net.core.rmem_max/wmem_max); answers may be dropped under load",
          wanted);
    } catch (...) {  // NOLINT(bugprone-empty-catch): logging is best effort
    }
  }
}

int Crawler::Impl::socket_configure_callback(ares_socket_t fd, int /*type*/, void* data) noexcept {
  static_cast<Channel*>(data)->owner->configure_socket(fd);
  return 0;
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

std::size_t Crawler::capacity_left() const noexcept {
  if (!impl_) {
    return 0;
  }
  return impl_->slots_.size() == impl_->max_in_flight_ ? impl_->free_.size()
                                                       : impl_->max_in_flight_ - impl_->in_flight();
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

AresLibrary::AresLibrary() {
  const int status = ares_library_init(ARES_LIB_INIT_ALL);
  if (status != ARES_SUCCESS) {
    throw Error(fmt::format("c-ares initialisation failed: {}", ares_strerror(status)));
  }
}

AresLibrary::~AresLibrary() { ares_library_cleanup(); }

}  // namespace fluxwatch::crawler
