#include "fluxwatch/crawler/crawler.h"

#include <ares.h>
#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <spdlog/spdlog.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <deque>
#include <exception>
#include <limits>
#include <optional>
#include <random>
#include <string_view>
#include <unordered_map>
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
/// What a UDP channel (not the query) says about EDNS payload size. c-ares 1.18's
/// process_answer cuts UDP answers longer than this when ARES_FLAG_IGNTC is set, and to
/// 512 bytes when the channel lacks ARES_FLAG_EDNS, so UDP channels keep the flag and
/// this is the size of c-ares's own receive buffer (MAXENDSSZ); the size we advertise is
/// in each query's OPT record, or no OPT record at all when the server rejects EDNS.
/// The flag also arms c-ares's own EDNS fallback: on any FORMERR without OPT it strips the
/// last 11 bytes of the query (its OPT record, or part of the question when there is
/// none), resends, and clears the flag for the whole channel. It never runs: the socket
/// functions hand such a reply to c-ares as NOTIMP and put the RCODE back for the mapping
/// (Impl::inspect, Impl::on_reply), and the crawler re-sends without OPT itself. TCP
/// channels go without the flag: the cut does not apply to them.
constexpr int kChannelEdnsPayload = 4096;
constexpr std::size_t kHeaderSize = 12;  // RFC 1035 4.1.1
constexpr std::size_t kRecentIds = 4096;
constexpr int kRcodeFormErr = 1;
constexpr int kRcodeNotImp = 4;
/// The smallest stall threshold (CrawlerOptions::stall_after): below it, queueing jitter
/// at a busy server would count as loss.
constexpr std::chrono::microseconds kMinStall{100000};
/// Upper bound of one epoll_wait, a safety net: c-ares always has a timeout pending.
constexpr int kMaxWaitMs = 1000;
constexpr int kEpollBatch = 256;
/// At most this many UDP queries go out in one sendmmsg (the kernel's limit is UIO_MAXIOV).
constexpr std::size_t kSendBatch = 256;
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

/**
 * The datagrams of one UDP socket, read from the kernel up to kDatagrams at a time with
 * recvmmsg and handed to c-ares one per receive call. c-ares 1.18 reads a UDP socket one
 * recvfrom per datagram until EAGAIN; at tens of thousands of answers a second those
 * system calls were a large part of the crawler thread.
 */
class ReadAhead {
 public:
  static constexpr std::size_t kDatagrams = 64;

  [[nodiscard]] bool empty() const noexcept { return next_ == count_; }

  /// Reads what the kernel has queued (at most kDatagrams of at most `capacity` bytes
  /// each); false with errno set when nothing could be read (EAGAIN when nothing waits).
  bool fill(int fd, std::size_t capacity, int flags) noexcept {
    next_ = count_ = 0;
    if (capacity_ != capacity) {
      try {
        buffer_.resize(kDatagrams * capacity);
      } catch (const std::exception&) {
        errno = ENOMEM;
        return false;
      }
      capacity_ = capacity;
    }
    for (std::size_t i = 0; i < kDatagrams; ++i) {
      vectors_[i] = iovec{buffer_.data() + i * capacity, capacity};
      messages_[i] = mmsghdr{};
      messages_[i].msg_hdr.msg_iov = &vectors_[i];
      messages_[i].msg_hdr.msg_iovlen = 1;
      messages_[i].msg_hdr.msg_name = &from_[i];
      messages_[i].msg_hdr.msg_namelen = sizeof(from_[i]);
    }
    // MSG_TRUNC: each datagram's real length, to tell a reply longer than the buffer.
    const int got = ::recvmmsg(fd, messages_.data(), kDatagrams, flags | MSG_TRUNC, nullptr);
    if (got <= 0) {
      if (got == 0) {
        errno = EAGAIN;
      }
      return false;
    }
    count_ = static_cast<std::size_t>(got);
    return true;
  }

  /// The next datagram: copied into `out` (at most `capacity` bytes, as recvfrom does) with
  /// its sender; returns its real length. Precondition: !empty().
  std::size_t take(void* out, std::size_t capacity, sockaddr* from,
                   socklen_t* from_length) noexcept {
    const std::size_t i = next_++;
    const std::size_t length = messages_[i].msg_len;
    std::memcpy(out, buffer_.data() + i * capacity_, std::min({length, capacity, capacity_}));
    if (from != nullptr && from_length != nullptr) {
      const socklen_t sender = messages_[i].msg_hdr.msg_namelen;
      std::memcpy(from, &from_[i], std::min(sender, *from_length));
      *from_length = sender;
    }
    return length;
  }

