// ManagedCluster: a PostgreSQL cluster fluxwatch runs itself (initdb + pg_ctl), reachable
// only through a Unix socket in its state directory.
//
// Processes are started with fork + execv and an argument vector, never through a shell
// string of ours. pg_ctl itself starts the server through /bin/sh with the -o options, so
// the state directory (which appears in them) is restricted to shell-inert characters.

#include <fcntl.h>
#include <fmt/format.h>
#include <grp.h>
#include <libpq-fe.h>
#include <pwd.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <system_error>
#include <vector>

#include "fluxwatch/common/error.h"
#include "fluxwatch/common/logging.h"
#include "fluxwatch/common/unique_fd.h"
#include "fluxwatch/storage/database.h"

namespace fluxwatch::storage {
namespace {

namespace fs = std::filesystem;

/// The socket's "port": only its file name (.s.PGSQL.5432) in the state directory, since
/// the server listens on no TCP address, so it never clashes with other servers.
constexpr int kSocketPort = 5432;
constexpr const char* kDatabaseName = "fluxwatch";
constexpr const char* kStartTimeoutSeconds = "60";
/// Written by `fluxwatch db grant-reader`: local readers are let in (cli/src/cluster_access.cc).
constexpr const char* kReadersFile = "readers";
/// Settings for a write-heavy embedded database (docs/performance.md, "Storage rounds, schema
/// 15: the managed cluster"): each probe round rewrites every counters page and appends
/// whole observation pages, so most WAL is full-page images after a checkpoint. lz4 makes
/// those images smaller for little CPU; larger WAL buffers keep backends from writing WAL
/// themselves (pg_stat_wal.wal_buffers_full); checkpoints spaced further apart mean fewer
/// full-page images. Durability is untouched: fsync and synchronous_commit stay on.
constexpr const char* kServerSettings =
    "-c wal_compression=lz4 -c wal_buffers=16MB -c max_wal_size=4GB "
    "-c checkpoint_timeout=15min";
/// sizeof(sockaddr_un::sun_path) on Linux, including the terminating NUL.
constexpr std::size_t kMaxSocketPath = 108;

/// Who runs the server: as root, the `postgres` user (PostgreSQL refuses to run as root).
struct ServerUser {
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;
  std::string name;
};

/// nullopt when not root (the server runs as the current user).
std::optional<ServerUser> server_user() {
  if (geteuid() != 0) {
    return std::nullopt;
  }
  const passwd* entry = getpwnam("postgres");
  if (entry == nullptr) {
    throw Error(
        "fluxwatch runs as root, but PostgreSQL refuses to run as root and there is no "
        "'postgres' user to run it as: install Debian's postgresql package, or configure "
        "database.dsn to use an existing server");
  }
  ServerUser user{entry->pw_uid, entry->pw_gid, {}, entry->pw_name};
  int count = 32;
  user.groups.resize(static_cast<std::size_t>(count));
  if (getgrouplist(entry->pw_name, entry->pw_gid, user.groups.data(), &count) < 0) {
    user.groups.resize(static_cast<std::size_t>(count));
    getgrouplist(entry->pw_name, entry->pw_gid, user.groups.data(), &count);
  }
  user.groups.resize(static_cast<std::size_t>(std::max(count, 0)));
  return user;
}

using Fd = UniqueFd;

/// In a forked child: drop to `user`. Only async-signal-safe calls (the parent may have
/// threads). Returns false on failure.
bool drop_privileges(const ServerUser& user) noexcept {
  return setgroups(user.groups.size(), user.groups.data()) == 0 && setgid(user.gid) == 0 &&
         setuid(user.uid) == 0;
}

void write_stderr(const char* message) noexcept {
  const auto ignored = write(STDERR_FILENO, message, std::strlen(message));
  static_cast<void>(ignored);
}

/// Waits for `pid`; its exit status, or 128 + signal.
int wait_for(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      throw Error(fmt::format("waitpid failed: {}", std::strerror(errno)));
    }
  }
  if (WIFEXITED(status)) {
    return WEXITSTATUS(status);
  }
  return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

/**
 * Runs `argv` (argv[0] an absolute path) in `cwd` as `user` (if given), with stdin from
 * /dev/null and stdout/stderr appended to `log` (empty: discarded); returns the exit status. No
 * other file descriptor is inherited: a server started by pg_ctl must not hold our sockets, locks
 * or a test runner's pipes.
 */
int run_program(const std::vector<std::string>& argv, const fs::path& cwd, const fs::path& log,
                const std::optional<ServerUser>& user) {
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const std::string& arg : argv) {
    args.push_back(const_cast<char*>(arg.c_str()));  // execv's signature; it does not write
  }
  args.push_back(nullptr);
  const std::string cwd_text = cwd.string();
  const fs::path log_path = log.empty() ? fs::path("/dev/null") : log;
  const Fd log_fd(open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
  const Fd null_fd(open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (log_fd.get() < 0 || null_fd.get() < 0) {
    throw Error(fmt::format("cannot open {}: {}", log_path.string(), std::strerror(errno)));
  }
  const pid_t pid = fork();
  if (pid < 0) {
    throw Error(fmt::format("cannot start {}: fork: {}", argv.front(), std::strerror(errno)));
  }
  if (pid == 0) {
    // Child: async-signal-safe calls only.
    if (dup2(null_fd.get(), STDIN_FILENO) < 0 || dup2(log_fd.get(), STDOUT_FILENO) < 0 ||
        dup2(log_fd.get(), STDERR_FILENO) < 0) {
      _exit(126);
    }
    close_range(3, ~0U, 0);
    if (user && !drop_privileges(*user)) {
      write_stderr("fluxwatch: cannot switch to the postgres user\n");
      _exit(126);
    }
    if (chdir(cwd_text.c_str()) != 0) {
      write_stderr("fluxwatch: cannot change to the state directory\n");
      _exit(126);
    }
    execv(args[0], args.data());
    write_stderr("fluxwatch: cannot execute the PostgreSQL program\n");
    _exit(127);
  }
  return wait_for(pid);
}

/**
 * Checks, as `user`, that every ancestor of `dir` is searchable and `dir` itself usable.
 * Returns the first path that is not, or nullopt if all are.
 */
std::optional<fs::path> first_unreachable(const fs::path& dir, const ServerUser& user) {
  std::vector<std::string> paths;
  for (fs::path path = dir; !path.empty(); path = path.parent_path()) {
    paths.push_back(path.string());
    if (path == path.root_path()) {
      break;
    }
  }
  std::reverse(paths.begin(), paths.end());  // "/", "/var", ..., dir
  const pid_t pid = fork();
  if (pid < 0) {
    throw Error(fmt::format("fork failed: {}", std::strerror(errno)));
  }
  if (pid == 0) {
    if (!drop_privileges(user)) {
      _exit(255);
    }
    for (std::size_t i = 0; i < paths.size(); ++i) {
      const int mode = i + 1 == paths.size() ? (R_OK | W_OK | X_OK) : X_OK;
      if (access(paths[i].c_str(), mode) != 0) {
        _exit(static_cast<int>(std::min<std::size_t>(i + 1, 254)));
      }
    }
    _exit(0);
  }
  const int status = wait_for(pid);
  if (status == 0) {
    return std::nullopt;
  }
  if (status == 255 || status > static_cast<int>(paths.size())) {
    throw Error("cannot switch to the postgres user to check the state directory");
  }
  return fs::path(paths[static_cast<std::size_t>(status - 1)]);
}

/// The last `lines` lines of a text file ("" if unreadable).
std::string tail_of(const fs::path& file, std::size_t lines = 25) {
  std::ifstream in(file);
  std::deque<std::string> last;
  for (std::string line; std::getline(in, line);) {
    last.push_back(std::move(line));
    if (last.size() > lines) {
      last.pop_front();
    }
  }
  std::string text;
  for (const std::string& line : last) {
    text += "\n  | " + line;
  }
  return text;
}

/// An exclusive flock on a file, so two fluxwatch processes do not initdb/start at once.
class DirectoryLock {
 public:
  explicit DirectoryLock(const fs::path& file)
      : fd_(open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600)) {
    if (fd_.get() < 0) {
      throw Error(fmt::format("cannot create {}: {}", file.string(), std::strerror(errno)));
    }
    while (flock(fd_.get(), LOCK_EX) != 0) {
      if (errno != EINTR) {
        throw Error(fmt::format("cannot lock {}: {}", file.string(), std::strerror(errno)));
      }
    }
  }  // the lock goes with the descriptor

 private:
  Fd fd_;
};

/// Characters allowed in the state directory: it ends up inside the shell command line
/// pg_ctl builds and in a libpq connection string, so nothing that needs quoting there.
bool is_plain_path(const std::string& path) {
  return std::all_of(path.begin(), path.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '/' ||
           c == '.' || c == '_' || c == '-' || c == '+' || c == '@';
  });
}

