// The query loop of the crawler: starting queries on their channels, waiting on epoll,
// c-ares timeouts, mapping what c-ares reports into results, and handing them over.
#include <ares.h>
#include <fmt/format.h>
#include <sys/epoll.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <exception>
#include <utility>

#include "crawler_impl.h"
#include "fluxwatch/common/error.h"
#include "fluxwatch/crawler/reply.h"

namespace fluxwatch::crawler {
namespace {

/// How long c-ares waits in all before ARES_ETIMEOUT: it doubles the timeout for every
/// retry to the same server (c-ares 1.18 ares__send_query), so 2 x 2000 ms is 6000 ms.
std::int64_t total_timeout_ms(const CrawlerOptions& options) {
  std::int64_t total = 0;
  for (int attempt = 0; attempt < options.tries && attempt < 31; ++attempt) {
    total += options.timeout.count() << attempt;
  }
  return total;
}

/// Adds `note` to a result's detail.
void append_detail(std::string& detail, std::string_view note) {
  if (!detail.empty()) {
    detail += "; ";
  }
  detail += note;
}

}  // namespace

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
  stall_window_.clear();
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
  stall_window_.started(pending.started, static_cast<std::size_t>(&pending - slots_.data()),
                        pending.serial);
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
  read_budget_ = kReadBudget;
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
  stall_window_.expire(now, [this](std::size_t slot, std::uint64_t serial) {
    Pending& pending = slots_[slot];
    // Skipped if that query has been delivered since (its slot may hold a newer one).
    if (pending.serial == serial && !pending.stalled) {
      pending.stalled = true;
      --active_;
    }
  });
}

void Crawler::Impl::learn_latency(const ProbeResult& result) noexcept {
  if (result.rcode < 0 || result.via_tcp) {  // no answer, or one that took two exchanges
    return;
  }
  stall_window_.learn(result.latency);
}

int Crawler::Impl::wait_cap_ms(int cap_ms) const noexcept {
  // With the window full, the oldest query stalling is what lets the next one start.
  const auto due = stall_window_.next_stall();
  if (active_ < max_in_flight_ || !due || free_.empty()) {
    return cap_ms;
  }
  const auto left = std::chrono::ceil<std::chrono::milliseconds>(*due - SteadyClock::now()).count();
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
  stall_window_.clear();
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

void Crawler::Impl::reply_callback(void* arg, int status, int /*timeouts*/, unsigned char* answer,
                                   int length) noexcept {
  auto& pending = *static_cast<Pending*>(arg);
  Channel& channel = *pending.channel;
  Impl& impl = *channel.owner;
  --channel.in_flight;
  channel.by_qid.erase(pending.qid);
  channel.ids.release(pending.qid);
  channel.recent.remember(pending.qid);
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

}  // namespace fluxwatch::crawler
