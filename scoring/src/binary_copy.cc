#include "binary_copy.h"

#include <libpq-fe.h>

#include <algorithm>
#include <array>
#include <bit>
#include <string>

#include "fluxwatch/common/error.h"
#include "fluxwatch/storage/libpq_access.h"

namespace fluxwatch::scoring::detail {

namespace libpq = storage::libpq;

namespace {

/// Microseconds from the Unix epoch to PostgreSQL's (2000-01-01 UTC).
constexpr std::int64_t kPostgresEpochMicros = 946'684'800'000'000;
/// "PGCOPY\n\377\r\n\0": the start of binary COPY output.
constexpr std::array<std::uint8_t, 11> kSignature = {'P',  'G',  'C',  'O',  'P', 'Y',
                                                     '\n', 0xff, '\r', '\n', 0};

[[noreturn]] void malformed(const char* what) {
  throw Error(std::string("scoring: malformed binary COPY data (") + what + ")");
}

/// The big-endian integer of `size` bytes at the front of `data`, dropped from it.
std::int64_t take(Bytes& data, std::size_t size, const char* what) {
  if (data.size() < size) {
    malformed(what);
  }
  std::uint64_t value = 0;
  for (std::size_t i = 0; i < size; ++i) {
    value = (value << 8) | data[i];
  }
  data = data.subspan(size);
  // Sign-extend from `size` bytes.
  const unsigned shift = 64U - 8U * static_cast<unsigned>(size);
  return static_cast<std::int64_t>(value << shift) >> shift;
}

/// A length-prefixed value (int4 length, -1: NULL) at the front of `data`, dropped from it.
Bytes take_value(Bytes& data, const char* what) {
  const auto length = take(data, 4, what);
  if (length < 0) {
    return {};  // NULL: data() == nullptr
  }
  if (static_cast<std::uint64_t>(length) > data.size()) {
    malformed(what);
  }
  const Bytes value = data.first(static_cast<std::size_t>(length));
  data = data.subspan(static_cast<std::size_t>(length));
  // A zero-length value (an empty string) must still differ from NULL.
  static constexpr std::uint8_t kEmpty = 0;
  return value.empty() ? Bytes(&kEmpty, 0) : value;
}

std::int64_t integer_of(Bytes value) {
  if (value.size() != 2 && value.size() != 4 && value.size() != 8) {
    malformed("an integer of unexpected length");
  }
  return take(value, value.size(), "integer");
}

std::string_view text_of(Bytes value) {
  return {reinterpret_cast<const char*>(value.data()), value.size()};
}

struct CopyDataDeleter {
  void operator()(char* data) const noexcept { PQfreemem(data); }
};

}  // namespace

// --- BinaryArray ----------------------------------------------------------------------------

void BinaryArray::parse(Bytes data) {
  elements_.clear();
  if (data.data() == nullptr) {
    return;
  }
  const auto dimensions = take(data, 4, "array dimensions");
  take(data, 4, "array flags");
  take(data, 4, "array element type");
  if (dimensions == 0) {
    return;
  }
  if (dimensions != 1) {
    malformed("an array of more than one dimension");
  }
  const auto count = take(data, 4, "array size");
  take(data, 4, "array lower bound");
  if (count < 0) {
    malformed("array size");
  }
  elements_.reserve(static_cast<std::size_t>(count));
  for (std::int64_t i = 0; i < count; ++i) {
    elements_.push_back(take_value(data, "array element"));
  }
  if (!data.empty()) {
    malformed("bytes after the array");
  }
}

std::int64_t BinaryArray::integer(std::size_t i) const { return integer_of(elements_.at(i)); }

std::string_view BinaryArray::text(std::size_t i) const { return text_of(elements_.at(i)); }

// --- BinaryRow ------------------------------------------------------------------------------

Bytes BinaryRow::at(std::size_t i) const {
  if (i >= fields_.size()) {
    throw Error("scoring: binary COPY row with too few fields");
  }
  return fields_[i];
}

std::int64_t BinaryRow::integer(std::size_t i) const { return integer_of(at(i)); }

double BinaryRow::float64(std::size_t i) const {
  const Bytes value = at(i);
  if (value.size() != 8) {
    malformed("a float8 of unexpected length");
  }
  return std::bit_cast<double>(static_cast<std::uint64_t>(integer_of(value)));
}

std::int64_t BinaryRow::unix_micros(std::size_t i) const {
  const Bytes value = at(i);
  if (value.size() != 8) {
    malformed("a timestamp of unexpected length");
  }
  return integer_of(value) + kPostgresEpochMicros;
}

std::string_view BinaryRow::text(std::size_t i) const { return text_of(at(i)); }

std::optional<IpAddress> BinaryRow::inet(std::size_t i) const {
  Bytes value = at(i);
  if (value.data() == nullptr) {
    return std::nullopt;
  }
  const auto family = take(value, 1, "inet family");
  const auto bits = take(value, 1, "inet bits") & 0xff;
  take(value, 1, "inet is_cidr");
  const auto size = take(value, 1, "inet size");
  if (static_cast<std::size_t>(size) != value.size() || (family != 2 && family != 3)) {
    malformed("inet");
  }
  const auto address = IpAddress::from_bytes(value);
  if (!address || (family == 2) != address->is_v4()) {
    malformed("inet");
  }
  return static_cast<unsigned>(bits) == address->bit_length() ? address : std::nullopt;
}

void BinaryRow::array(std::size_t i, BinaryArray& out) const { out.parse(at(i)); }

bool BinaryRow::parse(Bytes& data) {
  const auto count = take(data, 2, "field count");
  if (count == -1) {
    return false;
  }
  if (count < 0) {
    malformed("field count");
  }
  fields_.clear();
  for (std::int64_t i = 0; i < count; ++i) {
    fields_.push_back(take_value(data, "field"));
  }
  return true;
}

// --- BinaryCopy -----------------------------------------------------------------------------

struct BinaryCopy::Impl {
  PGconn* connection = nullptr;
  std::string query;
  std::unique_ptr<char, CopyDataDeleter> message;
  Bytes unread;  ///< what is left of `message`
  bool header_read = false;
  bool done = false;

