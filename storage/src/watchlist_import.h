#pragma once
// The watchlist import and the list of watched domains on a Session (watchlist_store.cc);
// Database::import_watchlist*() and Database::watched_domains() are these.

#include <functional>
#include <vector>

#include "fluxwatch/storage/database.h"
#include "fluxwatch/storage/session.h"

namespace fluxwatch::storage::detail {

ImportStats import_watchlist(Session& session,
                             const std::function<void(const WatchSink&)>& produce);
std::vector<WatchedDomain> watched_domains(Session& session);
/// The same, streamed: on_count(number of domains) first, then each domain in id order.
void watched_domains(Session& session, const std::function<void(std::size_t)>& on_count,
                     const std::function<void(WatchedDomain&&)>& each);

}  // namespace fluxwatch::storage::detail