fs::path absolute_path(const std::string& dir) {
  std::error_code error;
  fs::path path = fs::absolute(dir, error);
  if (error) {
    path = dir;
  }
  path = path.lexically_normal();
  // "/var/lib/fluxwatch/" -> "/var/lib/fluxwatch" (an empty last element breaks parent_path).
  if (path.has_relative_path() && !path.has_filename()) {
    path = path.parent_path();
  }
  return path;
}

/// Parses "15" or "9.6" into comparable numbers.
std::vector<int> version_of(const std::string& name) {
  std::vector<int> parts;
  std::size_t start = 0;
  while (start <= name.size()) {
    const std::size_t end = std::min(name.find('.', start), name.size());
    const std::string part = name.substr(start, end - start);
    if (part.empty() ||
        !std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return {};
    }
    parts.push_back(std::atoi(part.c_str()));
    start = end + 1;
  }
  return parts;
}

bool has_server_programs(const fs::path& bindir) {
  return access((bindir / "pg_ctl").c_str(), X_OK) == 0 &&
         access((bindir / "initdb").c_str(), X_OK) == 0;
}

}  // namespace

std::string find_postgres_bindir() {
  // Debian: /usr/lib/postgresql/<major>/bin, several majors may be installed: take the newest.
  std::optional<std::pair<std::vector<int>, fs::path>> best;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator("/usr/lib/postgresql", error)) {
    auto version = version_of(entry.path().filename().string());
    const fs::path bindir = entry.path() / "bin";
    if (!version.empty() && has_server_programs(bindir) && (!best || version > best->first)) {
      best.emplace(std::move(version), bindir);
    }
  }
  if (best) {
    return best->second.string();
  }
  // Elsewhere initdb and pg_ctl are usually on the PATH.
  if (const char* path = std::getenv("PATH"); path != nullptr) {
    const std::string paths = path;
    std::size_t start = 0;
    while (start <= paths.size()) {
      const std::size_t end = std::min(paths.find(':', start), paths.size());
      const fs::path dir = paths.substr(start, end - start);
      if (!dir.empty() && dir.is_absolute() && has_server_programs(dir)) {
        return dir.string();
      }
      start = end + 1;
    }
  }
  return {};
}

