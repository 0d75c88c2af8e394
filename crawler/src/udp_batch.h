#pragma once
/// Internal: batched UDP input and output of the crawler's sockets. Replies are read from
/// the kernel many at a time with recvmmsg and handed to c-ares one per receive call
/// (ReadAhead); queries c-ares sends are queued and go out with one sendmmsg per socket
/// (SendQueue). At tens of thousands of queries a second, one system call per datagram
/// was a large part of the crawler thread.

#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <span>
#include <vector>

namespace fluxwatch::crawler::detail {

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

/**
 * UDP datagrams c-ares handed to its send function, each tagged with a `Context` (the
 * channel), sent by flush() with one sendmmsg per run of datagrams to the same socket.
 */
template <typename Context>
class SendQueue {
 public:
  /// At most this many datagrams go out in one sendmmsg (the kernel's limit is UIO_MAXIOV).
  static constexpr std::size_t kBatch = 256;

  [[nodiscard]] bool full() const noexcept { return queue_.size() >= kBatch; }

  /// Copies the datagram gathered from `vectors`; returns its length. Throws std::bad_alloc.
  std::size_t push(int fd, Context* context, const iovec* vectors, int count) {
    std::size_t length = 0;
    for (int i = 0; i < count; ++i) {
      length += vectors[i].iov_len;
    }
    const std::size_t offset = bytes_.size();
    for (int i = 0; i < count; ++i) {
      const auto* bytes = static_cast<const std::uint8_t*>(vectors[i].iov_base);
      bytes_.insert(bytes_.end(), bytes, bytes + vectors[i].iov_len);
    }
    queue_.push_back({fd, context, offset, length});
    return length;
  }

  /// Drops what is queued for `fd`: the socket is being closed (c-ares sends its queries
  /// again on a new socket, and the descriptor's number may be reused before the flush).
  void drop(int fd) noexcept {
    std::erase_if(queue_, [fd](const Queued& queued) { return queued.fd == fd; });
  }

  /**
   * Sends everything queued and empties the queue. A datagram the kernel refuses is lost
   * (its query times out and c-ares tries again): `failed(context, fd, datagram, errno)`
   * hears of it, must not throw, and must not queue more.
   */
  template <typename Failed>
  void flush(Failed&& failed) noexcept {
    std::array<mmsghdr, kBatch> messages{};
    std::array<iovec, kBatch> vectors{};
    std::size_t first = 0;
    while (first < queue_.size()) {
      const int fd = queue_[first].fd;
      std::size_t end = first;
      while (end < queue_.size() && end - first < kBatch && queue_[end].fd == fd) {
        const Queued& queued = queue_[end];
        vectors[end - first] = iovec{bytes_.data() + queued.offset, queued.length};
        messages[end - first] = mmsghdr{};
        messages[end - first].msg_hdr.msg_iov = &vectors[end - first];
        messages[end - first].msg_hdr.msg_iovlen = 1;
        ++end;
      }
      std::size_t done = 0;
      while (first + done < end) {
        const int sent = ::sendmmsg(fd, &messages[done], static_cast<unsigned>(end - first - done),
                                    MSG_NOSIGNAL);
        if (sent > 0) {
          done += static_cast<std::size_t>(sent);
          continue;
        }
        const int error = errno;
        if (sent < 0 && error == EINTR) {
          continue;
        }
        const Queued& lost = queue_[first + done];
        failed(lost.context, fd,
               std::span<const std::uint8_t>(bytes_.data() + lost.offset, lost.length), error);
        ++done;
      }
      first = end;
    }
    queue_.clear();
    bytes_.clear();
  }

 private:
  struct Queued {
    int fd = -1;
    Context* context = nullptr;
    std::size_t offset = 0;  // in bytes_
    std::size_t length = 0;
  };
  std::vector<Queued> queue_;
  std::vector<std::uint8_t> bytes_;
};

}  // namespace fluxwatch::crawler::detail
