#pragma once
/// Every read of the web view and of `fluxwatch plot`, and the only file with their SQL
/// (src/queries.cc). It reads only the documented views of docs/queries.md (answers,
/// address_info, domain_addresses, ns_set_history, soa_serial_history, latest_scores,
/// score_history), the tables watchlist, probe_runs, score_runs, address_geo and geo_builds,
/// and the schedule through `status`'s query (status/campaigns.h), so it keeps working
/// when the storage layout under those views changes. Every query is parameterised; the
/// sort column comes from a fixed list.

#include <memory>
#include <optional>
#include <string>

#include "fluxwatch/web/model.h"

namespace fluxwatch::web {

/// At most this many A/AAAA records are read for one domain page or plot; a longer window
/// is cut (DomainHistory::sightings_truncated) and the page says so.
inline constexpr std::int64_t kMaxSightings = 200000;

/// One read-only session: the connection's transactions are READ ONLY and, where the login
/// may, run as the role fluxwatch_reader.
class ReadStore {
 public:
  /// `dsn`: libpq connection string or URI (database.read_dsn, or the database in use).
  explicit ReadStore(const std::string& dsn);
  ~ReadStore();
  ReadStore(ReadStore&&) noexcept;
  ReadStore& operator=(ReadStore&&) noexcept;
  ReadStore(const ReadStore&) = delete;
  ReadStore& operator=(const ReadStore&) = delete;

  /// Labels, runs, newest detections; `campaigns` (from the config) get their domain counts.
  [[nodiscard]] Overview overview(std::vector<CampaignRow> campaigns);
  [[nodiscard]] DomainPage domains(const DomainQuery& query);
  /// nullopt when the domain is not on the watchlist.
  [[nodiscard]] std::optional<DomainHistory> domain(const std::string& name,
                                                    const TimeWindow& window);
  /// nullopt when `address` is not an IP address.
  [[nodiscard]] std::optional<AddressHistory> address(const std::string& address);
  /// Whether the session runs as fluxwatch_reader (for the start-up log).
  [[nodiscard]] bool reader_role() const noexcept { return reader_role_; }

 private:
  struct Session;  // the libpq connection (pqxx stays out of this header)
  std::unique_ptr<Session> session_;
  bool reader_role_ = false;
};

/// Parses "1.2.3.4" or an IPv6 address into its canonical text; nullopt otherwise.
[[nodiscard]] std::optional<std::string> canonical_address(const std::string& text);

}  // namespace fluxwatch::web
