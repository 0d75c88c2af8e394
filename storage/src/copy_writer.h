#pragma once
/// The bulk-write path of store(): rows in PostgreSQL's COPY text format, built in one
/// reusable buffer and sent in large chunks through libpq.
///
/// The format rules, all in CopyTextBuffer:
///   - fields are separated by a tab and rows end in a newline;
///   - NULL is \N; an empty string is an empty field (so "unknown" strings are written with
///     text_or_null(), which makes an empty one NULL);
///   - in text, backslash, tab, newline and carriage return are written as \\, \t, \n, \r;
///     every other byte, including UTF-8 beyond ASCII, is written as it is (PostgreSQL
///     reads it in the connection's client encoding, as psql's \copy sends it; text that
///     is not valid there, or holds a NUL byte, makes the server reject the COPY);
///   - integers in decimal, booleans as t/f, timestamps as UTC text with microseconds
///     ("2026-11-22 10:00:00.123456+00", the form of format_timestamp_utc()).
///
/// CopyBinaryBuffer writes the same rows in COPY's binary format (typed fields: PostgreSQL
/// parses no text; the probe writer's observation and counter rows, whose timestamps and
/// integers cost the server more as text).
///
/// Why not pqxx::stream_to: with libpqxx 6.4 it builds a std::string per field and a
/// std::string per row and makes one PQputCopyData() call per row, which made the writer
/// 0.75 x the speed of psql's COPY of the same rows (docs/performance.md, item 4).

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>

#include "fluxwatch/common/types.h"

struct pg_conn;

namespace pqxx {
class dbtransaction;
}

namespace fluxwatch::storage::detail {

/// Rows of one table in COPY text format. Pure: no database, unit-tested.
class CopyTextBuffer {
 public:
  /// The options of the COPY statement, and the format's file header and trailer (none).
  static constexpr std::string_view kCopyOptions = "";
  static constexpr std::string_view kHeader = "";
  static constexpr std::string_view kTrailer = "";

  /// `columns`: the fields every row must have (checked by end_row()).
  explicit CopyTextBuffer(std::size_t columns);

  /// Text, escaped.
  CopyTextBuffer& text(std::string_view value);
  /// Text, or NULL when it is empty.
  CopyTextBuffer& text_or_null(std::string_view value);
  CopyTextBuffer& null();
  CopyTextBuffer& integer(std::int64_t value);
  /// `value`, or NULL when it is 0 (ids that mean "none").
  CopyTextBuffer& integer_or_null(std::int64_t value);
  CopyTextBuffer& boolean(bool value);
  CopyTextBuffer& timestamp(std::chrono::system_clock::time_point value);
  /// The record type's name as rrtype_name() spells it ("A", "TYPE99").
  CopyTextBuffer& rrtype(std::uint16_t type);

  /// Ends the row. @throw std::logic_error if it does not have one field per column.
  void end_row();

  /// The complete rows written so far (and a row in progress, if any).
  [[nodiscard]] std::string_view data() const noexcept { return buffer_; }
  [[nodiscard]] std::size_t size() const noexcept { return buffer_.size(); }
  [[nodiscard]] bool in_row() const noexcept { return fields_ != 0; }
  void reserve(std::size_t bytes) { buffer_.reserve(bytes); }
  /// Forgets the rows (keeps the allocation).
  void clear() noexcept { buffer_.clear(); }
  /// Appends bytes outside any row (the file header and trailer).
  void raw(std::string_view bytes) { buffer_.append(bytes); }

 private:
  /// The separator before every field but a row's first.
  void begin_field();
  /// Text known to need no escaping (names of enums).
  CopyTextBuffer& verbatim(std::string_view value);

