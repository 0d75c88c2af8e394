#pragma once
/// A test server written in Python (tests/support/hostile_dns.py,
/// tests/integration/fetch/http_test_server.py), run as a child process. Such a script
/// prints its port on its first line once it listens, so the constructor returns only when
/// the server is ready (no sleeping), and it exits when its standard input closes, so it
/// never outlives the test process.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace fluxwatch::testing {

class PythonServer {
 public:
  /// Runs `script` with `args`. @throw std::runtime_error naming `what` if the server has
  /// not printed its port within `deadline` (it is stopped first).
  PythonServer(const std::string& script, const std::vector<std::string>& args,
               std::chrono::milliseconds deadline, const std::string& what);
  ~PythonServer();
  PythonServer(const PythonServer&) = delete;
  PythonServer& operator=(const PythonServer&) = delete;

  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }

 private:
  void stop() noexcept;

  pid_t pid_ = -1;
  int stdin_fd_ = -1;
  std::uint16_t port_ = 0;
};

}  // namespace fluxwatch::testing
