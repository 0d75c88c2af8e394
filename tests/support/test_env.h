#pragma once
/// Helpers for integration tests: where the fixture servers are, scratch databases, and
/// waiting on a condition with a deadline (never sleeping and hoping).

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "fluxwatch/common/endpoint.h"

namespace fluxwatch::testing {

/// libpq DSN of the test PostgreSQL server (maintenance database), from
/// FLUXWATCH_TEST_DSN or the fixture's default.
[[nodiscard]] std::string server_dsn();
/// The lab's authoritative DNS server (FLUXWATCH_LAB_SERVER or the fixture's).
[[nodiscard]] Endpoint lab_server();
/// The lab's never-answering server (FLUXWATCH_LAB_BLACKHOLE or the fixture's).
[[nodiscard]] Endpoint lab_blackhole();
/// The lab's generated files (FLUXWATCH_LAB_OUT): mmdb/lab-ASN.mmdb, mmdb/lab-City.mmdb, ...
[[nodiscard]] std::filesystem::path lab_out_dir();
/// The source tree (for deploy/lab/watchlist.txt, tests/data, ...).
[[nodiscard]] std::filesystem::path source_dir();
/// The ```sql blocks of docs/queries.md, by the name in the `<!-- query: NAME -->` before
/// them.
[[nodiscard]] std::map<std::string, std::string> doc_queries();
/// The built fluxwatch executable (FLUXWATCH_BINARY or the build's).
[[nodiscard]] std::filesystem::path fluxwatch_binary();

/// A port on 127.0.0.1 that the system handed out a moment ago for `socket_type`
/// (SOCK_STREAM or SOCK_DGRAM) and nothing holds now; 0 if no socket could be bound. Tests
/// run in parallel with other builds' suites: a fixed port would clash.
[[nodiscard]] std::uint16_t unused_loopback_port(int socket_type);

/**
 * A fresh, empty database on the test server, dropped again by the destructor, so every
 * test starts clean and tests can run in parallel.
 */
class ScratchDatabase {
 public:
  ScratchDatabase();
  ~ScratchDatabase();
  ScratchDatabase(const ScratchDatabase&) = delete;
  ScratchDatabase& operator=(const ScratchDatabase&) = delete;
  /// DSN of the scratch database.
  [[nodiscard]] const std::string& dsn() const noexcept { return dsn_; }
  [[nodiscard]] const std::string& name() const noexcept { return name_; }

 private:
  std::string name_;
  std::string dsn_;
};

/// What a finished child process left behind.
struct CommandResult {
  int exit_code = -1;  ///< exit status, or 128 + signal number
  std::string out;     ///< standard output
  std::string err;     ///< standard error
};

/// Runs `argv` (no shell) with `input` on its standard input and waits for it.
[[nodiscard]] CommandResult run_command(const std::vector<std::string>& argv,
                                        const std::string& input = {});

/// Writes a fluxwatch config pointed at the lab (its DNS server and MMDBs) to a temporary
/// file named after `name` and this process, and returns its path.
[[nodiscard]] std::string write_lab_config(const std::string& name);

/// Runs the fluxwatch binary with `--config config_path --dsn dsn` and then `args`.
[[nodiscard]] CommandResult run_fluxwatch(const std::string& config_path, const std::string& dsn,
                                          const std::vector<std::string>& args,
                                          const std::string& input = {});

/// Polls `condition` until it is true or `deadline` passes; returns its last value.
template <typename Condition>
bool wait_until(Condition condition, std::chrono::milliseconds deadline) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= until) {
      return condition();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

}  // namespace fluxwatch::testing
