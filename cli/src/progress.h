#pragma once
/// A one-line progress display for long runs on a terminal: done/total, rate, errors and
/// time left. A timer thread redraws it every kRedrawInterval, so the line (elapsed, rate)
/// stays alive while a silent server holds every query. Silent when stderr is not a
/// terminal (cron, pipes), so logs stay clean.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <string>
#include <thread>

namespace fluxwatch::cli {

/// The text of one progress line (pure: unit-tested).
[[nodiscard]] std::string progress_text(const std::string& label, std::size_t done,
                                        std::size_t total, std::size_t errors,
                                        std::chrono::steady_clock::duration elapsed);

class ProgressLine {
 public:
  /// `enabled` false: every call is a no-op and no thread is started.
  ProgressLine(std::string label, bool enabled);
  ~ProgressLine();
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;

  /// Records where the work is; the line is redrawn by the timer (and at the end).
  void update(std::size_t done, std::size_t total, std::size_t errors,
              std::chrono::steady_clock::duration elapsed);
  /// Stops the timer and clears the line (the caller prints its own summary).
  void finish();

 private:
  void draw_locked();
  std::string label_;
  bool enabled_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  bool drawn_ = false;
  std::size_t done_ = 0;
  std::size_t total_ = 0;
  std::size_t errors_ = 0;
  std::chrono::steady_clock::duration elapsed_at_update_{};
  std::chrono::steady_clock::time_point updated_at_{};
  std::thread timer_;
};

/// Waits `wait`, showing "LABEL: starts in 12s" counting down on a terminal (`show`).
/// Ends early when `stop` (if given) becomes true, e.g. on SIGTERM.
void count_down(const std::string& label, std::chrono::duration<double> wait, bool show,
                const std::atomic<bool>* stop = nullptr);

/// True when stderr is a terminal and TERM is not "dumb".
[[nodiscard]] bool stderr_is_terminal();

}  // namespace fluxwatch::cli
