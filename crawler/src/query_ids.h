#pragma once
/// Internal: the query-id bookkeeping of one c-ares channel: which ids are in flight (each
/// new query draws a random free one) and which finished recently (a reply to one of those
/// is late, not a spoofing attempt).

#include <array>
#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

namespace fluxwatch::crawler::detail {

/// Query ids are 16 bits and must be unique per channel among queries in flight.
constexpr std::size_t kMaxInFlight = 32768;

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

/// The ids of the last `capacity` finished queries (a ring, with a count per id, so that an
/// id finished twice in the window stays known until both leave it).
class RecentIds {
 public:
  explicit RecentIds(std::size_t capacity = 4096) : ids_(capacity), count_(65536) {}

  void remember(std::uint16_t id) noexcept {
    if (size_ == ids_.size()) {
      --count_[ids_[next_]];
    } else {
      ++size_;
    }
    ids_[next_] = id;
    ++count_[id];
    next_ = (next_ + 1) % ids_.size();
  }
  [[nodiscard]] bool contains(std::uint16_t id) const noexcept { return count_[id] > 0; }

 private:
  std::vector<std::uint16_t> ids_;
  std::vector<std::uint16_t> count_;
  std::size_t next_ = 0;
  std::size_t size_ = 0;
};

}  // namespace fluxwatch::crawler::detail
