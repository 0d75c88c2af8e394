#pragma once
/// Who may use fluxwatch's own PostgreSQL: `db grant-reader USER` (a local Unix user, by
/// peer authentication, as a member of the read-only role fluxwatch_reader), and `db stop`
/// that warns about connected sessions and stays stopped until `db start`.

#include <string>

#include "fluxwatch/config/config.h"
#include "fluxwatch/storage/database.h"

namespace fluxwatch::cli {

/// Lets the Unix user `user` read the database in use; see docs/operations.md.
int grant_reader(const config::Config& config, const std::string& user);

/// Stops the managed cluster; with sessions connected only when `force` (else exit 3).
/// Leaves a mark so that no later command starts the cluster again by itself.
int stop_cluster(const config::Config& config, bool force);

/// Starts the managed cluster and removes the mark stop_cluster() left.
void start_cluster(storage::ManagedCluster& cluster);

/// Throws fluxwatch::Error with what to do if `db stop` stopped the cluster.
void check_not_stopped(const storage::ManagedCluster& cluster);

}  // namespace fluxwatch::cli
