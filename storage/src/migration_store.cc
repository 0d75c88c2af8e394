// Schema migrations: every migrations/NNNN_name.sql (embedded at build time, migrations.h)
// applied in order, each in its own transaction, recorded in schema_migrations.
#include "migration_store.h"

#include <fmt/format.h>

#include <pqxx/pqxx>
#include <span>
#include <string>

#include "fluxwatch/common/logging.h"
#include "fluxwatch/storage/database.h"
#include "migrations.h"

namespace fluxwatch::storage {
namespace detail {
namespace {

/// Key of the transaction-scoped advisory lock that serialises migrate() across processes
/// (two `fluxwatch init` at once): arbitrary, but fixed forever ("fluxmigr" in ASCII).
constexpr std::int64_t kMigrationLockKey = 0x666c75786d696772;

/// True when every one of `migrations` is recorded as applied: the usual case at every
/// command's start, answered by one query instead of a locked transaction per migration.
bool all_applied(pqxx::connection& connection, std::span<const Migration> migrations) {
  pqxx::read_transaction tx(connection, "migrations_applied");
  // Not to_regclass(): a name looked up and not found stays cached in this backend as
  // missing until its next transaction, so the locked check below could miss the table
  // that a concurrent migrate() creates meanwhile. A scan of pg_class caches nothing.
  if (!tx.exec("SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_class c "
               "WHERE c.relname = 'schema_migrations' AND c.relkind IN ('r', 'p') "
               "AND pg_catalog.pg_table_is_visible(c.oid))")[0][0]
           .as<bool>()) {
    return false;
  }
  std::string versions = "{";
  for (const Migration& migration : migrations) {
    versions += fmt::format("{}{}", versions.size() > 1 ? "," : "", migration.version);
  }
  versions += "}";
  return tx.exec_params1("SELECT count(*) FROM schema_migrations WHERE version = ANY($1::int[])",
                         versions)[0]
             .as<std::size_t>() == migrations.size();
}

}  // namespace

int apply_migrations(Session& session, int up_to_version) {
  auto migrations = embedded_migrations();
  while (!migrations.empty() && migrations.back().version > up_to_version) {
    migrations = migrations.first(migrations.size() - 1);
  }
  int applied = 0;  // outside run(): survives a retry after a lost connection
  session.run("migrate", [&](pqxx::connection& connection) {
    if (all_applied(connection, migrations)) {
      return;
    }
    for (const detail::Migration& migration : migrations) {
      pqxx::work tx(connection, "migrate");
      // Held until this transaction ends: a concurrent migrate() waits here, then sees the
      // migration as applied.
      tx.exec_params("SELECT pg_advisory_xact_lock($1)", kMigrationLockKey);
      const bool has_table =
          tx.exec("SELECT to_regclass('schema_migrations') IS NOT NULL")[0][0].as<bool>();
      if (has_table &&
          tx.exec_params1("SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = $1)",
                          migration.version)[0]
              .as<bool>()) {
        tx.commit();  // wrote nothing
        continue;
      }
      tx.exec(std::string(migration.sql));
      tx.exec_params("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                     migration.version, std::string(migration.name));
      session.commit(tx);
      ++applied;
      logger()->info("storage: applied migration {:04}_{}", migration.version, migration.name);
    }
  });
  const int version = schema_version(session);
  const auto known = embedded_migrations();
  if (!known.empty() && version > known.back().version) {
    logger()->warn(
        "storage: the database schema is at version {}, newer than this fluxwatch knows "
        "({}); upgrade fluxwatch",
        version, known.back().version);
  }
  return applied;
}

int schema_version(Session& session) {
  return session.run("schema_version", [](pqxx::connection& connection) {
    pqxx::read_transaction tx(connection, "schema_version");
    if (!tx.exec("SELECT to_regclass('schema_migrations') IS NOT NULL")[0][0].as<bool>()) {
      return 0;
    }
    return tx.exec("SELECT coalesce(max(version), 0) FROM schema_migrations")[0][0].as<int>();
  });
}

}  // namespace detail

int latest_schema_version() {
  const auto known = detail::embedded_migrations();
  return known.empty() ? 0 : known.back().version;
}

}  // namespace fluxwatch::storage
