#pragma once
// What the storage integration tests share: a fixed time, probe and record builders, and
// one-query checks read back with plain SQL.

#include <chrono>
#include <pqxx/pqxx>
#include <string>

#include "fluxwatch/common/types.h"

namespace fluxwatch::storage {

using namespace std::chrono;

inline const system_clock::time_point kT0 = sys_days{year{2026} / November / 22} + 10h;

inline ResourceRecord rr(Section section, std::string owner, RrType type, std::uint32_t ttl,
                         std::string data) {
  return ResourceRecord{section, std::move(owner), static_cast<std::uint16_t>(type), ttl,
                        std::move(data)};
}

inline ProbeResult probe(std::int64_t domain_id, std::string name, RrType qtype,
                         system_clock::time_point sent_at, Outcome outcome, int rcode) {
  ProbeResult result;
  result.domain_id = domain_id;
  result.name = std::move(name);
  result.qtype = qtype;
  result.resolver = "192.0.2.53:53";
  result.sent_at = sent_at;
  result.latency = microseconds(1500);
  result.outcome = outcome;
  result.rcode = rcode;
  return result;
}

/// Runs one query on its own connection and returns the first field as text ("NULL" for
/// NULL), for compact assertions. (Booleans read "t"/"f", also inside format().)
inline std::string query_text(const std::string& dsn, const std::string& sql) {
  pqxx::connection connection(dsn);
  pqxx::read_transaction tx(connection);
  const pqxx::result rows = tx.exec(sql);
  if (rows.empty()) {
    return "<no rows>";
  }
  return rows[0][0].is_null() ? "NULL" : rows[0][0].as<std::string>();
}

inline std::int64_t query_int(const std::string& dsn, const std::string& sql) {
  return std::stoll(query_text(dsn, sql));
}

}  // namespace fluxwatch::storage
