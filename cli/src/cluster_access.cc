#include "cluster_access.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <pwd.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <pqxx/pqxx>
#include <regex>
#include <set>
#include <sstream>

#include "context.h"
#include "fluxwatch/common/error.h"

namespace fluxwatch::cli {
namespace {

namespace fs = std::filesystem;

constexpr const char* kBegin = "# BEGIN fluxwatch access (fluxwatch db grant-reader; keep first)";
constexpr const char* kEnd = "# END fluxwatch access";
constexpr const char* kIdentMap = "fluxwatch_owner";
/// Must match storage/src/managed_cluster.cc: with this file the socket directory is 0711.
constexpr const char* kReadersFile = "readers";
constexpr const char* kStoppedFile = "stopped-by-user";

/// Role and Unix user names that need no quoting in pg_hba.conf / pg_ident.conf.
bool plain_name(const std::string& name) {
  static const std::regex pattern("^[a-z_][a-z0-9_-]{0,31}$");
  return std::regex_match(name, pattern);
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

/// `text` with the lines between kBegin and kEnd (inclusive) removed; `inside` gets them.
std::string without_block(const std::string& text, std::vector<std::string>& inside) {
  std::istringstream lines(text);
  std::string line;
  std::string rest;
  bool in_block = false;
  while (std::getline(lines, line)) {
    if (line == kBegin) {
      in_block = true;
    } else if (line == kEnd) {
      in_block = false;
    } else if (in_block) {
      inside.push_back(line);
    } else {
      rest += line + "\n";
    }
  }
  return rest;
}

/// Rewrites a file in place (its owner and mode stay: PostgreSQL's server user owns it).
void rewrite(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
  if (!out.flush()) {
    throw Error(fmt::format("cannot write {}", path.string()));
  }
}

std::string current_user() {
  const passwd* entry = getpwuid(geteuid());
  return entry != nullptr ? entry->pw_name : "root";
}

/// Peer authentication for the owner (as the superuser "postgres") and for every reader;
/// everything else on the socket is rejected, so the trust line below is never reached.
void write_access_rules(pqxx::connection& admin, const std::set<std::string>& readers) {
  pqxx::nontransaction tx(admin);
  const fs::path hba = tx.exec("SHOW hba_file")[0][0].as<std::string>();
  const fs::path ident = tx.exec("SHOW ident_file")[0][0].as<std::string>();

  std::vector<std::string> old_rules;
  const std::string hba_rest = without_block(read_text(hba), old_rules);
  std::string block = std::string(kBegin) + "\n";
  block += fmt::format("local all postgres peer map={}\n", kIdentMap);
  for (const auto& reader : readers) {
    block += fmt::format("local fluxwatch {} peer\n", reader);
  }
  block += "local all all reject\n";
  block += std::string(kEnd) + "\n";
  rewrite(hba, block + hba_rest);

  std::vector<std::string> old_map;
  const std::string ident_rest = without_block(read_text(ident), old_map);
  std::set<std::string> owners{current_user(), "postgres"};
  if (geteuid() == 0) {
    owners.insert("root");
  }
  std::string map = std::string(kBegin) + "\n";
  for (const auto& owner : owners) {
    map += fmt::format("{} {} postgres\n", kIdentMap, owner);
  }
  map += std::string(kEnd) + "\n";
  rewrite(ident, ident_rest + map);
  tx.exec("SELECT pg_reload_conf()");
}

/// The readers already let in (from the managed block of pg_hba.conf).
std::set<std::string> current_readers(pqxx::connection& admin) {
  pqxx::nontransaction tx(admin);
  std::vector<std::string> rules;
  (void)without_block(read_text(tx.exec("SHOW hba_file")[0][0].as<std::string>()), rules);
  std::set<std::string> readers;
  static const std::regex reader_rule(R"(^local fluxwatch (\S+) peer$)");
  std::smatch match;
  for (const auto& rule : rules) {
    if (std::regex_match(rule, match, reader_rule)) {
      readers.insert(match[1].str());
    }
  }
  return readers;
}

void grant_role(const std::string& dsn, const std::string& user) {
  pqxx::connection connection(dsn);
  pqxx::work tx(connection);
  // Role names cannot be parameters; quote_name makes the (already checked) name inert.
  const std::string role = tx.quote_name(user);
  if (tx.exec_params("SELECT 1 FROM pg_roles WHERE rolname = $1", user).empty()) {
    tx.exec("CREATE ROLE " + role + " LOGIN");
  }
  tx.exec("GRANT fluxwatch_reader TO " + role);
  tx.commit();
}

/// The ancestors of `dir` another user cannot pass through (no o+x).
std::vector<std::string> closed_ancestors(const fs::path& dir) {
  std::vector<std::string> closed;
  for (fs::path path = dir.parent_path(); !path.empty() && path != path.root_path();
       path = path.parent_path()) {
    struct stat info {};
    if (stat(path.c_str(), &info) == 0 && (info.st_mode & S_IXOTH) == 0) {
      closed.push_back(path.string());
    }
  }
  return closed;
}

}  // namespace

void check_not_stopped(const storage::ManagedCluster& cluster) {
  if (fs::exists(fs::path(cluster.data_dir()) / kStoppedFile)) {
    throw Error(fmt::format(
        "fluxwatch's own PostgreSQL in {} was stopped with `fluxwatch db stop`; start it with "
        "`fluxwatch db start` (or configure database.dsn)",
        cluster.data_dir()));
  }
}

void start_cluster(storage::ManagedCluster& cluster) {
  std::error_code ignored;
  fs::remove(fs::path(cluster.data_dir()) / kStoppedFile, ignored);
  cluster.ensure_running();
}

int stop_cluster(const config::Config& config, bool force) {
  auto cluster = managed_cluster(config);
  if (cluster.running()) {
    std::vector<std::string> sessions;
    try {
      pqxx::connection admin(cluster.dsn());
      pqxx::nontransaction tx(admin);
      for (const auto& row :
           tx.exec("SELECT usename, coalesce(datname, ''), coalesce(application_name, ''), "
                   "coalesce(state, ''), backend_start::timestamp(0)::text FROM pg_stat_activity "
                   "WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() "
                   "ORDER BY backend_start")) {
        sessions.push_back(fmt::format("{}@{} {} ({}, since {})", row[0].c_str(), row[1].c_str(),
                                       row[2].c_str(), row[3].c_str(), row[4].c_str()));
      }
    } catch (const std::exception& error) {
      spdlog::warn("could not list the connected sessions: {}", error.what());
    }
    if (!sessions.empty()) {
      spdlog::warn("{} session{} connected to {}:", sessions.size(), plural(sessions.size()),
                   cluster.data_dir());
      for (const auto& session : sessions) {
        spdlog::warn("  {}", session);
      }
      if (!force) {
        spdlog::error(
            "not stopped: stop the `fluxwatch run` processes first, or cut these sessions "
            "with `fluxwatch db stop --force`");
        return kExitPartial;
      }
    }
  }
  cluster.stop();
  if (fs::exists(cluster.data_dir())) {
    std::ofstream(fs::path(cluster.data_dir()) / kStoppedFile)
        << "stopped by `fluxwatch db stop`; `fluxwatch db start` starts it again\n";
  }
  fmt::print("stopped: {} (stays stopped until `fluxwatch db start`)\n", cluster.data_dir());
  return kExitOk;
}

int grant_reader(const config::Config& config, const std::string& user) {
  if (!plain_name(user)) {
    throw ConfigError(fmt::format(
        "db grant-reader {}: expected a Unix user name (lower-case letters, digits, _ and -)",
        user));
  }
  { auto db = open_database(config); }  // the schema and the fluxwatch_reader role exist
  const std::string dsn = database_dsn(config);
  grant_role(dsn, user);
  if (!uses_managed_cluster(config)) {
    fmt::print(
        "{} is a member of fluxwatch_reader (read-only) on the configured database.\n"
        "The server's pg_hba.conf decides how it logs in: e.g. `local <database> {} peer` for "
        "the local Unix user, or `host <database> {} <network> scram-sha-256` after setting a "
        "password (psql: \\password {}).\n",
        user, user, user, user);
    return kExitOk;
  }
  if (getpwnam(user.c_str()) == nullptr) {
    throw Error(fmt::format(
        "db grant-reader {}: no such Unix user here; fluxwatch's own PostgreSQL lets local "
        "users in by peer authentication (a shared server with passwords suits remote "
        "colleagues: configure database.dsn)",
        user));
  }
  auto cluster = managed_cluster(config);
  {
    pqxx::connection admin(cluster.dsn());
    auto readers = current_readers(admin);
    readers.insert(user);
    write_access_rules(admin, readers);
  }
  // The owner must still get in (as the superuser, through the ident map).
  try {
    pqxx::connection check(cluster.dsn());
  } catch (const std::exception& error) {
    throw Error(fmt::format("the access rules locked fluxwatch itself out: {}", error.what()));
  }
  const fs::path dir = cluster.data_dir();
  std::ofstream(dir / kReadersFile, std::ios::app) << user << "\n";
  chmod(dir.c_str(), 0711);  // through to the socket; no listing
  for (const char* log : {"pg_ctl.log", "postgres.log", "server.log"}) {
    if (fs::exists(dir / log)) {
      chmod((dir / log).c_str(), 0600);
    }
  }
  fmt::print(
      "{} may now read the database (role fluxwatch_reader, peer authentication):\n"
      "  psql \"{}\"\n",
      user, std::regex_replace(cluster.dsn(), std::regex("user=postgres"), "user=" + user));
  const auto closed = closed_ancestors(dir);
  if (!closed.empty()) {
    spdlog::warn("{} cannot reach the socket yet: {} lack{} the x bit for others (chmod o+x)", user,
                 fmt::join(closed, ", "), closed.size() == 1 ? "s" : "");
  }
  return kExitOk;
}

}  // namespace fluxwatch::cli
