#include "copy_writer.h"

#include <fmt/format.h>
#include <libpq-fe.h>

#include <algorithm>
#include <charconv>
#include <climits>
#include <memory>
#include <pqxx/pqxx>
#include <stdexcept>

#include "fluxwatch/common/time_text.h"
#include "fluxwatch/storage/libpq_access.h"

namespace fluxwatch::storage::detail {
namespace {

/// The character after the backslash for the bytes text must escape; 0 for the others.
constexpr std::array<char, 256> kEscapes = [] {
  std::array<char, 256> escapes{};
  escapes['\\'] = '\\';
  escapes['\t'] = 't';
  escapes['\n'] = 'n';
  escapes['\r'] = 'r';
  return escapes;
}();

/// `value` (0-99) as two digits at `out`.
void two_digits(char* out, long long value) {
  out[0] = static_cast<char>('0' + value / 10);
  out[1] = static_cast<char>('0' + value % 10);
}

}  // namespace

// --- CopyTextBuffer ---------------------------------------------------------------------

CopyTextBuffer::CopyTextBuffer(std::size_t columns) : columns_(columns) {}

void CopyTextBuffer::begin_field() {
  if (fields_ != 0) {
    buffer_ += '\t';
  }
  ++fields_;
}

CopyTextBuffer& CopyTextBuffer::verbatim(std::string_view value) {
  begin_field();
  buffer_.append(value);
  return *this;
}

CopyTextBuffer& CopyTextBuffer::text(std::string_view value) {
  begin_field();
  // Copy the runs between bytes that need a backslash in one append each.
  const char* run = value.data();
  const char* const end = run + value.size();
  for (const char* p = run; p != end; ++p) {
    if (const char escape = kEscapes[static_cast<unsigned char>(*p)]; escape != 0) {
      buffer_.append(run, p);
      buffer_ += '\\';
      buffer_ += escape;
      run = p + 1;
    }
  }
  buffer_.append(run, end);
  return *this;
}

CopyTextBuffer& CopyTextBuffer::text_or_null(std::string_view value) {
  return value.empty() ? null() : text(value);
}

CopyTextBuffer& CopyTextBuffer::null() { return verbatim("\\N"); }

CopyTextBuffer& CopyTextBuffer::integer(std::int64_t value) {
  std::array<char, 24> digits{};
  const auto [end, error] = std::to_chars(digits.data(), digits.data() + digits.size(), value);
  return verbatim(std::string_view(digits.data(), static_cast<std::size_t>(end - digits.data())));
}

CopyTextBuffer& CopyTextBuffer::integer_or_null(std::int64_t value) {
  return value == 0 ? null() : integer(value);
}

CopyTextBuffer& CopyTextBuffer::boolean(bool value) { return verbatim(value ? "t" : "f"); }

CopyTextBuffer& CopyTextBuffer::rrtype(std::uint16_t type) {
  if (const std::string_view name = rrtype_mnemonic(type); !name.empty()) {
    return verbatim(name);
  }
  std::array<char, 12> text{'T', 'Y', 'P', 'E'};
  const auto [end, error] = std::to_chars(text.data() + 4, text.data() + text.size(), type);
  return verbatim(std::string_view(text.data(), static_cast<std::size_t>(end - text.data())));
}

CopyTextBuffer& CopyTextBuffer::timestamp(std::chrono::system_clock::time_point value) {
  using namespace std::chrono;
  // The arithmetic of format_timestamp_utc(), which stays the reference (unit-tested
  // against it): floor to microseconds, then to days.
  const auto micros = floor<microseconds>(value);
  const auto day = floor<days>(micros);
  if (day != cached_day_) {
    const year_month_day date{day};
    const int year = static_cast<int>(date.year());
    if (year < 0 || year > 9999) {
      return verbatim(format_timestamp_utc(value));  // never in practice; not four digits
    }
    fmt::format_to_n(cached_date_.data(), cached_date_.size(), "{:04}-{:02}-{:02} ", year,
                     static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()));
    cached_day_ = day;
  }
  const long long of_day = (micros - day).count();  // 0 .. 86'399'999'999
  const long long seconds = of_day / 1'000'000;
  long long fraction = of_day % 1'000'000;
  // "YYYY-MM-DD HH:MM:SS.ffffff+00"
  std::array<char, 29> text{};
  std::copy(cached_date_.begin(), cached_date_.end(), text.begin());
  two_digits(&text[11], seconds / 3600);
  text[13] = ':';
  two_digits(&text[14], seconds / 60 % 60);
  text[16] = ':';
  two_digits(&text[17], seconds % 60);
  text[19] = '.';
  for (std::size_t i = 25; i > 19; --i) {
    text[i] = static_cast<char>('0' + fraction % 10);
    fraction /= 10;
  }
  text[26] = '+';
  text[27] = '0';
  text[28] = '0';
  return verbatim(std::string_view(text.data(), text.size()));
}

