#include "progress.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace fluxwatch::cli {
namespace {

constexpr auto kRedrawInterval = std::chrono::milliseconds(200);

std::string duration_text(double seconds) {
  if (seconds < 60) {
    return fmt::format("{:.0f}s", seconds);
  }
  if (seconds < 3600) {
    return fmt::format("{:.0f}m{:02.0f}s", seconds / 60,
                       static_cast<double>(static_cast<long>(seconds) % 60));
  }
  return fmt::format("{:.1f}h", seconds / 3600);
}

}  // namespace

bool stderr_is_terminal() {
  const char* term = std::getenv("TERM");
  return isatty(STDERR_FILENO) == 1 && (term == nullptr || std::string_view(term) != "dumb");
}

ProgressLine::ProgressLine(std::string label, bool enabled)
    : label_(std::move(label)), enabled_(enabled) {}

ProgressLine::~ProgressLine() { finish(); }

void ProgressLine::update(std::size_t done, std::size_t total, std::size_t errors,
                          std::chrono::steady_clock::duration elapsed) {
  if (!enabled_) {
    return;
  }
  const auto now = std::chrono::steady_clock::now();
  if (done != total && now - last_draw_ < kRedrawInterval) {
    return;
  }
  last_draw_ = now;
  const double seconds = std::chrono::duration<double>(elapsed).count();
  const double rate = seconds > 0 ? static_cast<double>(done) / seconds : 0.0;
  const double percent =
      total > 0 ? 100.0 * static_cast<double>(done) / static_cast<double>(total) : 100.0;
  const std::string left =
      rate > 0 && done < total ? duration_text(static_cast<double>(total - done) / rate) : "-";
  fmt::print(stderr, "\r\033[K{}: {}/{} ({:.0f}%)  {:.0f}/s  errors {}  elapsed {}  left {}",
             label_, done, total, percent, rate, errors, duration_text(seconds), left);
  std::fflush(stderr);
  drawn_ = true;
}

void ProgressLine::finish() {
  if (enabled_ && drawn_) {
    fmt::print(stderr, "\r\033[K");
    std::fflush(stderr);
    drawn_ = false;
  }
}

}  // namespace fluxwatch::cli
