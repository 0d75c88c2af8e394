// WatchlistStore: listing, selecting and editing watchlist rows (libpqxx 6.4). Lists go in
// as one text parameter split server-side (never spliced into SQL).
#include "fluxwatch/storage/watchlist_store.h"

#include <pqxx/pqxx>

#include "copy_text.h"
#include "fluxwatch/common/error.h"
#include "list_param.h"

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

}  // namespace

struct WatchlistStore::Impl {
  explicit Impl(const std::string& dsn) try : connection(dsn) {
  } catch (const pqxx::broken_connection& error) {
    throw Error(std::string("watchlist: cannot connect to PostgreSQL: ") + error.what());
  }

  template <typename Fn>
  auto run(const char* what, Fn&& fn) {
    try {
      return fn(connection);
    } catch (const pqxx::failure& error) {
      throw Error(std::string("watchlist: ") + what + ": " + error.what());
    }
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

  pqxx::connection connection;
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
  return impl_->run("was_removed", [&](pqxx::connection& conn) {
    pqxx::read_transaction tx(conn, "watchlist_was_removed");
    return !tx.exec_params("SELECT 1 FROM watchlist WHERE domain = $1 AND removed_at IS NOT NULL",
                           name)
                .empty();
  });
}

bool WatchlistStore::campaign_has_probes(const std::string& name) {
  return impl_->run("campaign_has_probes", [&](pqxx::connection& conn) {
    pqxx::read_transaction tx(conn, "campaign_has_probes");
    return tx
        .exec_params1(
            "SELECT EXISTS (SELECT 1 FROM probes WHERE campaign = $1) "
            "OR EXISTS (SELECT 1 FROM schedule WHERE campaign = $1)",
            name)[0]
        .as<bool>();
  });
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
    tx.commit();
    std::vector<std::string> out;
    for (const auto& row : removed) {
      out.push_back(row[1].as<std::string>());
    }
    return out;
  });
}

std::size_t WatchlistStore::add_tags(const std::vector<std::string>& names,
                                     const std::vector<std::string>& tags) {
  return impl_->run("tag", [&](pqxx::connection& conn) {
    pqxx::work tx(conn, "watchlist_tag");
    const pqxx::result changed = tx.exec_params(
        "UPDATE watchlist SET tags = ARRAY(SELECT DISTINCT t FROM unnest(tags || "
        "string_to_array($2, E'\\x1f')) AS t ORDER BY t) "
        "WHERE removed_at IS NULL AND domain = ANY (string_to_array($1, E'\\x1f')) "
        "AND NOT string_to_array($2, E'\\x1f') <@ tags",
        join_list(names), join_list(tags));
    tx.commit();
    return static_cast<std::size_t>(changed.affected_rows());
  });
}

std::size_t WatchlistStore::remove_tags(const std::vector<std::string>& names,
                                        const std::vector<std::string>& tags) {
  return impl_->run("untag", [&](pqxx::connection& conn) {
    pqxx::work tx(conn, "watchlist_untag");
    const pqxx::result changed = tx.exec_params(
        "UPDATE watchlist SET tags = ARRAY(SELECT t FROM unnest(tags) AS t "
        "WHERE t <> ALL (string_to_array($2, E'\\x1f')) ORDER BY t) "
        "WHERE removed_at IS NULL AND domain = ANY (string_to_array($1, E'\\x1f')) "
        "AND tags && string_to_array($2, E'\\x1f')",
        join_list(names), join_list(tags));
    tx.commit();
    return static_cast<std::size_t>(changed.affected_rows());
  });
}

}  // namespace fluxwatch::storage
