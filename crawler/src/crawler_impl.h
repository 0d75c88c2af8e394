#pragma once
/// Internal: the state of a Crawler (Crawler::Impl) and the constants its parts share. The
/// parts, along the seams of the engine:
///   crawler.cc           the public Crawler and the c-ares channels (one per server)
///   query_loop.cc        starting queries, the epoll loop, timeouts, results
///   reply_filter.cc      every reply seen before c-ares takes or drops it
///   socket_functions.cc  the c-ares socket functions and socket state callbacks
///   query_ids.h, udp_batch.h, stall_window.h: the pieces those use.
/// Not a public header: it includes <ares.h>.

#include <ares.h>
#include <sys/epoll.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <random>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "fluxwatch/common/clock.h"
#include "fluxwatch/crawler/crawler.h"
#include "handles.h"
#include "query_ids.h"
#include "stall_window.h"
#include "udp_batch.h"

// The crawler relies on c-ares 1.18 internals (the FORMERR masking below, the EDNS cut and
// the retry timing): another version must fail the build, not behave differently. CMake
// checks this too (cmake/Dependencies.cmake).
static_assert(ARES_VERSION >= 0x011200 && ARES_VERSION < 0x011300,
              "fluxwatch's crawler is written against c-ares 1.18.x internals: "
              "see crawler/src/crawler_impl.h before building with another c-ares");

namespace fluxwatch::crawler {

using detail::AresChannel;
using detail::AresQueryPacket;
using detail::AresServerList;
using detail::kMaxInFlight;
using detail::QueryIds;
using detail::ReadAhead;
using detail::RecentIds;
using detail::SendQueue;
using detail::StallWindow;
using detail::UniqueFd;

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
/// Finished query ids remembered per channel, to tell a late reply from a spoofed one.
constexpr std::size_t kRecentIds = 4096;
constexpr int kRcodeFormErr = 1;
constexpr int kRcodeNotImp = 4;
/// Upper bound of one epoll_wait, a safety net: c-ares always has a timeout pending.
constexpr int kMaxWaitMs = 1000;
constexpr int kEpollBatch = 256;
/// UDP answers one wait_and_process() reads at most (in whole read-ahead batches) before it
/// returns, so that the caller starts new queries in the slots they freed while the server
/// still has queries to answer. Reading until every answer was in left the server idle
/// while the next window of queries was built and sent, and c-ares closed and reopened its
/// socket each time its last query ended. What is not read stays in the socket, and epoll
/// (level-triggered) reports it again.
constexpr std::size_t kReadBudget = 256;
constexpr int kClassIn = 1;  // RFC 1035 3.2.4

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
    RecentIds recent{kRecentIds};
    AresChannel handle;
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
  std::size_t slot_count_;                 // max_in_flight_ plus room for stalled queries
  std::size_t active_ = 0;                 // in flight and not stalled
  std::size_t read_budget_ = kReadBudget;  // UDP answers this wait_and_process() may still read
  std::uint64_t serial_ = 0;
  StallWindow stall_window_;
  UniqueFd epoll_;
  std::vector<Channel*> fd_owner_;  // by descriptor: the channel whose socket it is
  std::vector<epoll_event> events_;
  std::vector<Pending> slots_;
  std::vector<Pending*> free_;
  std::vector<Pending*> completed_;  // filled by c-ares callbacks
  /// UDP queries c-ares has handed to socket_send since the last flush_sends(): sent with
  /// one sendmmsg per socket before the loop waits (see socket_send).
  SendQueue<Channel> send_queue_;
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

}  // namespace fluxwatch::crawler
