#pragma once
/// Where the stages log. Every stage writes to spdlog's default logger, which the app sets
/// up once (level, pattern, heartbeat), and names itself at the start of each message
/// ("storage: ...", "geo: ..."): one logger to configure, not one per stage.

#include <spdlog/spdlog.h>

#include <memory>

namespace fluxwatch {

[[nodiscard]] inline std::shared_ptr<spdlog::logger> logger() { return spdlog::default_logger(); }

}  // namespace fluxwatch
