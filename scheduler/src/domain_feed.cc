#include "fluxwatch/scheduler/domain_feed.h"

#include <fmt/format.h>

#include <utility>

#include "fluxwatch/common/error.h"

namespace fluxwatch::scheduler {

DomainFeed::DomainFeed(std::vector<WatchedDomain> all) : domains_(std::move(all)) {
  ready_.store(domains_.size(), std::memory_order_release);
  total_.store(domains_.size(), std::memory_order_release);
  expected_.store(true, std::memory_order_release);
  finished_.store(true, std::memory_order_release);
}

void DomainFeed::expect(std::size_t count) {
  if (expected_.load(std::memory_order_relaxed)) {
    throw Error("DomainFeed: the number of domains was already given");
  }
  domains_.resize(count);
  const std::lock_guard lock(mutex_);
  total_.store(count, std::memory_order_release);
  expected_.store(true, std::memory_order_release);
  changed_.notify_all();
}

void DomainFeed::push(WatchedDomain domain) {
  const std::size_t index = ready_.load(std::memory_order_relaxed);
  if (finished_.load(std::memory_order_relaxed) || index >= domains_.size()) {
    throw Error(
        fmt::format("the watchlist changed while it was loaded (more than the {} domains counted)",
                    domains_.size()));
  }
  domains_[index] = std::move(domain);
  // Published after it is written: the round reads [0, ready()) without a lock.
  ready_.store(index + 1, std::memory_order_release);
  if ((index + 1) % 1024 == 0 || index + 1 == domains_.size()) {
    const std::lock_guard lock(mutex_);
    changed_.notify_all();
  }
}

void DomainFeed::finish() {
  const std::lock_guard lock(mutex_);
  total_.store(ready_.load(std::memory_order_relaxed), std::memory_order_release);
  expected_.store(true, std::memory_order_release);
  finished_.store(true, std::memory_order_release);
  changed_.notify_all();
}

void DomainFeed::fail(std::exception_ptr error) {
  const std::lock_guard lock(mutex_);
  error_ = std::move(error);
  total_.store(ready_.load(std::memory_order_relaxed), std::memory_order_release);
  expected_.store(true, std::memory_order_release);
  finished_.store(true, std::memory_order_release);
  changed_.notify_all();
}

std::size_t DomainFeed::wait_for_total() const {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return expected_.load(std::memory_order_acquire); });
  if (error_) {
    std::rethrow_exception(error_);
  }
  return total();
}

void DomainFeed::check() const {
  if (!complete()) {
    return;
  }
  const std::lock_guard lock(mutex_);
  if (error_) {
    std::rethrow_exception(error_);
  }
}

void DomainFeed::wait_beyond(std::size_t seen, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mutex_);
  changed_.wait_for(lock, timeout, [&] { return ready() > seen || complete(); });
}

}  // namespace fluxwatch::scheduler
