#pragma once
/// Starts tests/support/hostile_dns.py, the misbehaving DNS server of the robustness tests,
/// on an ephemeral loopback port and stops it again. The server prints its port once its
/// UDP and TCP sockets listen, so the constructor returns only when it is ready (no
/// sleeping), and it exits by itself when its standard input closes, so it never outlives
/// the test process.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>

#include "fluxwatch/common/endpoint.h"

namespace fluxwatch::testing {

class HostileDnsServer {
 public:
  /// @throw std::runtime_error if the server is not listening within `deadline`.
  explicit HostileDnsServer(std::chrono::milliseconds deadline = std::chrono::seconds(30));
  ~HostileDnsServer();
  HostileDnsServer(const HostileDnsServer&) = delete;
  HostileDnsServer& operator=(const HostileDnsServer&) = delete;

  /// 127.0.0.1:port (UDP and TCP).
  [[nodiscard]] Endpoint endpoint() const { return Endpoint{"127.0.0.1", port_}; }
  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
  /// The query name that selects `behaviour` (see hostile_dns.py): "<behaviour>.hostile.test".
  [[nodiscard]] static std::string name(const std::string& behaviour) {
    return behaviour + ".hostile.test";
  }

 private:
  void stop() noexcept;

  pid_t pid_ = -1;
  int stdin_fd_ = -1;
  std::uint16_t port_ = 0;
};

}  // namespace fluxwatch::testing
