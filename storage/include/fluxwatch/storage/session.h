#pragma once
/// One PostgreSQL session (libpqxx 6.4) with the one retry policy every store uses: the
/// database's writer, the schedule, watchlist, feed, HTTP-probe, report and score stores.
///
/// The policy, in full:
/// - Connecting when a store is created, or at the start of a call after an earlier call
///   gave up on the connection, is tried once: a server known to be away fails the call at
///   once with storage::Unavailable, saying what to configure (callers that ride out
///   outages, `probe` and `run`, retry whole calls with their own, longer backoff, on that
///   type only: retry_through_outage).
/// - A connection lost *during* a call (server restart, pg_terminate_backend, network; also
///   one that went stale between calls, which shows at the first statement) is reconnected
///   with backoff (RetryPolicy: 0.2 s doubling to 3 s) until the policy's deadline (10 s
///   from the loss), and the call's body runs again from the start. That is safe because
///   every body does its writes in one transaction, and an interrupted one leaves nothing.
/// - A connection lost during COMMIT (the server may or may not have committed) is settled
///   by asking the server: Session::commit() notes the transaction id before COMMIT and,
///   when COMMIT gets no answer, asks `pg_xact_status()` over a new connection. Committed:
///   the call succeeds. Aborted: the body runs again (nothing was written). Still unknown at
///   the deadline (the server stayed away): storage::Unavailable saying so, carrying the
///   transaction id; the session does not run the body again, and a caller that does (the
///   writer, Database::store) asks about that id first. Bodies that commit with a plain
///   tx.commit() get that last error at once.
/// - A connection that cannot be restored within the deadline: storage::Unavailable.
/// - A transaction the server rolled back to settle a conflict with another one (deadlock,
///   serialization failure: SQLSTATE 40P01, 40001) runs again at once, up to
///   kConflictReruns times: it wrote nothing, and the other transaction has moved on.
/// - Other SQL errors (constraint, syntax, bad data) are never retried: fluxwatch::Error
///   with the SQLSTATE, never Unavailable, so no caller mistakes a bug for an outage.

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <pqxx/pqxx>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include "fluxwatch/common/error.h"

namespace fluxwatch::storage {

/**
 * The database cannot be reached: connecting failed, a lost connection could not be
 * restored within the retry policy's deadline, or a COMMIT that got no answer could not be
 * settled because the server stayed away. The one storage error worth waiting out
 * (retry_through_outage, `run`'s writer); every other fluxwatch::Error (an SQL error, bad
 * data, a bug) means that running the same call again would fail the same way.
 */
class Unavailable : public Error {
 public:
  using Error::Error;
  Unavailable(const std::string& what, std::string in_doubt_transaction)
      : Error(what), in_doubt_transaction_(std::move(in_doubt_transaction)) {}

  /// When a COMMIT got no answer and the server could not be asked in time: the id of that
  /// transaction, which may have been committed. A caller that would run the same work again
  /// asks Session::commit_outcome() about it first, so nothing is stored twice. "" otherwise.
  [[nodiscard]] const std::string& in_doubt_transaction() const noexcept {
    return in_doubt_transaction_;
  }

 private:
  std::string in_doubt_transaction_;
};

/// How long a call keeps reconnecting after its connection was lost.
struct RetryPolicy {
  std::chrono::milliseconds first_wait{200};  ///< before the first reconnection attempt
  std::chrono::milliseconds max_wait{3000};   ///< the doubling stops here
  /// Time from the loss after which the call gives up (waits and attempts included).
  std::chrono::milliseconds deadline{10000};

  /// The wait before reconnection attempt `attempt` (0-based).
  [[nodiscard]] std::chrono::milliseconds wait_before(std::size_t attempt) const;
};

/// What the server says of a transaction whose COMMIT got no answer.
enum class CommitOutcome { Committed, Aborted, Unknown };

namespace detail {
/// libpq messages end in a newline and sometimes span lines; errors are one line.
std::string one_line(std::string_view text);
/// "host=... port=... dbname=... user=..." of a DSN (never its password).
std::string describe_target(const std::string& dsn);
/// A lost connection (as opposed to an SQL error): worth reconnecting and retrying.
bool is_connection_loss(const pqxx::failure& error, const pqxx::connection* connection);
/// A transaction rolled back by the server because of a conflict with another one
/// (deadlock detected, serialization failure): worth running again as it is.
bool is_conflict(const pqxx::failure& error);
/// What a pqxx exception means, as one line (with the SQLSTATE when there is one).
std::string describe_failure(const std::exception& error);
/// Thrown by Session::commit() when the server says the in-doubt transaction was aborted:
/// the body runs again.
struct CommitAborted : std::runtime_error {
  using std::runtime_error::runtime_error;
};
}  // namespace detail

/**
 * A connection with the retry policy above. Every store owns one (or two: a writer and a
 * reader on `database.read_dsn`).
 * Thread affinity: one thread at a time (one libpq connection).
 */
class Session {
 public:
  /// How many times one call runs again after conflicts with other transactions.
  static constexpr std::size_t kConflictReruns = 3;

