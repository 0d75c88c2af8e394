// Session: one connection and the one retry policy of every store (session.h).
#include "fluxwatch/storage/session.h"

#include <fmt/format.h>
#include <libpq-fe.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <thread>

#include "fluxwatch/common/logging.h"

namespace fluxwatch::storage {
namespace detail {
namespace {

struct ConninfoDeleter {
  void operator()(PQconninfoOption* options) const noexcept { PQconninfoFree(options); }
};

}  // namespace

std::string one_line(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    if (c == '\n' || c == '\r' || c == '\t') {
      if (!out.empty() && out.back() != ' ') {
        out += ' ';
      }
    } else {
      out += c;
    }
  }
  while (!out.empty() && out.back() == ' ') {
    out.pop_back();
  }
  return out;
}

std::string describe_target(const std::string& dsn) {
  std::map<std::string, std::string, std::less<>> values;
  if (!dsn.empty()) {
    char* error = nullptr;
    std::unique_ptr<PQconninfoOption, ConninfoDeleter> options(
        PQconninfoParse(dsn.c_str(), &error));
    if (!options) {
      std::string message = error != nullptr ? one_line(error) : "invalid connection string";
      PQfreemem(error);
      return "unparsable dsn: " + message;
    }
    for (const PQconninfoOption* option = options.get(); option->keyword != nullptr; ++option) {
      if (option->val != nullptr && *option->val != '\0') {
        values[option->keyword] = option->val;
      }
    }
  }
  const auto pick = [&](const char* key, const char* env) -> std::string {
    if (auto found = values.find(key); found != values.end()) {
      return found->second;
    }
    const char* value = std::getenv(env);
    return value != nullptr ? value : "";
  };
  std::string text;
  for (const auto& [key, env] : {std::pair{"host", "PGHOST"}, std::pair{"port", "PGPORT"},
                                 std::pair{"dbname", "PGDATABASE"}, std::pair{"user", "PGUSER"}}) {
    if (const auto value = pick(key, env); !value.empty()) {
      text += fmt::format("{}{}={}", text.empty() ? "" : " ", key, value);
    }
  }
  if (dsn.empty()) {
    text += text.empty() ? "libpq defaults" : ", from the PG* environment";
  }
  return text;
}

bool is_connection_loss(const pqxx::failure& error, const pqxx::connection* connection) {
  if (dynamic_cast<const pqxx::broken_connection*>(&error) != nullptr) {
    return true;
  }
  if (const auto* sql = dynamic_cast<const pqxx::sql_error*>(&error); sql != nullptr) {
    const std::string& state = sql->sqlstate();
    // Class 08: connection exception; 57P01-57P03: the server terminated the session
    // (pg_terminate_backend, shutdown, crash recovery).
    if (state.starts_with("08") || state == "57P01" || state == "57P02" || state == "57P03") {
      return true;
    }
  }
  return connection == nullptr || !connection->is_open();
}

bool is_conflict(const pqxx::failure& error) {
  const auto* sql = dynamic_cast<const pqxx::sql_error*>(&error);
  return sql != nullptr && (sql->sqlstate() == "40P01" || sql->sqlstate() == "40001");
}

std::string describe_failure(const std::exception& error) {
  if (const auto* sql = dynamic_cast<const pqxx::sql_error*>(&error);
      sql != nullptr && !sql->sqlstate().empty()) {
    return fmt::format("{} (SQLSTATE {})", one_line(sql->what()), sql->sqlstate());
  }
  return one_line(error.what());
}

}  // namespace detail

std::chrono::milliseconds RetryPolicy::wait_before(std::size_t attempt) const {
  auto wait = first_wait;
  for (std::size_t i = 0; i < attempt && wait < max_wait; ++i) {
    wait *= 2;
  }
  return std::min(wait, max_wait);
}

Session::Session(std::string dsn, std::string component, RetryPolicy policy)
    : dsn_(std::move(dsn)), component_(std::move(component)), policy_(policy) {
  connection();
}

pqxx::connection& Session::connection() {
  if (!connection_ || !connection_->is_open()) {
    if (auto error = try_connect()) {
      throw Unavailable(fmt::format(
          "{}: cannot connect to PostgreSQL ({}): {}. Set database.dsn or PGHOST/PGDATABASE, or "
          "leave both unset to let fluxwatch run its own server",
          component_, detail::describe_target(dsn_), *error));
    }
  }
  return *connection_;
}

