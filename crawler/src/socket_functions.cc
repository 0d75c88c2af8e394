// The c-ares socket functions (ares_set_socket_functions) and socket callbacks of the
// crawler: c-ares 1.18 reads and drops replies that match no query in flight without
// telling, so every reply passes the reply filter here first; UDP goes through the batched
// send queue and read-ahead (udp_batch.h); sockets are registered with the epoll loop.
#include <ares.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <spdlog/spdlog.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <exception>
#include <span>
#include <utility>

#include "crawler_impl.h"
#include "fluxwatch/common/logging.h"

namespace fluxwatch::crawler {
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
  impl.send_queue_.drop(fd);
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
  if (ahead->empty()) {
    if (channel.owner->read_budget_ == 0) {
      errno = EAGAIN;  // the rest waits in the socket for the next pass (kReadBudget)
      return -1;
    }
    if (!ahead->fill(fd, length, flags)) {
      return -1;  // errno from recvmmsg, as c-ares expects of recvfrom
    }
  }
  if (channel.owner->read_budget_ > 0) {
    --channel.owner->read_budget_;
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
    try {
      if (impl.send_queue_.full()) {
        impl.flush_sends();
      }
      return static_cast<ares_ssize_t>(impl.send_queue_.push(fd, &channel, vectors, count));
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
  // A failure below does not call into c-ares, so nothing is queued while it is sent.
  send_queue_.flush([this](Channel* channel, int fd, std::span<const std::uint8_t> datagram,
                           int error) {
    // This datagram is lost: its query times out and c-ares tries again. The error
    // (e.g. ECONNREFUSED from an earlier ICMP message) is also handed to c-ares on its
    // next read of the socket, as if it had come from recvfrom.
    if (datagram.size() >= 2) {
      const auto qid = static_cast<std::uint16_t>((datagram[0] << 8U) | datagram[1]);
      if (const auto found = channel->by_qid.find(qid); found != channel->by_qid.end()) {
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
  });
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

}  // namespace fluxwatch::crawler
