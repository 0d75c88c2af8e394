// Worker: the continuous scheduler of one campaign. Two threads:
// - the probe thread (run()'s caller) owns the crawler (through the engine's Dispatcher)
//   and the rate limiter; it keeps the leased domains in a heap by due time, starts each
//   one when it is due and tokens allow, and turns finished domains into results plus a
//   schedule update;
// - the writer thread owns the database connections; it leases due domains, renews the
//   leases, enriches and commits results with their schedule updates (one transaction),
//   and retries with backoff while the database is away.
// Per-domain state in memory exists only for leased domains (a few thousand at most): the
// schedule itself lives in PostgreSQL.

#include "fluxwatch/scheduler/worker.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <random>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "fluxwatch/common/clock.h"
#include "fluxwatch/common/error.h"
#include "fluxwatch/common/logging.h"
#include "fluxwatch/scheduler/rate_limit.h"
#include "fluxwatch/storage/session.h"

namespace fluxwatch::scheduler {
namespace {

using std::chrono::milliseconds;
using SystemClock = std::chrono::system_clock;

constexpr milliseconds kMaxLoopWait{20};
constexpr milliseconds kIdleLeaseRetry{200};
constexpr milliseconds kMaxBackoff{10000};
/// Dropped domains named in the log when a lease was taken over.
constexpr std::size_t kDroppedNamed = 5;

struct DueLater {
  bool operator()(const storage::LeasedDomain& a, const storage::LeasedDomain& b) const {
    return a.due > b.due;
  }
};

/// splitmix64: a domain's place in the resolver spread, independent of the id's order.
std::uint64_t mix(std::uint64_t value) noexcept {
  value += 0x9e3779b97f4a7c15ULL;
  value = (value ^ (value >> 30U)) * 0xbf58476d1ce4e5b9ULL;
  value = (value ^ (value >> 27U)) * 0x94d049bb133111ebULL;
  return value ^ (value >> 31U);
}

std::uint64_t micros(SystemClock::time_point at) {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(at.time_since_epoch()).count());
}

}  // namespace

std::string make_worker_id() {
  std::array<char, 256> host{};
  if (gethostname(host.data(), host.size() - 1) != 0) {
    host[0] = '\0';
  }
  std::random_device random;
  return fmt::format("{}:{}:{:08x}", host.data(), getpid(), random());
}

struct Worker::Impl {
  Impl(WorkerOptions options, WorkerParts parts) : options_(std::move(options)), parts_(parts) {
    if (options_.worker_id.empty()) {
      options_.worker_id = make_worker_id();
    }
    if (options_.engine.record_types.empty()) {
      throw ConfigError(fmt::format("campaign {}: no record types", options_.campaign));
    }
  }

  WorkerStats run(const std::atomic<bool>& stop);
  [[nodiscard]] WorkerStats snapshot() const;
  void writer_loop(const std::atomic<bool>& stop);
  void lease_more(SystemClock::time_point now);
  void complete(FinishedDomain&& finished, const storage::LeasedDomain& leased);
  void explain_dropped(const storage::ProbeBatch& batch, const storage::ScheduleCommit& commit);
  [[nodiscard]] std::size_t lease_target() const;
  [[nodiscard]] bool in_window(SystemClock::time_point now) const {
    return (!options_.start || now >= *options_.start) && (!options_.end || now < *options_.end);
  }

  WorkerOptions options_;
  WorkerParts parts_;

  // Owned by the writer thread once run() started it.
  std::int64_t run_id_ = 0;
  SystemClock::time_point run_started_;
  /// Domains this worker has leased and not yet committed: never leased (so probed) twice
  /// by it, even when their lease ran out during a database outage.
  std::unordered_set<std::int64_t> uncommitted_;

  // Shared between the threads, under mutex_.
  std::mutex mutex_;
  std::condition_variable wake_writer_;
  std::vector<storage::LeasedDomain> incoming_;
  std::vector<ProbeResult> out_results_;
  std::vector<storage::ScheduleUpdate> out_updates_;
  bool probing_done_ = false;
  bool lease_exhausted_ = false;
  SteadyClock::time_point shutdown_deadline_ = SteadyClock::time_point::max();
  std::optional<ReloadableSettings> reload_probe_;
  std::optional<geo::GeoOptions> reload_geo_;
  std::exception_ptr writer_failure_;  ///< what ended writer_loop(), if not the end of run

