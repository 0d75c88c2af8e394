#include "support/python_server.h"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <csignal>
#include <cstdlib>
#include <stdexcept>

namespace fluxwatch::testing {
namespace {

/// Debian's interpreter when present: a version manager's shim on PATH can take seconds
/// to start.
std::string python() {
  return access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
}

}  // namespace

PythonServer::PythonServer(const std::string& script, const std::vector<std::string>& args,
                           std::chrono::milliseconds deadline, const std::string& what) {
  std::vector<std::string> command{python(), script};
  command.insert(command.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& arg : command) {
    argv.push_back(arg.data());
  }
  argv.push_back(nullptr);

  std::array<int, 2> out_pipe{};
  std::array<int, 2> in_pipe{};
  if (pipe2(out_pipe.data(), O_CLOEXEC) != 0) {
    throw std::runtime_error("pipe failed");
  }
  if (pipe2(in_pipe.data(), O_CLOEXEC) != 0) {
    close(out_pipe[0]);
    close(out_pipe[1]);
    throw std::runtime_error("pipe failed");
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);
  posix_spawn_file_actions_adddup2(&actions, in_pipe[0], 0);
  const int status = posix_spawnp(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(out_pipe[1]);
  close(in_pipe[0]);
  stdin_fd_ = in_pipe[1];
  if (status != 0) {
    pid_ = -1;
    close(out_pipe[0]);
    stop();
    throw std::runtime_error("cannot start " + command[0] + " for " + what);
  }

  std::string line;
  const auto until = std::chrono::steady_clock::now() + deadline;
  while (line.find('\n') == std::string::npos) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        until - std::chrono::steady_clock::now());
    pollfd fd{out_pipe[0], POLLIN, 0};
    if (left.count() <= 0 || poll(&fd, 1, static_cast<int>(left.count())) <= 0) {
      break;
    }
    std::array<char, 64> buffer{};
    const auto got = read(out_pipe[0], buffer.data(), buffer.size());
    if (got <= 0) {
      break;
    }
    line.append(buffer.data(), static_cast<std::size_t>(got));
  }
  close(out_pipe[0]);
  port_ = static_cast<std::uint16_t>(std::atoi(line.c_str()));
  if (port_ == 0) {
    stop();
    throw std::runtime_error(what + " did not start: '" + line + "'");
  }
}

PythonServer::~PythonServer() { stop(); }

void PythonServer::stop() noexcept {
  if (stdin_fd_ >= 0) {
    close(stdin_fd_);  // the server exits when its stdin closes
    stdin_fd_ = -1;
  }
  if (pid_ > 0) {
    kill(pid_, SIGTERM);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
  }
}

}  // namespace fluxwatch::testing