ManagedCluster::ManagedCluster(std::string data_dir)
    : data_dir_(absolute_path(data_dir).string()) {}

std::string ManagedCluster::dsn() const {
  return fmt::format("host={} port={} user=postgres dbname={}", data_dir_, kSocketPort,
                     kDatabaseName);
}

bool ManagedCluster::accepting_connections() const {
  if (!fs::exists(fs::path(data_dir_) / fmt::format(".s.PGSQL.{}", kSocketPort))) {
    return false;  // no server there: no connection attempt
  }
  // A connection (not PQping, which is also "OK" when the database is missing).
  PGconn* connection = PQconnectdb((dsn() + " connect_timeout=5").c_str());
  const bool accepted = PQstatus(connection) == CONNECTION_OK;
  PQfinish(connection);
  return accepted;
}

bool ManagedCluster::running() const {
  const fs::path dir = data_dir_;
  if (!fs::exists(dir / "data" / "PG_VERSION")) {
    return false;
  }
  const std::string bindir = find_postgres_bindir();
  if (bindir.empty()) {
    return false;
  }
  try {
    // pg_ctl status: 0 = running, 3 = not running, 4 = no cluster there.
    return run_program({bindir + "/pg_ctl", "status", "-D", (dir / "data").string()}, dir, {},
                       server_user()) == 0;
  } catch (const Error&) {
    return false;
  }
}

