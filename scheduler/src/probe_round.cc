#include "fluxwatch/scheduler/probe_round.h"

#include <spdlog/spdlog.h>

#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "fluxwatch/common/error.h"
#include "fluxwatch/crawler/delegation.h"
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

std::vector<crawler::Query> plan_round(const std::vector<WatchedDomain>& domains,
                                       const std::vector<RrType>& types, std::size_t resolvers) {
  std::vector<crawler::Query> queries;
  queries.reserve(domains.size() * types.size() * resolvers);
  for (const auto& domain : domains) {
    for (auto type : types) {
      for (std::size_t server = 0; server < resolvers; ++server) {
        queries.push_back({domain.id, domain.domain, type, server});
      }
    }
  }
  return queries;
}

namespace {

/// Authoritative mode: drives one AuthoritativePlan per domain over the crawler's
/// submit/poll interface; `take` gets every result. Domains are started while the
/// crawler has room and no follow-up query waits, so memory stays bounded.
crawler::CrawlStats run_authoritative(const std::vector<WatchedDomain>& domains,
                                      crawler::Crawler& crawler, const RoundOptions& options,
                                      std::size_t& queries,
                                      const std::function<void(ProbeResult&&)>& take) {
  const crawler::AuthoritativeOptions plan_options{options.record_types, options.authoritative_port,
                                                   options.authoritative_max_servers};
  std::unordered_map<std::int64_t, crawler::AuthoritativePlan> plans;
  std::deque<crawler::PlannedQuery> waiting;
  std::size_t next_domain = 0;
  const crawler::CrawlStats before = crawler.stats();
  const crawler::Crawler::ResultSink sink = [&](ProbeResult&& result) {
    const auto found = plans.find(result.domain_id);
    if (found != plans.end()) {
      for (auto& next : found->second.on_result(result)) {
        waiting.push_back(std::move(next));
      }
      if (found->second.done()) {
        plans.erase(found);
      }
    }
    take(std::move(result));
  };
  for (;;) {
    while (crawler.capacity_left() > 0) {
      if (waiting.empty()) {
        if (next_domain == domains.size()) {
          break;
        }
        const WatchedDomain& domain = domains[next_domain++];
        auto [plan, added] = plans.try_emplace(
            domain.id, crawler::AuthoritativePlan(domain.id, domain.domain, plan_options));
        if (!added) {
          continue;  // the same domain twice in the list
        }
        for (auto& first : plan->second.start()) {
          waiting.push_back(std::move(first));
        }
        continue;
      }
      crawler::PlannedQuery planned = std::move(waiting.front());
      waiting.pop_front();
      if (planned.server) {
        try {
          planned.query.server = crawler.server_index(*planned.server);
        } catch (const std::exception& error) {  // c-ares refused the address
          ProbeResult failed;
          failed.domain_id = planned.query.domain_id;
          failed.name = planned.query.name;
          failed.qtype = planned.query.type;
          failed.resolver = planned.server->to_string();
          failed.mode = planned.query.mode;
          failed.server_name = planned.query.server_name;
          failed.sent_at = std::chrono::system_clock::now();
          failed.outcome = Outcome::NetError;
          failed.detail = error.what();
          ++queries;
          sink(std::move(failed));
          continue;
        }
      }
      crawler.submit(planned.query);
      ++queries;
    }
    if (crawler.in_flight() == 0 && waiting.empty() && next_domain == domains.size()) {
      break;
    }
    crawler.poll(std::chrono::milliseconds(100), sink);
  }
  // This round's share of what the crawler has counted.
  const crawler::CrawlStats after = crawler.stats();
  return crawler::CrawlStats{.queries = after.queries - before.queries,
                             .answered = after.answered - before.answered,
                             .timeouts = after.timeouts - before.timeouts,
                             .tcp_retries = after.tcp_retries - before.tcp_retries,
                             .failures = after.failures - before.failures,
                             .mismatched = after.mismatched - before.mismatched,
                             .edns_fallbacks = after.edns_fallbacks - before.edns_fallbacks};
}

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
  if (writers.empty()) {
    throw Error("run_round: no writer");
  }
  storage::Database& writer = *writers.front();
  RoundSummary summary;
  const auto started = std::chrono::steady_clock::now();
  if (options.store) {
    summary.run_id = writer.begin_run("probe", options.settings_json);
  }
  const std::size_t resolvers = crawler.servers().size();
  const auto queries = options.authoritative ? std::vector<crawler::Query>{}
                       : options.every_resolver
                           ? plan_round(domains, options.record_types, resolvers)
                           : plan_round(domains, options.record_types);
  std::size_t sent = queries.size();
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
    const std::function<void(ProbeResult &&)> take = [&](ProbeResult&& result) {
      result.vantage = options.vantage;
      ++summary.outcomes[result.outcome];
      summary.records += result.records.size();
      if (is_failure(result.outcome)) {
        ++state.errors;
      }
      if (enrich) {
        for (const auto& record : result.records) {
          if (is_address(record) && enriched.insert(record.data).second) {
            const GeoRecord& geo = enricher.lookup(record.data);
            if (enricher.last_lookup_failed()) {
              enriched.erase(record.data);  // corrupt data: not "unknown"; try again later
            } else {
              batch.enrichment.push_back({record.data, geo});
            }
          }
        }
      }
      batch.results.push_back(std::move(result));
      if (batch.results.size() >= options.batch_size && writer_alive) {
        flush();
      }
      ++state.done;
      if (progress) {
        state.total = std::max(state.total, sent);  // authoritative mode: grows as it goes
        state.elapsed = std::chrono::steady_clock::now() - started;
        progress(state);
      }
    };
    if (options.authoritative) {
      stats = run_authoritative(domains, crawler, options, sent, take);
    } else {
      stats = crawler.run(queries, take);
    }
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

  summary.queries = sent;
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