std::optional<std::string> Session::try_connect() {
  connection_.reset();
  try {
    connection_ = std::make_unique<pqxx::connection>(dsn_);
    return std::nullopt;
  } catch (const std::exception& error) {
    return detail::one_line(error.what());
  }
}

void Session::retry_after_loss(std::string_view what, const std::exception& error,
                               std::optional<Clock::time_point>& lost_at, std::size_t& attempt) {
  if (!lost_at) {
    lost_at = Clock::now();
  }
  logger()->warn("{}: {}: lost the connection to PostgreSQL ({}); reconnecting", component_, what,
                 detail::describe_failure(error));
  connection_.reset();
  const auto give_up = *lost_at + policy_.deadline;
  while (true) {
    const auto wait = policy_.wait_before(attempt);
    if (Clock::now() + wait > give_up) {
      throw Unavailable(fmt::format(
          "{}: {} failed: lost the connection to PostgreSQL and could not restore it within "
          "{} s ({} attempts): {}",
          component_, what, policy_.deadline.count() / 1000.0, attempt,
          detail::describe_failure(error)));
    }
    std::this_thread::sleep_for(wait);
    ++attempt;
    if (const auto failure = try_connect()) {
      logger()->warn("{}: {}: reconnection attempt {} failed: {}", component_, what, attempt,
                     *failure);
    } else {
      logger()->info("{}: {}: reconnected to PostgreSQL (attempt {}); running it again", component_,
                     what, attempt);
      ++retries_;
      return;
    }
  }
}

void Session::note_conflict(std::string_view what, const std::exception& error,
                            std::size_t count) const {
  logger()->warn(
      "{}: {}: rolled back by the server to settle a conflict ({}); running it again "
      "({} of {})",
      component_, what, detail::describe_failure(error), count, kConflictReruns);
}

std::string Session::fmt_in_doubt(std::string_view what, const std::string& why) const {
  return fmt::format(
      "{}: {}: the connection broke during COMMIT and the server could not say whether the "
      "transaction was committed, so it is not run again until the server can say (running it "
      "again could store it twice): {}",
      component_, what, why);
}

void Session::commit(pqxx::transaction_base& tx) {
  // The id is assigned now if the transaction has written nothing yet; it costs one round
  // trip and is what lets a lost COMMIT be settled instead of guessed.
  const auto xid = tx.exec("SELECT pg_current_xact_id()::text")[0][0].as<std::string>();
  try {
    tx.commit();
  } catch (const pqxx::in_doubt_error& error) {
    const auto outcome = commit_outcome(xid);
    if (outcome != CommitOutcome::Unknown) {
      ++settled_commits_;
    }
    switch (outcome) {
      case CommitOutcome::Committed:
        logger()->warn("{}: the connection broke during COMMIT; transaction {} was committed",
                       component_, xid);
        return;
      case CommitOutcome::Aborted:
        throw detail::CommitAborted(fmt::format(
            "the connection broke during COMMIT and transaction {} was not committed: {}", xid,
            detail::one_line(error.what())));
      case CommitOutcome::Unknown:
        break;
    }
    throw Unavailable(
        fmt_in_doubt(fmt::format("transaction {}", xid), detail::one_line(error.what())), xid);
  }
}

CommitOutcome Session::commit_outcome(const std::string& xid) {
  const auto give_up = Clock::now() + policy_.deadline;
  for (std::size_t attempt = 0;; ++attempt) {
    try {
      pqxx::connection check(dsn_);
      pqxx::nontransaction tx(check, "commit_outcome");
      const pqxx::field status = tx.exec_params1("SELECT pg_xact_status($1::xid8)", xid)[0];
      if (!status.is_null()) {
        const auto text = status.as<std::string>();
        if (text == "committed") {
          return CommitOutcome::Committed;
        }
        if (text == "aborted") {
          return CommitOutcome::Aborted;
        }
        // "in progress": the old backend has not finished with it yet; ask again.
      } else {
        return CommitOutcome::Unknown;  // too old to be known (never for a live session)
      }
    } catch (const std::exception& error) {
      logger()->warn("{}: asking whether transaction {} was committed: {}", component_, xid,
                     detail::one_line(error.what()));
    }
    const auto wait = policy_.wait_before(attempt);
    if (Clock::now() + wait > give_up) {
      return CommitOutcome::Unknown;
    }
    std::this_thread::sleep_for(wait);
  }
}

}  // namespace fluxwatch::storage
