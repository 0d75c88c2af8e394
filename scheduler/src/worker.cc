// Worker: the continuous scheduler of one campaign. Two threads:
// - the probe thread (run()'s caller) owns the crawler and the rate limiter; it keeps the
//   leased domains in a heap by due time, sends each one's queries when it is due and
//   tokens allow, and turns finished domains into results plus a schedule update;
// - the writer thread owns the database connections; it leases due domains, renews the
//   leases, enriches and commits results with their schedule updates (one transaction),
//   and retries with backoff while the database is away.
// Per-domain state in memory exists only for leased domains (a few thousand at most): the
// schedule itself lives in PostgreSQL.

#include "fluxwatch/scheduler/worker.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <random>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "fluxwatch/common/error.h"
#include "fluxwatch/common/logging.h"
#include "fluxwatch/crawler/delegation.h"
#include "fluxwatch/scheduler/probe_round.h"
#include "fluxwatch/scheduler/rate_limit.h"
#include "fluxwatch/storage/database.h"

namespace fluxwatch::scheduler {
namespace {

using std::chrono::milliseconds;
using SystemClock = std::chrono::system_clock;
using Steady = std::chrono::steady_clock;

constexpr milliseconds kMaxLoopWait{20};
constexpr milliseconds kIdleLeaseRetry{200};
constexpr milliseconds kMaxBackoff{10000};
/// The enrichment de-duplication set is cleared when it grows past this (memory bound).
constexpr std::size_t kEnrichedCacheLimit = 1 << 20;

bool is_address(const ResourceRecord& record) {
  return record.type == static_cast<std::uint16_t>(RrType::A) ||
         record.type == static_cast<std::uint16_t>(RrType::AAAA);
}

struct DueLater {
  bool operator()(const storage::LeasedDomain& a, const storage::LeasedDomain& b) const {
    return a.due > b.due;
  }
};

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
  Impl(WorkerOptions options, crawler::CrawlerOptions crawler, geo::GeoOptions geo, std::string dsn)
      : options_(std::move(options)),
        crawler_options_(std::move(crawler)),
        geo_options_(std::move(geo)),
        dsn_(std::move(dsn)) {
    if (options_.worker_id.empty()) {
      options_.worker_id = make_worker_id();
    }
    if (options_.record_types.empty()) {
      throw ConfigError(fmt::format("campaign {}: no record types", options_.campaign));
    }
  }

  /// A leased domain whose queries are in flight.
  struct Active {
    storage::LeasedDomain leased;
    std::vector<ProbeResult> results;
    std::size_t remaining = 0;
    std::optional<crawler::AuthoritativePlan> plan;  // authoritative mode
    std::size_t resolver = 0;                        // the resolver its (delegation) lookups go to
  };

  WorkerStats run(const std::atomic<bool>& stop);
  [[nodiscard]] WorkerStats snapshot() const;
  void writer_loop(const std::atomic<bool>& stop);
  void lease_more(SystemClock::time_point now);
  void complete(Active& active);
  [[nodiscard]] std::size_t lease_target() const;
  [[nodiscard]] bool in_window(SystemClock::time_point now) const {
    return (!options_.start || now >= *options_.start) && (!options_.end || now < *options_.end);
  }

  WorkerOptions options_;
  crawler::CrawlerOptions crawler_options_;
  geo::GeoOptions geo_options_;
  std::string dsn_;

  // Owned by the writer thread once run() started it.
  std::optional<storage::Database> db_;
  std::optional<storage::ScheduleStore> store_;
  std::optional<geo::Enricher> enricher_;
  std::unordered_set<std::string> enriched_;
  std::int64_t run_id_ = 0;
  SystemClock::time_point run_started_;

  // Shared between the threads, under mutex_.
  std::mutex mutex_;
  std::condition_variable wake_writer_;
  std::vector<storage::LeasedDomain> incoming_;
  std::vector<ProbeResult> out_results_;
  std::vector<storage::ScheduleUpdate> out_updates_;
  bool probing_done_ = false;
  bool lease_exhausted_ = false;
  Steady::time_point shutdown_deadline_ = Steady::time_point::max();
  std::optional<ReloadableSettings> reload_probe_;
  std::optional<geo::GeoOptions> reload_geo_;

