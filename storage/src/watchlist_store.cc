// WatchlistStore: listing, selecting and editing watchlist rows (libpqxx 6.4). Lists go in
// as one text parameter split server-side (never spliced into SQL).
#include "fluxwatch/storage/watchlist_store.h"

#include <pqxx/pqxx>
#include <tuple>

#include "copy_text.h"
#include "fluxwatch/common/error.h"
#include "list_param.h"
#include "watchlist_import.h"

namespace fluxwatch::storage {
namespace {

// $1 domains, $2 tags, $3 sources: each an empty string (no restriction) or a joined list.
constexpr const char* kSelectSql = R"sql(
SELECT w.domain_id, w.domain, coalesce(w.source, ''), array_to_string(w.tags, E'\x1f'),
       (extract(epoch FROM w.added_at) * 1000000)::bigint
FROM watchlist w
WHERE w.removed_at IS NULL
  AND ($1 = '' OR w.domain = ANY (string_to_array($1, E'\x1f')))
  AND ($2 = '' OR w.tags && string_to_array($2, E'\x1f'))
  AND ($3 = '' OR w.source = ANY (string_to_array($3, E'\x1f')))
)sql";

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> items;
  std::size_t start = 0;
  while (!text.empty()) {
    const auto end = text.find(kListSeparator, start);
    items.push_back(text.substr(start, end - start));
    if (end == std::string::npos) {
      break;
    }
    start = end + 1;
  }
  return items;
}

// The merge of a streamed import (fw_watch_import) into watchlist: the first entry's source,
// the union of the tags, a removed domain watched again.
constexpr const char* kImportSql = R"sql(
WITH src AS (
  SELECT domain,
         (array_agg(source ORDER BY ord) FILTER (WHERE source IS NOT NULL))[1] AS source,
         coalesce(array_agg(DISTINCT tag ORDER BY tag) FILTER (WHERE tag IS NOT NULL),
                  '{}') AS tags,
         min(ord) AS ord
  FROM fw_watch_import
  GROUP BY domain
), upserted AS (
  INSERT INTO watchlist (domain, source, tags)
  SELECT domain, source, tags FROM src ORDER BY ord
  ON CONFLICT (domain) DO UPDATE
    SET tags = ARRAY(SELECT DISTINCT t FROM unnest(watchlist.tags || excluded.tags) AS t
                     ORDER BY t),
        removed_at = NULL  -- a removed domain imported again is watched again
    WHERE NOT excluded.tags <@ watchlist.tags OR watchlist.removed_at IS NOT NULL
  -- xmax = 0 only on a freshly inserted row version; an updated one carries our xid.
  RETURNING (xmax = 0) AS inserted
)
SELECT (SELECT count(*) FROM src) AS total,
       (SELECT count(*) FROM upserted WHERE inserted) AS added
)sql";

}  // namespace

namespace detail {

ImportStats import_watchlist(Session& session,
                             const std::function<void(const WatchSink&)>& produce) {
  return session.run("import_watchlist", [&](pqxx::connection& connection) {
    pqxx::work tx(connection, "import_watchlist");
    // One row per (entry, tag), or one with a NULL tag: no array literals to escape. Rows
    // stream to the server as they come (libpq's COPY buffer), so nothing grows here.
    tx.exec(
        "CREATE TEMP TABLE fw_watch_import (ord bigint, domain text, source text, tag text) "
        "ON COMMIT DROP");
    pqxx::stream_to stage(tx, "fw_watch_import",
                          std::vector<std::string>{"ord", "domain", "source", "tag"});
    std::int64_t ord = 0;
    produce([&](const WatchEntry& entry) {
      const auto source = null_if_empty(entry.source);
      bool any_tag = false;
      for (const std::string& tag : entry.tags) {
        if (!tag.empty()) {
          stage << std::make_tuple(ord, entry.domain, source, tag);
          any_tag = true;
        }
      }
      if (!any_tag) {
        stage << std::make_tuple(ord, entry.domain, source, nullptr);
      }
      ++ord;
    });
    stage.complete();
    if (ord == 0) {
      return ImportStats{};
    }
    const pqxx::row counts = tx.exec1(kImportSql);
    session.commit(tx);
    const auto total = counts[0].as<std::int64_t>();
    const auto added = counts[1].as<std::int64_t>();
    return ImportStats{static_cast<std::size_t>(added), static_cast<std::size_t>(total - added),
                       static_cast<std::size_t>(ord - total)};
  });
}

std::vector<WatchedDomain> watched_domains(Session& session) {
  std::vector<WatchedDomain> domains;
  watched_domains(
      session, [&](std::size_t count) { domains.reserve(count); },
      [&](WatchedDomain&& domain) { domains.push_back(std::move(domain)); });
  return domains;
}

void watched_domains(Session& session, const std::function<void(std::size_t)>& on_count,
                     const std::function<void(WatchedDomain&&)>& each) {
  // One snapshot for the count and the rows; the rows come 5,000 at a time from a cursor,
  // so the caller can start on the first ones while the rest is still on its way.
  std::size_t delivered = 0;
  std::int64_t last_id = 0;  // a retry after a lost connection goes on after it
  session.run("watched_domains", [&](pqxx::connection& connection) {
    pqxx::transaction<pqxx::repeatable_read, pqxx::read_only> tx(connection, "watched_domains");
    const auto count = tx.exec_params1(
                             "SELECT count(*) FROM watchlist WHERE removed_at IS NULL "
                             "AND domain_id > $1",
                             last_id)[0]
                           .as<std::size_t>();
    if (delivered == 0) {
      on_count(count);
    }
    // The bound is a parameter of the cursor's query (DECLARE takes them like any query).
    tx.exec_params(
        "DECLARE watched NO SCROLL CURSOR FOR SELECT domain_id, domain FROM watchlist "
        "WHERE removed_at IS NULL AND domain_id > $1 ORDER BY domain_id",
        last_id);
    for (;;) {
      const pqxx::result rows = tx.exec("FETCH 5000 FROM watched");
      for (const auto& row : rows) {
        last_id = row[0].as<std::int64_t>();
        each(WatchedDomain{last_id, row[1].as<std::string>()});
        ++delivered;
      }
      if (rows.empty()) {
        break;
      }
    }
  });
}

}  // namespace detail