  std::string buffer_;
  std::size_t columns_;
  std::size_t fields_ = 0;  ///< fields of the row in progress
  // The "YYYY-MM-DD " of the last timestamp's day: a batch's probes share a day or two.
  std::chrono::sys_days cached_day_{std::chrono::days::min()};
  std::array<char, 11> cached_date_{};
};

/// timestamptz's binary value: microseconds since 2000-01-01 00:00 UTC (floored, as the
/// text form).
[[nodiscard]] std::int64_t postgres_timestamp(std::chrono::system_clock::time_point value) noexcept;

/// Big-endian integers, as PostgreSQL's binary formats write them, appended to `out`.
void append_be32(std::string& out, std::uint32_t value);
void append_be64(std::string& out, std::uint64_t value);
/// array_recv's header of a one-dimensional array (lower bound 1) of `count` elements of type
/// `element_oid`, appended to `out`: dimensions, has-NULLs flag, element type, the dimension's
/// length and lower bound. Each element follows as its length (-1: NULL) and its bytes. The
/// COPY fields (CopyBinaryBuffer) and the binary statement parameters (BinaryArray) share it.
void append_array_header(std::string& out, std::uint32_t element_oid, std::uint32_t count,
                         bool has_null);

/// Rows of one table in COPY's binary format (a field count per row, then each field as a
/// 32-bit length and its binary value, -1 for NULL; big-endian). Every field's C++ type must
/// be its column's (int8: bigint, int4: integer, timestamp: timestamptz, int8_array:
/// bigint[]): the server reads the bytes as the column's type and rejects a wrong length or
/// array element type. Pure: no database, unit-tested.
class CopyBinaryBuffer {
 public:
  /// The options of the COPY statement and the file header and trailer of the format.
  static constexpr std::string_view kCopyOptions = " WITH (FORMAT binary)";
  /// "PGCOPY\n\377\r\n\0", then the flags and the header extension's length (both 0).
  static constexpr std::string_view kHeader{"PGCOPY\n\377\r\n\0\0\0\0\0\0\0\0\0", 19};
  /// A field count of -1.
  static constexpr std::string_view kTrailer{"\377\377", 2};

  explicit CopyBinaryBuffer(std::size_t columns);

  CopyBinaryBuffer& null();
  CopyBinaryBuffer& int8(std::int64_t value);
  /// `value` (bigint), or NULL when it is 0 (ids that mean "none").
  CopyBinaryBuffer& int8_or_null(std::int64_t value);
  CopyBinaryBuffer& int4(std::int32_t value);
  CopyBinaryBuffer& boolean(bool value);
  /// timestamptz: microseconds since 2000-01-01 00:00 UTC (floored, as the text form).
  CopyBinaryBuffer& timestamp(std::chrono::system_clock::time_point value);
  /// text, as it is (in the connection's client encoding, like the text format).
  CopyBinaryBuffer& text(std::string_view value);
  /// Text, or NULL when it is empty.
  CopyBinaryBuffer& text_or_null(std::string_view value);
  /// A one-dimensional bigint[] (lower bound 1) without NULL elements.
  CopyBinaryBuffer& int8_array(std::span<const std::int64_t> values);

  /// pg_type oids of the array element types the writer sends.
  static constexpr std::uint32_t kCharOid = 18;  ///< "char"
  static constexpr std::uint32_t kInt8Oid = 20;
  static constexpr std::uint32_t kInt4Oid = 23;
  static constexpr std::uint32_t kTextOid = 25;
  /// A one-dimensional array field (lower bound 1; no elements: the empty array) of
  /// `element_oid`: begin_array(), one element_*() of that type per element, end_array().
  /// array_recv's layout: dimensions, has-NULLs flag, element type, per dimension its length
  /// and lower bound, per element its length (-1: NULL) and value.
  CopyBinaryBuffer& begin_array(std::uint32_t element_oid);
  CopyBinaryBuffer& element_null();
  CopyBinaryBuffer& element_char(char value);
  CopyBinaryBuffer& element_int4(std::int32_t value);
  CopyBinaryBuffer& element_int8(std::int64_t value);
  CopyBinaryBuffer& element_text(std::string_view value);
  /// Ends the array. @throw std::length_error if it is 2 GiB or more.
  CopyBinaryBuffer& end_array();

