// The writer's COPY path (detail::CopyWriter, white-box) against a real PostgreSQL.

#include "copy_writer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <limits>
#include <optional>
#include <pqxx/pqxx>
#include <span>
#include <vector>

#include "binary_params.h"
#include "fluxwatch/common/error.h"
#include "fluxwatch/storage/database.h"
#include "storage_test_support.h"
#include "support/test_env.h"

namespace fluxwatch::storage {
namespace {

using detail::CopyBinaryBuffer;
using fluxwatch::testing::ScratchDatabase;
using ::testing::HasSubstr;

// --- CopyWriter (white-box: the COPY path under store()) ------------------------------------

/// A connection to a scratch database with an empty table t (a bigint, b text).
class StorageCopyWriter : public ::testing::Test {
 protected:
  void SetUp() override {
    pqxx::work tx(connection_);
    tx.exec("CREATE TABLE t (a bigint, b text)");
    tx.commit();
  }
  std::int64_t rows() {
    pqxx::read_transaction tx(connection_);
    return tx.exec1("SELECT count(*) FROM t")[0].as<std::int64_t>();
  }

  ScratchDatabase scratch_;
  pqxx::connection connection_{scratch_.dsn()};
};

TEST_F(StorageCopyWriter, WritesRowsInManyChunks) {
  pqxx::work tx(connection_);
  detail::CopyWriter copy(tx, "t", {"a", "b"});
  for (int i = 0; i < 20000; ++i) {  // about 20 chunks
    copy.row().integer(i).text_or_null(i % 2 == 0 ? "" : "text\tand\\more text").end_row();
  }
  copy.complete();
  tx.commit();
  pqxx::read_transaction check(connection_);
  EXPECT_EQ(check.exec1("SELECT format('%s|%s|%s', count(*), count(b), sum(a)) FROM t")[0]
                .as<std::string>(),
            "20000|10000|199990000");
  EXPECT_EQ(check.exec1("SELECT DISTINCT b FROM t WHERE b IS NOT NULL")[0].as<std::string>(),
            "text\tand\\more text");
}

TEST_F(StorageCopyWriter, BinaryRowsReadBackAsTheirTextForms) {
  // Every field type of the binary format, each against the server's own text of the value.
  pqxx::work tx(connection_);
  tx.exec(
      "CREATE TABLE b (i8 bigint, i4 integer, ok boolean, at timestamptz, name text, "
      "ttls bigint[], none bigint)");
  const auto at = std::chrono::sys_days{std::chrono::year{2026} / 11 / 22} +
                  std::chrono::hours(10) + std::chrono::microseconds(123'456);
  {
    detail::BinaryCopyWriter copy(tx, "b", {"i8", "i4", "ok", "at", "name", "ttls", "none"});
    for (int i = 0; i < 20'000; ++i) {  // more than one chunk
      const std::vector<std::int64_t> ttls{300, -1, std::numeric_limits<std::int64_t>::max()};
      copy.row()
          .int8(-9'000'000'000'000 - i)
          .int4(-7)
          .boolean(i % 2 == 0)
          .timestamp(at)
          .text("ex\tample.\xc3\xa9")
          .int8_array(ttls)
          .null()
          .end_row();
    }
    copy.row()
        .int8(1)
        .int4(0)
        .boolean(false)
        .timestamp(at)
        .text_or_null("")
        .int8_array({})
        .null()
        .end_row();
    copy.complete();
  }
  EXPECT_EQ(tx.exec1("SELECT count(*) FROM b")[0].as<int>(), 20'001);
  EXPECT_EQ(tx.exec1("SELECT format('%s|%s|%s|%s|%s|%s|%s', i8, i4, ok, at AT TIME ZONE 'UTC', "
                     "name, ttls, none IS NULL) FROM b WHERE i8 = -9000000000001")[0]
                .as<std::string>(),
            "-9000000000001|-7|f|2026-11-22 10:00:00.123456|ex\tample.\xc3\xa9|"
            "{300,-1,9223372036854775807}|t");
  EXPECT_EQ(tx.exec1("SELECT format('%s|%s', name IS NULL, ttls) FROM b WHERE i8 = 1")[0]
                .as<std::string>(),
            "t|{}");
}

TEST_F(StorageCopyWriter, BinaryArraysKeepNullElementsAndAwkwardText) {
  // The packed sets' array columns: text[] with quotes, backslashes, commas, braces, the word
  // NULL, an empty string and NULL elements; integer[] with NULLs; "char"[]; the empty array.
  pqxx::work tx(connection_);
  tx.exec(
      "CREATE TABLE arrays (n integer, texts text[], ids integer[], big bigint[], s \"char\"[])");
  {
    detail::BinaryCopyWriter copy(tx, "arrays", {"n", "texts", "ids", "big", "s"});
    for (int i = 0; i < 3'000; ++i) {  // more than one chunk
      CopyBinaryBuffer& row = copy.row();
      row.int4(i).begin_array(CopyBinaryBuffer::kTextOid);
      for (const char* text : {R"(a "quoted" \ back,slash {braced})", "NULL", "", "tab\there"}) {
        row.element_text(text);
      }
      row.element_null().element_text("\xc3\xa9").end_array();
      row.begin_array(CopyBinaryBuffer::kInt4Oid)
          .element_null()
          .element_int4(-2'147'483'647)
          .element_int4(7)
          .end_array();
      row.begin_array(CopyBinaryBuffer::kInt8Oid).element_int8(-1).end_array();
      row.begin_array(CopyBinaryBuffer::kCharOid).element_char('u').element_char('d').end_array();
      row.end_row();
    }
    copy.row()
        .int4(-1)
        .begin_array(CopyBinaryBuffer::kTextOid)
        .end_array()
        .null()
        .begin_array(CopyBinaryBuffer::kInt8Oid)
        .end_array()
        .begin_array(CopyBinaryBuffer::kCharOid)
        .element_null()
        .end_array()
        .end_row();
    copy.complete();
  }
  EXPECT_EQ(tx.exec1("SELECT count(*) FROM arrays")[0].as<int>(), 3'001);
  // Element by element, as the server holds them (NULL elements stay NULL, not the text).
  EXPECT_EQ(tx.exec1("SELECT string_agg(coalesce(t, '<null>'), '|' ORDER BY k) "
                     "FROM arrays, unnest(texts) WITH ORDINALITY AS u(t, k) WHERE n = 2999")[0]
                .as<std::string>(),
            "a \"quoted\" \\ back,slash {braced}|NULL||tab\there|<null>|\xc3\xa9");
  EXPECT_EQ(tx.exec1("SELECT format('%s|%s|%s|%s|%s', ids, big, s, array_lower(texts, 1), "
                     "texts[2] IS NULL) FROM arrays WHERE n = 0")[0]
                .as<std::string>(),
            "{NULL,-2147483647,7}|{-1}|{u,d}|1|f");
  EXPECT_EQ(tx.exec1("SELECT format('%s|%s|%s|%s', texts, ids IS NULL, big, s) FROM arrays "
                     "WHERE n = -1")[0]
                .as<std::string>(),
            "{}|t|{}|{NULL}");
}

TEST_F(StorageCopyWriter, ABinaryFieldOfTheWrongTypeIsAnSqlError) {
  pqxx::work tx(connection_);
  detail::BinaryCopyWriter copy(tx, "t", {"a", "b"});
  copy.row().int4(1).text("x").end_row();  // a is a bigint: 4 bytes are not one
  EXPECT_THROW(copy.complete(), pqxx::sql_error);
}

TEST_F(StorageCopyWriter, BinaryArrayParametersReadBackAsTheirTextForms) {
  // The counters' path (binary_params.h): bigint and timestamptz arrays with NULL elements,
  // unnested by the server, and the number of rows the statement affected.
  using detail::BinaryArray;
  const auto at = std::chrono::sys_days{std::chrono::year{2026} / 11 / 22} +
                  std::chrono::hours(10) + std::chrono::microseconds(123'456);
  std::vector<BinaryArray> arrays{BinaryArray(BinaryArray::Type::Int8),
                                  BinaryArray(BinaryArray::Type::Timestamptz)};
  for (int i = 0; i < 5'000; ++i) {
    arrays[0].int8(std::numeric_limits<std::int64_t>::min() + i);
    i == 1 ? arrays[1].null() : arrays[1].timestamp(at + std::chrono::seconds(i));
  }
  arrays[0].int8_or_null(std::nullopt);
  arrays[1].timestamp(at);
  pqxx::work tx(connection_);
  EXPECT_EQ(detail::exec_with_arrays(tx,
                                     "INSERT INTO t (a, b) SELECT a, b AT TIME ZONE 'UTC' FROM "
                                     "unnest($1::bigint[], $2::timestamptz[]) AS u(a, b)",
                                     arrays),
            5'001U);
  EXPECT_EQ(
      tx.exec1("SELECT string_agg(format('%s|%s', a, coalesce(b::text, 'NULL')), ' ' "
               "ORDER BY a) FROM (SELECT * FROM t WHERE a IS NOT NULL ORDER BY a LIMIT 3) f")[0]
          .as<std::string>(),
      "-9223372036854775808|2026-11-22 10:00:00.123456 "
      "-9223372036854775807|NULL -9223372036854775806|2026-11-22 10:00:02.123456");
  EXPECT_EQ(tx.exec1("SELECT b FROM t WHERE a IS NULL")[0].as<std::string>(),
            "2026-11-22 10:00:00.123456");
  // The server's error, with its SQLSTATE.
  try {
    detail::exec_with_arrays(tx, "SELECT $1::bigint[] FROM no_such_table",
                             std::span(arrays).first(1));
    ADD_FAILURE() << "a statement on a missing table succeeded";
  } catch (const pqxx::sql_error& error) {
    EXPECT_EQ(error.sqlstate(), "42P01");
  }
}

TEST_F(StorageCopyWriter, AbandonedCopyAbortsItsTransactionAndTheConnectionGoesOn) {
  {
    pqxx::work tx(connection_);
    detail::CopyWriter copy(tx, "t", {"a", "b"});
    copy.row().integer(1).text("x").end_row();
    // No complete(): as when an exception leaves store() half-way.
  }
  EXPECT_EQ(rows(), 0);
  pqxx::work tx(connection_);
  detail::CopyWriter copy(tx, "t", {"a", "b"});
  copy.row().integer(2).text("y").end_row();
  copy.complete();
  tx.commit();
  EXPECT_EQ(rows(), 1);
}

TEST_F(StorageCopyWriter, RejectedDataIsAnSqlErrorWithThePostgresqlMessage) {
  pqxx::work tx(connection_);
  detail::CopyWriter copy(tx, "t", {"a", "b"});
  copy.row().integer(1).text("fine").end_row();
  copy.row().text("not a number").text("oops").end_row();
  try {
    copy.complete();
    FAIL() << "complete() accepted a bad bigint";
  } catch (const pqxx::sql_error& error) {
    EXPECT_EQ(error.sqlstate(), "22P02");
    EXPECT_THAT(error.what(), HasSubstr("invalid input syntax for type bigint"));
    EXPECT_THAT(error.what(), HasSubstr("line 2"));  // PostgreSQL's CONTEXT
  }
  tx.abort();
  EXPECT_EQ(rows(), 0);
}

TEST_F(StorageCopyWriter, UnknownColumnFailsAtTheStart) {
  pqxx::work tx(connection_);
  try {
    detail::CopyWriter copy(tx, "t", {"a", "nope"});
    FAIL() << "COPY started with an unknown column";
  } catch (const pqxx::sql_error& error) {
    EXPECT_EQ(error.sqlstate(), "42703");
  }
}

TEST_F(StorageCopyWriter, LostConnectionIsReportedAsOne) {
  pqxx::work tx(connection_);
  detail::CopyWriter copy(tx, "t", {"a", "b"});
  copy.row().integer(1).text("x").end_row();
  pqxx::connection admin(scratch_.dsn());
  {
    pqxx::nontransaction kill(admin);
    kill.exec_params("SELECT pg_terminate_backend($1)", connection_.backendpid());
  }
  ASSERT_TRUE(fluxwatch::testing::wait_until(
      [&] {
        pqxx::nontransaction check(admin);
        return check
                   .exec_params1("SELECT count(*) FROM pg_stat_activity WHERE pid = $1",
                                 connection_.backendpid())[0]
                   .as<int>() == 0;
      },
      seconds(10)));
  // However the loss shows (a failed send, or the server's FATAL 57P01 as the COPY's
  // result), it is a pqxx::failure after which the connection reads as closed: what
  // Database's retry logic (is_connection_loss) reconnects on.
  bool failed = false;
  try {
    for (int i = 0; i < 100000; ++i) {  // enough to need sends after the termination
      copy.row().integer(i).text("after").end_row();
    }
    copy.complete();
  } catch (const pqxx::failure& error) {
    failed = true;
    const auto* sql = dynamic_cast<const pqxx::sql_error*>(&error);
    EXPECT_TRUE(dynamic_cast<const pqxx::broken_connection*>(&error) != nullptr ||
                (sql != nullptr && sql->sqlstate() == "57P01") || !connection_.is_open())
        << error.what();
  }
  EXPECT_TRUE(failed);
}

}  // namespace
}  // namespace fluxwatch::storage
