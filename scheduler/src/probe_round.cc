// One round of `fluxwatch probe`: starts every domain on the engine as the crawler has room,
// and hands finished results to writer threads through a bounded queue.

#include "fluxwatch/scheduler/probe_round.h"

#include <spdlog/spdlog.h>

#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <optional>
#include <thread>

#include "fluxwatch/common/clock.h"
#include "fluxwatch/common/error.h"
#include "fluxwatch/geo/enricher.h"
#include "fluxwatch/scheduler/rate_limit.h"
#include "fluxwatch/storage/database.h"

namespace fluxwatch::scheduler {
namespace {

using std::chrono::milliseconds;

/// A bounded hand-off between the probing thread and the writer threads: the probing
/// thread stops starting domains while it is full, so memory stays bounded. While a writer
/// waits out a database outage it holds up to `outage_capacity` batches instead, so that
/// probing goes on meanwhile.
class BatchQueue {
 public:
  BatchQueue(std::size_t capacity, std::size_t outage_capacity)
      : normal_capacity_(std::max<std::size_t>(capacity, 1)),
        outage_capacity_(std::max(outage_capacity, normal_capacity_)),
        capacity_(normal_capacity_) {}

  /// A writer's outage began (true) or ended (false).
  void writer_away(bool away) {
    std::lock_guard lock(mutex_);
    writers_away_ =
        away ? writers_away_ + 1 : writers_away_ - std::min<std::size_t>(writers_away_, 1);
    capacity_ = writers_away_ > 0 ? outage_capacity_ : normal_capacity_;
    not_full_.notify_all();
  }

  /// False, taking nothing, when full or failed.
  bool try_push(storage::ProbeBatch& batch) {
    std::lock_guard lock(mutex_);
    if (failed_ || queue_.size() >= capacity_) {
      return false;
    }
    queue_.push_back(std::move(batch));
    not_empty_.notify_one();
    return true;
  }

  /// Blocks while full; false if a writer has failed (nothing more is taken).
  bool push(storage::ProbeBatch&& batch) {
    std::unique_lock lock(mutex_);
    not_full_.wait(lock, [&] { return queue_.size() < capacity_ || failed_; });
    if (failed_) {
      return false;
    }
    queue_.push_back(std::move(batch));
    not_empty_.notify_one();
    return true;
  }

  [[nodiscard]] bool full() {
    std::lock_guard lock(mutex_);
    return queue_.size() >= capacity_;
  }
  [[nodiscard]] bool failed() {
    std::lock_guard lock(mutex_);
    return failed_;
  }

  /// Blocks until a batch is there or the queue is closed and drained.
  std::optional<storage::ProbeBatch> pop() {
    std::unique_lock lock(mutex_);
    not_empty_.wait(lock, [&] { return !queue_.empty() || closed_; });
    if (queue_.empty()) {
      return std::nullopt;
    }
    auto batch = std::move(queue_.front());
    queue_.pop_front();
    not_full_.notify_one();
    return batch;
  }

  void close() {
    std::lock_guard lock(mutex_);
    closed_ = true;
    not_empty_.notify_all();
  }

  void fail() {
    std::lock_guard lock(mutex_);
    failed_ = true;
    not_full_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable not_full_;
  std::condition_variable not_empty_;
  std::deque<storage::ProbeBatch> queue_;
  std::size_t normal_capacity_;
  std::size_t outage_capacity_;
  std::size_t capacity_;
  std::size_t writers_away_ = 0;
  bool closed_ = false;
  bool failed_ = false;
};

/// Writer threads over one queue; the first failure (past the outage tolerance) is kept.
class Writers {
 public:
  /// `observer` (if set) sees each batch once it is stored, on that writer's thread.
  Writers(std::span<storage::Database* const> databases, BatchQueue& queue, milliseconds tolerance,
          const BatchObserver& observer) {
    for (storage::Database* db : databases) {
      threads_.emplace_back([this, db, &queue, tolerance, &observer] {
        try {
          while (auto batch = queue.pop()) {
            retry_through_outage(
                "probe: storing results", tolerance, [&] { hand_to_storage(*db, *batch); },
                [&queue](bool away) { queue.writer_away(away); });
            if (observer) {
              observer(batch->results);
            }
          }
        } catch (...) {
          {
            std::lock_guard lock(mutex_);
            if (!error_) {
              error_ = std::current_exception();
            }
          }
          queue.fail();
        }
      });
    }
  }
  ~Writers() { join(); }
  Writers(const Writers&) = delete;
  Writers& operator=(const Writers&) = delete;