  std::atomic<std::size_t> held_{0};      // leased, not yet handed to the writer
  std::atomic<std::size_t> buffered_{0};  // results not yet committed
  std::atomic<std::size_t> sent_{0};
  std::atomic<std::size_t> stored_{0};
  std::atomic<std::size_t> records_{0};
  std::atomic<std::size_t> dropped_{0};
  std::atomic<std::size_t> domains_{0};
  std::atomic<std::size_t> errors_{0};
  std::atomic<std::size_t> unwritten_{0};
  std::atomic<std::size_t> db_errors_{0};
  std::atomic<std::size_t> db_reconnects_{0};
  std::atomic<std::size_t> tcp_retries_{0};  // copies of the crawler's CrawlStats
  std::atomic<std::size_t> mismatched_{0};
  std::atomic<std::size_t> edns_fallbacks_{0};
};

std::size_t Worker::Impl::lease_target() const {
  std::size_t target = std::max<std::size_t>(options_.lease_batch, 1);
  if (options_.qps > 0) {
    // No more than about (lookahead + 1 s) of work at the campaign's rate: the rest is
    // left to other workers instead of waiting here for tokens under a lease.
    const double seconds = std::chrono::duration<double>(options_.lookahead).count() + 1.0;
    const double domains =
        options_.qps * seconds / static_cast<double>(options_.engine.record_types.size());
    target = std::min(target, std::max<std::size_t>(1, static_cast<std::size_t>(domains)));
  }
  return target;
}

void Worker::Impl::lease_more(SystemClock::time_point now) {
  const std::size_t target = lease_target();
  const std::size_t held = held_.load();
  if (held * 2 > target) {
    return;
  }
  const auto due_before = options_.once ? run_started_ : now + options_.lookahead;
  auto leased = parts_.schedule.lease_due(options_.campaign, options_.worker_id, due_before,
                                          target - held, options_.lease);
  const bool exhausted = leased.size() < target - held;
  // A domain whose lease ran out while its result waited for the database comes back
  // here: it is already being probed or written, so it is not probed again.
  std::erase_if(leased, [&](const storage::LeasedDomain& domain) {
    return !uncommitted_.insert(domain.domain_id).second;
  });
  held_ += leased.size();
  std::lock_guard lock(mutex_);
  for (auto& domain : leased) {
    incoming_.push_back(std::move(domain));
  }
  if (exhausted && options_.once) {
    lease_exhausted_ = true;
  }
}

void Worker::Impl::explain_dropped(const storage::ProbeBatch& batch,
                                   const storage::ScheduleCommit& commit) {
  std::unordered_map<std::int64_t, SystemClock::time_point> mine;
  std::vector<std::int64_t> ids;
  for (const auto& update : commit.updates) {
    mine.emplace(update.domain_id, update.last_sent);
    ids.push_back(update.domain_id);
  }
  std::vector<std::string> named;
  std::size_t dropped_records = 0;
  std::unordered_set<std::int64_t> lost;
  for (const auto& holder : parts_.schedule.lease_holders(options_.campaign, ids)) {
    // Ours went in if the row now carries our probe's send time.
    const auto ours = mine.find(holder.domain_id);
    if (ours != mine.end() && holder.last_sent &&
        micros(*holder.last_sent) == micros(ours->second)) {
      continue;
    }
    lost.insert(holder.domain_id);
    if (named.size() < kDroppedNamed) {
      named.push_back(holder.owner
                          ? fmt::format("{} (leased by {})", holder.domain, *holder.owner)
                          : fmt::format("{} (already probed by another worker)", holder.domain));
    }
  }
  for (const auto& result : batch.results) {
    if (lost.contains(result.domain_id)) {
      dropped_records += result.records.size();
    }
  }
  records_ -= std::min(records_.load(), dropped_records);
  logger()->warn(
      "campaign {}: {} domain(s) not stored: their lease ran out and another worker took them "
      "over: {}{}",
      options_.campaign, lost.size(), fmt::join(named, ", "),
      lost.size() > named.size() ? ", ..." : "");
}