struct WatchlistStore::Impl {
  explicit Impl(const std::string& dsn) : session(dsn, "watchlist") {}

  template <typename Fn>
  auto run(const char* what, Fn&& fn) {
    return session.run(what, std::forward<Fn>(fn));
  }

  std::vector<WatchlistRow> select(const WatchlistFilter& filter, const char* order) {
    return run("list", [&](pqxx::connection& conn) {
      pqxx::read_transaction tx(conn, "watchlist_rows");
      const pqxx::result rows =
          tx.exec_params(std::string(kSelectSql) + order, join_list(filter.domains),
                         join_list(filter.tags), join_list(filter.sources));
      std::vector<WatchlistRow> out;
      out.reserve(rows.size());
      for (const auto& row : rows) {
        out.push_back(WatchlistRow{row[0].as<std::int64_t>(), row[1].as<std::string>(),
                                   row[2].as<std::string>(), split_list(row[3].as<std::string>()),
                                   detail::from_unix_micros(row[4].as<long long>())});
      }
      return out;
    });
  }

  Session session;
};

WatchlistStore::WatchlistStore(const std::string& dsn) : impl_(std::make_unique<Impl>(dsn)) {}
WatchlistStore::~WatchlistStore() = default;
WatchlistStore::WatchlistStore(WatchlistStore&&) noexcept = default;
WatchlistStore& WatchlistStore::operator=(WatchlistStore&&) noexcept = default;

std::vector<WatchlistRow> WatchlistStore::rows(const WatchlistFilter& filter) {
  return impl_->select(filter, " ORDER BY w.domain");
}

std::vector<WatchedDomain> WatchlistStore::domains(const WatchlistFilter& filter) {
  std::vector<WatchedDomain> out;
  for (auto& row : impl_->select(filter, " ORDER BY w.domain_id")) {
    out.push_back(WatchedDomain{row.id, std::move(row.domain)});
  }
  return out;
}

std::vector<WatchedDomain> WatchlistStore::find(const std::vector<std::string>& names) {
  if (names.empty()) {
    return {};
  }
  return domains(WatchlistFilter{names, {}, {}});
}

bool WatchlistStore::was_removed(const std::string& name) {
  return !impl_->session
              .exec_read("was_removed",
                         "SELECT 1 FROM watchlist WHERE domain = $1 AND removed_at IS NOT NULL",
                         name)
              .empty();
}

bool WatchlistStore::campaign_has_probes(const std::string& name) {
  return impl_->session
      .exec_read("campaign_has_probes",
                 "SELECT EXISTS (SELECT 1 FROM probes WHERE campaign = $1) "
                 "OR EXISTS (SELECT 1 FROM schedule WHERE campaign = $1)",
                 name)[0][0]
      .as<bool>();
}

std::vector<std::string> WatchlistStore::remove(const std::vector<std::string>& names) {
  return impl_->run("remove", [&](pqxx::connection& conn) {
    pqxx::work tx(conn, "watchlist_remove");
    const pqxx::result removed = tx.exec_params(
        "UPDATE watchlist SET removed_at = now() WHERE removed_at IS NULL "
        "AND domain = ANY (string_to_array($1, E'\\x1f')) RETURNING domain_id, domain",
        join_list(names));
    // Campaign schedules stop holding them (a re-import brings them back at the next sync).
    tx.exec_params(
        "DELETE FROM schedule WHERE domain_id IN (SELECT domain_id FROM watchlist "
        "WHERE removed_at IS NOT NULL AND domain = ANY (string_to_array($1, E'\\x1f')))",
        join_list(names));
    impl_->session.commit(tx);
    std::vector<std::string> out;
    for (const auto& row : removed) {
      out.push_back(row[1].as<std::string>());
    }
    return out;
  });
}

// Tags: $1 the domains, $2 the tags, each one joined list; rows already as asked are left
// alone, so the count is of domains that changed.
std::size_t WatchlistStore::add_tags(const std::vector<std::string>& names,
                                     const std::vector<std::string>& tags) {
  return impl_->session.exec_write(
      "tag",
      "UPDATE watchlist SET tags = ARRAY(SELECT DISTINCT t FROM unnest(tags || "
      "string_to_array($2, E'\\x1f')) AS t ORDER BY t) "
      "WHERE removed_at IS NULL AND domain = ANY (string_to_array($1, E'\\x1f')) "
      "AND NOT string_to_array($2, E'\\x1f') <@ tags",
      join_list(names), join_list(tags));
}

std::size_t WatchlistStore::remove_tags(const std::vector<std::string>& names,
                                        const std::vector<std::string>& tags) {
  return impl_->session.exec_write(
      "untag",
      "UPDATE watchlist SET tags = ARRAY(SELECT t FROM unnest(tags) AS t "
      "WHERE t <> ALL (string_to_array($2, E'\\x1f')) ORDER BY t) "
      "WHERE removed_at IS NULL AND domain = ANY (string_to_array($1, E'\\x1f')) "
      "AND tags && string_to_array($2, E'\\x1f')",
      join_list(names), join_list(tags));
}

}  // namespace fluxwatch::storage
