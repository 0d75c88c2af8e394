// ScheduleStore: the scheduler's leases and due times in PostgreSQL (libpqxx 6.4).
// Timestamps go in as UTC text and come back as microseconds since the epoch; lists of
// tags/sources go in as one parameter split server-side, never spliced into SQL.

#include "fluxwatch/storage/schedule_store.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <bit>
#include <pqxx/pqxx>
#include <string_view>
#include <utility>

#include "copy_text.h"
#include "fluxwatch/common/error.h"
#include "fluxwatch/storage/session.h"
#include "list_param.h"
#include "schedule_sql.h"

namespace fluxwatch::storage {
namespace {

std::optional<std::int64_t> hash_param(const std::optional<std::uint64_t>& hash) {
  if (!hash) {
    return std::nullopt;
  }
  return std::bit_cast<std::int64_t>(*hash);
}

constexpr const char* kSyncInsertSql = R"sql(
INSERT INTO schedule (campaign, domain_id, next_due)
SELECT $1, w.domain_id, greatest(now(), coalesce($4::timestamptz, now()))
FROM watchlist w
WHERE w.removed_at IS NULL
  AND (($2 = '' AND $3 = '')
       OR w.tags && string_to_array(nullif($2, ''), E'\x1f')
       OR w.source = ANY (string_to_array(nullif($3, ''), E'\x1f')))
ON CONFLICT (campaign, domain_id) DO NOTHING
)sql";

constexpr const char* kSyncDeleteSql = R"sql(
DELETE FROM schedule s USING watchlist w
WHERE s.campaign = $1 AND w.domain_id = s.domain_id
  AND (w.removed_at IS NOT NULL OR NOT (($2 = '' AND $3 = '')
           OR w.tags && string_to_array(nullif($2, ''), E'\x1f')
           OR coalesce(w.source = ANY (string_to_array(nullif($3, ''), E'\x1f')), false)))
)sql";

// SKIP LOCKED: rows another worker is leasing right now are passed over, not waited for.
constexpr const char* kLeaseSql = R"sql(
WITH picked AS (
  SELECT domain_id FROM schedule
  WHERE campaign = $1 AND next_due <= $3::timestamptz
    AND (lease_until IS NULL OR lease_until < now())
  ORDER BY next_due
  LIMIT $4
  FOR UPDATE SKIP LOCKED
)
UPDATE schedule s
SET lease_owner = $2, lease_until = now() + make_interval(secs => $5)
FROM picked, watchlist w
WHERE s.campaign = $1 AND s.domain_id = picked.domain_id AND w.domain_id = s.domain_id
RETURNING s.domain_id, w.domain, (extract(epoch FROM s.next_due) * 1000000)::bigint,
          s.interval_ms, s.stable_runs, s.answer_hash
)sql";

}  // namespace

struct ScheduleStore::Impl {
  explicit Impl(std::string dsn) : session(std::move(dsn), "scheduler") {}

  template <typename Body>
  auto run(std::string_view what, Body&& body) {
    return session.run(what, std::forward<Body>(body));
  }

  Session session;
};

ScheduleStore::ScheduleStore(const std::string& dsn) : impl_(std::make_unique<Impl>(dsn)) {}
ScheduleStore::~ScheduleStore() = default;
ScheduleStore::ScheduleStore(ScheduleStore&&) noexcept = default;
ScheduleStore& ScheduleStore::operator=(ScheduleStore&&) noexcept = default;

std::int64_t ScheduleStore::sync_campaign(
    const std::string& campaign, const CampaignSelection& selection,
    std::optional<std::chrono::system_clock::time_point> first_due) {
  return impl_->run("sync_campaign", [&](pqxx::connection& connection) {
    pqxx::work tx(connection, "sync_campaign");
    const std::string tags = join_list(selection.tags);
    const std::string sources = join_list(selection.sources);
    std::optional<std::string> first;
    if (first_due) {
      first = detail::format_timestamp_utc(*first_due);
    }
    tx.exec_params(kSyncInsertSql, campaign, tags, sources, first);
    tx.exec_params(kSyncDeleteSql, campaign, tags, sources);
    const auto count =
        tx.exec_params1("SELECT count(*) FROM schedule WHERE campaign = $1", campaign)[0]
            .as<std::int64_t>();
    impl_->session.commit(tx);
    return count;
  });
}

std::vector<LeasedDomain> ScheduleStore::lease_due(const std::string& campaign,
                                                   const std::string& worker,
                                                   std::chrono::system_clock::time_point due_before,
                                                   std::size_t limit,
                                                   std::chrono::milliseconds lease) {
  return impl_->run("lease_due", [&](pqxx::connection& connection) {
    pqxx::work tx(connection, "lease_due");
    const pqxx::result rows = tx.exec_params(
        kLeaseSql, campaign, worker, detail::format_timestamp_utc(due_before),
        static_cast<std::int64_t>(limit), static_cast<double>(lease.count()) / 1000.0);
    impl_->session.commit(tx);
    std::vector<LeasedDomain> leased;
    leased.reserve(rows.size());
    for (const auto& row : rows) {
      LeasedDomain domain;
      domain.domain_id = row[0].as<std::int64_t>();
      domain.domain = row[1].as<std::string>();
      domain.due = detail::from_unix_micros(row[2].as<long long>());
      domain.interval_ms = static_cast<std::uint32_t>(row[3].as<std::int64_t>());
      domain.stable_runs = static_cast<std::uint16_t>(row[4].as<int>());
      if (!row[5].is_null()) {
        domain.answer_hash = std::bit_cast<std::uint64_t>(row[5].as<std::int64_t>());
      }
      leased.push_back(std::move(domain));
    }
    return leased;
  });
}

