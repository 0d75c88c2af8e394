#include "run_monitor.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>

#include "fluxwatch/common/error.h"
#include "fluxwatch/scheduler/probe_round.h"
#include "progress.h"
#include "service.h"

namespace fluxwatch::cli {
namespace {

constexpr auto kRedrawInterval = std::chrono::milliseconds(500);
constexpr auto kScheduleReadInterval = std::chrono::seconds(15);
constexpr std::size_t kMaxLatenessSamples = 20000;

/// The q-quantile of `values` (sorted in place); nullopt when empty.
std::optional<double> quantile(std::vector<double>& values, double q) {
  if (values.empty()) {
    return std::nullopt;
  }
  std::ranges::sort(values);
  const auto index = static_cast<std::size_t>(q * static_cast<double>(values.size() - 1) + 0.5);
  return values[std::min(index, values.size() - 1)];
}

std::string seconds_or_dash(const std::optional<double>& seconds) {
  return seconds ? fmt::format("{:.1f}s", *seconds) : "-";
}

scheduler::WorkerStats sum_of(
    const std::vector<std::pair<std::string, scheduler::WorkerStats>>& totals) {
  scheduler::WorkerStats sum;
  for (const auto& [campaign, s] : totals) {
    sum.queries_sent += s.queries_sent;
    sum.probes_stored += s.probes_stored;
    sum.errors += s.errors;
    sum.buffered += s.buffered;
    sum.leases_held += s.leases_held;
    sum.db_errors += s.db_errors;
  }
  return sum;
}

std::pair<std::string, int> split_listen(const std::string& listen) {
  const auto endpoint = parse_endpoint(listen);
  if (!endpoint) {
    throw ConfigError(fmt::format("metrics.listen {}: expected ip:port", listen));
  }
  return {endpoint->ip, endpoint->port};
}

}  // namespace

RunMonitor::RunMonitor(MonitorOptions options, const config::Config& config)
    : options_(std::move(options)),
      started_(std::chrono::steady_clock::now()),
      last_heartbeat_(started_) {
  if (!options_.metrics_listen.empty() || !options_.metrics_file.empty()) {
    metrics_.emplace();
    geo_files_ = read_geo_files(config);
    metrics_->geo_files(geo_files_);
  }
  if (!options_.metrics_listen.empty()) {
    const auto [host, port] = split_listen(options_.metrics_listen);
    exporter_ = std::make_unique<metrics::HttpExporter>(metrics_->registry(), host, port);
    spdlog::info("metrics: http://{}/metrics", options_.metrics_listen);
  }
  if (!options_.dsn.empty() && (metrics_ || options_.heartbeat || options_.status_line)) {
    reader_ = std::thread([this] { read_schedule_loop(); });
  }
}

RunMonitor::~RunMonitor() {
  {
    std::lock_guard lock(mutex_);
    stop_reader_ = true;
  }
  wake_reader_.notify_all();
  if (reader_.joinable()) {
    reader_.join();
  }
}

void RunMonitor::read_schedule_loop() {
  std::unique_lock lock(mutex_);
  while (!stop_reader_) {
    lock.unlock();
    auto report = status::read_status(options_.dsn, "", status::Detail::Schedule);
    report.geo_files = geo_files_;
    if (metrics_) {
      metrics_->status(report);
    }
    lock.lock();
    schedule_ = std::move(report);
    wake_reader_.wait_for(lock, kScheduleReadInterval, [this] { return stop_reader_; });
  }
}

scheduler::BatchObserver RunMonitor::observer(const std::string& campaign) {
  return [this, campaign](std::span<const ProbeResult> results) { on_batch(campaign, results); };
}

void RunMonitor::on_batch(const std::string& campaign, std::span<const ProbeResult> results) {
  if (metrics_) {
    metrics_->observe(campaign, results);
  }
  if (!options_.trace_domain.empty()) {
    for (const auto& result : results) {
      trace(result);
    }
  }
  std::map<Outcome, std::size_t> outcomes;
  std::vector<double> lateness;
  std::size_t failures = 0;
  for (const auto& result : results) {
    ++outcomes[result.outcome];
    failures += scheduler::is_failure(result.outcome) ? 1 : 0;
    if (result.due_at) {
      lateness.push_back(std::chrono::duration<double>(result.sent_at - *result.due_at).count());
    }
  }
  if (spdlog::should_log(spdlog::level::debug)) {
    std::string text;
    for (const auto& [outcome, count] : outcomes) {
      text += fmt::format("{}{} {}", text.empty() ? "" : ", ", outcome_name(outcome), count);
    }
    auto sorted = lateness;
    spdlog::debug("{}{}batch of {} results to storage: {}; lateness p50 {} p95 {}", campaign,
                  campaign.empty() ? "" : ": ", results.size(), text,
                  seconds_or_dash(quantile(sorted, 0.5)), seconds_or_dash(quantile(sorted, 0.95)));
  }
  std::lock_guard lock(mutex_);
  batch_failures_ += failures;
  for (const double value : lateness) {
    if (lateness_samples_.size() >= kMaxLatenessSamples) {
      break;  // enough for a p95; the metrics histogram has every probe
    }
    lateness_samples_.push_back(value);
  }
}

void RunMonitor::trace(const ProbeResult& result) const {
  const auto& domain = options_.trace_domain;
  const bool match = result.name == domain ||
                     (result.name.size() > domain.size() && result.name.ends_with(domain) &&
                      result.name[result.name.size() - domain.size() - 1] == '.');
  if (!match) {
    return;
  }
  spdlog::info("trace: {} {} via {}{}: {} (rcode {}) in {:.1f} ms{}{}{}", result.name,
               rrtype_name(static_cast<std::uint16_t>(result.qtype)), result.resolver,
               result.server_name.empty() ? "" : " (" + result.server_name + ")",
               outcome_name(result.outcome), result.rcode,
               std::chrono::duration<double, std::milli>(result.latency).count(),
               result.via_tcp ? ", over TCP" : "", result.authoritative ? ", AA" : "",
               result.detail.empty() ? "" : "; " + result.detail);
  for (const auto& record : result.records) {
    static constexpr const char* kSections[] = {"answer", "authority", "additional"};
    spdlog::info("trace:   {:<10} {} {} {} {}", kSections[static_cast<int>(record.section) % 3],
                 record.owner, record.ttl, rrtype_name(record.type), record.data);
  }
}

void RunMonitor::tick(const std::vector<std::pair<std::string, scheduler::WorkerStats>>& totals,
                      bool stopping) {
  if (metrics_) {
    for (const auto& [campaign, stats] : totals) {
      metrics_->worker_totals(campaign, stats);
    }
  }
  const auto now = std::chrono::steady_clock::now();
  const auto sum = sum_of(totals);
  if (options_.heartbeat && now - last_heartbeat_ >= options_.heartbeat_interval) {
    heartbeat(sum);
    last_heartbeat_ = now;
  }
  if (options_.status_line && now - last_draw_ >= kRedrawInterval) {
    last_draw_ = now;
    const double seconds = std::chrono::duration<double>(now - started_).count();
    std::string backlog = "-";
    {
      std::lock_guard lock(mutex_);
      if (schedule_ && schedule_->reachable) {
        std::int64_t total = 0;
        for (const auto& campaign : schedule_->campaigns) {
          total += campaign.backlog;
        }
        backlog = std::to_string(total);
      }
    }
    draw_status_line(fmt::format(
        "{}: {} queries sent, {} probes stored ({:.0f}/s), {} buffered, backlog {}, {} errors, {} "
        "db "
        "errors, up {:.0f}s{}",
        options_.label, sum.queries_sent, sum.probes_stored,
        seconds > 0 ? static_cast<double>(sum.probes_stored) / seconds : 0.0, sum.buffered, backlog,
        sum.errors, sum.db_errors, seconds, stopping ? " (stopping)" : ""));
  }
}

void RunMonitor::heartbeat(const scheduler::WorkerStats& sum) {
  std::vector<double> lateness;
  std::size_t failures = 0;
  std::string backlog = "unknown";
  {
    std::lock_guard lock(mutex_);
    lateness.swap(lateness_samples_);
    failures = std::exchange(batch_failures_, 0);
    if (schedule_) {
      if (!schedule_->reachable) {
        backlog = "unknown (database unreachable)";
      } else {
        std::int64_t total = 0;
        for (const auto& campaign : schedule_->campaigns) {
          total += campaign.backlog;
        }
        backlog = std::to_string(total);
      }
    }
  }
  spdlog::info(
      "heartbeat: {} queries sent, {} stored in the last {} s ({} / {} in total), {} "
      "buffered, backlog {}, lateness p50 {} p95 {}, {} unanswered, {} database errors",
      sum.queries_sent - at_last_heartbeat_.queries_sent,
      sum.probes_stored - at_last_heartbeat_.probes_stored, options_.heartbeat_interval.count(),
      sum.queries_sent, sum.probes_stored, sum.buffered, backlog,
      seconds_or_dash(quantile(lateness, 0.5)), seconds_or_dash(quantile(lateness, 0.95)), failures,
      sum.db_errors - at_last_heartbeat_.db_errors);
  at_last_heartbeat_ = sum;
}

void RunMonitor::round_done(std::size_t stored, std::size_t tcp_retries, std::size_t mismatched,
                            std::size_t edns_fallbacks) {
  if (metrics_) {
    metrics_->round_totals(stored, tcp_retries, mismatched, edns_fallbacks);
  }
}

void RunMonitor::finish(bool success) {
  if (options_.status_line) {
    clear_status_line();
  }
  if (!metrics_) {
    return;
  }
  if (success) {
    metrics_->finished_now();
  }
  if (!options_.metrics_file.empty()) {
    if (!options_.dsn.empty()) {  // the schedule as this run leaves it
      auto report = status::read_status(options_.dsn, "", status::Detail::Schedule);
      report.geo_files = geo_files_;
      metrics_->status(report);
    }
    metrics::write_textfile(metrics_->registry(), options_.metrics_file);
    spdlog::debug("metrics written to {}", options_.metrics_file);
  }
}

}  // namespace fluxwatch::cli
