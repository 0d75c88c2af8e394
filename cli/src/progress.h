#pragma once
/// A one-line progress display for long runs on a terminal: done/total, rate, errors and
/// time left, redrawn at most a few times a second. Silent when stderr is not a terminal
/// (cron, pipes), so logs stay clean.

#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>

namespace fluxwatch::cli {

class ProgressLine {
 public:
  /// `enabled` false: every call is a no-op.
  ProgressLine(std::string label, bool enabled);
  ~ProgressLine();
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;

  void update(std::size_t done, std::size_t total, std::size_t errors,
              std::chrono::steady_clock::duration elapsed);
  /// Clears the line (the caller prints its own summary).
  void finish();

 private:
  std::string label_;
  bool enabled_;
  std::chrono::steady_clock::time_point last_draw_{};
};

/// The one status line at the bottom of the terminal (probe's progress, run's status):
/// log lines clear it before they are written (log_sink.cc) and the next redraw puts it
/// back, so the two never share a line. Thread-safe.
void draw_status_line(const std::string& text);
void clear_status_line();
/// For the log sink: clears the line if drawn; call with stderr_lock() held.
void clear_status_line_locked();
[[nodiscard]] std::mutex& stderr_lock();

/// True when stderr is a terminal and TERM is not "dumb".
[[nodiscard]] bool stderr_is_terminal();

}  // namespace fluxwatch::cli
