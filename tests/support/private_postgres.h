#pragma once
/// A PostgreSQL cluster of one test's own (tests/scripts/test-postgres.sh in a temporary
/// directory), for fault tests that stop and restart the server without touching the
/// cluster the other tests share.

#include <unistd.h>

#include <filesystem>
#include <stdexcept>
#include <string>

#include "support/test_env.h"

namespace fluxwatch::testing {

class PrivatePostgres {
 public:
  explicit PrivatePostgres(const std::string& name, int port = 5432)
      : dir_(std::filesystem::temp_directory_path() /
             ("fluxwatch-pg-" + std::to_string(getpid()) + "-" + name)),
        port_(std::to_string(port)) {
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    start();
  }
  /// A hot standby of `primary` (pg_basebackup -R, streaming replication), started.
  PrivatePostgres(const std::string& name, int port, const PrivatePostgres& primary)
      : dir_(std::filesystem::temp_directory_path() /
             ("fluxwatch-pg-" + std::to_string(getpid()) + "-" + name)),
        port_(std::to_string(port)) {
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    must(run_command(
             {script(), "replica", dir_.string(), port_, primary.dir_.string(), primary.port_}),
         "replica");
  }
  ~PrivatePostgres() {
    (void)run_command({script(), "stop", dir_.string(), port_});
    std::filesystem::remove_all(dir_);
  }
  PrivatePostgres(const PrivatePostgres&) = delete;
  PrivatePostgres& operator=(const PrivatePostgres&) = delete;

  [[nodiscard]] std::string dsn() const {
    return "host=" + dir_.string() + " port=" + port_ + " user=postgres dbname=postgres";
  }
  /// The server's log (e.g. for a failing test's message).
  [[nodiscard]] std::filesystem::path log() const { return dir_ / "server.log"; }
  /// pg_ctl stop -m fast: every connection is cut.
  void stop() { must(run_command({script(), "stop", dir_.string(), port_}), "stop"); }
  void start() { must(run_command({script(), "start", dir_.string(), port_}), "start"); }

 private:
  static std::string script() { return (source_dir() / "tests/scripts/test-postgres.sh").string(); }
  static void must(const CommandResult& result, const char* what) {
    if (result.exit_code != 0) {
      throw std::runtime_error(std::string("test-postgres.sh ") + what + ": " + result.err);
    }
  }
  std::filesystem::path dir_;
  std::string port_;
};

}  // namespace fluxwatch::testing