void Worker::Impl::writer_loop(const std::atomic<bool>& stop) {
  struct Pending {
    storage::ProbeBatch batch;
    storage::ScheduleCommit commit;
  };
  BatchEnricher enricher(parts_.enricher);
  std::optional<Pending> pending;
  auto backoff = milliseconds(200);
  auto next_db_try = SteadyClock::now();
  auto last_flush = SteadyClock::now();
  auto next_lease = SteadyClock::now();
  auto next_renew = SteadyClock::now() + options_.lease / 3;
  auto next_resync = SteadyClock::now() + options_.resync_interval;
  bool db_ok = true;
  bool window_logged = false;

  // Only an unreachable database is waited out (storage::Unavailable). Any other error (an
  // SQL error such as a constraint violation, a bug) would fail the same way again: it ends
  // this loop, and run() fails the campaign with its message.
  auto db_failed = [&](const std::exception& error, SteadyClock::time_point now) {
    if (db_ok) {
      logger()->warn(
          "campaign {}: database unavailable ({}): the {} domain(s) already leased are still "
          "probed and their results kept (up to {}); no new domains can be leased until it is "
          "back",
          options_.campaign, error.what(), held_.load(), options_.buffer_limit);
    }
    db_ok = false;
    ++db_errors_;
    next_db_try = now + backoff;
    backoff = std::min(backoff * 2, kMaxBackoff);
  };
  auto db_back = [&] {
    if (!db_ok) {
      logger()->info("campaign {}: database back; writing the buffer", options_.campaign);
      ++db_reconnects_;
    }
    db_ok = true;
    backoff = milliseconds(200);
  };

  for (;;) {
    bool done = false;
    std::optional<geo::GeoOptions> new_geo;
    {
      std::unique_lock lock(mutex_);
      wake_writer_.wait_for(lock, kMaxLoopWait * 2, [&] {
        return probing_done_ || out_results_.size() >= options_.engine.batch_size;
      });
      done = probing_done_;
      new_geo.swap(reload_geo_);
    }
    if (new_geo) {
      try {
        parts_.enricher = geo::Enricher(*new_geo);
        logger()->info("campaign {}: reloaded GeoIP databases ({})", options_.campaign,
                       geo::build_label(parts_.enricher.build_tag()));
      } catch (const std::exception& error) {
        logger()->error("campaign {}: GeoIP reload failed, keeping the old databases: {}",
                        options_.campaign, error.what());
      }
    }
    auto now = SteadyClock::now();

    if (!pending) {
      std::unique_lock lock(mutex_);
      const bool due = out_results_.size() >= options_.engine.batch_size ||
                       now - last_flush >= options_.flush_interval || done;
      if (due && (!out_results_.empty() || !out_updates_.empty())) {
        pending.emplace();
        pending->batch.run_id = run_id_;
        pending->batch.results.swap(out_results_);
        pending->commit.campaign = options_.campaign;
        pending->commit.worker = options_.worker_id;
        pending->commit.updates.swap(out_updates_);
        lock.unlock();
        enricher.enrich(pending->batch);
      }
    }
    // Renew first (also after an outage: leases that ran out and were not taken by others
    // are ours again), then commit.
    if ((db_ok && now >= next_renew) || (!db_ok && now >= next_db_try)) {
      try {
        parts_.schedule.renew(options_.campaign, options_.worker_id, options_.lease);
        next_renew = now + options_.lease / 3;
        db_back();
      } catch (const storage::Unavailable& error) {
        db_failed(error, now);
      }
    }
    if (pending && db_ok) {
      try {
        const std::size_t total = pending->batch.results.size();
        const std::size_t written =
            hand_to_storage(parts_.database, pending->batch, &pending->commit);
        if (options_.observer) {
          options_.observer(pending->batch.results);
        }
        stored_ += written;
        records_ += count_records(pending->batch.results);
        dropped_ += total - written;
        for (const auto& update : pending->commit.updates) {
          uncommitted_.erase(update.domain_id);
        }
        if (written < total) {
          try {
            explain_dropped(pending->batch, pending->commit);
          } catch (const std::exception& error) {
            logger()->warn(
                "campaign {}: {} result(s) not stored: another worker took their "
                "domains over ({})",
                options_.campaign, total - written, error.what());
          }
        }
        buffered_ -= total;
        pending.reset();
        last_flush = SteadyClock::now();
      } catch (const storage::Unavailable& error) {
        db_failed(error, SteadyClock::now());
      }
      now = SteadyClock::now();
    }

    if (done) {
      std::unique_lock lock(mutex_);
      if (!pending && out_results_.empty() && out_updates_.empty()) {
        break;
      }
      if (now >= shutdown_deadline_) {
        const std::size_t lost = buffered_.load();
        unwritten_ = lost;
        logger()->error(
            "campaign {}: shutting down with {} result(s) unwritten: the database stayed "
            "unreachable",
            options_.campaign, lost);
        break;
      }
      continue;
    }

    const auto wall = SystemClock::now();
    if (!in_window(wall)) {
      if (!window_logged) {
        logger()->info("campaign {}: outside its start/end window; nothing is leased",
                       options_.campaign);
        window_logged = true;
      }
      if (options_.once) {
        std::lock_guard lock(mutex_);
        lease_exhausted_ = true;
      }
      continue;
    }
    if (!stop.load() && db_ok && !pending && now >= next_lease) {
      try {
        const std::size_t before = held_.load();
        lease_more(wall);
        next_lease = held_.load() == before ? now + kIdleLeaseRetry : now;
      } catch (const storage::Unavailable& error) {
        db_failed(error, now);
        next_lease = next_db_try;
      }
    }
    if (db_ok && !options_.once && now >= next_resync) {
      try {
        parts_.schedule.sync_campaign(options_.campaign, options_.selection, options_.start);
      } catch (const storage::Unavailable& error) {
        db_failed(error, now);
      }
      next_resync = now + options_.resync_interval;
    }
  }

  try {
    const auto released = parts_.schedule.release(options_.campaign, options_.worker_id);
    if (released > 0) {
      logger()->debug("campaign {}: released {} lease(s)", options_.campaign, released);
    }
  } catch (const std::exception& error) {
    logger()->warn("campaign {}: could not release leases (they expire by themselves): {}",
                   options_.campaign, error.what());
  }
  try {
    // The same totals as `probe`: probes stored, their records, the failed ones.
    parts_.database.finish_run(run_id_,
                               storage::RunTotals{static_cast<std::int64_t>(stored_.load()),
                                                  static_cast<std::int64_t>(records_.load()),
                                                  static_cast<std::int64_t>(errors_.load())});
  } catch (const std::exception& error) {
    logger()->warn("campaign {}: could not record the run's totals: {}", options_.campaign,
                   error.what());
  }
}

