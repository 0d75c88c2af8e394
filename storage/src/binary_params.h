#pragma once
/// Statements whose parameters are sent in binary (libpqxx 6.4 sends text only): arrays of
/// bigint or timestamptz in array_recv's layout, so that the server parses no text. The
/// writer sends a batch's counters this way instead of staging them in a table
/// (docs/performance.md, "fluxwatch's own CPU per stored name and the counters' staging").

#include <chrono>
#include <cstdint>
#include <optional>
#include <pqxx/pqxx>
#include <span>
#include <string>
#include <vector>

namespace fluxwatch::storage::detail {

/// A one-dimensional array (lower bound 1) of bigint or timestamptz, NULL elements allowed,
/// built element by element in PostgreSQL's binary array format. Pure: unit-tested.
class BinaryArray {
 public:
  enum class Type : std::uint32_t { Int8 = 20, Timestamptz = 1184 };

  explicit BinaryArray(Type type) : type_(type) {}

  BinaryArray& int8(std::int64_t value);
  BinaryArray& timestamp(std::chrono::system_clock::time_point value);
  BinaryArray& null();
  BinaryArray& int8_or_null(const std::optional<std::int64_t>& value) {
    return value ? int8(*value) : null();
  }

  [[nodiscard]] Type type() const noexcept { return type_; }
  [[nodiscard]] std::size_t size() const noexcept { return count_; }
  /// The value as array_recv reads it: dimensions, has-NULLs flag, element type, length and
  /// lower bound, then each element's length (-1: NULL) and bytes.
  [[nodiscard]] std::string bytes() const;

 private:
  Type type_;
  std::size_t count_ = 0;
  bool has_null_ = false;
  std::string elements_;
};

/// Runs `statement` in `tx` with `arrays` as its parameters $1, $2, ... (binary), and
/// returns the number of rows it affected. Errors are thrown as libpqxx's (pqxx::sql_error
/// with the SQLSTATE, pqxx::broken_connection), like the COPY paths'.
std::size_t exec_with_arrays(pqxx::dbtransaction& tx, const std::string& statement,
                             std::span<const BinaryArray> arrays);

}  // namespace fluxwatch::storage::detail
