#pragma once
/// Authoritative probing of one domain: find its delegation (the NS set, through the
/// recursive resolvers), the name servers' addresses (glue, else A/AAAA lookups), then ask
/// every name server address directly with RD=0. Pure logic over ProbeResults: it says
/// which queries to send next and classifies the answers; the caller sends them with a
/// Crawler (submit/poll) and stores every result.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "fluxwatch/common/endpoint.h"
#include "fluxwatch/common/types.h"
#include "fluxwatch/crawler/crawler.h"

namespace fluxwatch::crawler {

struct AuthoritativeOptions {
  /// Asked at every name server for the domain itself; the zone's SOA is always asked too.
  std::vector<RrType> record_types{RrType::A};
  std::uint16_t port = 53;  ///< name servers' port (the lab uses another)
  /// Name server addresses asked per domain at most: a hostile NS set cannot make one
  /// domain cost thousands of queries.
  std::size_t max_servers = 16;
  bool ipv6 = true;  ///< also look up AAAA of NS names and ask those addresses
  /// NS lookups walking up from the name to its zone (www.a.example -> a.example -> ...).
  int max_zone_steps = 8;
};

/// A query the plan wants sent. `server` unset: to the recursive resolvers (kAnyServer);
/// set: to that name server (the caller maps it with Crawler::server_index).
struct PlannedQuery {
  Query query;
  std::optional<Endpoint> server;
};

/**
 * The state of one domain's authoritative probe. Every result of a query it planned must
 * be handed to on_result() exactly once; done() is true when none is outstanding.
 */
class AuthoritativePlan {
 public:
  AuthoritativePlan(std::int64_t domain_id, std::string domain, AuthoritativeOptions options);

  /// The first query: NS of the domain, through the recursive resolvers.
  [[nodiscard]] std::vector<PlannedQuery> start();
  /// Takes a result of one of this plan's queries: marks an authoritative answer without
  /// the AA bit (or a REFUSED) as Outcome::Lame in place, and returns the queries it
  /// leads to.
  [[nodiscard]] std::vector<PlannedQuery> on_result(ProbeResult& result);
  [[nodiscard]] bool done() const noexcept { return started_ && outstanding_ == 0; }
  /// The zone found (the owner of the NS set); empty until then or if none was found.
  [[nodiscard]] const std::string& zone() const noexcept { return zone_; }
  /// (NS name, address:port) of every name server asked.
  [[nodiscard]] const std::set<std::pair<std::string, std::string>>& servers() const noexcept {
    return servers_;
  }

 private:
  std::vector<PlannedQuery> on_delegation(const ProbeResult& result);
  std::vector<PlannedQuery> on_address(const ProbeResult& result);
  /// Plans the questions to the server at `address` (an A/AAAA record's parsed address;
  /// a record whose RDATA held no address brings no server).
  void add_server(const std::string& ns_name, const std::optional<IpAddress>& address,
                  std::vector<PlannedQuery>& out);
  PlannedQuery lookup(const std::string& name, RrType type) const;

  std::int64_t domain_id_;
  std::string domain_;
  AuthoritativeOptions options_;
  std::string zone_;
  std::set<std::string> ns_names_;
  std::set<std::pair<std::string, std::string>> servers_;
  std::size_t outstanding_ = 0;
  int steps_ = 0;
  bool started_ = false;
};

}  // namespace fluxwatch::crawler