void CopyTextBuffer::end_row() {
  if (fields_ != columns_) {
    throw std::logic_error(
        fmt::format("COPY row with {} fields for {} columns", fields_, columns_));
  }
  buffer_ += '\n';
  fields_ = 0;
}

// --- CopyBinaryBuffer -------------------------------------------------------------------

namespace {
/// PostgreSQL's epoch (2000-01-01 00:00 UTC) in microseconds since the Unix epoch.
constexpr std::int64_t kPostgresEpochMicros = 946'684'800'000'000;
}  // namespace

CopyBinaryBuffer::CopyBinaryBuffer(std::size_t columns) : columns_(columns) {}

void CopyBinaryBuffer::put16(std::uint16_t value) {
  const std::array<char, 2> bytes{static_cast<char>(value >> 8), static_cast<char>(value)};
  buffer_.append(bytes.data(), bytes.size());
}

void append_be32(std::string& out, std::uint32_t value) {
  const std::array<char, 4> bytes{static_cast<char>(value >> 24), static_cast<char>(value >> 16),
                                  static_cast<char>(value >> 8), static_cast<char>(value)};
  out.append(bytes.data(), bytes.size());
}

void append_be64(std::string& out, std::uint64_t value) {
  append_be32(out, static_cast<std::uint32_t>(value >> 32));
  append_be32(out, static_cast<std::uint32_t>(value));
}

void append_array_header(std::string& out, std::uint32_t element_oid, std::uint32_t count,
                         bool has_null) {
  append_be32(out, 1);  // dimensions
  append_be32(out, has_null ? 1 : 0);
  append_be32(out, element_oid);
  append_be32(out, count);  // the dimension's length
  append_be32(out, 1);      // its lower bound
}

void CopyBinaryBuffer::put32(std::uint32_t value) { append_be32(buffer_, value); }

void CopyBinaryBuffer::put64(std::uint64_t value) { append_be64(buffer_, value); }

void CopyBinaryBuffer::begin_field(std::int32_t length) {
  if (fields_ == 0) {
    put16(static_cast<std::uint16_t>(columns_));
  }
  ++fields_;
  put32(static_cast<std::uint32_t>(length));
}

CopyBinaryBuffer& CopyBinaryBuffer::null() {
  begin_field(-1);
  return *this;
}

CopyBinaryBuffer& CopyBinaryBuffer::int8(std::int64_t value) {
  begin_field(8);
  put64(static_cast<std::uint64_t>(value));
  return *this;
}

CopyBinaryBuffer& CopyBinaryBuffer::int8_or_null(std::int64_t value) {
  return value == 0 ? null() : int8(value);
}

CopyBinaryBuffer& CopyBinaryBuffer::int4(std::int32_t value) {
  begin_field(4);
  put32(static_cast<std::uint32_t>(value));
  return *this;
}

CopyBinaryBuffer& CopyBinaryBuffer::boolean(bool value) {
  begin_field(1);
  buffer_ += value ? '\1' : '\0';
  return *this;
}

std::int64_t postgres_timestamp(std::chrono::system_clock::time_point value) noexcept {
  const auto micros = std::chrono::floor<std::chrono::microseconds>(value).time_since_epoch();
  return micros.count() - kPostgresEpochMicros;
}

CopyBinaryBuffer& CopyBinaryBuffer::timestamp(std::chrono::system_clock::time_point value) {
  return int8(postgres_timestamp(value));
}

CopyBinaryBuffer& CopyBinaryBuffer::text(std::string_view value) {
  if (value.size() > static_cast<std::size_t>(INT32_MAX)) {
    throw std::length_error("COPY text field over 2 GiB");
  }
  begin_field(static_cast<std::int32_t>(value.size()));
  buffer_.append(value);
  return *this;
}

CopyBinaryBuffer& CopyBinaryBuffer::text_or_null(std::string_view value) {
  return value.empty() ? null() : text(value);
}

CopyBinaryBuffer& CopyBinaryBuffer::int8_array(std::span<const std::int64_t> values) {
  begin_array(kInt8Oid);
  for (const std::int64_t value : values) {
    element_int8(value);
  }
  return end_array();
}

void CopyBinaryBuffer::patch32(std::size_t at, std::uint32_t value) {
  buffer_[at] = static_cast<char>(value >> 24);
  buffer_[at + 1] = static_cast<char>(value >> 16);
  buffer_[at + 2] = static_cast<char>(value >> 8);
  buffer_[at + 3] = static_cast<char>(value);
}

CopyBinaryBuffer& CopyBinaryBuffer::begin_array(std::uint32_t element_oid) {
  begin_field(0);  // the length is patched in by end_array()
  array_at_ = buffer_.size() - 4;
  array_elements_ = 0;
  array_nulls_ = false;
  append_array_header(buffer_, element_oid, 0, false);  // the count and NULL flag are patched
  return *this;
}

CopyBinaryBuffer& CopyBinaryBuffer::element_null() {
  ++array_elements_;
  array_nulls_ = true;
  put32(static_cast<std::uint32_t>(-1));
  return *this;
}

