#pragma once
/// What the COPY paths that bypass libpqxx (binary COPY in and out: libpqxx 6.4 streams text
/// only) need of libpq: the PGconn under a pqxx transaction, an owned PGresult, and libpq's
/// errors turned into the pqxx exceptions storage::Session classifies (a lost connection is
/// pqxx::broken_connection, so the session reconnects; anything else a pqxx::sql_error).

#include <libpq-fe.h>

#include <memory>
#include <pqxx/pqxx>
#include <string>

namespace fluxwatch::storage::libpq {

struct ResultDeleter {
  void operator()(PGresult* result) const noexcept { PQclear(result); }
};
/// A PGresult freed with PQclear.
using Result = std::unique_ptr<PGresult, ResultDeleter>;

/// The connection under `tx`. Commands sent on it run inside the transaction.
[[nodiscard]] PGconn* raw_connection(const pqxx::dbtransaction& tx);

/// Reads and discards results until libpq has none left, or one of COPY state (which libpq
/// would return for ever while it stays in COPY mode).
void drain_results(PGconn* connection) noexcept;

/// Throws what libpq reports on `connection` (and in `result`, if not null) for
/// `statement`: pqxx::broken_connection when the connection is gone, else pqxx::sql_error
/// with the SQLSTATE if the server sent one.
[[noreturn]] void throw_failure(PGconn* connection, const PGresult* result,
                                const std::string& statement);

}  // namespace fluxwatch::storage::libpq
