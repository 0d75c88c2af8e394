#pragma once
/// The read-only queries of `fluxwatch report`, on a connection of their own: the primary,
/// or database.read_dsn (a hot standby, or a login with only fluxwatch_reader). Nothing here
/// writes, so a standby serves every call.

#include <memory>
#include <string>
#include <vector>

#include "fluxwatch/storage/database.h"

namespace fluxwatch::storage {

class Session;

/**
 * Report queries (storage::Session's retry policy).
 * @throw fluxwatch::Error when the database cannot be reached or a query fails.
 * Thread affinity: one thread at a time.
 */
class ReportStore {
 public:
  explicit ReportStore(const std::string& dsn);
  ~ReportStore();
  ReportStore(const ReportStore&) = delete;
  ReportStore& operator=(const ReportStore&) = delete;
  ReportStore(ReportStore&&) noexcept;
  ReportStore& operator=(ReportStore&&) noexcept;

  /// Summaries of every watched domain (also those never probed), ordered by domain.
  [[nodiscard]] std::vector<DomainSummary> summaries();
  /// The schema version this database is at (a standby: what it has replayed).
  [[nodiscard]] int schema_version();
  /// True on a hot standby (pg_is_in_recovery()).
  [[nodiscard]] bool in_recovery();

 private:
  std::unique_ptr<Session> session_;
};

}  // namespace fluxwatch::storage
