#include "loopback_server.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

extern char** environ;

namespace fluxwatch::testing {

LoopbackHttpServer::LoopbackHttpServer(const std::filesystem::path& root,
                                       std::vector<std::string> addresses,
                                       const std::string& tls_cert)
    : scheme_(tls_cert.empty() ? "http" : "https"), address_(addresses.at(0)) {
  std::vector<std::string> args{"python3", FLUXWATCH_FETCH_TEST_SERVER, "--root", root.string()};
  for (const auto& address : addresses) {
    args.push_back("--address");
    args.push_back(address);
  }
  if (!tls_cert.empty()) {
    args.push_back("--tls-cert");
    args.push_back(tls_cert);
  }
  int out_pipe[2];
  int in_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(in_pipe, O_CLOEXEC) != 0) {
    throw std::runtime_error("pipe failed");
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);
  posix_spawn_file_actions_adddup2(&actions, in_pipe[0], 0);
  std::vector<char*> argv;
  for (auto& arg : args) {
    argv.push_back(arg.data());
  }
  argv.push_back(nullptr);
  const int status = posix_spawnp(&pid_, "python3", &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(out_pipe[1]);
  close(in_pipe[0]);
  stdin_fd_ = in_pipe[1];
  if (status != 0) {
    close(out_pipe[0]);
    throw std::runtime_error("cannot start python3");
  }
  std::string line;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (line.find('\n') == std::string::npos) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd fd{out_pipe[0], POLLIN, 0};
    if (left.count() <= 0 || poll(&fd, 1, static_cast<int>(left.count())) <= 0) {
      break;
    }
    char buffer[64];
    const auto got = read(out_pipe[0], buffer, sizeof buffer);
    if (got <= 0) {
      break;
    }
    line.append(buffer, static_cast<std::size_t>(got));
  }
  close(out_pipe[0]);
  port_ = static_cast<std::uint16_t>(std::atoi(line.c_str()));
  if (port_ == 0) {
    throw std::runtime_error("the test HTTP server did not start: '" + line + "'");
  }
}

LoopbackHttpServer::~LoopbackHttpServer() {
  if (stdin_fd_ >= 0) {
    close(stdin_fd_);  // the server exits when its stdin closes
  }
  if (pid_ > 0) {
    kill(pid_, SIGTERM);
    int status = 0;
    waitpid(pid_, &status, 0);
  }
}

std::string LoopbackHttpServer::url(const std::string& path) const {
  return scheme_ + "://" + address_ + ":" + std::to_string(port_) + path;
}

TempDir::TempDir() {
  std::string pattern =
      (std::filesystem::temp_directory_path() / "fluxwatch-fetch-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) {
    throw std::runtime_error("mkdtemp failed");
  }
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

void write_file(const std::filesystem::path& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace fluxwatch::testing
