#include "log_sink.h"

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <spdlog/details/null_mutex.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "progress.h"

namespace fluxwatch::cli {
namespace {

enum class Style { Terminal, Journal, Plain, Json };

/// sd-daemon(3) priority prefixes: journald reads the level from them.
int journal_priority(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::critical:
      return 2;
    case spdlog::level::err:
      return 3;
    case spdlog::level::warn:
      return 4;
    case spdlog::level::info:
      return 6;
    default:
      return 7;
  }
}

/// Messages carry names, DNS data and feed text: no control character reaches a terminal
/// or a log file as such (JSON escapes on its own).
std::string without_controls(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if ((byte < 0x20 && c != '\t') || byte == 0x7f) {
      out += fmt::format("\\x{:02x}", byte);
    } else {
      out += c;
    }
  }
  return out;
}

class StderrSink final : public spdlog::sinks::base_sink<spdlog::details::null_mutex> {
 public:
  explicit StderrSink(Style style) : style_(style) {}

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    const std::string_view message(msg.payload.data(), msg.payload.size());
    const auto level_name = spdlog::level::to_string_view(msg.level);
    const std::string_view level(level_name.data(), level_name.size());
    std::string line;
    switch (style_) {
      case Style::Terminal:
        line = fmt::format("{}: {}\n", level, without_controls(message));
        break;
      case Style::Journal:
        line = fmt::format("<{}>{}\n", journal_priority(msg.level), without_controls(message));
        break;
      case Style::Plain:
        line = fmt::format("{:%Y-%m-%dT%H:%M:%S%z} fluxwatch {}: {}\n",
                           fmt::localtime(std::chrono::system_clock::to_time_t(msg.time)), level,
                           without_controls(message));
        break;
      case Style::Json: {
        const auto millis =
            std::chrono::duration_cast<std::chrono::milliseconds>(msg.time.time_since_epoch())
                .count();
        const nlohmann::json json{
            {"time", fmt::format("{:%Y-%m-%dT%H:%M:%S}.{:03}Z",
                                 fmt::gmtime(std::chrono::system_clock::to_time_t(msg.time)),
                                 millis % 1000)},
            {"level", std::string(level.data(), level.size())},
            {"message", std::string(message)}};
        line = json.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
        break;
      }
    }
    std::lock_guard lock(stderr_lock());
    clear_status_line_locked();
    std::fwrite(line.data(), 1, line.size(), stderr);
    std::fflush(stderr);
  }
  void flush_() override { std::fflush(stderr); }

 private:
  Style style_;
};

}  // namespace

void setup_logger(const std::string& format, const std::string& level) {
  Style style = Style::Plain;
  const char* journal = std::getenv("JOURNAL_STREAM");
  if (format == "json") {
    style = Style::Json;
  } else if (stderr_is_terminal()) {
    style = Style::Terminal;
  } else if (journal != nullptr && *journal != '\0') {
    style = Style::Journal;
  }
  auto logger = std::make_shared<spdlog::logger>("fluxwatch", std::make_shared<StderrSink>(style));
  spdlog::drop("fluxwatch");
  spdlog::register_logger(logger);
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(level));
}

}  // namespace fluxwatch::cli
