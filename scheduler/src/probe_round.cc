#include "fluxwatch/scheduler/probe_round.h"

#include <spdlog/spdlog.h>

#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_set>

#include "fluxwatch/common/error.h"
#include "fluxwatch/geo/enricher.h"
#include "fluxwatch/storage/database.h"

namespace fluxwatch::scheduler {
namespace {

/// A bounded hand-off between the probing thread and the writer thread: pushing blocks
/// when the writer is `capacity` batches behind, so memory stays bounded.
class BatchQueue {
 public:
  explicit BatchQueue(std::size_t capacity) : capacity_(capacity) {}

  /// Blocks while full; returns false if the writer has failed (nothing more is taken).
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
  std::size_t capacity_;
  bool closed_ = false;
  bool failed_ = false;
};

bool is_address(const ResourceRecord& record) {
  return record.type == static_cast<std::uint16_t>(RrType::A) ||
         record.type == static_cast<std::uint16_t>(RrType::AAAA);
}

}  // namespace

bool is_failure(Outcome outcome) noexcept {
  switch (outcome) {
    case Outcome::Timeout:
    case Outcome::ConnRefused:
    case Outcome::Malformed:
    case Outcome::NetError:
      return true;
    default:
      return false;
  }
}

std::vector<crawler::Query> plan_round(const std::vector<WatchedDomain>& domains,
                                       const std::vector<RrType>& types) {
  std::vector<crawler::Query> queries;
  queries.reserve(domains.size() * types.size());
  for (const auto& domain : domains) {
    for (auto type : types) {
      queries.push_back({domain.id, domain.domain, type});
    }
  }
  return queries;
}

RoundSummary run_round(const std::vector<WatchedDomain>& domains, crawler::Crawler& crawler,
                       geo::Enricher& enricher, storage::Database& writer,
                       const RoundOptions& options, const ProgressCallback& progress) {
  storage::Database* const writers[] = {&writer};
  return run_round(domains, crawler, enricher, writers, options, progress);
}

RoundSummary run_round(const std::vector<WatchedDomain>& domains, crawler::Crawler& crawler,
                       geo::Enricher& enricher, std::span<storage::Database* const> writers,
                       const RoundOptions& options, const ProgressCallback& progress) {
  if (writers.empty()) {
    throw Error("run_round: no writer");
  }
  storage::Database& writer = *writers.front();
  RoundSummary summary;
  const auto started = std::chrono::steady_clock::now();
  if (options.store) {
    summary.run_id = writer.begin_run("probe", options.settings_json);
  }
  const auto queries = plan_round(domains, options.record_types);
  const std::string geo_build = enricher.build_tag();
  const bool enrich = geo_build != "none";

  BatchQueue queue(options.queued_batches);
  std::mutex error_mutex;
  std::exception_ptr writer_error;  // the first writer's failure
  std::vector<std::thread> writer_threads;
  const auto join_writers = [&] {
    for (auto& thread : writer_threads) {
      thread.join();
    }
  };
  for (std::size_t i = 0; options.store && i < writers.size(); ++i) {
    writer_threads.emplace_back([&, db = writers[i]] {
      try {
        while (auto batch = queue.pop()) {
          db->store(*batch);
        }
      } catch (...) {
        {
          std::lock_guard lock(error_mutex);
          if (!writer_error) {
            writer_error = std::current_exception();
          }
        }
        queue.fail();
      }
    });
  }

  // Addresses whose enrichment this round has already queued for this GeoIP build; the
  // database ignores rows it already has, this only saves sending them again.
  std::unordered_set<std::string> enriched;
  storage::ProbeBatch batch{summary.run_id, {}, {}, geo_build};
  bool writer_alive = true;
  Progress state{0, queries.size(), 0, {}};

  auto flush = [&] {
    if (batch.results.empty() && batch.enrichment.empty()) {
      return;
    }
    if (options.store) {
      writer_alive = writer_alive && queue.push(std::move(batch));
    }
    batch = storage::ProbeBatch{summary.run_id, {}, {}, geo_build};
    batch.results.reserve(options.batch_size);
  };

  crawler::CrawlStats stats;
  try {
    stats = crawler.run(queries, [&](ProbeResult&& result) {
      ++summary.outcomes[result.outcome];
      summary.records += result.records.size();
      if (is_failure(result.outcome)) {
        ++state.errors;
      }
      if (enrich) {
        for (const auto& record : result.records) {
          if (is_address(record) && enriched.insert(record.data).second) {
            batch.enrichment.push_back({record.data, enricher.lookup(record.data)});
          }
        }
      }
      batch.results.push_back(std::move(result));
      if (batch.results.size() >= options.batch_size && writer_alive) {
        flush();
      }
      ++state.done;
      if (progress) {
        state.elapsed = std::chrono::steady_clock::now() - started;
        progress(state);
      }
    });
  } catch (...) {
    queue.close();
    join_writers();
    throw;
  }
  flush();
  queue.close();
  join_writers();
  if (writer_error) {
    std::rethrow_exception(writer_error);
  }

  summary.queries = queries.size();
  summary.errors = state.errors;
  summary.tcp_retries = stats.tcp_retries;
  summary.mismatched = stats.mismatched;
  summary.edns_fallbacks = stats.edns_fallbacks;
  summary.enrichment_rows = enriched.size();
  if (options.store) {
    writer.finish_run(summary.run_id,
                      storage::RunTotals{static_cast<std::int64_t>(summary.queries),
                                         static_cast<std::int64_t>(summary.records),
                                         static_cast<std::int64_t>(summary.errors)});
  }
  summary.elapsed = std::chrono::steady_clock::now() - started;
  return summary;
}

}  // namespace fluxwatch::scheduler
