#pragma once
/// The crawler: resolves many (name, type) queries at once through c-ares driven by an
/// epoll loop (c-ares socket-state callback), and turns every reply into a ProbeResult.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "fluxwatch/common/endpoint.h"
#include "fluxwatch/common/types.h"

namespace fluxwatch::crawler {

/// How the crawler talks to DNS servers.
struct CrawlerOptions {
  /// Servers to ask; queries are spread over them. Empty: the system's /etc/resolv.conf.
  std::vector<Endpoint> servers;
  /// Queries awaiting an answer at once, not counting stalled ones (see stall_after).
  std::size_t max_in_flight = 2000;
  /// A query unanswered for longer than the answers usually take (smoothed latency + 4 x
  /// its variation, as TCP's retransmission timer, RFC 6298), and at least 100 ms, is
  /// "stalled": most likely lost, it stops counting against max_in_flight while c-ares
  /// waits out its timeout and retries, so names that never answer do not hold back the
  /// others. This is the upper bound of that threshold. Zero: stalled queries keep counting.
  std::chrono::milliseconds stall_after{500};
  /// At most this many stalled queries are kept waiting besides max_in_flight (query
  /// slots cost memory and query ids); when they are all taken, the window shrinks.
  std::size_t max_stalled = 8192;
  /// Timeout of the first try; c-ares 1.18 doubles it on each retry (2 tries x 2000 ms
  /// wait up to 6 s in all).
  std::chrono::milliseconds timeout{2000};
  int tries = 2;                  ///< per server, including the first
  bool recursion_desired = true;  ///< RD bit: true for recursive resolvers
  bool edns = true;               ///< send EDNS0 (RFC 6891)
  std::uint16_t edns_udp_size = 1232;
  int socket_buffer_bytes = 4 << 20;  ///< SO_RCVBUF/SO_SNDBUF; small buffers drop answers
};

/// One query to make.
struct Query {
  std::int64_t domain_id = 0;
  std::string name;  ///< already normalised
  RrType type = RrType::A;
  /// Index into servers() to ask; kAnyServer spreads queries over them in turn.
  std::size_t server = kAnyServer;
  static constexpr std::size_t kAnyServer = static_cast<std::size_t>(-1);
  /// RD bit of this query; unset: CrawlerOptions::recursion_desired.
  std::optional<bool> recursion_desired{};
  ProbeMode mode = ProbeMode::Recursive;  ///< copied into the result
  std::string server_name{};              ///< copied into the result (the NS name asked)
};

/// Counters of one run().
struct CrawlStats {
  std::size_t queries = 0;
  std::size_t answered = 0;  ///< got a DNS reply (any rcode)
  std::size_t timeouts = 0;
  std::size_t tcp_retries = 0;
  std::size_t failures = 0;  ///< ConnRefused, Malformed, NetError
  /// Replies received that c-ares drops because they answer no query in flight: a wrong
  /// query ID, another question, shorter than a DNS header, empty. A spoofing attempt
  /// shows here; the probe it was aimed at (when the ID or the question tells which)
  /// says so in its detail.
  std::size_t mismatched = 0;
  /// Queries re-sent without EDNS0 because the server answered FORMERR without an OPT
  /// record (RFC 6891 7); the server is then asked without EDNS0 from then on.
  std::size_t edns_fallbacks = 0;
};

/**
 * Resolves queries concurrently on the calling thread.
 *
 * A truncated UDP answer is re-asked over TCP and the full answer reported with
 * `via_tcp = true`. SERVFAIL, REFUSED, NXDOMAIN, timeouts and malformed answers are
 * outcomes in the result, never exceptions. What a broken or hostile server gets
 * (docs/hostile-dns.md has the whole table, tested against tests/support/hostile_dns.py):
 * - no reply, or only replies that do not match the query (wrong ID, other question,
 *   fewer than 12 bytes, empty): Timeout; the mismatches are counted
 *   (CrawlStats::mismatched) and named in the detail when the ID or question tells
 *   which query they were aimed at. A matching reply after them is accepted.
 * - a reply that matches but cannot be parsed (counts larger than the records, looping
 *   or forward compression pointers, labels over 63 or names over 255 bytes, a UDP
 *   datagram longer than the 4096 bytes c-ares reads): Malformed, with the reason.
 * - TC=1 and then a TCP connection reset mid-answer: NetError, `via_tcp`, with how many
 *   bytes came; a TCP port that refuses: ConnRefused.
 * - FORMERR without OPT to a query with EDNS0: re-sent once without EDNS0 (noted in the
 *   detail, counted in CrawlStats::edns_fallbacks) and that server is asked without
 *   EDNS0 from then on.
 * - TTLs are stored as sent (RFC 2181 8 says to read values over 2^31-1 as 0).
 * Thread affinity: one Crawler is used from one thread at a time.
 * @throw fluxwatch::Error if c-ares or epoll cannot be set up.
 */
class Crawler {
 public:
  explicit Crawler(CrawlerOptions options);
  ~Crawler();
  Crawler(const Crawler&) = delete;
  Crawler& operator=(const Crawler&) = delete;
  Crawler(Crawler&&) noexcept;
  Crawler& operator=(Crawler&&) noexcept;

  using ResultSink = std::function<void(ProbeResult&&)>;
  /// Resolves every query; `sink` is called exactly once per query, in completion order,
  /// on this thread. Returns when all are done.
  CrawlStats run(std::span<const Query> queries, const ResultSink& sink);

  /**
   * Continuous use (the scheduler): starts `query` now, while others are in flight.
   * Returns false, starting nothing, when max_in_flight queries are in flight. Its result
   * comes from a later poll(). Do not mix with run() while queries are in flight.
   */
  bool submit(const Query& query);
  /**
   * Waits at most `max_wait` for replies and timeouts and hands every finished result to
   * `sink` (on this thread). With nothing in flight it just waits. Returns how many
   * results were delivered.
   */
  std::size_t poll(std::chrono::milliseconds max_wait, const ResultSink& sink);
  /// Queries started by submit() whose result has not been delivered yet.
  [[nodiscard]] std::size_t in_flight() const noexcept;
  /// How many more queries submit() would take now.
  [[nodiscard]] std::size_t capacity_left() const noexcept;
  /// What submit() and poll() have counted since the last run() (or construction); after
  /// a run(), that run's figures.
  [[nodiscard]] CrawlStats stats() const noexcept;

  /**
   * The index of `server` for Query::server, adding it (with its UDP and TCP channels) if
   * it is not known yet, e.g. a domain's own name server. Added servers are asked only by
   * index: kAnyServer keeps spreading over the servers given at construction.
   * @throw fluxwatch::ConfigError if c-ares does not take the address.
   */
  std::size_t server_index(const Endpoint& server);

  /// How many of servers() are the resolvers given at construction (the first ones); the
  /// rest were added by server_index() (e.g. a domain's own name servers).
  [[nodiscard]] std::size_t resolver_count() const noexcept;
  /// The servers in use ("ip:port"), e.g. for logging.
  [[nodiscard]] std::vector<std::string> servers() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Process-wide c-ares initialisation; create one in main() before any Crawler.
class AresLibrary {
 public:
  AresLibrary();
  ~AresLibrary();
  AresLibrary(const AresLibrary&) = delete;
  AresLibrary& operator=(const AresLibrary&) = delete;
};

}  // namespace fluxwatch::crawler
