#pragma once
/// Starts tests/support/hostile_dns.py, the misbehaving DNS server of the robustness tests,
/// on an ephemeral loopback port and stops it again. The server prints its port once its
/// UDP and TCP sockets listen, so the constructor returns only when it is ready (no
/// sleeping), and it exits by itself when its standard input closes, so it never outlives
/// the test process.

#include <chrono>
#include <cstdint>
#include <string>

#include "fluxwatch/common/endpoint.h"
#include "support/python_server.h"

namespace fluxwatch::testing {

class HostileDnsServer {
 public:
  /// @throw std::runtime_error if the server is not listening within `deadline`.
  explicit HostileDnsServer(std::chrono::milliseconds deadline = std::chrono::seconds(30));

  /// 127.0.0.1:port (UDP and TCP).
  [[nodiscard]] Endpoint endpoint() const { return Endpoint{"127.0.0.1", port()}; }
  [[nodiscard]] std::uint16_t port() const noexcept { return server_.port(); }
  /// The query name that selects `behaviour` (see hostile_dns.py): "<behaviour>.hostile.test".
  [[nodiscard]] static std::string name(const std::string& behaviour) {
    return behaviour + ".hostile.test";
  }

 private:
  PythonServer server_;
};

}  // namespace fluxwatch::testing
