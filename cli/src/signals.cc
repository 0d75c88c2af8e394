#include "signals.h"

#include <csignal>

namespace fluxwatch::cli {
namespace {

extern "C" void on_stop_signal(int /*signal*/) { g_stop.store(true); }
extern "C" void on_hangup_signal(int /*signal*/) { g_hangup.store(true); }

}  // namespace

void install_signal_handlers() {
  g_stop.store(false);
  g_hangup.store(false);
  struct sigaction action {};
  sigemptyset(&action.sa_mask);
  action.sa_handler = &on_stop_signal;
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGINT, &action, nullptr);
  action.sa_handler = &on_hangup_signal;
  sigaction(SIGHUP, &action, nullptr);
}

}  // namespace fluxwatch::cli