void Worker::Impl::complete(FinishedDomain&& finished, const storage::LeasedDomain& leased) {
  auto& results = finished.results;
  const AnswerSummary answers = summarize_answers(results);
  static thread_local std::mt19937_64 random{std::random_device{}()};
  const double draw = std::uniform_real_distribution<double>(0.0, 1.0)(random);
  const NextSchedule next = next_schedule(
      options_.intervals, DomainHistory{leased.stable_runs, leased.answer_hash}, answers, draw);
  auto first_sent = SystemClock::time_point::max();
  for (const auto& result : results) {
    first_sent = std::min(first_sent, result.sent_at);
    if (is_failure(result.outcome)) {
      ++errors_;
    }
  }
  storage::ScheduleUpdate update;
  update.domain_id = leased.domain_id;
  update.next_due = first_sent + next.delay;
  update.interval_ms = static_cast<std::uint32_t>(next.interval.count());
  update.stable_runs = next.history.stable_runs;
  update.answer_hash = next.history.answer_hash;
  update.last_sent = first_sent;
  const std::size_t count = results.size();
  {
    std::lock_guard lock(mutex_);
    for (auto& result : results) {
      out_results_.push_back(std::move(result));
    }
    out_updates_.push_back(update);
    if (out_results_.size() >= options_.engine.batch_size) {
      wake_writer_.notify_one();
    }
  }
  buffered_ += count;
  --held_;
  ++domains_;
}

