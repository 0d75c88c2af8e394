#include "binary_params.h"

#include <charconv>
#include <limits>
#include <stdexcept>

#include "copy_writer.h"
#include "fluxwatch/storage/libpq_access.h"

namespace fluxwatch::storage::detail {

BinaryArray& BinaryArray::int8(std::int64_t value) {
  append_be32(elements_, 8);
  append_be64(elements_, static_cast<std::uint64_t>(value));
  ++count_;
  return *this;
}

BinaryArray& BinaryArray::timestamp(std::chrono::system_clock::time_point value) {
  return int8(postgres_timestamp(value));
}

BinaryArray& BinaryArray::null() {
  append_be32(elements_, static_cast<std::uint32_t>(-1));
  has_null_ = true;
  ++count_;
  return *this;
}

std::string BinaryArray::bytes() const {
  if (count_ > static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max())) {
    throw std::length_error("binary array parameter with too many elements");
  }
  std::string out;
  out.reserve(20 + elements_.size());
  append_array_header(out, static_cast<std::uint32_t>(type_), static_cast<std::uint32_t>(count_),
                      has_null_);
  out.append(elements_);
  return out;
}

std::size_t exec_with_arrays(pqxx::dbtransaction& tx, const std::string& statement,
                             std::span<const BinaryArray> arrays) {
  std::vector<std::string> values;
  std::vector<const char*> pointers;
  std::vector<int> lengths;
  std::vector<Oid> types;
  for (const BinaryArray& array : arrays) {
    values.push_back(array.bytes());
    // The array types' OIDs: int8[] 1016, timestamptz[] 1185.
    types.push_back(array.type() == BinaryArray::Type::Int8 ? 1016 : 1185);
  }
  for (const std::string& value : values) {
    pointers.push_back(value.data());
    lengths.push_back(static_cast<int>(value.size()));
  }
  const std::vector<int> formats(values.size(), 1);
  PGconn* connection = libpq::raw_connection(tx);
  const libpq::Result result{PQexecParams(connection, statement.c_str(),
                                          static_cast<int>(values.size()), types.data(),
                                          pointers.data(), lengths.data(), formats.data(), 0)};
  const ExecStatusType status = result ? PQresultStatus(result.get()) : PGRES_FATAL_ERROR;
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    libpq::throw_failure(connection, result.get(), statement);
  }
  std::size_t affected = 0;
  const std::string_view tuples = PQcmdTuples(result.get());
  std::from_chars(tuples.data(), tuples.data() + tuples.size(), affected);
  return affected;
}

}  // namespace fluxwatch::storage::detail