  [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }

 private:
  std::vector<std::uint8_t> buffer_;
  std::size_t capacity_ = 0;
  std::array<iovec, kDatagrams> vectors_{};
  std::array<mmsghdr, kDatagrams> messages_{};
  std::array<sockaddr_storage, kDatagrams> from_{};
  std::size_t next_ = 0;
  std::size_t count_ = 0;
};

/// Adds `note` to a result's detail.
void append_detail(std::string& detail, std::string_view note) {
  if (!detail.empty()) {
    detail += "; ";
  }
  detail += note;
}

/// The one question of a reply, as c-ares 1.18's same_questions compares it.
struct ReplyQuestion {
  std::string name;  // as ares_expand_name gives it
  int type = 0;
  int klass = 0;
};

std::optional<ReplyQuestion> reply_question(const std::uint8_t* message, std::size_t size) {
  if (size < kHeaderSize || message[4] != 0 || message[5] != 1) {
    return std::nullopt;  // our queries have one question; c-ares wants the same count
  }
  char* expanded = nullptr;
  long used = 0;  // NOLINT(google-runtime-int): c-ares's type
  if (ares_expand_name(message + kHeaderSize, message, static_cast<int>(size), &expanded, &used) !=
      ARES_SUCCESS) {
    return std::nullopt;
  }
  ReplyQuestion question;
  question.name = expanded;
  ares_free_string(expanded);
  const std::size_t pos = kHeaderSize + static_cast<std::size_t>(used);
  if (pos + 4 > size) {
    return std::nullopt;
  }
  question.type = (message[pos] << 8) | message[pos + 1];
  question.klass = (message[pos + 2] << 8) | message[pos + 3];
  return question;
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

/// All state of a Crawler; owned and used by one thread.
struct Crawler::Impl {
  struct Pending;

  /// One c-ares channel talking to one server over one transport. One channel per server
  /// (instead of ARES_OPT_ROTATE) makes the `resolver` of every result exact.
  struct Channel {
    Impl* owner = nullptr;
    std::string server;  // "ip:port"
    std::size_t index = 0;
    bool tcp = false;
    std::size_t in_flight = 0;
    QueryIds ids;
    /// The queries in flight by query ID, to tell which query a received reply is for.
    std::unordered_map<std::uint16_t, Pending*> by_qid;
    /// TCP: what c-ares has read so far on each connection, to see whole messages.
    std::unordered_map<int, std::vector<std::uint8_t>> streams;
    /// UDP: datagrams read ahead per socket (see ReadAhead).
    std::unordered_map<int, ReadAhead> read_ahead;
    std::size_t unmatched = 0;  // replies that matched no query in flight, ever
    /// The IDs of the last kRecentIds finished queries: a reply to one of them is late (an
    /// answer to an earlier try), not a spoofing attempt aimed at a query in flight.
    std::vector<std::uint16_t> recent_ids = std::vector<std::uint16_t>(kRecentIds);
    std::vector<std::uint16_t> recent_count = std::vector<std::uint16_t>(65536);
    std::size_t recent_next = 0;
    std::size_t recent_size = 0;
    AresChannel handle;

    void remember_finished(std::uint16_t id) noexcept {
      if (recent_size == recent_ids.size()) {
        --recent_count[recent_ids[recent_next]];
      } else {
        ++recent_size;
      }
      recent_ids[recent_next] = id;
      ++recent_count[id];
      recent_next = (recent_next + 1) % recent_ids.size();
    }
    [[nodiscard]] bool finished_recently(std::uint16_t id) const noexcept {
      return recent_count[id] > 0;
    }
  };

  /// One query from start to result; lives in `slots_`, so its address is stable and is
  /// the c-ares callback argument.
  struct Pending {
    Channel* channel = nullptr;  // where it is in flight now
    std::uint16_t qid = 0;
    SteadyClock::time_point started;
    std::uint64_t serial = 0;       // which start() this is; 0 once delivered
    bool stalled = false;           // no longer counted in active_
    bool recursion_desired = true;  // RD bit of this query (also for its TCP retry)
    ProbeResult result;
    bool edns = false;            // the packet in flight carries an OPT record
    bool edns_rejected = false;   // FORMERR without OPT came back to its OPT
    bool formerr_masked = false;  // c-ares got its FORMERR reply as NOTIMP (UDP)
    bool edns_fell_back = false;  // it was re-sent without EDNS0
    std::size_t ignored = 0;      // replies aimed at it that c-ares dropped
    std::string ignored_last;     // why the last of them was dropped
    std::string cut;              // a UDP reply longer than c-ares reads
    std::string transport_error;  // how its TCP connection broke
    std::string send_error;       // why a UDP send of it failed
    std::size_t unmatched_at_send = 0;

    /// Forgets what the previous query in this slot noted (start()).
    void reset_notes() noexcept {
      edns_fell_back = false;
      send_error.clear();
      ignored = 0;
      ignored_last.clear();
      cut.clear();
    }
  };

  /// A start() in time order, to find the queries that have become stalled.
  struct Started {
    SteadyClock::time_point at;
    Pending* pending = nullptr;
    std::uint64_t serial = 0;
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
  [[nodiscard]] bool can_start() const noexcept {
    return !free_.empty() && active_ < max_in_flight_;
  }
  void mark_stalled(SteadyClock::time_point now) noexcept;
  void learn_latency(const ProbeResult& result) noexcept;
  [[nodiscard]] std::chrono::microseconds stall_threshold() const noexcept;
  [[nodiscard]] int wait_cap_ms(int cap_ms) const noexcept;

  void open_channels();
  std::size_t server_index(const Endpoint& server);
  std::unique_ptr<Channel> make_channel(const std::string& server, std::size_t index, bool tcp);
  void start(const Query& query);
  void send(Channel& channel, Pending& pending);
  void deliver(const ResultSink& sink);
  void wait_and_process(int cap_ms = kMaxWaitMs);
  void process_timeouts(SteadyClock::time_point now);
  void abort_run() noexcept;
  void on_reply(Pending& pending, int status, unsigned char* answer, int length);
  void watch(Channel& channel, int fd, bool readable, bool writable) noexcept;
  void configure_socket(int fd) noexcept;

  static void reply_callback(void* arg, int status, int timeouts, unsigned char* answer,
                             int length) noexcept;
  static void socket_state_callback(void* data, ares_socket_t fd, int readable,
                                    int writable) noexcept;
  static int socket_configure_callback(ares_socket_t fd, int type, void* data) noexcept;

  // c-ares 1.18 reads and drops replies that match no query in flight without telling;
  // with our own socket functions every reply passes here first (ares_set_socket_functions).
  static ares_socket_t socket_open(int domain, int type, int protocol, void* data) noexcept;
  static int socket_close(ares_socket_t fd, void* data) noexcept;
  static int socket_connect(ares_socket_t fd, const sockaddr* address, ares_socklen_t length,
                            void* data) noexcept;
  static bool has_read_ahead(const Channel& channel, int fd) noexcept;
  static ares_ssize_t socket_receive(ares_socket_t fd, void* buffer, std::size_t length, int flags,
                                     sockaddr* from, ares_socklen_t* from_length,
                                     void* data) noexcept;
  static ares_ssize_t socket_send(ares_socket_t fd, const iovec* vectors, int count,
                                  void* data) noexcept;
  void flush_sends() noexcept;
  void inspect(Channel& channel, std::uint8_t* message, std::size_t size, std::size_t full_size);
  void observe_tcp(Channel& channel, int fd, const std::uint8_t* data, ssize_t got, int error);
  static void finish_detail(Pending& pending);

  CrawlerOptions options_;
  std::size_t max_in_flight_;
  std::size_t slot_count_;  // max_in_flight_ plus room for stalled queries
  std::size_t active_ = 0;  // in flight and not stalled
  std::uint64_t serial_ = 0;
  std::deque<Started> started_;  // oldest first
  // Smoothed latency of answered queries and its mean deviation (RFC 6298 2), in µs;
  // negative until the first answer.
  double smoothed_latency_us_ = -1;
  double latency_deviation_us_ = 0;
  UniqueFd epoll_;
  std::vector<Channel*> fd_owner_;  // by descriptor: the channel whose socket it is
  std::vector<epoll_event> events_;
  std::vector<Pending> slots_;
  std::vector<Pending*> free_;
  std::vector<Pending*> completed_;  // filled by c-ares callbacks
  /// UDP queries c-ares has handed to socket_send since the last flush_sends(): sent with
  /// one sendmmsg per socket before the loop waits (see socket_send).
  struct QueuedDatagram {
    int fd = -1;
    Channel* channel = nullptr;
    std::size_t offset = 0;  // in send_bytes_
    std::size_t length = 0;
  };
  std::vector<QueuedDatagram> send_queue_;
  std::vector<std::uint8_t> send_bytes_;
  /// Sockets whose queued send failed: c-ares reads them next and gets the error.
  std::unordered_map<int, int> send_errors_;
  std::vector<Pending*> truncated_;   // filled by c-ares callbacks: to re-ask over TCP
  std::vector<Pending*> edns_retry_;  // filled by c-ares callbacks: to re-ask without EDNS0
  std::vector<bool> edns_refused_;    // by server index: it answered EDNS0 with FORMERR
  std::vector<Pending*> batch_;       // being delivered or re-sent
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
      slot_count_(options_.stall_after.count() > 0
                      ? std::min(max_in_flight_ + options_.max_stalled, kMaxInFlight)
                      : max_in_flight_),
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

CrawlStats Crawler::Impl::run(std::span<const Query> queries, const ResultSink& sink) {
  stats_ = CrawlStats{};
  stats_.queries = queries.size();
  if (queries.empty()) {
    return stats_;
  }
  if (in_flight() != 0) {
    throw Error("crawler: run() while submitted queries are in flight");
  }
  const std::size_t slots = std::min(slot_count_, queries.size());
  prepare_slots(slots);

  std::size_t next = 0;
  try {
    while (next < queries.size() || free_.size() < slots) {
      while (can_start() && next < queries.size()) {
        start(queries[next++]);
      }
      deliver(sink);
      if (free_.size() == slots) {
        continue;
      }
      wait_and_process(wait_cap_ms(kMaxWaitMs));
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
  edns_retry_.clear();
  edns_retry_.reserve(slots);
  batch_.clear();
  batch_.reserve(slots);
  loop_error_.clear();
  active_ = 0;
  started_.clear();
}

bool Crawler::Impl::submit(const Query& query) {
  if (slots_.size() != slot_count_) {  // first submit(), or after a run()
    prepare_slots(slot_count_);        // run() returns with nothing in flight
  }
  if (!can_start()) {
    mark_stalled(SteadyClock::now());
    if (!can_start()) {
      return false;
    }
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
    wait_and_process(wait_cap_ms(cap));
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
  pending.serial = ++serial_;
  pending.stalled = false;
  ++active_;
  if (options_.stall_after.count() > 0) {
    started_.push_back({pending.started, &pending, pending.serial});
  }
  pending.reset_notes();
  send(channel, pending);
}

void Crawler::Impl::send(Channel& channel, Pending& pending) {
  const std::uint16_t qid = channel.ids.acquire(random_);
  // No OPT record to a server that answered one with FORMERR (RFC 6891 7).
  const bool edns = options_.edns && !edns_refused_[channel.index];
  unsigned char* raw = nullptr;
  int length = 0;
  const int status = ares_create_query(pending.result.name.c_str(), kClassIn,
                                       static_cast<int>(pending.result.qtype), qid,
                                       pending.recursion_desired ? 1 : 0, &raw, &length,
                                       edns ? static_cast<int>(options_.edns_udp_size) : 0);
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
  channel.by_qid[qid] = &pending;
  pending.channel = &channel;
  pending.qid = qid;
  pending.edns = edns;
  pending.edns_rejected = false;
  pending.formerr_masked = false;
  pending.transport_error.clear();
  pending.unmatched_at_send = channel.unmatched;
  ++channel.in_flight;
  next_timeout_check_ = std::min(next_timeout_check_, SteadyClock::now() + options_.timeout);
  // May call reply_callback before it returns (e.g. when no socket can be opened).
  ares_send(channel.handle.get(), packet.get(), length, &Impl::reply_callback, &pending);
}

void Crawler::Impl::deliver(const ResultSink& sink) {
  while (!completed_.empty() || !truncated_.empty() || !edns_retry_.empty()) {
    if (!edns_retry_.empty()) {
      batch_.swap(edns_retry_);
      for (Pending* pending : batch_) {
        const std::size_t index = pending->channel->index;
        send(pending->channel->tcp ? *tcp_[index] : *udp_[index], *pending);
      }
      batch_.clear();
    }
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
      if (!pending->stalled) {
        --active_;
      }
      learn_latency(pending->result);
      pending->serial = 0;
      free_.push_back(pending);
      sink(std::move(pending->result));
    }
    batch_.clear();
  }
}

void Crawler::Impl::wait_and_process(int cap_ms) {
  flush_sends();
  while (!send_errors_.empty()) {  // c-ares gets each error from its next read
    const int fd = send_errors_.begin()->first;
    Channel* channel = static_cast<std::size_t>(fd) < fd_owner_.size() ? fd_owner_[fd] : nullptr;
    if (channel == nullptr) {
      send_errors_.erase(fd);
      continue;
    }
    ares_process_fd(channel->handle.get(), fd, ARES_SOCKET_BAD);
    send_errors_.erase(fd);  // in case c-ares did not read it
    flush_sends();
  }
  auto now = SteadyClock::now();
  int wait_ms = 0;
  if (!completed_.empty()) {
    cap_ms = 0;  // results are waiting: do not block
  }
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
    // c-ares 1.18 reads until EAGAIN, which the read-ahead reports only once it is empty;
    // should a c-ares stop earlier, what was read ahead would no longer be signalled by
    // epoll, so hand it over now. Each pass takes at least one datagram (or c-ares closes
    // the socket, which drops them).
    while (read_fd != ARES_SOCKET_BAD && fd_owner_[static_cast<std::size_t>(fd)] == channel &&
           has_read_ahead(*channel, fd)) {
      ares_process_fd(channel->handle.get(), fd, ARES_SOCKET_BAD);
    }
  }
  now = SteadyClock::now();
  if (now >= next_timeout_check_) {
    process_timeouts(now);
  } else {
    // Anything c-ares (re)sent just now is due no earlier than one timeout from now.
    next_timeout_check_ = std::min(next_timeout_check_, now + options_.timeout);
  }
  mark_stalled(now);
}

bool Crawler::Impl::has_read_ahead(const Channel& channel, int fd) noexcept {
  const auto found = channel.read_ahead.find(fd);
  return found != channel.read_ahead.end() && !found->second.empty();
}

void Crawler::Impl::mark_stalled(SteadyClock::time_point now) noexcept {
  const auto threshold = stall_threshold();
  while (!started_.empty() && now - started_.front().at >= threshold) {
    const Started& oldest = started_.front();
    // Skipped if that query has been delivered since (its slot may hold a newer one).
    if (oldest.pending->serial == oldest.serial && !oldest.pending->stalled) {
      oldest.pending->stalled = true;
      --active_;
    }
    started_.pop_front();
  }
}

void Crawler::Impl::learn_latency(const ProbeResult& result) noexcept {
  if (result.rcode < 0 || result.via_tcp) {  // no answer, or one that took two exchanges
    return;
  }
  const auto sample = static_cast<double>(result.latency.count());
  if (smoothed_latency_us_ < 0) {
    smoothed_latency_us_ = sample;
    latency_deviation_us_ = sample / 2;
    return;
  }
  latency_deviation_us_ =
      0.75 * latency_deviation_us_ + 0.25 * std::abs(smoothed_latency_us_ - sample);
  smoothed_latency_us_ = 0.875 * smoothed_latency_us_ + 0.125 * sample;
}

std::chrono::microseconds Crawler::Impl::stall_threshold() const noexcept {
  const std::chrono::microseconds most = options_.stall_after;
  if (smoothed_latency_us_ < 0) {
    return most;
  }
  const auto usual = std::chrono::microseconds(
      static_cast<std::int64_t>(smoothed_latency_us_ + 4 * latency_deviation_us_));
  return std::clamp(usual, std::min(kMinStall, most), most);
}

int Crawler::Impl::wait_cap_ms(int cap_ms) const noexcept {
  // With the window full, the oldest query stalling is what lets the next one start.
  if (active_ < max_in_flight_ || started_.empty() || free_.empty()) {
    return cap_ms;
  }
  const auto due = started_.front().at + stall_threshold();
  const auto left = std::chrono::ceil<std::chrono::milliseconds>(due - SteadyClock::now()).count();
  return static_cast<int>(std::clamp<std::int64_t>(left, 0, cap_ms));
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
  edns_retry_.clear();
  batch_.clear();
  free_.clear();
  for (Pending& pending : slots_) {
    pending.serial = 0;
    free_.push_back(&pending);
  }
  active_ = 0;
  started_.clear();
  next_timeout_check_ = SteadyClock::time_point::max();
}

void Crawler::Impl::on_reply(Pending& pending, int status, unsigned char* answer, int length) {
  ProbeResult& result = pending.result;
  const Channel& channel = *pending.channel;
  if (status == ARES_SUCCESS && pending.edns_rejected) {
    // FORMERR without OPT to a query with OPT: the server does not speak EDNS0 (RFC 6891
    // 7). Ask again without OPT, as will every later query to this server.
    edns_refused_[channel.index] = true;
    pending.edns_fell_back = true;
    ++stats_.edns_fallbacks;
    edns_retry_.push_back(&pending);
    return;
  }
  if (status == ARES_SUCCESS) {
    if (pending.formerr_masked && answer != nullptr && length > 3) {
      answer[3] = static_cast<unsigned char>((answer[3] & 0xf0) | kRcodeFormErr);  // inspect()
    }
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
        if (!pending.transport_error.empty()) {  // c-ares says "refused" for any TCP error
          result.outcome = Outcome::NetError;
          result.detail = pending.transport_error;
          break;
        }
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
  finish_detail(pending);
  result.latency =
      std::chrono::duration_cast<std::chrono::microseconds>(SteadyClock::now() - pending.started);
  completed_.push_back(&pending);
}

void Crawler::Impl::finish_detail(Pending& pending) {
  std::string& detail = pending.result.detail;
  if (pending.edns_fell_back) {
    append_detail(detail,
                  "the server answered EDNS0 with FORMERR without OPT; asked again without EDNS0");
  }
  if (!pending.cut.empty()) {
    append_detail(detail, pending.cut);
  }
  if (!pending.send_error.empty()) {
    append_detail(detail, pending.send_error);
  }
  if (pending.ignored > 0) {
    append_detail(detail, fmt::format("ignored {} repl{} that did not match the query (last: {})",
                                      pending.ignored, pending.ignored == 1 ? "y" : "ies",
                                      pending.ignored_last));
  }
  const std::size_t unmatched = pending.channel->unmatched - pending.unmatched_at_send;
  if (pending.result.outcome == Outcome::Timeout && unmatched > 0) {
    append_detail(detail,
                  fmt::format("meanwhile {} repl{} from {} matched no query in flight", unmatched,
                              unmatched == 1 ? "y" : "ies", pending.channel->server));
  }
}

void Crawler::Impl::inspect(Channel& channel, std::uint8_t* message, std::size_t size,
                            std::size_t full_size) {
  // Mirrors c-ares 1.18 process_answer: a reply is taken when it has a header, its ID is
  // in flight and its question is that query's (same_questions); it is dropped otherwise.
  Pending* by_id = nullptr;
  if (size >= 2) {
    const auto id = static_cast<std::uint16_t>((message[0] << 8) | message[1]);
    if (const auto found = channel.by_qid.find(id); found != channel.by_qid.end()) {
      by_id = found->second;
    }
  }
  const auto ignore = [&](Pending* target, std::string why) {
    ++stats_.mismatched;
    if (target == nullptr) {
      ++channel.unmatched;
      return;
    }
    ++target->ignored;
    target->ignored_last = std::move(why);
  };
  if (size < kHeaderSize) {
    ignore(by_id, size == 0 ? std::string("an empty datagram")
                            : fmt::format("{} bytes, shorter than a DNS header", size));
    return;
  }
  const auto question = reply_question(message, size);
  const auto asks = [&](const Pending& pending) {
    return question && question->klass == kClassIn &&
           question->type == static_cast<int>(pending.result.qtype) &&
           strcasecmp(question->name.c_str(), pending.result.name.c_str()) == 0;
  };
  if (by_id != nullptr && asks(*by_id)) {
    if (full_size > size) {
      by_id->cut = fmt::format("the {}-byte UDP reply was cut to the {} bytes c-ares reads",
                               full_size, std::min<std::size_t>(size, kChannelEdnsPayload));
    }
    const int rcode = message[3] & 0x0f;
    if (rcode == kRcodeFormErr) {
      const MessageScan scan = scan_message({message, size});
      if (!scan.error.empty() || !scan.has_opt) {  // c-ares's test: has_opt_rr() != 1
        by_id->edns_rejected = by_id->edns;        // see on_reply
        if (!channel.tcp) {  // a UDP channel has ARES_FLAG_EDNS: keep c-ares's fallback off
          by_id->formerr_masked = true;
          message[3] = static_cast<std::uint8_t>((message[3] & 0xf0) | kRcodeNotImp);
        }
      }
    }
    return;
  }
  if (by_id != nullptr) {
    ignore(by_id, question ? fmt::format("a reply for {} {}", question->name,
                                         rrtype_name(static_cast<std::uint16_t>(question->type)))
                           : std::string("a reply whose question cannot be read"));
    return;
  }
  const auto id = static_cast<std::uint16_t>((message[0] << 8) | message[1]);
  Pending* asked = nullptr;
  if (question && !channel.finished_recently(id)) {
    for (const auto& [qid, pending] : channel.by_qid) {
      if (asks(*pending)) {
        asked = pending;
        break;
      }
    }
  }
  ignore(asked, asked == nullptr
                    ? std::string()
                    : fmt::format("a reply with the wrong query ID {:#06x}, asked with {:#06x}", id,
                                  asked->qid));
}

void Crawler::Impl::observe_tcp(Channel& channel, int fd, const std::uint8_t* data, ssize_t got,
                                int error) {
  if (got < 0 && (error == EAGAIN || error == EWOULDBLOCK || error == EINTR)) {
    return;
  }
  if (got > 0) {
    auto& stream = channel.streams[fd];
    stream.insert(stream.end(), data, data + got);
    std::size_t done = 0;
    while (stream.size() - done >= 2) {
      const std::size_t length = (stream[done] << 8U) | stream[done + 1];
      if (stream.size() - done - 2 < length) {
        break;
      }
      inspect(channel, stream.data() + done + 2, length, length);
      done += 2 + length;
    }
    stream.erase(stream.begin(), stream.begin() + static_cast<std::ptrdiff_t>(done));
    return;
  }
  // The connection ended (0) or failed: c-ares ends or retries its queries with
  // ARES_ECONNREFUSED whatever happened, so say here what it was.
  const auto found = channel.streams.find(fd);
  const std::size_t have = found == channel.streams.end() ? 0 : found->second.size();
  if (got < 0 && error == ECONNREFUSED && have == 0) {
    return;  // a refused connection is what c-ares says
  }
  const std::string how = got == 0 ? std::string("closed by the server")
                                   : fmt::format("failed: {}", std::strerror(error));
  std::string what;
  if (have >= 2) {
    const std::size_t expected = 2 + ((found->second[0] << 8U) | found->second[1]);
    what = fmt::format("TCP connection to {} {} after {} of the {} bytes of an answer",
                       channel.server, how, have, expected);
  } else {
    what = fmt::format("TCP connection to {} {} before an answer", channel.server, how);
  }
  for (const auto& [qid, pending] : channel.by_qid) {
    pending->transport_error = what;
  }
  if (found != channel.streams.end()) {
    channel.streams.erase(found);
  }
}

ares_socket_t Crawler::Impl::socket_open(int domain, int type, int protocol, void* data) noexcept {
  const auto& channel = *static_cast<Channel*>(data);
  const int fd = ::socket(domain, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
  if (fd < 0) {
    return ARES_SOCKET_BAD;
  }
  // What c-ares does for its own sockets (ares_process.c configure_socket, TCP_NODELAY).
  const int size = channel.owner->options_.socket_buffer_bytes;
  if (size > 0) {
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
  }
  if (type == SOCK_STREAM) {
    const int on = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
  }
  return fd;
}

int Crawler::Impl::socket_close(ares_socket_t fd, void* data) noexcept {
  auto& channel = *static_cast<Channel*>(data);
  channel.streams.erase(fd);
  channel.read_ahead.erase(fd);
  // Datagrams queued on it are dropped: c-ares sends its queries again on a new socket
  // (and the descriptor's number may be reused before the next flush).
  Impl& impl = *channel.owner;
  std::erase_if(impl.send_queue_, [fd](const QueuedDatagram& queued) { return queued.fd == fd; });
  impl.send_errors_.erase(fd);
  return ::close(fd);
}

int Crawler::Impl::socket_connect(ares_socket_t fd, const sockaddr* address, ares_socklen_t length,
                                  void* /*data*/) noexcept {
  return ::connect(fd, address, length);
}

ares_ssize_t Crawler::Impl::socket_receive(ares_socket_t fd, void* buffer, std::size_t length,
                                           int flags, sockaddr* from, ares_socklen_t* from_length,
                                           void* data) noexcept {
  auto& channel = *static_cast<Channel*>(data);
  auto* bytes = static_cast<std::uint8_t*>(buffer);
  if (channel.tcp) {
    const ssize_t got = ::recv(fd, buffer, length, flags);
    const int error = errno;
    try {
      channel.owner->observe_tcp(channel, fd, bytes, got, error);
    } catch (...) {  // NOLINT(bugprone-empty-catch): only the detail is lost (bad_alloc)
    }
    errno = error;  // c-ares reads it after -1
    return got;
  }
  if (const auto failed = channel.owner->send_errors_.find(fd);
      failed != channel.owner->send_errors_.end()) {
    errno = failed->second;
    channel.owner->send_errors_.erase(failed);
    return -1;
  }
  ReadAhead* ahead = nullptr;
  try {
    ahead = &channel.read_ahead[fd];
  } catch (const std::exception&) {
    errno = ENOMEM;
    return -1;
  }
  if (ahead->empty() && !ahead->fill(fd, length, flags)) {
    return -1;  // errno from recvmmsg, as c-ares expects of recvfrom
  }
  const std::size_t got = ahead->take(buffer, length, from, from_length);
  const std::size_t kept = std::min(got, length);
  try {
    channel.owner->inspect(channel, bytes, kept, got);
  } catch (...) {  // NOLINT(bugprone-empty-catch): only the count and the detail are lost
  }
  return static_cast<ares_ssize_t>(kept);
}

ares_ssize_t Crawler::Impl::socket_send(ares_socket_t fd, const iovec* vectors, int count,
                                        void* data) noexcept {
  // UDP: queued, and sent with one sendmmsg per socket before the loop waits (flush_sends):
  // one system call per query was a large part of the crawler thread. A datagram may be
  // lost anyway, so c-ares's retry covers a send that fails later, and the failure is
  // noted in the probe's detail.
  auto& channel = *static_cast<Channel*>(data);
  Impl& impl = *channel.owner;
  if (!channel.tcp && count > 0) {
    std::size_t length = 0;
    for (int i = 0; i < count; ++i) {
      length += vectors[i].iov_len;
    }
    try {
      if (impl.send_queue_.size() >= kSendBatch) {
        impl.flush_sends();
      }
      const std::size_t offset = impl.send_bytes_.size();
      for (int i = 0; i < count; ++i) {
        const auto* bytes = static_cast<const std::uint8_t*>(vectors[i].iov_base);
        impl.send_bytes_.insert(impl.send_bytes_.end(), bytes, bytes + vectors[i].iov_len);
      }
      impl.send_queue_.push_back({fd, &channel, offset, length});
      return static_cast<ares_ssize_t>(length);
    } catch (const std::exception&) {  // out of memory: send it now
    }
  }
  msghdr message{};
  message.msg_iov = const_cast<iovec*>(vectors);  // NOLINT: sendmsg's historical signature
  message.msg_iovlen = static_cast<std::size_t>(count);
  // MSG_NOSIGNAL: a server that resets the TCP connection must not raise SIGPIPE.
  return ::sendmsg(fd, &message, MSG_NOSIGNAL);
}

void Crawler::Impl::flush_sends() noexcept {
  // The queue is read by index: a failure below does not call into c-ares, so nothing is
  // queued while it is sent.
  std::array<mmsghdr, kSendBatch> messages{};
  std::array<iovec, kSendBatch> vectors{};
  std::size_t first = 0;
  while (first < send_queue_.size()) {
    const int fd = send_queue_[first].fd;
    std::size_t end = first;
    while (end < send_queue_.size() && end - first < kSendBatch && send_queue_[end].fd == fd) {
      const QueuedDatagram& queued = send_queue_[end];
      vectors[end - first] = iovec{send_bytes_.data() + queued.offset, queued.length};
      messages[end - first] = mmsghdr{};
      messages[end - first].msg_hdr.msg_iov = &vectors[end - first];
      messages[end - first].msg_hdr.msg_iovlen = 1;
      ++end;
    }
    std::size_t done = 0;
    while (first + done < end) {
      const int sent =
          ::sendmmsg(fd, &messages[done], static_cast<unsigned>(end - first - done), MSG_NOSIGNAL);
      if (sent > 0) {
        done += static_cast<std::size_t>(sent);
        continue;
      }
      const int error = errno;
      if (sent < 0 && error == EINTR) {
        continue;
      }
      // This datagram is lost: its query times out and c-ares tries again. The error
      // (e.g. ECONNREFUSED from an earlier ICMP message) is also handed to c-ares on its
      // next read of the socket, as if it had come from recvfrom.
      const QueuedDatagram& failed = send_queue_[first + done];
      if (failed.length >= 2) {
        const auto qid = static_cast<std::uint16_t>((send_bytes_[failed.offset] << 8U) |
                                                    send_bytes_[failed.offset + 1]);
        if (const auto found = failed.channel->by_qid.find(qid);
            found != failed.channel->by_qid.end()) {
          try {
            found->second->send_error = fmt::format("a UDP send failed: {}", std::strerror(error));
          } catch (...) {  // NOLINT(bugprone-empty-catch): only the detail is lost
          }
        }
      }
      try {
        send_errors_[fd] = error;
      } catch (...) {  // NOLINT(bugprone-empty-catch): the query still times out
      }
      ++done;
    }
    first = end;
  }
  send_queue_.clear();
  send_bytes_.clear();
}

void Crawler::Impl::reply_callback(void* arg, int status, int /*timeouts*/, unsigned char* answer,
                                   int length) noexcept {
  auto& pending = *static_cast<Pending*>(arg);
  Channel& channel = *pending.channel;
  Impl& impl = *channel.owner;
  --channel.in_flight;
  channel.by_qid.erase(pending.qid);
  channel.ids.release(pending.qid);
  channel.remember_finished(pending.qid);
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