WorkerStats Worker::Impl::run(const std::atomic<bool>& stop) {
  for (const auto& warning : parts_.enricher.warnings()) {
    logger()->warn("{}", warning);
  }
  const auto domains =
      parts_.schedule.sync_campaign(options_.campaign, options_.selection, options_.start);
  // After the sync, so that --once covers the domains it has just added (due "now").
  run_started_ = SystemClock::now();
  run_id_ =
      parts_.database.begin_run(options_.once ? "run-once" : "run", options_.engine.settings_json);
  Dispatcher dispatcher(parts_.crawler, options_.engine);
  const std::size_t resolvers = dispatcher.resolvers();
  // Tokens a due domain takes at the start, per resolver asked: in authoritative mode only
  // the NS lookup; the follow-ups take one each as they are sent.
  const std::size_t per_domain = dispatcher.initial_queries();
  const bool every = options_.engine.mode == EngineMode::EveryResolver;
  RealClock clock;
  auto limiter = std::make_unique<RateLimiter>(clock, options_.qps, options_.qps_per_resolver,
                                               resolvers, per_domain * dispatcher.fanout());
  logger()->info("campaign {}: worker {} ({} domains in the campaign, {} due now; run {})",
                 options_.campaign, options_.worker_id, domains,
                 parts_.schedule.due_count(options_.campaign), run_id_);

  std::thread writer([&] {
    try {
      writer_loop(stop);
    } catch (...) {
      std::lock_guard lock(mutex_);
      writer_failure_ = std::current_exception();
    }
  });
  const auto rethrow_writer_failure = [&] {
    std::lock_guard lock(mutex_);
    if (writer_failure_) {
      std::rethrow_exception(writer_failure_);
    }
  };

  std::vector<storage::LeasedDomain> heap;
  std::unordered_map<std::int64_t, storage::LeasedDomain> active;
  bool stopping = false;
  auto stop_deadline = SteadyClock::time_point::max();
  const Dispatcher::FinishedSink finished = [&](FinishedDomain&& done) {
    const auto found = active.find(done.task.domain_id);
    if (found != active.end()) {
      complete(std::move(done), found->second);
      active.erase(found);
    }
  };

  const auto finish_probing = [&] {
    {
      std::lock_guard lock(mutex_);
      probing_done_ = true;
      shutdown_deadline_ = SteadyClock::now() + options_.shutdown_grace;
    }
    wake_writer_.notify_one();
    writer.join();
  };
  try {
    for (;;) {
      if (stop.load() && !stopping) {
        stopping = true;
        stop_deadline = SteadyClock::now() + options_.shutdown_grace;
        logger()->info("campaign {}: stopping: {} queries in flight, {} results to write",
                       options_.campaign, dispatcher.in_flight(), buffered_.load());
      }
      rethrow_writer_failure();
      std::optional<ReloadableSettings> reload;
      bool exhausted = false;
      {
        std::lock_guard lock(mutex_);
        reload.swap(reload_probe_);
        for (auto& domain : incoming_) {
          heap.push_back(std::move(domain));
          std::push_heap(heap.begin(), heap.end(), DueLater{});
        }
        incoming_.clear();
        exhausted = lease_exhausted_;
      }
      if (reload) {
        options_.intervals = reload->intervals;
        dispatcher.set_vantage(reload->vantage);
        options_.qps = reload->qps;
        options_.qps_per_resolver = reload->qps_per_resolver;
        limiter = std::make_unique<RateLimiter>(clock, options_.qps, options_.qps_per_resolver,
                                                resolvers, per_domain * dispatcher.fanout());
        logger()->info("campaign {}: reloaded settings", options_.campaign);
      }

      auto wait = kMaxLoopWait;
      const bool paused = buffered_.load() >= options_.buffer_limit;
      if (!stopping && !paused) {
        const auto now = SystemClock::now();
        // Authoritative mode: the queries that answers led to, before new domains.
        dispatcher.send_followups([&](std::size_t charged) {
          if (limiter->try_acquire(charged, 1)) {
            return true;
          }
          wait = std::min(wait, std::chrono::ceil<milliseconds>(limiter->available_at(charged, 1) -
                                                                SteadyClock::now()));
          return false;
        });
        while (!heap.empty() && heap.front().due <= now && dispatcher.has_room()) {
          std::size_t chosen = resolvers;
          if (every) {
            // One query per resolver (and type) at the same moment: all of them or none.
            if (!limiter->try_acquire_every(per_domain)) {
              wait =
                  std::min(wait, std::chrono::ceil<milliseconds>(
                                     limiter->available_at_every(per_domain) - SteadyClock::now()));
              break;
            }
            chosen = 0;
          } else {
            // The fair share of this probe (drawn per due time), moved on to a healthy
            // resolver with tokens.
            const auto& next = heap.front();
            const std::size_t preferred = ResolverHealth::spread(
                mix(static_cast<std::uint64_t>(next.domain_id)), mix(micros(next.due)), resolvers);
            chosen = dispatcher.health().choose(preferred, SteadyClock::now(), [&](std::size_t r) {
              return limiter->try_acquire(r, per_domain);
            });
          }
          if (chosen == resolvers) {
            auto earliest = SteadyClock::time_point::max();
            for (std::size_t i = 0; i < resolvers; ++i) {
              earliest = std::min(earliest, limiter->available_at(i, per_domain));
            }
            wait = std::min(wait, std::chrono::ceil<milliseconds>(earliest - SteadyClock::now()));
            break;
          }
          std::pop_heap(heap.begin(), heap.end(), DueLater{});
          storage::LeasedDomain leased = std::move(heap.back());
          heap.pop_back();
          DomainTask task{leased.domain_id, leased.domain, leased.due, options_.campaign};
          const std::size_t before = dispatcher.sent();
          const std::int64_t id = leased.domain_id;
          if (active.try_emplace(id, std::move(leased)).second) {
            dispatcher.start(std::move(task), chosen);
          }
          sent_ += dispatcher.sent() - before;
        }
        if (!heap.empty() && heap.front().due > now) {
          wait = std::min(wait, std::chrono::ceil<milliseconds>(heap.front().due - now));
        }
      }
      const std::size_t before = dispatcher.sent();
      dispatcher.poll(std::max(wait, milliseconds(0)), finished);
      sent_ += dispatcher.sent() - before;
      const auto crawl_stats = parts_.crawler.stats();
      tcp_retries_.store(crawl_stats.tcp_retries, std::memory_order_relaxed);
      mismatched_.store(crawl_stats.mismatched, std::memory_order_relaxed);
      edns_fallbacks_.store(crawl_stats.edns_fallbacks, std::memory_order_relaxed);

      if (stopping && (dispatcher.in_flight() == 0 || SteadyClock::now() >= stop_deadline)) {
        if (dispatcher.in_flight() > 0) {
          logger()->warn(
              "campaign {}: {} queries still in flight at the deadline; their "
              "domains are left to the next run",
              options_.campaign, dispatcher.in_flight());
        }
        break;
      }
      if (options_.once && exhausted && heap.empty() && active.empty()) {
        break;
      }
    }
  } catch (...) {
    finish_probing();
    throw;
  }
  finish_probing();
  rethrow_writer_failure();  // one that came while the last results were written
  return snapshot();
}

