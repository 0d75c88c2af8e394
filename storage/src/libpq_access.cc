#include "fluxwatch/storage/libpq_access.h"

namespace fluxwatch::storage::libpq {
namespace {

/// libpqxx 6.4 exposes a transaction's PGconn only to large objects, through a protected
/// static member this subclass may call.
class RawConnection : pqxx::largeobject {
 public:
  static PGconn* of(const pqxx::dbtransaction& tx) { return largeobject::raw_connection(tx); }
};

}  // namespace

PGconn* raw_connection(const pqxx::dbtransaction& tx) { return RawConnection::of(tx); }

void drain_results(PGconn* connection) noexcept {
  while (Result result{PQgetResult(connection)}) {
    const ExecStatusType status = PQresultStatus(result.get());
    if (status == PGRES_COPY_IN || status == PGRES_COPY_OUT || status == PGRES_COPY_BOTH) {
      return;
    }
  }
}

void throw_failure(PGconn* connection, const PGresult* result, const std::string& statement) {
  std::string message = result != nullptr ? PQresultErrorMessage(result) : "";
  if (message.empty()) {
    message = PQerrorMessage(connection);
  }
  if (PQstatus(connection) != CONNECTION_OK) {
    throw pqxx::broken_connection(message);
  }
  const char* state = result != nullptr ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  throw pqxx::sql_error(message, statement, state != nullptr && *state != '\0' ? state : nullptr);
}

}  // namespace fluxwatch::storage::libpq