  /// Ends the row. @throw std::logic_error if it does not have one field per column.
  void end_row();

  [[nodiscard]] std::string_view data() const noexcept { return buffer_; }
  [[nodiscard]] std::size_t size() const noexcept { return buffer_.size(); }
  [[nodiscard]] bool in_row() const noexcept { return fields_ != 0; }
  void reserve(std::size_t bytes) { buffer_.reserve(bytes); }
  void clear() noexcept { buffer_.clear(); }
  /// Appends bytes outside any row (the file header and trailer).
  void raw(std::string_view bytes) { buffer_.append(bytes); }

 private:
  /// The row's field count before its first field, then the field's length.
  void begin_field(std::int32_t length);
  void put16(std::uint16_t value);
  void put32(std::uint32_t value);
  void put64(std::uint64_t value);
  /// Overwrites the 4 bytes at `at` with `value`, big-endian.
  void patch32(std::size_t at, std::uint32_t value);

  std::string buffer_;
  std::size_t columns_;
  std::size_t fields_ = 0;
  // The array in progress: where its field length is, its elements, whether one is NULL.
  std::size_t array_at_ = 0;
  std::uint32_t array_elements_ = 0;
  bool array_nulls_ = false;
};

/**
 * One `COPY table (columns) FROM STDIN` inside a pqxx transaction, fed from a
 * CopyTextBuffer (CopyWriter) or a CopyBinaryBuffer (BinaryCopyWriter) in chunks of about
 * kFlushBytes:
 *
 *     CopyWriter copy(tx, "records", {"probe_id", "owner"});
 *     copy.row().integer(id).text(owner).end_row();
 *     copy.complete();
 *
 * Errors are the exceptions libpqxx throws, so Database's retry logic treats them alike:
 * pqxx::sql_error with PostgreSQL's message and SQLSTATE when the server rejects the
 * data (reported by complete()), pqxx::broken_connection when the connection is lost,
 * pqxx::failure otherwise. A writer destroyed before complete() (an exception on the
 * way) cancels the COPY, which aborts the transaction; the connection stays usable for
 * the transaction's rollback.
 */
template <typename Buffer>
class BasicCopyWriter {
 public:
  /// Bytes buffered before they are handed to libpq.
  static constexpr std::size_t kFlushBytes = 64 * 1024;

  /// Starts the COPY. @throw pqxx::failure (e.g. sql_error for an unknown column).
  BasicCopyWriter(pqxx::dbtransaction& tx, std::string_view table,
                  std::initializer_list<std::string_view> columns);
  ~BasicCopyWriter();
  BasicCopyWriter(const BasicCopyWriter&) = delete;
  BasicCopyWriter& operator=(const BasicCopyWriter&) = delete;
  BasicCopyWriter(BasicCopyWriter&&) = delete;
  BasicCopyWriter& operator=(BasicCopyWriter&&) = delete;

  /// The buffer to append the next row to (sends the buffered rows first when they are
  /// kFlushBytes or more). End the row with end_row().
  Buffer& row() {
    if (buffer_.size() >= kFlushBytes) {
      flush();
    }
    return buffer_;
  }

  /// Sends the rest and ends the COPY. @throw pqxx::sql_error if the server rejected rows.
  void complete();

 private:
  void flush();

  pg_conn* connection_;
  std::string statement_;  ///< the COPY statement, for sql_error::query()
  Buffer buffer_;
  bool open_ = true;
};

using CopyWriter = BasicCopyWriter<CopyTextBuffer>;
using BinaryCopyWriter = BasicCopyWriter<CopyBinaryBuffer>;
extern template class BasicCopyWriter<CopyTextBuffer>;
extern template class BasicCopyWriter<CopyBinaryBuffer>;

}  // namespace fluxwatch::storage::detail