void ManagedCluster::ensure_running() {
  const fs::path dir = data_dir_;
  const fs::path data = dir / "data";
  const fs::path tool_log = dir / "pg_ctl.log";
  const fs::path server_log = dir / "server.log";

  if (!is_plain_path(data_dir_)) {
    throw Error(fmt::format(
        "the PostgreSQL state directory {} contains characters fluxwatch does not pass to "
        "pg_ctl (spaces, quotes, ...): use letters, digits and / . _ - + @ only",
        data_dir_));
  }
  const std::string socket = fmt::format("{}/.s.PGSQL.{}", data_dir_, kSocketPort);
  if (socket.size() >= kMaxSocketPath) {
    throw Error(fmt::format(
        "the PostgreSQL state directory {} is too long: its socket {} would exceed the "
        "{}-byte Unix socket path limit; choose a shorter path, e.g. /var/lib/fluxwatch",
        data_dir_, socket, kMaxSocketPath - 1));
  }
  const std::string bindir = find_postgres_bindir();
  if (bindir.empty()) {
    throw Error(
        "PostgreSQL server programs (initdb, pg_ctl) not found in /usr/lib/postgresql/*/bin "
        "or on the PATH: apt-get install postgresql, or configure database.dsn");
  }
  const std::optional<ServerUser> user = server_user();

  std::error_code error;
  fs::create_directories(dir, error);
  if (error) {
    throw Error(fmt::format("cannot create the PostgreSQL state directory {}: {}", data_dir_,
                            error.message()));
  }
  // The socket lives here and authentication is "trust": only the owner (and root) may enter.
  // After `fluxwatch db grant-reader` (peer authentication, file kReadersFile) others may
  // pass through to the socket, not list or read.
  const mode_t mode = fs::exists(dir / kReadersFile) ? 0711 : 0700;
  if (chmod(dir.c_str(), mode) != 0) {
    throw Error(fmt::format("cannot chmod {}: {}", data_dir_, std::strerror(errno)));
  }
  if (user) {
    if (chown(dir.c_str(), user->uid, user->gid) != 0) {
      throw Error(
          fmt::format("cannot give {} to the postgres user: {}", data_dir_, std::strerror(errno)));
    }
    if (const auto blocked = first_unreachable(dir, *user)) {
      throw Error(fmt::format(
          "the postgres user cannot reach the PostgreSQL state directory {} ({} is not "
          "accessible to it); the server must run as 'postgres' because PostgreSQL refuses to "
          "run as root: choose a state directory the postgres user can reach, e.g. "
          "/var/lib/fluxwatch",
          data_dir_, blocked->string()));
    }
  }

  const DirectoryLock lock(dir / "cluster.lock");
  if (!fs::exists(data / "PG_VERSION")) {
    logger()->info("storage: creating a PostgreSQL cluster in {}", data.string());
    const int status = run_program({bindir + "/initdb", "-D", data.string(), "-U", "postgres",
                                    "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"},
                                   dir, tool_log, user);
    if (status != 0) {
      throw Error(fmt::format("initdb failed in {} (exit status {}); {}:{}", data.string(), status,
                              tool_log.string(), tail_of(tool_log)));
    }
  }
  if (!running()) {
    logger()->info("storage: starting PostgreSQL in {}", data_dir_);
    const std::string options =
        fmt::format("-c listen_addresses='' -c unix_socket_directories='{}' -p {} {}", data_dir_,
                    kSocketPort, kServerSettings);
    const int status =
        run_program({bindir + "/pg_ctl", "start", "-D", data.string(), "-l", server_log.string(),
                     "-w", "-t", kStartTimeoutSeconds, "-o", options},
                    dir, tool_log, user);
    if (status != 0) {
      throw Error(fmt::format(
          "PostgreSQL did not start in {} (pg_ctl exit status {}); {}:{}\n{}:{}", data_dir_, status,
          server_log.string(), tail_of(server_log), tool_log.string(), tail_of(tool_log, 10)));
    }
  }

  try {
    pqxx::connection admin(
        fmt::format("host={} port={} user=postgres dbname=postgres", data_dir_, kSocketPort));
    pqxx::nontransaction tx(admin);
    if (tx.exec_params("SELECT 1 FROM pg_database WHERE datname = $1", kDatabaseName).empty()) {
      // CREATE DATABASE takes no parameters; the name is a constant.
      tx.exec(fmt::format("CREATE DATABASE {}", kDatabaseName));
    }
  } catch (const std::exception& failure) {
    throw Error(fmt::format(
        "PostgreSQL in {} runs, but preparing the '{}' database failed: {}; "
        "{}:{}",
        data_dir_, kDatabaseName, failure.what(), server_log.string(), tail_of(server_log)));
  }
}

void ManagedCluster::stop() {
  const fs::path dir = data_dir_;
  if (!running()) {
    return;
  }
  const std::string bindir = find_postgres_bindir();
  const fs::path tool_log = dir / "pg_ctl.log";
  const int status = run_program({bindir + "/pg_ctl", "stop", "-D", (dir / "data").string(), "-m",
                                  "fast", "-w", "-t", kStartTimeoutSeconds},
                                 dir, tool_log, server_user());
  if (status != 0) {
    throw Error(fmt::format("PostgreSQL in {} did not stop (pg_ctl exit status {}); {}:{}",
                            data_dir_, status, tool_log.string(), tail_of(tool_log)));
  }
  logger()->info("storage: stopped PostgreSQL in {}", data_dir_);
}

}  // namespace fluxwatch::storage
