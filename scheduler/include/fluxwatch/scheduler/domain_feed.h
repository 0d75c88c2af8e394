#pragma once
/// The domains of a `probe` round as they arrive: one loader thread fills the feed from the
/// watchlist while the round already probes the first ones, so the crawl does not wait for
/// the whole list (100,000 names take a few hundred milliseconds to load).

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <exception>
#include <mutex>
#include <vector>

#include "fluxwatch/common/types.h"

namespace fluxwatch::scheduler {

class DomainFeed {
 public:
  /// A feed that one loader thread fills: expect(), then push() each domain, then finish()
  /// (or fail() at any point).
  DomainFeed() = default;
  /// A feed that is complete from the start.
  explicit DomainFeed(std::vector<WatchedDomain> all);

  DomainFeed(const DomainFeed&) = delete;
  DomainFeed& operator=(const DomainFeed&) = delete;
  DomainFeed(DomainFeed&&) = delete;
  DomainFeed& operator=(DomainFeed&&) = delete;
  ~DomainFeed() = default;

  // --- the loader's side (one thread) ---
  /// How many domains will come; called once, before the first push(). Room for all of
  /// them is taken now: a domain, once there, never moves, so the round reads it without a
  /// lock. @throw fluxwatch::Error when called twice.
  void expect(std::size_t count);
  /// Appends the next domain. @throw fluxwatch::Error past the expected number, or after
  /// finish().
  void push(WatchedDomain domain);
  /// No more domains: total() becomes the number pushed.
  void finish();
  /// Loading failed: wait_for_total() and check() rethrow `error`.
  void fail(std::exception_ptr error);

  // --- the round's side ---
  /// Blocks until the loader has said how many domains come; rethrows its error.
  std::size_t wait_for_total() const;
  /// How many domains there are in all (the expected number until finish(), 0 before
  /// expect()).
  [[nodiscard]] std::size_t total() const noexcept {
    return total_.load(std::memory_order_acquire);
  }
  /// How many have arrived; domains [0, ready()) may be read.
  [[nodiscard]] std::size_t ready() const noexcept {
    return ready_.load(std::memory_order_acquire);
  }
  /// True once every domain has arrived (or loading failed).
  [[nodiscard]] bool complete() const noexcept { return finished_.load(std::memory_order_acquire); }
  /// Precondition: index < ready().
  [[nodiscard]] const WatchedDomain& operator[](std::size_t index) const noexcept {
    return domains_[index];
  }
  /// Rethrows the loader's error, if any.
  void check() const;
  /// Blocks until more than `seen` domains have arrived, the feed is complete, or `timeout`
  /// has passed.
  void wait_beyond(std::size_t seen, std::chrono::milliseconds timeout) const;

 private:
  std::vector<WatchedDomain> domains_;  // sized once by expect(): never reallocated after
  std::atomic<std::size_t> ready_{0};
  std::atomic<std::size_t> total_{0};
  std::atomic<bool> expected_{false};
  std::atomic<bool> finished_{false};
  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  std::exception_ptr error_;  // under mutex_
};

}  // namespace fluxwatch::scheduler