  /// Cancels a COPY still running and reads until libpq is idle again.
  void abandon() const noexcept {
    if (PGcancel* cancel = PQgetCancel(connection)) {
      std::array<char, 256> error{};
      PQcancel(cancel, error.data(), static_cast<int>(error.size()));
      PQfreeCancel(cancel);
    }
    char* data = nullptr;
    while (PQgetCopyData(connection, &data, 0) > 0) {
      PQfreemem(data);
    }
    libpq::drain_results(connection);
  }

  /// The COPY's final result: an error becomes an exception.
  void finish() {
    done = true;
    libpq::Result result{PQgetResult(connection)};
    const bool ok = result && PQresultStatus(result.get()) == PGRES_COMMAND_OK;
    if (!ok) {
      libpq::throw_failure(connection, result.get(), query);
    }
    libpq::drain_results(connection);
  }

  /// The next message of the COPY into `unread`; false at the end.
  bool fetch() {
    char* data = nullptr;
    const int size = PQgetCopyData(connection, &data, 0);
    message.reset(data);
    if (size == -1) {
      finish();
      return false;
    }
    if (size < 0) {
      done = true;
      libpq::throw_failure(connection, nullptr, query);
    }
    unread = Bytes(reinterpret_cast<const std::uint8_t*>(data), static_cast<std::size_t>(size));
    if (!header_read) {
      // The signature, a flags word and the length of a header extension (skipped).
      if (unread.size() < kSignature.size() ||
          !std::equal(kSignature.begin(), kSignature.end(), unread.begin())) {
        malformed("signature");
      }
      unread = unread.subspan(kSignature.size());
      take(unread, 4, "header flags");
      const auto extension = take(unread, 4, "header extension");
      if (extension < 0 || static_cast<std::uint64_t>(extension) > unread.size()) {
        malformed("header extension");
      }
      unread = unread.subspan(static_cast<std::size_t>(extension));
      header_read = true;
    }
    return true;
  }
};

BinaryCopy::BinaryCopy(pqxx::dbtransaction& tx, const std::string& select)
    : impl_(std::make_unique<Impl>()) {
  impl_->connection = libpq::raw_connection(tx);
  impl_->query = "COPY (" + select + ") TO STDOUT (FORMAT binary)";
  const libpq::Result result{PQexec(impl_->connection, impl_->query.c_str())};
  if (!result || PQresultStatus(result.get()) != PGRES_COPY_OUT) {
    impl_->done = true;
    libpq::throw_failure(impl_->connection, result.get(), impl_->query);
  }
}

BinaryCopy::~BinaryCopy() {
  if (!impl_->done) {
    impl_->abandon();
  }
}

bool BinaryCopy::next(BinaryRow& row) {
  while (!impl_->done) {
    if (impl_->unread.empty() && !impl_->fetch()) {
      return false;
    }
    if (impl_->unread.empty()) {
      continue;  // a message with the header only
    }
    if (row.parse(impl_->unread)) {
      return true;
    }
    impl_->unread = {};  // the trailer: the next fetch ends the COPY
  }
  return false;
}

}  // namespace fluxwatch::scoring::detail
