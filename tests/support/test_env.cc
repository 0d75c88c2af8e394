#include "support/test_env.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <pqxx/pqxx>
#include <random>
#include <regex>
#include <sstream>
#include <stdexcept>

namespace fluxwatch::testing {
namespace {

std::string env_or(const char* name, const char* fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? std::string(value) : std::string(fallback);
}

Endpoint endpoint_from(const std::string& text) {
  auto endpoint = parse_endpoint(text);
  if (!endpoint) {
    throw std::runtime_error("not an ip:port: " + text);
  }
  return *endpoint;
}

#ifndef FLUXWATCH_BINARY_DEFAULT
#define FLUXWATCH_BINARY_DEFAULT ""
#endif

}  // namespace

std::string server_dsn() { return env_or("FLUXWATCH_TEST_DSN", FLUXWATCH_TEST_DSN_DEFAULT); }
Endpoint lab_server() {
  return endpoint_from(env_or("FLUXWATCH_LAB_SERVER", FLUXWATCH_LAB_SERVER_DEFAULT));
}
Endpoint lab_blackhole() {
  return endpoint_from(env_or("FLUXWATCH_LAB_BLACKHOLE", FLUXWATCH_LAB_BLACKHOLE_DEFAULT));
}
std::filesystem::path lab_out_dir() {
  return env_or("FLUXWATCH_LAB_OUT", FLUXWATCH_LAB_OUT_DEFAULT);
}
std::filesystem::path source_dir() {
  return env_or("FLUXWATCH_SOURCE_DIR", FLUXWATCH_SOURCE_DIR_DEFAULT);
}

std::map<std::string, std::string> doc_queries() {
  std::ifstream in(source_dir() / "docs/queries.md");
  std::stringstream text;
  text << in.rdbuf();
  const std::string doc = text.str();
  const std::regex block(R"(<!-- query: ([a-z0-9-]+) -->\s*```sql\n([\s\S]*?)```)");
  std::map<std::string, std::string> out;
  for (auto it = std::sregex_iterator(doc.begin(), doc.end(), block); it != std::sregex_iterator();
       ++it) {
    out[(*it)[1]] = (*it)[2];
  }
  return out;
}
std::filesystem::path fluxwatch_binary() {
  return env_or("FLUXWATCH_BINARY", FLUXWATCH_BINARY_DEFAULT);
}

CommandResult run_command(const std::vector<std::string>& argv, const std::string& input) {
  std::array<int, 2> in_pipe{};
  std::array<int, 2> out_pipe{};
  std::array<int, 2> err_pipe{};
  if (pipe2(in_pipe.data(), O_CLOEXEC) != 0 || pipe2(out_pipe.data(), O_CLOEXEC) != 0 ||
      pipe2(err_pipe.data(), O_CLOEXEC) != 0) {
    throw std::runtime_error("pipe failed");
  }
  std::vector<char*> args;
  for (const auto& arg : argv) {
    args.push_back(const_cast<char*>(arg.c_str()));  // NOLINT: execv's historical signature
  }
  args.push_back(nullptr);
  const pid_t pid = fork();
  if (pid < 0) {
    throw std::runtime_error("fork failed");
  }
  if (pid == 0) {
    dup2(in_pipe[0], 0);
    dup2(out_pipe[1], 1);
    dup2(err_pipe[1], 2);
    execv(args[0], args.data());
    _exit(127);
  }
  close(in_pipe[0]);
  close(out_pipe[1]);
  close(err_pipe[1]);
  // Feed stdin and drain stdout/stderr together so no pipe fills up and blocks the child.
  CommandResult result;
  std::size_t written = 0;
  int in_fd = in_pipe[1];
  if (input.empty()) {
    close(in_fd);
    in_fd = -1;
  }
  std::array<pollfd, 3> fds{pollfd{out_pipe[0], POLLIN, 0}, pollfd{err_pipe[0], POLLIN, 0},
                            pollfd{in_fd, POLLOUT, 0}};
  while (fds[0].fd >= 0 || fds[1].fd >= 0) {
    if (poll(fds.data(), fds.size(), -1) < 0 && errno != EINTR) {
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd >= 0 && (fds[i].revents & (POLLIN | POLLHUP)) != 0) {
        std::array<char, 65536> buffer{};
        const auto n = read(fds[i].fd, buffer.data(), buffer.size());
        if (n <= 0) {
          close(fds[i].fd);
          fds[i].fd = -1;
        } else {
          (i == 0 ? result.out : result.err).append(buffer.data(), static_cast<std::size_t>(n));
        }
      }
    }
    if (fds[2].fd >= 0 && (fds[2].revents & (POLLOUT | POLLERR | POLLHUP)) != 0) {
      const auto n = write(fds[2].fd, input.data() + written, input.size() - written);
      written += n > 0 ? static_cast<std::size_t>(n) : 0;
      if (n <= 0 || written == input.size()) {
        close(fds[2].fd);
        fds[2].fd = -1;
      }
    }
  }
  if (fds[2].fd >= 0) {
    close(fds[2].fd);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

std::string write_lab_config(const std::string& name) {
  const auto mmdb = lab_out_dir() / "mmdb";
  const auto path =
      std::filesystem::temp_directory_path() / fmt::format("fluxwatch-{}-{}.yaml", name, getpid());
  std::ofstream(path) << fmt::format(
      "resolvers: [\"{}\"]\n"
      "probe:\n  timeout_ms: 1500\n  tries: 2\n  concurrency: 200\n"
      "geoip:\n  asn_database: {}\n  city_database: {}\n",
      lab_server().to_string(), (mmdb / "lab-ASN.mmdb").string(),
      (mmdb / "lab-City.mmdb").string());
  return path.string();
}

CommandResult run_fluxwatch(const std::string& config_path, const std::string& dsn,
                            const std::vector<std::string>& args, const std::string& input) {
  std::vector<std::string> argv{fluxwatch_binary().string(), "--config", config_path, "--dsn", dsn};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_command(argv, input);
}

ScratchDatabase::ScratchDatabase() {
  std::random_device random;
  name_ = fmt::format("fw_test_{:08x}{:08x}", random(), random());
  pqxx::connection admin(server_dsn());
  pqxx::nontransaction tx(admin);
  // CREATE DATABASE takes no parameters; the name is generated above, never from input.
  tx.exec("CREATE DATABASE " + admin.quote_name(name_) + " TEMPLATE template0");
  dsn_ = server_dsn() + " dbname=" + name_;
}

ScratchDatabase::~ScratchDatabase() {
  try {
    pqxx::connection admin(server_dsn());
    pqxx::nontransaction tx(admin);
    tx.exec("DROP DATABASE IF EXISTS " + admin.quote_name(name_) + " WITH (FORCE)");
  } catch (const std::exception&) {
    // Best effort: a leftover scratch database is harmless and named fw_test_*.
  }
}

std::uint16_t unused_loopback_port(int socket_type) {
  const int probe = socket(AF_INET, socket_type, 0);
  if (probe < 0) {
    return 0;
  }
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  const bool bound = bind(probe, reinterpret_cast<sockaddr*>(&address), length) == 0 &&
                     getsockname(probe, reinterpret_cast<sockaddr*>(&address), &length) == 0;
  close(probe);  // released: nobody holds it now
  return bound ? ntohs(address.sin_port) : std::uint16_t{0};
}

}  // namespace fluxwatch::testing
