#pragma once
/// What a person and Prometheus see of a probing process (`run`, `probe`): the terminal
/// status line, the heartbeat line in logs, -v per-batch detail, --trace DOMAIN, and the
/// metrics (served on metrics.listen, or written to --metrics-file at the end). The
/// commands hand it one observer per campaign and their workers' totals; nothing else.

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "fluxwatch/config/config.h"
#include "fluxwatch/metrics/exporter.h"
#include "fluxwatch/scheduler/observer.h"
#include "fluxwatch/scheduler/worker.h"
#include "service_metrics.h"

namespace fluxwatch::cli {

struct MonitorOptions {
  std::string label = "run";  ///< status line prefix
  bool status_line = false;   ///< redraw a status line on the terminal
  bool heartbeat = false;     ///< log a heartbeat line every `heartbeat_interval`
  std::chrono::seconds heartbeat_interval{60};
  std::string metrics_listen;  ///< ip:port to serve /metrics on; empty: none
  std::string metrics_file;    ///< textfile written by finish(); empty: none
  std::string trace_domain;    ///< log every query and answer of this domain
  std::string dsn;             ///< for the schedule readings (backlog); empty: none
};

class RunMonitor {
 public:
  RunMonitor(MonitorOptions options, const config::Config& config);
  ~RunMonitor();
  RunMonitor(const RunMonitor&) = delete;
  RunMonitor& operator=(const RunMonitor&) = delete;

  /// For WorkerOptions/RoundOptions::observer (thread-safe).
  [[nodiscard]] scheduler::BatchObserver observer(const std::string& campaign);

  /// The workers' totals now, per campaign; redraws the status line and logs the
  /// heartbeat when due. Call often (every 100 ms or so) from one thread.
  void tick(const std::vector<std::pair<std::string, scheduler::WorkerStats>>& totals,
            bool stopping);

  /// Totals of a `probe` round (no workers there).
  void round_done(std::size_t stored, std::size_t tcp_retries, std::size_t mismatched,
                  std::size_t edns_fallbacks);

  /// Clears the status line; on success marks the time; writes --metrics-file.
  void finish(bool success);

 private:
  void on_batch(const std::string& campaign, std::span<const ProbeResult> results);
  void trace(const ProbeResult& result) const;
  void heartbeat(const scheduler::WorkerStats& sum);
  void read_schedule_loop();

  MonitorOptions options_;
  std::vector<status::GeoFileStatus> geo_files_;
  std::optional<ServiceMetrics> metrics_;
  std::unique_ptr<metrics::HttpExporter> exporter_;
  std::chrono::steady_clock::time_point started_;
  std::chrono::steady_clock::time_point last_draw_{};
  std::chrono::steady_clock::time_point last_heartbeat_;
  scheduler::WorkerStats at_last_heartbeat_{};

  std::mutex mutex_;                              // guards what follows
  std::vector<double> lateness_samples_;          // since the last heartbeat (bounded)
  std::size_t batch_failures_ = 0;                // results without an answer since the heartbeat
  std::optional<status::StatusReport> schedule_;  // latest reading, for backlog
  bool stop_reader_ = false;
  std::condition_variable wake_reader_;
  std::thread reader_;
};

}  // namespace fluxwatch::cli
