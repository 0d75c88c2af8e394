#pragma once
/// Internal: the part of a scheduled store() that runs inside Database's transaction.

#include <cstdint>
#include <pqxx/pqxx>
#include <unordered_set>

#include "fluxwatch/storage/schedule_store.h"

namespace fluxwatch::storage::detail {

/// Writes `commit`'s schedule updates for the domains whose lease `commit.worker` still
/// holds, frees those leases, and returns the ids of these domains.
std::unordered_set<std::int64_t> apply_schedule_commit(pqxx::work& tx,
                                                       const ScheduleCommit& commit);

}  // namespace fluxwatch::storage::detail