CopyBinaryBuffer& CopyBinaryBuffer::element_char(char value) {
  ++array_elements_;
  put32(1);
  buffer_ += value;
  return *this;
}

CopyBinaryBuffer& CopyBinaryBuffer::element_int4(std::int32_t value) {
  ++array_elements_;
  put32(4);
  put32(static_cast<std::uint32_t>(value));
  return *this;
}

CopyBinaryBuffer& CopyBinaryBuffer::element_int8(std::int64_t value) {
  ++array_elements_;
  put32(8);
  put64(static_cast<std::uint64_t>(value));
  return *this;
}

CopyBinaryBuffer& CopyBinaryBuffer::element_text(std::string_view value) {
  if (value.size() > static_cast<std::size_t>(INT32_MAX)) {
    throw std::length_error("COPY array element over 2 GiB");
  }
  ++array_elements_;
  put32(static_cast<std::uint32_t>(value.size()));
  buffer_.append(value);
  return *this;
}

CopyBinaryBuffer& CopyBinaryBuffer::end_array() {
  constexpr std::size_t kDimensionBytes = 8;
  if (array_elements_ == 0) {
    // The empty array has no dimensions (array_recv: ndim 0, no length or lower bound).
    buffer_.resize(buffer_.size() - kDimensionBytes);
    patch32(array_at_ + 4, 0);
  } else {
    patch32(array_at_ + 8, array_nulls_ ? 1 : 0);
    patch32(array_at_ + 16, array_elements_);
  }
  const std::size_t bytes = buffer_.size() - array_at_ - 4;
  if (bytes > static_cast<std::size_t>(INT32_MAX)) {
    throw std::length_error("COPY array field over 2 GiB");
  }
  patch32(array_at_, static_cast<std::uint32_t>(bytes));
  return *this;
}

void CopyBinaryBuffer::end_row() {
  if (fields_ != columns_) {
    throw std::logic_error(
        fmt::format("COPY row with {} fields for {} columns", fields_, columns_));
  }
  fields_ = 0;
}

// --- BasicCopyWriter --------------------------------------------------------------------

template <typename Buffer>
BasicCopyWriter<Buffer>::BasicCopyWriter(pqxx::dbtransaction& tx, std::string_view table,
                                         std::initializer_list<std::string_view> columns)
    : connection_(libpq::raw_connection(tx)), buffer_(columns.size()) {
  statement_ = "COPY " + tx.quote_name(std::string(table)) + " (";
  const char* separator = "";
  for (const std::string_view column : columns) {
    statement_ += separator;
    statement_ += tx.quote_name(std::string(column));
    separator = ", ";
  }
  statement_ += ") FROM STDIN";
  statement_ += Buffer::kCopyOptions;
  // libpqxx accepts the PGRES_COPY_IN result; from here on the data goes through libpq.
  tx.exec(statement_);
  buffer_.reserve(kFlushBytes + kFlushBytes / 4);
  buffer_.raw(Buffer::kHeader);
}

template <typename Buffer>
BasicCopyWriter<Buffer>::~BasicCopyWriter() {
  if (!open_) {
    return;
  }
  // An exception left the COPY half-written: cancel it (the server then fails the COPY and
  // with it the transaction, which its owner rolls back) and consume the error so that
  // libpq accepts the next command. If the connection is gone, both calls fail harmlessly.
  PQputCopyEnd(connection_, "fluxwatch: COPY abandoned after an error");
  libpq::drain_results(connection_);
}

template <typename Buffer>
void BasicCopyWriter<Buffer>::flush() {
  std::string_view data = buffer_.data();
  while (!data.empty()) {
    // libpq takes an int length; a buffer is about kFlushBytes, but a row may be huge.
    const std::size_t chunk = std::min<std::size_t>(data.size(), INT_MAX / 2);
    if (PQputCopyData(connection_, data.data(), static_cast<int>(chunk)) != 1) {
      libpq::throw_failure(connection_, nullptr, statement_);
    }
    data.remove_prefix(chunk);
  }
  buffer_.clear();
}

template <typename Buffer>
void BasicCopyWriter<Buffer>::complete() {
  if (buffer_.in_row()) {
    throw std::logic_error("CopyWriter::complete() in the middle of a row");
  }
  buffer_.raw(Buffer::kTrailer);
  flush();
  open_ = false;
  if (PQputCopyEnd(connection_, nullptr) != 1) {
    libpq::throw_failure(connection_, nullptr, statement_);
  }
  const libpq::Result result{PQgetResult(connection_)};
  libpq::drain_results(connection_);
  if (!result || PQresultStatus(result.get()) != PGRES_COMMAND_OK) {
    libpq::throw_failure(connection_, result.get(), statement_);
  }
}

template class BasicCopyWriter<CopyTextBuffer>;
template class BasicCopyWriter<CopyBinaryBuffer>;

}  // namespace fluxwatch::storage::detail
