#pragma once
/// A child process in the background (e.g. `fluxwatch run`), its output in a file; killed
/// if still running when destroyed. For tests that signal a process and read its log.

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "support/test_env.h"

namespace fluxwatch::testing {

using std::chrono::milliseconds;

/// A `fluxwatch` process in the background, its stderr in a file; killed if still running
/// when destroyed.
class Background {
 public:
  Background(const std::vector<std::string>& argv, const std::string& log_path)
      : log_path_(log_path) {
    std::vector<char*> args;
    for (const auto& arg : argv) {
      args.push_back(const_cast<char*>(arg.c_str()));  // NOLINT: execv's signature
    }
    args.push_back(nullptr);
    pid_ = fork();
    if (pid_ == 0) {
      const int fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      const int null = open("/dev/null", O_RDWR);
      dup2(null, 0);
      dup2(fd, 1);
      dup2(fd, 2);
      execv(args[0], args.data());
      _exit(127);
    }
  }
  ~Background() {
    if (!exit_code_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  Background(const Background&) = delete;
  Background& operator=(const Background&) = delete;

  void signal(int number) const { kill(pid_, number); }
  /// Exit status (128 + signal if killed), or nullopt if still running at the deadline.
  std::optional<int> wait(milliseconds deadline) {
    wait_until(
        [&] {
          if (exit_code_) {
            return true;
          }
          int status = 0;
          if (waitpid(pid_, &status, WNOHANG) == pid_) {
            exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            return true;
          }
          return false;
        },
        deadline);
    return exit_code_;
  }
  [[nodiscard]] std::string log() const {
    std::ifstream in(log_path_);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

 private:
  std::string log_path_;
  pid_t pid_ = -1;
  std::optional<int> exit_code_;
};

}  // namespace fluxwatch::testing