  /// `component` prefixes messages ("storage", "scheduler", "feeds", "scoring").
  /// @throw Unavailable (with the DSN's host/db and what to do) if it cannot connect.
  Session(std::string dsn, std::string component, RetryPolicy policy = {});

  /**
   * Runs `body(connection)`, which must do all its writes in one transaction (committed
   * with commit() below), under the retry policy. libpqxx exceptions become
   * fluxwatch::Error; fluxwatch::Error from the body passes unchanged.
   */
  template <typename Body>
  auto run(std::string_view what, Body&& body)
      -> decltype(body(std::declval<pqxx::connection&>())) {
    std::optional<Clock::time_point> lost_at;
    std::size_t attempt = 0;
    std::size_t conflicts = 0;
    while (true) {
      try {
        return body(connection());
      } catch (const Error&) {
        throw;
      } catch (const detail::CommitAborted& aborted) {
        retry_after_loss(what, aborted, lost_at, attempt);
      } catch (const pqxx::in_doubt_error& error) {
        throw Unavailable(fmt_in_doubt(what, detail::describe_failure(error)));
      } catch (const pqxx::failure& error) {
        if (detail::is_connection_loss(error, connection_.get())) {
          retry_after_loss(what, error, lost_at, attempt);
        } else if (detail::is_conflict(error) && conflicts < kConflictReruns) {
          note_conflict(what, error, ++conflicts);
        } else {
          throw Error(component_ + ": " + std::string(what) +
                      " failed: " + detail::describe_failure(error));
        }
      } catch (const std::exception& error) {
        throw Error(component_ + ": " + std::string(what) +
                    " failed: " + detail::one_line(error.what()));
      }
    }
  }

  /// One statement that changes rows, in its own transaction (committed with commit()),
  /// under the retry policy: how many rows it changed.
  template <typename... Params>
  std::size_t exec_write(std::string_view what, const std::string& sql, const Params&... params) {
    return run(what, [&](pqxx::connection& connection) {
      pqxx::work tx(connection, std::string(what));
      const pqxx::result result = tx.exec_params(sql, params...);
      commit(tx);
      return static_cast<std::size_t>(result.affected_rows());
    });
  }

  /// One read-only statement in a read-only transaction, under the retry policy.
  template <typename... Params>
  pqxx::result exec_read(std::string_view what, const std::string& sql, const Params&... params) {
    return run(what, [&](pqxx::connection& connection) {
      pqxx::read_transaction tx(connection, std::string(what));
      return tx.exec_params(sql, params...);
    });
  }

  /// tx.commit(), settling a COMMIT that got no answer (see the policy above).
  void commit(pqxx::transaction_base& tx);
  /// What the server says of transaction `xid` (pg_xact_status), asked over a new
  /// connection until it is known or the policy's deadline passes.
  [[nodiscard]] CommitOutcome commit_outcome(const std::string& xid);

  /// The open connection, (re)connected if needed. @throw Unavailable if it cannot.
  pqxx::connection& connection();
  [[nodiscard]] const std::string& dsn() const noexcept { return dsn_; }
  [[nodiscard]] const RetryPolicy& policy() const noexcept { return policy_; }
  /// How many times a call was run again after a lost connection (for tests and logs).
  [[nodiscard]] std::size_t retries() const noexcept { return retries_; }
  /// How many COMMITs got no answer and were settled by asking the server.
  [[nodiscard]] std::size_t settled_commits() const noexcept { return settled_commits_; }

 private:
  using Clock = std::chrono::steady_clock;
  /// Waits and reconnects per the policy; @throw Unavailable past the deadline.
  void retry_after_loss(std::string_view what, const std::exception& error,
                        std::optional<Clock::time_point>& lost_at, std::size_t& attempt);
  [[nodiscard]] std::string fmt_in_doubt(std::string_view what, const std::string& why) const;
  /// Logs the `count`th conflict of a call that is about to run again.
  void note_conflict(std::string_view what, const std::exception& error, std::size_t count) const;
  std::optional<std::string> try_connect();

  std::string dsn_;
  std::string component_;
  RetryPolicy policy_;
  std::unique_ptr<pqxx::connection> connection_;
  std::size_t retries_ = 0;
  std::size_t settled_commits_ = 0;
};

}  // namespace fluxwatch::storage
