#pragma once
// The report's queries on a Session (report_store.cc); Database::summaries() is this.

#include <vector>

#include "fluxwatch/storage/database.h"
#include "fluxwatch/storage/session.h"

namespace fluxwatch::storage::detail {

std::vector<DomainSummary> domain_summaries(Session& session);

}  // namespace fluxwatch::storage::detail
