#pragma once
// Schema migrations on a Session (migration_store.cc); Database::migrate() and
// Database::schema_version() are these.

#include "fluxwatch/storage/session.h"

namespace fluxwatch::storage::detail {

/// Applies every migration not yet applied (up to `up_to_version`); returns how many.
int apply_migrations(Session& session, int up_to_version);
/// Highest applied migration version, 0 on an empty database.
int schema_version(Session& session);

}  // namespace fluxwatch::storage::detail
