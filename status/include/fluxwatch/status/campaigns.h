#pragma once
/// The schedule's figures per campaign (due, backlog, oldest overdue, last probe) as
/// `status` reads them, for readers with their own transaction (the web overview): the SQL
/// stays in one place, status_sql.cc.

#include <pqxx/pqxx>
#include <vector>

#include "fluxwatch/status/status.h"

namespace fluxwatch::status {

/// One row per campaign of the `schedule` table, ordered by name; the lateness fields are
/// left unset (they scan recent probes: read_status() adds them).
[[nodiscard]] std::vector<CampaignStatus> read_campaigns(pqxx::transaction_base& tx);

}  // namespace fluxwatch::status