WorkerStats Worker::Impl::snapshot() const {
  WorkerStats stats;
  stats.queries_sent = sent_.load();
  stats.probes_stored = stored_.load();
  stats.records_stored = records_.load();
  stats.probes_dropped = dropped_.load();
  stats.probes_unwritten = unwritten_.load();
  stats.domains_probed = domains_.load();
  stats.errors = errors_.load();
  stats.buffered = buffered_.load();
  stats.leases_held = held_.load();
  stats.db_errors = db_errors_.load();
  stats.db_reconnects = db_reconnects_.load();
  stats.tcp_retries = tcp_retries_.load();
  stats.mismatched = mismatched_.load();
  stats.edns_fallbacks = edns_fallbacks_.load();
  return stats;
}

Worker::Worker(WorkerOptions options, WorkerParts parts)
    : impl_(std::make_unique<Impl>(std::move(options), parts)) {}
Worker::~Worker() = default;

WorkerStats Worker::run(const std::atomic<bool>& stop) { return impl_->run(stop); }

WorkerStats Worker::snapshot() const { return impl_->snapshot(); }

void Worker::reload(const ReloadableSettings& settings) {
  std::lock_guard lock(impl_->mutex_);
  impl_->reload_probe_ = settings;
  impl_->reload_geo_ = settings.geo;
}

}  // namespace fluxwatch::scheduler