std::int64_t ScheduleStore::renew(const std::string& campaign, const std::string& worker,
                                  std::chrono::milliseconds lease) {
  return static_cast<std::int64_t>(impl_->session.exec_write(
      "renew",
      "UPDATE schedule SET lease_until = now() + make_interval(secs => $3) "
      "WHERE campaign = $1 AND lease_owner = $2",
      campaign, worker, static_cast<double>(lease.count()) / 1000.0));
}

std::int64_t ScheduleStore::release(const std::string& campaign, const std::string& worker) {
  return static_cast<std::int64_t>(
      impl_->session.exec_write("release",
                                "UPDATE schedule SET lease_owner = NULL, lease_until = NULL "
                                "WHERE campaign = $1 AND lease_owner = $2",
                                campaign, worker));
}

bool ScheduleStore::try_lock_campaign(const std::string& campaign) {
  return impl_->run("try_lock_campaign", [&](pqxx::connection& connection) {
    pqxx::nontransaction tx(connection, "try_lock_campaign");
    return tx
        .exec_params1("SELECT pg_try_advisory_lock(hashtextextended($1, 0))",
                      "fluxwatch campaign " + campaign)[0]
        .as<bool>();
  });
}

std::int64_t ScheduleStore::due_count(const std::string& campaign) {
  return impl_->session
      .exec_read("due_count",
                 "SELECT count(*) FROM schedule WHERE campaign = $1 AND next_due <= now()",
                 campaign)[0][0]
      .as<std::int64_t>();
}

std::vector<LeaseHolder> ScheduleStore::lease_holders(const std::string& campaign,
                                                      const std::vector<std::int64_t>& domain_ids) {
  std::string ids = "{";
  for (std::size_t i = 0; i < domain_ids.size() && i < 1000; ++i) {
    ids += (i == 0 ? "" : ",") + std::to_string(domain_ids[i]);
  }
  ids += "}";
  const pqxx::result rows = impl_->session.exec_read(
      "lease_holders",
      "SELECT s.domain_id, w.domain, s.lease_owner, "
      "(extract(epoch FROM s.last_sent) * 1000000)::bigint FROM schedule s "
      "JOIN watchlist w USING (domain_id) WHERE s.campaign = $1 AND s.domain_id = ANY "
      "($2::bigint[]) ORDER BY s.domain_id",
      campaign, ids);
  std::vector<LeaseHolder> holders;
  holders.reserve(rows.size());
  for (const auto& row : rows) {
    LeaseHolder holder;
    holder.domain_id = row[0].as<std::int64_t>();
    holder.domain = row[1].as<std::string>();
    if (!row[2].is_null()) {
      holder.owner = row[2].as<std::string>();
    }
    if (!row[3].is_null()) {
      holder.last_sent = detail::from_unix_micros(row[3].as<long long>());
    }
    holders.push_back(std::move(holder));
  }
  return holders;
}

namespace detail {

std::unordered_set<std::int64_t> apply_schedule_commit(pqxx::work& tx,
                                                       const ScheduleCommit& commit) {
  std::unordered_set<std::int64_t> held;
  if (commit.updates.empty()) {
    return held;
  }
  tx.exec(
      "CREATE TEMP TABLE fw_schedule_done (domain_id bigint, next_due timestamptz, "
      "interval_ms integer, stable_runs smallint, answer_hash bigint, last_sent timestamptz) "
      "ON COMMIT DROP");
  pqxx::stream_to stage(tx, "fw_schedule_done",
                        std::vector<std::string>{"domain_id", "next_due", "interval_ms",
                                                 "stable_runs", "answer_hash", "last_sent"});
  for (const ScheduleUpdate& update : commit.updates) {
    stage << std::make_tuple(update.domain_id, format_timestamp_utc(update.next_due),
                             static_cast<std::int64_t>(update.interval_ms),
                             static_cast<int>(update.stable_runs), hash_param(update.answer_hash),
                             format_timestamp_utc(update.last_sent));
  }
  stage.complete();
  const pqxx::result rows = tx.exec_params(
      "UPDATE schedule s SET next_due = d.next_due, interval_ms = d.interval_ms, "
      "stable_runs = d.stable_runs, answer_hash = d.answer_hash, last_sent = d.last_sent, "
      "lease_owner = NULL, lease_until = NULL "
      "FROM fw_schedule_done d "
      "WHERE s.campaign = $1 AND s.domain_id = d.domain_id AND s.lease_owner = $2 "
      "RETURNING s.domain_id",
      commit.campaign, commit.worker);
  held.reserve(rows.size());
  for (const auto& row : rows) {
    held.insert(row[0].as<std::int64_t>());
  }
  return held;
}

}  // namespace detail
}  // namespace fluxwatch::storage