  std::atomic<std::size_t> held_{0};      // leased, not yet handed to the writer
  std::atomic<std::size_t> buffered_{0};  // results not yet committed
  std::atomic<std::size_t> sent_{0};
  std::atomic<std::size_t> stored_{0};
  std::atomic<std::size_t> dropped_{0};
  std::atomic<std::size_t> domains_{0};
  std::atomic<std::size_t> errors_{0};
  std::atomic<std::size_t> unwritten_{0};
};

std::size_t Worker::Impl::lease_target() const {
  std::size_t target = std::max<std::size_t>(options_.lease_batch, 1);
  if (options_.qps > 0) {
    // No more than about (lookahead + 1 s) of work at the campaign's rate: the rest is
    // left to other workers instead of waiting here for tokens under a lease.
    const double seconds = std::chrono::duration<double>(options_.lookahead).count() + 1.0;
    const double domains =
        options_.qps * seconds / static_cast<double>(options_.record_types.size());
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
  auto leased = store_->lease_due(options_.campaign, options_.worker_id, due_before, target - held,
                                  options_.lease);
  const bool exhausted = leased.size() < target - held;
  held_ += leased.size();
  std::lock_guard lock(mutex_);
  for (auto& domain : leased) {
    incoming_.push_back(std::move(domain));
  }
  if (exhausted && options_.once) {
    lease_exhausted_ = true;
  }
}

void Worker::Impl::writer_loop(const std::atomic<bool>& stop) {
  struct Pending {
    storage::ProbeBatch batch;
    storage::ScheduleCommit commit;
  };
  std::optional<Pending> pending;
  auto backoff = milliseconds(200);
  auto next_db_try = Steady::now();
  auto last_flush = Steady::now();
  auto next_lease = Steady::now();
  auto next_renew = Steady::now() + options_.lease / 3;
  auto next_resync = Steady::now() + options_.resync_interval;
  bool db_ok = true;
  bool window_logged = false;

  auto db_failed = [&](const std::exception& error, Steady::time_point now) {
    if (db_ok) {
      logger()->warn("campaign {}: database unavailable, probing goes on into the buffer: {}",
                     options_.campaign, error.what());
    }
    db_ok = false;
    next_db_try = now + backoff;
    backoff = std::min(backoff * 2, kMaxBackoff);
  };

  for (;;) {
    bool done = false;
    std::optional<geo::GeoOptions> new_geo;
    {
      std::unique_lock lock(mutex_);
      wake_writer_.wait_for(lock, kMaxLoopWait * 2, [&] {
        return probing_done_ || out_results_.size() >= options_.batch_size;
      });
      done = probing_done_;
      new_geo.swap(reload_geo_);
    }
    if (new_geo) {
      try {
        enricher_.emplace(*new_geo);
        enriched_.clear();
        logger()->info("campaign {}: reloaded GeoIP databases ({})", options_.campaign,
                       enricher_->build_tag());
      } catch (const std::exception& error) {
        logger()->error("campaign {}: GeoIP reload failed, keeping the old databases: {}",
                        options_.campaign, error.what());
      }
    }
    auto now = Steady::now();

    if (!pending) {
      std::unique_lock lock(mutex_);
      const bool due = out_results_.size() >= options_.batch_size ||
                       now - last_flush >= options_.flush_interval || done;
      if (due && (!out_results_.empty() || !out_updates_.empty())) {
        pending.emplace();
        pending->batch.run_id = run_id_;
        pending->batch.results.swap(out_results_);
        pending->commit.campaign = options_.campaign;
        pending->commit.worker = options_.worker_id;
        pending->commit.updates.swap(out_updates_);
        lock.unlock();
        pending->batch.geo_build = enricher_->build_tag();
        if (pending->batch.geo_build != "none") {
          if (enriched_.size() > kEnrichedCacheLimit) {
            enriched_.clear();
          }
          for (const auto& result : pending->batch.results) {
            for (const auto& record : result.records) {
              if (is_address(record) && enriched_.insert(record.data).second) {
                const GeoRecord& geo = enricher_->lookup(record.data);
                if (enricher_->last_lookup_failed()) {
                  enriched_.erase(record.data);  // corrupt data: not "unknown"; try again later
                } else {
                  pending->batch.enrichment.push_back({record.data, geo});
                }
              }
            }
          }
        }
      }
    }
    if (pending && now >= next_db_try) {
      try {
        const std::size_t total = pending->batch.results.size();
        const std::size_t written = db_->store(pending->batch, pending->commit);
        stored_ += written;
        dropped_ += total - written;
        if (written < total) {
          logger()->warn(
              "campaign {}: {} result(s) not stored: their lease ran out and another worker "
              "took the domains over",
              options_.campaign, total - written);
        }
        buffered_ -= total;
        pending.reset();
        last_flush = Steady::now();
        backoff = milliseconds(200);
        if (!db_ok) {
          logger()->info("campaign {}: database back; buffer written", options_.campaign);
        }
        db_ok = true;
      } catch (const std::exception& error) {
        db_failed(error, Steady::now());
      }
      now = Steady::now();
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
    if (!stop.load() && (db_ok || now >= next_db_try) && now >= next_lease) {
      try {
        const std::size_t before = held_.load();
        lease_more(wall);
        next_lease = held_.load() == before ? now + kIdleLeaseRetry : now;
        if (!db_ok) {
          db_ok = true;
          backoff = milliseconds(200);
        }
      } catch (const std::exception& error) {
        db_failed(error, now);
        next_lease = next_db_try;
      }
    }
    if (db_ok && now >= next_renew) {
      try {
        store_->renew(options_.campaign, options_.worker_id, options_.lease);
      } catch (const std::exception& error) {
        db_failed(error, now);
      }
      next_renew = now + options_.lease / 3;
    }
    if (db_ok && !options_.once && now >= next_resync) {
      try {
        store_->sync_campaign(options_.campaign, options_.selection, options_.start);
      } catch (const std::exception& error) {
        db_failed(error, now);
      }
      next_resync = now + options_.resync_interval;
    }
  }

  try {
    const auto released = store_->release(options_.campaign, options_.worker_id);
    if (released > 0) {
      logger()->debug("campaign {}: released {} lease(s)", options_.campaign, released);
    }
  } catch (const std::exception& error) {
    logger()->warn("campaign {}: could not release leases (they expire by themselves): {}",
                   options_.campaign, error.what());
  }
  try {
    db_->finish_run(run_id_, storage::RunTotals{static_cast<std::int64_t>(stored_.load()), 0,
                                                static_cast<std::int64_t>(errors_.load())});
  } catch (const std::exception& error) {
    logger()->warn("campaign {}: could not record the run's totals: {}", options_.campaign,
                   error.what());
  }
}

void Worker::Impl::complete(Active& active) {
  const Observation observation = observe(active.results);
  static thread_local std::mt19937_64 random{std::random_device{}()};
  const double draw = std::uniform_real_distribution<double>(0.0, 1.0)(random);
  const NextSchedule next = next_schedule(
      options_.intervals, DomainHistory{active.leased.stable_runs, active.leased.answer_hash},
      observation, draw);
  auto first_sent = SystemClock::time_point::max();
  for (const auto& result : active.results) {
    first_sent = std::min(first_sent, result.sent_at);
    if (is_failure(result.outcome)) {
      ++errors_;
    }
  }
  storage::ScheduleUpdate update;
  update.domain_id = active.leased.domain_id;
  update.next_due = first_sent + next.delay;
  update.interval_ms = static_cast<std::uint32_t>(next.interval.count());
  update.stable_runs = next.history.stable_runs;
  update.answer_hash = next.history.answer_hash;
  update.last_sent = first_sent;
  const std::size_t count = active.results.size();
  {
    std::lock_guard lock(mutex_);
    for (auto& result : active.results) {
      out_results_.push_back(std::move(result));
    }
    out_updates_.push_back(update);
    if (out_results_.size() >= options_.batch_size) {
      wake_writer_.notify_one();
    }
  }
  buffered_ += count;
  --held_;
  ++domains_;
}

WorkerStats Worker::Impl::run(const std::atomic<bool>& stop) {
  db_.emplace(dsn_);
  store_.emplace(dsn_);
  enricher_.emplace(geo_options_);
  for (const auto& warning : enricher_->warnings()) {
    logger()->warn("{}", warning);
  }
  const auto domains = store_->sync_campaign(options_.campaign, options_.selection, options_.start);
  // After the sync, so that --once covers the domains it has just added (due "now").
  run_started_ = SystemClock::now();
  run_id_ = db_->begin_run(options_.once ? "run-once" : "run", options_.settings_json);
  crawler::Crawler crawler(crawler_options_);
  const std::size_t resolvers = std::max<std::size_t>(crawler.servers().size(), 1);
  // Queries a due domain starts with, per resolver asked: in authoritative mode only the NS
  // lookup; the rest follow from its answers (`followups`), one token each.
  const std::size_t per_domain = options_.authoritative ? 1 : options_.record_types.size();
  const bool every = options_.every_resolver && !options_.authoritative;
  const std::size_t fanout = every ? resolvers : 1;
  const crawler::AuthoritativeOptions authoritative{
      options_.record_types, options_.authoritative_port, options_.authoritative_max_servers};
  std::deque<crawler::PlannedQuery> followups;
  SteadyClock clock;
  auto limiter = std::make_unique<RateLimiter>(clock, options_.qps, options_.qps_per_resolver,
                                               resolvers, per_domain * fanout);
  logger()->info("campaign {}: worker {} ({} domains in the campaign, {} due now; run {})",
                 options_.campaign, options_.worker_id, domains,
                 store_->due_count(options_.campaign), run_id_);

  std::thread writer([&] { writer_loop(stop); });

  std::vector<storage::LeasedDomain> heap;
  std::unordered_map<std::int64_t, Active> active;
  std::size_t next_resolver = 0;
  bool stopping = false;
  auto stop_deadline = Steady::time_point::max();

  const crawler::Crawler::ResultSink sink = [&](ProbeResult&& result) {
    const auto found = active.find(result.domain_id);
    if (found == active.end()) {
      return;  // cannot happen: every query belongs to an active domain
    }
    Active& domain = found->second;
    result.due_at = domain.leased.due;
    result.campaign = options_.campaign;
    result.vantage = options_.vantage;
    if (domain.plan) {
      for (auto& next : domain.plan->on_result(result)) {
        followups.push_back(std::move(next));
      }
      domain.results.push_back(std::move(result));
      if (domain.plan->done()) {
        complete(domain);
        active.erase(found);
      }
      return;
    }
    domain.results.push_back(std::move(result));
    if (--domain.remaining == 0) {
      complete(domain);
      active.erase(found);
    }
  };

  try {
    for (;;) {
      if (stop.load() && !stopping) {
        stopping = true;
        stop_deadline = Steady::now() + options_.shutdown_grace;
        logger()->info("campaign {}: stopping: {} queries in flight, {} results to write",
                       options_.campaign, crawler.in_flight(), buffered_.load());
      }
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
        options_.vantage = reload->vantage;
        options_.qps = reload->qps;
        options_.qps_per_resolver = reload->qps_per_resolver;
        limiter = std::make_unique<RateLimiter>(clock, options_.qps, options_.qps_per_resolver,
                                                resolvers, per_domain * fanout);
        logger()->info("campaign {}: reloaded settings", options_.campaign);
      }

      auto wait = kMaxLoopWait;
      const bool paused = buffered_.load() >= options_.buffer_limit;
      if (!stopping && !paused) {
        const auto now = SystemClock::now();
        // Authoritative mode: the queries that answers led to, before new domains.
        while (!followups.empty() && crawler.capacity_left() > 0) {
          crawler::PlannedQuery& planned = followups.front();
          const auto owner = active.find(planned.query.domain_id);
          const std::size_t charged = owner != active.end() ? owner->second.resolver : 0;
          if (!limiter->try_acquire(charged, 1)) {
            wait = std::min(wait, std::chrono::ceil<milliseconds>(
                                      limiter->available_at(charged, 1) - Steady::now()));
            break;
          }
          crawler::Query query = std::move(planned.query);
          const std::optional<Endpoint> server = planned.server;
          followups.pop_front();
          query.server = charged;
          if (server) {
            try {
              query.server = crawler.server_index(*server);
            } catch (const std::exception& error) {  // c-ares refused the address
              ProbeResult failed;
              failed.domain_id = query.domain_id;
              failed.name = query.name;
              failed.qtype = query.type;
              failed.resolver = server->to_string();
              failed.mode = query.mode;
              failed.server_name = query.server_name;
              failed.sent_at = SystemClock::now();
              failed.outcome = Outcome::NetError;
              failed.detail = error.what();
              sink(std::move(failed));
              continue;
            }
          }
          crawler.submit(query);
          ++sent_;
        }
        while (!heap.empty() && heap.front().due <= now &&
               crawler.capacity_left() >= per_domain * fanout) {
          std::size_t chosen = resolvers;
          if (every) {
            // One query per resolver (and type) at the same moment: all of them or none.
            if (!limiter->try_acquire_every(per_domain)) {
              wait = std::min(wait, std::chrono::ceil<milliseconds>(
                                        limiter->available_at_every(per_domain) - Steady::now()));
              break;
            }
            chosen = 0;
          }
          for (std::size_t i = 0; i < resolvers && chosen == resolvers; ++i) {
            const std::size_t candidate = (next_resolver + i) % resolvers;
            if (limiter->try_acquire(candidate, per_domain)) {
              chosen = candidate;
              break;
            }
          }
          if (chosen == resolvers) {
            auto earliest = Steady::time_point::max();
            for (std::size_t i = 0; i < resolvers; ++i) {
              earliest = std::min(earliest, limiter->available_at(i, per_domain));
            }
            wait = std::min(wait, std::chrono::ceil<milliseconds>(earliest - Steady::now()));
            break;
          }
          next_resolver = (chosen + 1) % resolvers;
          std::pop_heap(heap.begin(), heap.end(), DueLater{});
          storage::LeasedDomain leased = std::move(heap.back());
          heap.pop_back();
          const std::int64_t id = leased.domain_id;
          Active& entry = active[id];
          entry.leased = std::move(leased);
          entry.resolver = chosen;
          if (options_.authoritative) {
            entry.plan.emplace(id, entry.leased.domain, authoritative);
            for (auto& planned : entry.plan->start()) {
              planned.query.server = chosen;
              crawler.submit(planned.query);
              ++sent_;
            }
            continue;
          }
          entry.remaining = per_domain * fanout;
          entry.results.reserve(entry.remaining);
          for (std::size_t r = every ? 0 : chosen; r < (every ? resolvers : chosen + 1); ++r) {
            for (const RrType type : options_.record_types) {
              crawler.submit(crawler::Query{id, entry.leased.domain, type, r});
              ++sent_;
            }
          }
        }
        if (!heap.empty() && heap.front().due > now) {
          wait = std::min(wait, std::chrono::ceil<milliseconds>(heap.front().due - now));
        }
      }
      crawler.poll(std::max(wait, milliseconds(0)), sink);

      if (stopping && (crawler.in_flight() == 0 || Steady::now() >= stop_deadline)) {
        if (crawler.in_flight() > 0) {
          logger()->warn(
              "campaign {}: {} queries still in flight at the deadline; their "
              "domains are left to the next run",
              options_.campaign, crawler.in_flight());
        }
        break;
      }
      if (options_.once && exhausted && heap.empty() && active.empty()) {
        break;
      }
    }
  } catch (...) {
    {
      std::lock_guard lock(mutex_);
      probing_done_ = true;
      shutdown_deadline_ = Steady::now() + options_.shutdown_grace;
    }
    wake_writer_.notify_one();
    writer.join();
    throw;
  }
  {
    std::lock_guard lock(mutex_);
    probing_done_ = true;
    shutdown_deadline_ = Steady::now() + options_.shutdown_grace;
  }
  wake_writer_.notify_one();
  writer.join();

  return snapshot();
}

WorkerStats Worker::Impl::snapshot() const {
  WorkerStats stats;
  stats.queries_sent = sent_.load();
  stats.probes_stored = stored_.load();
  stats.probes_dropped = dropped_.load();
  stats.probes_unwritten = unwritten_.load();
  stats.domains_probed = domains_.load();
  stats.errors = errors_.load();
  return stats;
}

Worker::Worker(WorkerOptions options, crawler::CrawlerOptions crawler, geo::GeoOptions geo,
               std::string dsn)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(crawler), std::move(geo),
                                   std::move(dsn))) {}
Worker::~Worker() = default;

WorkerStats Worker::run(const std::atomic<bool>& stop) { return impl_->run(stop); }

WorkerStats Worker::snapshot() const { return impl_->snapshot(); }

void Worker::reload(const ReloadableSettings& settings) {
  std::lock_guard lock(impl_->mutex_);
  impl_->reload_probe_ = settings;
  impl_->reload_geo_ = settings.geo;
}

}  // namespace fluxwatch::scheduler
