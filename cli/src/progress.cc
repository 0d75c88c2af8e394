#include "progress.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace fluxwatch::cli {
namespace {

constexpr auto kRedrawInterval = std::chrono::milliseconds(250);

std::string duration_text(double seconds) {
  if (seconds < 60) {
    return fmt::format("{:.0f}s", seconds);
  }
  if (seconds < 3600) {
    const auto whole = static_cast<long>(seconds);
    return fmt::format("{}m{:02}s", whole / 60, whole % 60);
  }
  return fmt::format("{:.1f}h", seconds / 3600);
}

}  // namespace

std::string progress_text(const std::string& label, std::size_t done, std::size_t total,
                          std::size_t errors, std::chrono::steady_clock::duration elapsed) {
  const double seconds = std::chrono::duration<double>(elapsed).count();
  const double rate = seconds > 0 ? static_cast<double>(done) / seconds : 0.0;
  const double percent =
      total > 0 ? 100.0 * static_cast<double>(done) / static_cast<double>(total) : 100.0;
  const std::string left =
      rate > 0 && done < total ? duration_text(static_cast<double>(total - done) / rate) : "-";
  return fmt::format("{}: {}/{} ({:.0f}%)  {:.0f}/s  errors {}  elapsed {}  left {}", label, done,
                     total, percent, rate, errors, duration_text(seconds), left);
}

bool stderr_is_terminal() {
  const char* term = std::getenv("TERM");
  return isatty(STDERR_FILENO) == 1 && (term == nullptr || std::string_view(term) != "dumb");
}

ProgressLine::ProgressLine(std::string label, bool enabled)
    : label_(std::move(label)), enabled_(enabled), updated_at_(std::chrono::steady_clock::now()) {
  if (!enabled_) {
    return;
  }
  timer_ = std::thread([this] {
    std::unique_lock lock(mutex_);
    while (!stopping_) {
      draw_locked();
      wake_.wait_for(lock, kRedrawInterval, [this] { return stopping_; });
    }
  });
}

ProgressLine::~ProgressLine() { finish(); }

void ProgressLine::update(std::size_t done, std::size_t total, std::size_t errors,
                          std::chrono::steady_clock::duration elapsed) {
  if (!enabled_) {
    return;
  }
  const std::lock_guard lock(mutex_);
  done_ = done;
  total_ = total;
  errors_ = errors;
  elapsed_at_update_ = elapsed;
  updated_at_ = std::chrono::steady_clock::now();
}

void ProgressLine::draw_locked() {
  // Elapsed time keeps running between answers: the caller's figure plus the time since.
  const auto elapsed = elapsed_at_update_ + (std::chrono::steady_clock::now() - updated_at_);
  fmt::print(stderr, "\r\033[K{}", progress_text(label_, done_, total_, errors_, elapsed));
  std::fflush(stderr);
  drawn_ = true;
}

void ProgressLine::finish() {
  if (!enabled_) {
    return;
  }
  {
    const std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (timer_.joinable()) {
    timer_.join();
  }
  if (drawn_) {
    fmt::print(stderr, "\r\033[K");
    std::fflush(stderr);
    drawn_ = false;
  }
}

void count_down(const std::string& label, std::chrono::duration<double> wait, bool show,
                const std::atomic<bool>* stop) {
  const auto until =
      std::chrono::steady_clock::now() + std::chrono::duration_cast<std::chrono::nanoseconds>(wait);
  while (true) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= until || (stop != nullptr && stop->load())) {
      break;
    }
    const double left = std::chrono::duration<double>(until - now).count();
    if (show) {
      fmt::print(stderr, "\r\033[K{}: starts in {}", label, duration_text(std::ceil(left)));
      std::fflush(stderr);
    }
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
        until - now, std::chrono::milliseconds(show ? 250 : 50)));  // 50: a signal ends the wait
  }
  if (show) {
    fmt::print(stderr, "\r\033[K");
    std::fflush(stderr);
  }
}

}  // namespace fluxwatch::cli
