#pragma once
/// Where fluxwatch's log lines go: stderr, as text or JSON lines (`log.format`), with
/// journald's level prefixes under systemd, and never glued to the terminal status line.

#include <string>

namespace fluxwatch::cli {

/// Installs the default "fluxwatch" logger. format: "text" or "json"; level: spdlog's
/// names. Text is "LEVEL: message" on a terminal, "<N>message" when stderr is the journal
/// ($JOURNAL_STREAM, set by systemd: journald keeps the time and the level), else
/// "TIME fluxwatch LEVEL: message". JSON: {"time","level","message"} per line.
void setup_logger(const std::string& format, const std::string& level);

}  // namespace fluxwatch::cli
