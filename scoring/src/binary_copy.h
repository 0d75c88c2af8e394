#pragma once
// Reading `COPY (SELECT ...) TO STDOUT (FORMAT binary)` through libpq: the scan's streams
// (feature_scan_sql.h). Binary output spares the server the text formatting of every 64-bit
// id, timestamp and array element (PostgreSQL's send functions instead of its output
// functions), and the client the parsing and unescaping of that text: strings inside arrays
// arrive as their bytes, with a length, never quoted or escaped. libpqxx 6.4's stream_from is
// text only, so the COPY runs on the transaction's libpq connection directly.
// Formats (PostgreSQL's send functions, network byte order): int2/int4/int8 as such;
// timestamptz as int8 microseconds since 2000-01-01 UTC; text and "char" as their bytes;
// inet as family (2: IPv4, 3: IPv6), prefix bits, is_cidr, byte count, the bytes; an array as
// dimensions, has-NULLs flag, element type, (size, lower bound) per dimension, then each
// element as int4 length (-1: NULL) and its bytes.
#include <cstdint>
#include <memory>
#include <optional>
#include <pqxx/pqxx>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "fluxwatch/common/ip_address.h"

namespace fluxwatch::scoring::detail {

using Bytes = std::span<const std::uint8_t>;

/// The elements of a one-dimensional array in binary form (an empty array has none). Views
/// into the bytes it was parsed from.
class BinaryArray {
 public:
  /// @throw fluxwatch::Error on a malformed or multi-dimensional array.
  void parse(Bytes data);
  [[nodiscard]] std::size_t size() const noexcept { return elements_.size(); }
  [[nodiscard]] bool null(std::size_t i) const { return elements_.at(i).data() == nullptr; }
  /// An int2, int4 or int8 element (by its length).
  [[nodiscard]] std::int64_t integer(std::size_t i) const;
  /// A text or "char" element's bytes; empty for NULL.
  [[nodiscard]] std::string_view text(std::size_t i) const;

 private:
  std::vector<Bytes> elements_;  ///< data() == nullptr: NULL
};

/// The fields of one row of binary COPY output. Views into the stream's current message.
class BinaryRow {
 public:
  [[nodiscard]] std::size_t size() const noexcept { return fields_.size(); }
  [[nodiscard]] bool null(std::size_t i) const { return at(i).data() == nullptr; }
  /// An int2, int4 or int8 field (by its length).
  [[nodiscard]] std::int64_t integer(std::size_t i) const;
  /// A float8 field.
  [[nodiscard]] double float64(std::size_t i) const;
  /// A timestamptz as microseconds since the Unix epoch.
  [[nodiscard]] std::int64_t unix_micros(std::size_t i) const;
  /// A text field's bytes; empty for NULL.
  [[nodiscard]] std::string_view text(std::size_t i) const;
  /// An inet field holding one host address (all prefix bits); nullopt for NULL or a network.
  [[nodiscard]] std::optional<IpAddress> inet(std::size_t i) const;
  /// An array field into `out` (no elements for NULL).
  void array(std::size_t i, BinaryArray& out) const;

  /// Parses one tuple from the front of `data` (from its field count) and drops it from
  /// `data`; false for the trailer (field count -1). @throw fluxwatch::Error if malformed.
  bool parse(Bytes& data);

 private:
  [[nodiscard]] Bytes at(std::size_t i) const;
  std::vector<Bytes> fields_;  ///< data() == nullptr: NULL
};

/// One `COPY (select) TO STDOUT (FORMAT binary)` on the connection of `tx`, row by row.
/// libpq errors become pqxx::broken_connection (the connection is gone: storage::Session
/// retries) or pqxx::sql_error with the SQLSTATE. Destroyed before the end, it cancels the
/// COPY and drains the connection, so `tx` can still be aborted.
class BinaryCopy {
 public:
  BinaryCopy(pqxx::dbtransaction& tx, const std::string& select);
  ~BinaryCopy();
  BinaryCopy(const BinaryCopy&) = delete;
  BinaryCopy& operator=(const BinaryCopy&) = delete;

  /// The next row into `row` (valid until the next call); false at the end.
  bool next(BinaryRow& row);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Streams `select` with binary COPY, calling `row(const BinaryRow&)` for each row.
template <typename Row>
void copy_binary(pqxx::dbtransaction& tx, const std::string& select, Row&& row) {
  BinaryCopy copy(tx, select);
  BinaryRow current;
  while (copy.next(current)) {
    row(current);
  }
}

}  // namespace fluxwatch::scoring::detail
