#pragma once
/// A TCP relay on 127.0.0.1 in front of a PostgreSQL server's Unix socket that can cut a
/// session at its COMMIT, for tests of a COMMIT whose answer is lost. Killing a backend
/// cannot do that deterministically: the transaction dies with it, so the server never
/// commits. The relay can forward the COMMIT, wait for the server's answer (the commit is
/// durable before the server answers) and throw that answer away, which is exactly the case
/// where only the server knows the outcome. After a cut the relay plays a server that is away
/// (it accepts and closes every connection) until come_back().

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

namespace fluxwatch::testing {

class CuttingProxy {
 public:
  /// What to do with the next COMMIT a client sends.
  enum class Cut {
    None,                   ///< relay everything
    BeforeTheServer,        ///< drop the COMMIT: the server rolls the transaction back
    AfterTheServerAnswers,  ///< relay it, wait for the answer, drop the answer
  };

  /// Relays to the Unix socket of the server that `server_dsn` (host=<socket dir> port=N)
  /// names. @throw std::runtime_error if it cannot listen.
  explicit CuttingProxy(const std::string& server_dsn);
  ~CuttingProxy();
  CuttingProxy(const CuttingProxy&) = delete;
  CuttingProxy& operator=(const CuttingProxy&) = delete;

  /// `dsn` with its host and port replaced by the relay's.
  [[nodiscard]] std::string through(const std::string& dsn) const;
  /// Arms the cut for the next COMMIT of any session.
  void cut_next_commit(Cut how);
  /// True once a COMMIT was cut (the relay is then away).
  [[nodiscard]] bool cut_done() const { return cut_done_; }
  /// Relays new sessions again after a cut.
  void come_back();

 private:
  void serve();

  std::string socket_path_;
  int listener_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<Cut> armed_{Cut::None};
  std::atomic<bool> cut_done_{false};
  std::atomic<bool> away_{false};
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace fluxwatch::testing
