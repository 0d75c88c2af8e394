#pragma once
/// The signals of the long-running commands (`run`, `probe`), turned into flags their loops
/// poll: SIGTERM/SIGINT set g_stop (drain and exit), SIGHUP sets g_hangup (`run` reloads,
/// `probe` logs and ignores it). Lock-free atomics are async-signal-safe.

#include <atomic>

namespace fluxwatch::cli {

inline std::atomic<bool> g_stop{false};
inline std::atomic<bool> g_hangup{false};

/// Clears both flags and installs the handlers.
void install_signal_handlers();

}  // namespace fluxwatch::cli
