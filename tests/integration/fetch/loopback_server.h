#pragma once
/// Starts tests/integration/fetch/http_test_server.py (Python's http.server) on loopback
/// addresses and stops it again. The server prints its port once it listens, so the
/// constructor returns only when it is ready (no sleeping).

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "support/python_server.h"

namespace fluxwatch::testing {

class LoopbackHttpServer {
 public:
  /// Serves `root` on every address in `addresses` (127.x only), one shared port.
  /// `tls_cert`: a PEM with certificate and key to serve https instead.
  /// @throw std::runtime_error if it does not come up within 10 s.
  explicit LoopbackHttpServer(const std::filesystem::path& root,
                              std::vector<std::string> addresses = {"127.0.0.1"},
                              const std::string& tls_cert = "");

  [[nodiscard]] std::uint16_t port() const noexcept { return server_.port(); }
  /// "http://127.0.0.1:PORT" + path (first address).
  [[nodiscard]] std::string url(const std::string& path) const;

 private:
  std::string scheme_;
  std::string address_;
  PythonServer server_;
};

/// A fresh temporary directory, removed with its content by the destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }

 private:
  std::filesystem::path path_;
};

/// Writes `content` to `path` (binary).
void write_file(const std::filesystem::path& path, const std::string& content);
/// Reads a whole file (binary).
[[nodiscard]] std::string read_file(const std::filesystem::path& path);

}  // namespace fluxwatch::testing
