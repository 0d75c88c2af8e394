// The probing engine of both commands: fan-out of a domain's queries (Dispatcher), its
// enrichment and the hand-off to storage. probe_round.cc and worker.cc only decide which
// domains to start when, and where their results go.

#include "fluxwatch/scheduler/engine.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <exception>
#include <thread>
#include <utility>

#include "fluxwatch/common/clock.h"
#include "fluxwatch/common/error.h"
#include "fluxwatch/geo/enricher.h"
#include "fluxwatch/scheduler/rate_limit.h"
#include "fluxwatch/storage/database.h"
#include "fluxwatch/storage/schedule_store.h"
#include "fluxwatch/storage/session.h"

namespace fluxwatch::scheduler {
namespace {

/// The enrichment cache is cleared when it grows past this (memory bound).
constexpr std::size_t kEnrichedCacheLimit = 1 << 20;

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

std::size_t count_records(const std::vector<ProbeResult>& results) noexcept {
  std::size_t records = 0;
  for (const auto& result : results) {
    records += result.records.size();
  }
  return records;
}

Dispatcher::Dispatcher(crawler::Crawler& crawler, EngineOptions options)
    : crawler_(&crawler),
      options_(std::move(options)),
      resolvers_(std::max<std::size_t>(crawler.resolver_count(), 1)),
      health_(resolvers_, options_.health) {
  if (options_.record_types.empty()) {
    throw Error("no record types to probe");
  }
  const auto names = crawler.servers();
  for (std::size_t i = 0; i < names.size() && i < resolvers_; ++i) {
    resolver_index_.emplace(names[i], i);
  }
}

std::size_t Dispatcher::initial_queries() const noexcept {
  return options_.mode == EngineMode::Authoritative ? 1 : options_.record_types.size();
}

std::size_t Dispatcher::fanout() const noexcept {
  return options_.mode == EngineMode::EveryResolver ? resolvers_ : 1;
}

bool Dispatcher::has_room() const noexcept {
  return crawler_->capacity_left() >= initial_queries() * fanout();
}

std::size_t Dispatcher::in_flight() const noexcept { return crawler_->in_flight(); }

void Dispatcher::submit(const crawler::Query& query) {
  crawler_->submit(query);
  ++sent_;
}

bool Dispatcher::start(DomainTask task, std::size_t resolver) {
  const std::int64_t id = task.domain_id;
  auto [entry, added] = active_.try_emplace(id);
  if (!added) {
    return false;  // the same domain twice in a list
  }
  Active& domain = entry->second;
  domain.task = std::move(task);
  domain.resolver = resolver;
  if (options_.mode == EngineMode::Authoritative) {
    const crawler::AuthoritativeOptions plan{options_.record_types, options_.authoritative_port,
                                             options_.authoritative_max_servers};
    domain.plan.emplace(id, domain.task.name, plan);
    for (auto& first : domain.plan->start()) {
      first.query.server = resolver;
      submit(first.query);
    }
    return true;
  }
  const bool every = options_.mode == EngineMode::EveryResolver;
  domain.remaining = initial_queries() * fanout();
  domain.results.reserve(domain.remaining);
  // Every-resolver mode: one name goes to all resolvers at about the same moment.
  for (const RrType type : options_.record_types) {
    for (std::size_t r = every ? 0 : resolver; r < (every ? resolvers_ : resolver + 1); ++r) {
      submit(crawler::Query{id, domain.task.name, type, r});
    }
  }
  return true;
}

void Dispatcher::send_followups(const std::function<bool(std::size_t)>& allow) {
  while (!followups_.empty() && crawler_->capacity_left() > 0) {
    crawler::PlannedQuery& planned = followups_.front();
    const auto owner = active_.find(planned.query.domain_id);
    const std::size_t charged = owner != active_.end() ? owner->second.resolver : 0;
    if (allow && !allow(charged)) {
      return;
    }
    crawler::Query query = std::move(planned.query);
    const std::optional<Endpoint> server = planned.server;
    followups_.pop_front();
    query.server = charged;
    if (server) {
      try {
        query.server = crawler_->server_index(*server);
      } catch (const std::exception& error) {  // c-ares refused the address: a failed result
        ProbeResult failed;
        failed.domain_id = query.domain_id;
        failed.name = query.name;
        failed.qtype = query.type;
        failed.resolver = server->to_string();
        failed.mode = query.mode;
        failed.server_name = query.server_name;
        failed.sent_at = std::chrono::system_clock::now();
        failed.outcome = Outcome::NetError;
        failed.detail = error.what();
        ++sent_;
        refused_.push_back(std::move(failed));
        continue;
      }
    }
    submit(query);
  }
}

void Dispatcher::poll(std::chrono::milliseconds wait, const FinishedSink& finished,
                      const std::function<void(const ProbeResult&)>& each) {
  while (!refused_.empty()) {
    ProbeResult failed = std::move(refused_.front());
    refused_.pop_front();
    take(std::move(failed), finished, each);
  }
  crawler_->poll(wait, [&](ProbeResult&& result) { take(std::move(result), finished, each); });
}

void Dispatcher::take(ProbeResult&& result, const FinishedSink& finished,
                      const std::function<void(const ProbeResult&)>& each) {
  const auto found = active_.find(result.domain_id);
  if (found == active_.end()) {
    return;  // cannot happen: every query belongs to an active domain
  }
  Active& domain = found->second;
  result.due_at = domain.task.due;
  result.campaign = domain.task.campaign;
  result.vantage = options_.vantage;
  if (result.mode != ProbeMode::Authoritative) {
    // Recursive and delegation queries went to the domain's resolver; only every-resolver
    // mode needs the result's own (a lookup by its text).
    std::size_t asked = domain.resolver;
    if (options_.mode == EngineMode::EveryResolver) {
      const auto found_resolver = resolver_index_.find(result.resolver);
      asked = found_resolver != resolver_index_.end() ? found_resolver->second : resolvers_;
    }
    {
      switch (health_.record(asked, is_failure(result.outcome))) {
        case ResolverHealth::Change::BecameUnhealthy:
          spdlog::warn(
              "resolver {}: {} failed queries in a row; marked unhealthy: it gets one domain "
              "every {} ms until it answers again, the others take the rest",
              result.resolver, options_.health.failures_to_mark,
              options_.health.retry_interval.count());
          break;
        case ResolverHealth::Change::BecameHealthy:
          spdlog::info("resolver {}: answers again; back in the spread", result.resolver);
          break;
        case ResolverHealth::Change::None:
          break;
      }
    }
  }
  if (each) {
    each(result);
  }
  if (domain.plan) {
    for (auto& next : domain.plan->on_result(result)) {
      followups_.push_back(std::move(next));
    }
    domain.results.push_back(std::move(result));
    if (domain.plan->done()) {
      finish(found, finished);
    }
    return;
  }
  domain.results.push_back(std::move(result));
  if (--domain.remaining == 0) {
    finish(found, finished);
  }
}

void Dispatcher::finish(std::unordered_map<std::int64_t, Active>::iterator found,
                        const FinishedSink& finished) {
  FinishedDomain done{std::move(found->second.task), std::move(found->second.results)};
  active_.erase(found);
  finished(std::move(done));
}

std::vector<FinishedDomain> Dispatcher::take_unfinished() {
  std::vector<FinishedDomain> out;
  for (auto& [id, domain] : active_) {
    if (!domain.results.empty()) {
      out.push_back(FinishedDomain{std::move(domain.task), std::move(domain.results)});
    }
  }
  active_.clear();
  followups_.clear();
  return out;
}

void resolve_at_rate(crawler::Crawler& crawler, std::span<const crawler::Query> queries, double qps,
                     const crawler::Crawler::ResultSink& sink) {
  if (qps <= 0) {
    crawler.run(queries, sink);
    return;
  }
  using std::chrono::milliseconds;
  const RealClock clock;
  TokenBucket bucket(qps, std::max(1.0, qps / 100.0), clock.now());
  std::size_t next = 0;
  while (next < queries.size() || crawler.in_flight() > 0) {
    // A token is taken only for a query the crawler took.
    for (auto now = clock.now(); next < queries.size() && bucket.available_at(1, now) <= now &&
                                 crawler.submit(queries[next]);
         now = clock.now()) {
      bucket.try_take(1, now);
      ++next;
    }
    auto wait = milliseconds(100);
    if (next < queries.size()) {  // until the next token, when it comes first
      const auto now = clock.now();
      wait = std::clamp(std::chrono::ceil<milliseconds>(bucket.available_at(1, now) - now),
                        milliseconds(1), wait);
    }
    crawler.poll(wait, sink);
  }
}

void BatchEnricher::enrich(storage::ProbeBatch& batch) {
  const auto build = enricher_->build_tag();
  if (!build) {
    batch.geo_build.clear();
    return;  // no GeoIP database open: nothing to enrich with
  }
  batch.geo_build = *build;
  if (batch.geo_build != build_ || seen_.size() > kEnrichedCacheLimit) {
    seen_.clear();
    build_ = batch.geo_build;
  }
  for (const auto& result : batch.results) {
    for (const auto& record : result.records) {
      if (record.address && seen_.insert(*record.address).second) {
        const GeoRecord& geo = enricher_->lookup(*record.address);
        if (enricher_->last_lookup_failed()) {
          // Corrupt data in a database: not stored as "unknown", and enriched again with a
          // later batch.
          seen_.erase(*record.address);
          continue;
        }
        batch.enrichment.push_back({record.data, geo});
        ++queued_;
      }
    }
  }
}

std::size_t hand_to_storage(storage::Database& database, const storage::ProbeBatch& batch,
                            const storage::ScheduleCommit* commit) {
  if (commit != nullptr) {
    return database.store(batch, *commit);
  }
  database.store(batch);
  return batch.results.size();
}

void retry_through_outage(const std::string& what, std::chrono::milliseconds tolerance,
                          const std::function<void()>& body,
                          const std::function<void(bool away)>& on_outage) {
  std::optional<SteadyClock::time_point> outage_started;
  auto backoff = std::chrono::milliseconds(200);
  const auto outage_over = [&] {
    if (outage_started && on_outage) {
      on_outage(false);
    }
  };
  for (;;) {
    try {
      body();
      if (outage_started) {
        spdlog::info("{}: database back after {:.1f} s; going on", what,
                     std::chrono::duration<double>(SteadyClock::now() - *outage_started).count());
      }
      outage_over();
      return;
    } catch (const storage::Unavailable& error) {
      // Only an unreachable database is waited out: any other error (an SQL error, bad
      // data, a bug) would fail the same way again, so it reaches the caller at once.
      const auto now = SteadyClock::now();
      if (!outage_started) {
        outage_started = now;
        spdlog::warn(
            "{}: database unavailable ({}); keeping the results and retrying for up to {} s", what,
            error.what(), std::chrono::ceil<std::chrono::seconds>(tolerance).count());
        if (on_outage) {
          on_outage(true);
        }
      }
      const auto left = *outage_started + tolerance - now;
      if (left <= SteadyClock::duration::zero()) {
        outage_over();
        throw;
      }
      std::this_thread::sleep_for(std::min<SteadyClock::duration>(backoff, left));
      backoff = std::min(backoff * 2, std::chrono::milliseconds(10000));
    }
  }
}

}  // namespace fluxwatch::scheduler