  void join() {
    for (auto& thread : threads_) {
      if (thread.joinable()) {
        thread.join();
      }
    }
  }
  void rethrow() {
    std::lock_guard lock(mutex_);
    if (error_) {
      std::rethrow_exception(error_);
    }
  }

 private:
  std::vector<std::thread> threads_;
  std::mutex mutex_;
  std::exception_ptr error_;
};

}  // namespace

RoundSummary run_round(const std::vector<WatchedDomain>& domains, crawler::Crawler& crawler,
                       geo::Enricher& enricher, storage::Database& writer,
                       const RoundOptions& options, const ProgressCallback& progress) {
  storage::Database* const writers[] = {&writer};
  return run_round(domains, crawler, enricher, writers, options, progress);
}

RoundSummary run_round(const std::vector<WatchedDomain>& domains, crawler::Crawler& crawler,
                       geo::Enricher& enricher, std::span<storage::Database* const> writers,
                       const RoundOptions& options, const ProgressCallback& progress) {
  const DomainFeed feed(domains);
  return run_round(feed, crawler, enricher, writers, options, progress);
}

RoundSummary run_round(const DomainFeed& domains, crawler::Crawler& crawler,
                       geo::Enricher& enricher, std::span<storage::Database* const> writers,
                       const RoundOptions& options, const ProgressCallback& progress) {
  if (writers.empty()) {
    throw Error("run_round: no writer");
  }
  RoundSummary summary;
  const auto started = SteadyClock::now();
  if (options.store) {
    retry_through_outage("probe: opening the run", options.outage_tolerance, [&] {
      summary.run_id = writers.front()->begin_run("probe", options.engine.settings_json);
    });
  }
  const crawler::CrawlStats before = crawler.stats();
  Dispatcher dispatcher(crawler, options.engine);
  BatchEnricher batch_enricher(enricher);
  const std::size_t batch_size = std::max<std::size_t>(options.engine.batch_size, 1);
  BatchQueue queue(options.queued_batches, options.outage_batches);
  std::optional<Writers> writer_threads;
  if (options.store) {
    writer_threads.emplace(writers, queue, options.outage_tolerance, options.observer);
  }

  // --qps: one overall bucket; a domain's first queries are taken together (their cost).
  const RealClock clock;
  const bool every = options.engine.mode == EngineMode::EveryResolver;
  const std::size_t cost = dispatcher.initial_queries() * dispatcher.fanout();
  RateLimiter limiter(clock, options.qps, 0, dispatcher.resolvers(), cost);

  storage::ProbeBatch batch{summary.run_id, {}, {}, {}};
  auto hand_over = [&](bool force) {
    if (batch.results.empty() || (!force && batch.results.size() < batch_size)) {
      return;
    }
    batch_enricher.enrich(batch);  // in this thread: the same address once per round
    if (!options.store) {
      if (options.observer) {
        options.observer(batch.results);
      }
      batch = storage::ProbeBatch{summary.run_id, {}, {}, {}};
      return;
    }
    const bool queued = force ? queue.push(std::move(batch)) : queue.try_push(batch);
    if (queued || force) {
      batch = storage::ProbeBatch{summary.run_id, {}, {}, {}};
      batch.results.reserve(batch_size);
    }
  };

  Progress state{0, domains.total() * dispatcher.initial_queries() * dispatcher.fanout(), 0, {}};
  const auto on_result = [&](const ProbeResult& result) {
    ++summary.outcomes[result.outcome];
    summary.records += result.records.size();
    auto& tally = summary.resolvers[result.resolver];
    ++tally.queries;
    if (is_failure(result.outcome)) {
      ++state.errors;
      ++tally.failures;
    }
    ++state.done;
    if (progress) {
      state.total = std::max(state.total, dispatcher.sent());  // authoritative: grows
      state.elapsed = SteadyClock::now() - started;
      progress(state);
    }
  };
  const auto on_finished = [&](FinishedDomain&& done) {
    for (auto& result : done.results) {
      batch.results.push_back(std::move(result));
    }
    hand_over(false);
  };

  std::size_t next = 0;
  auto stop_deadline = SteadyClock::time_point::max();
  try {
    for (;;) {
      domains.check();  // the loader's error, if loading failed
      if (options.stop != nullptr && options.stop->load() && !summary.interrupted) {
        summary.interrupted = next < domains.total() || dispatcher.followups_waiting();
        stop_deadline = SteadyClock::now() + options.stop_grace;
        spdlog::info("probe: stopping: no new queries; {} in flight get {:.1f} s to finish",
                     dispatcher.in_flight(),
                     std::chrono::duration<double>(options.stop_grace).count());
      }
      const bool stopping = stop_deadline != SteadyClock::time_point::max();
      if (queue.failed()) {
        break;
      }
      // Pause while the writers are a full queue behind (e.g. the database is away).
      const bool room = !options.store || !queue.full();
      if (!stopping) {
        const auto now = SteadyClock::now();
        const std::size_t arrived = domains.ready();
        while (room && next < arrived && dispatcher.has_room()) {
          const auto preferred =
              ResolverHealth::spread(next, options.round, dispatcher.resolvers());
          // The limiter's tokens are taken by the resolver chosen (every-resolver mode: by
          // all of them); none left: the rest waits for the bucket to refill.
          const auto resolver = dispatcher.health().choose(preferred, now, [&](std::size_t r) {
            return every ? limiter.try_acquire_every(dispatcher.initial_queries())
                         : limiter.try_acquire(r, cost);
          });
          if (resolver >= dispatcher.resolvers()) {
            break;
          }
          const WatchedDomain& domain = domains[next++];
          dispatcher.start(DomainTask{domain.id, domain.domain, std::nullopt, {}}, resolver);
        }
        dispatcher.send_followups([&](std::size_t r) { return limiter.try_acquire(r, 1); });
      }
      if (stopping ? !dispatcher.busy()
                   : next == domains.total() && domains.complete() && dispatcher.active() == 0) {
        break;
      }
      // Still loading and nothing in flight: wait for the loader, not the crawler.
      if (!stopping && next == domains.ready() && !domains.complete() &&
          dispatcher.in_flight() == 0) {
        domains.wait_beyond(next, milliseconds(50));
        continue;
      }
      if (stopping && SteadyClock::now() >= stop_deadline) {
        break;
      }
      // Waiting for the rate limit: poll no longer than until its next token.
      // Waiting for more domains from the loader: look again soon.
      auto wait = milliseconds(!domains.complete() ? 2 : room ? 100 : 20);
      if (options.qps > 0 && !stopping &&
          (next < domains.total() || dispatcher.followups_waiting())) {
        const auto until =
            std::chrono::ceil<milliseconds>(limiter.available_at(0, cost) - clock.now());
        wait = std::clamp(until, milliseconds(1), wait);
      }
      dispatcher.poll(wait, on_finished, on_result);
      if (!room || batch.results.size() >= batch_size) {
        hand_over(false);
      }
    }
  } catch (...) {
    queue.close();
    throw;
  }
  const auto last_answer = SteadyClock::now();
  summary.abandoned = dispatcher.in_flight();
  for (auto& partial : dispatcher.take_unfinished()) {
    on_finished(std::move(partial));
  }
  if (summary.abandoned > 0) {
    spdlog::warn("probe: {} queries still in flight at the end of the stop grace; not stored",
                 summary.abandoned);
  }
  if (!queue.failed()) {
    hand_over(true);
  }
  queue.close();
  if (writer_threads) {
    writer_threads->join();
    writer_threads->rethrow();
  }

  // The tail a user waits for after the last answer: the writers' queue drains.
  spdlog::debug("probe: last answer after {:.3f} s, last batch stored {:.3f} s later",
                std::chrono::duration<double>(last_answer - started).count(),
                std::chrono::duration<double>(SteadyClock::now() - last_answer).count());
  const crawler::CrawlStats after = crawler.stats();
  summary.queries = state.done;
  summary.errors = state.errors;
  summary.tcp_retries = after.tcp_retries - before.tcp_retries;
  summary.mismatched = after.mismatched - before.mismatched;
  summary.edns_fallbacks = after.edns_fallbacks - before.edns_fallbacks;
  summary.enrichment_rows = batch_enricher.queued();
  if (options.store) {
    retry_through_outage("probe: closing the run", options.outage_tolerance, [&] {
      writers.front()->finish_run(summary.run_id,
                                  storage::RunTotals{static_cast<std::int64_t>(summary.queries),
                                                     static_cast<std::int64_t>(summary.records),
                                                     static_cast<std::int64_t>(summary.errors)});
    });
  }
  summary.elapsed = SteadyClock::now() - started;
  return summary;
}

}  // namespace fluxwatch::scheduler
