#pragma once
/// The packed form of an answer set (migration 0015 describes the tables): its answer-section
/// records as parallel arrays in one answer_set_contents row, and its authority and additional
/// sections as a shared part, stored once for every set that holds the same records with the
/// same relative TTLs (a zone's NS set and glue, an SOA). Pure: no database, unit-tested.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "answer_set.h"
#include "copy_writer.h"
#include "fluxwatch/common/types.h"

namespace fluxwatch::storage::detail {

/// One record of a packed part, in canonical order. Views into the probe's records.
struct PackedRecord {
  Section section = Section::Answer;
  std::uint16_t type = 0;
  /// nullopt: the watched domain's own name (answer section only).
  std::optional<std::string_view> owner;
  /// The record's TTL minus the smallest TTL of its part (own part: of the whole set).
  std::int64_t ttl_offset = 0;
  /// A/AAAA with a valid IP address: its text (then `target` is nullopt).
  std::optional<std::string_view> address;
  /// Any other record's data; nullopt when it is empty.
  std::optional<std::string_view> target;
};

/// The two parts of one answer set.
struct PackedAnswer {
  std::vector<PackedRecord> own;     ///< the answer section (ord 0 ..)
  std::vector<PackedRecord> shared;  ///< authority and additional sections (ord after `own`)
  /// Smallest TTL of the shared part minus the set's (when `shared` is not empty).
  std::int64_t shared_ttl_offset = 0;
  std::int64_t shared_id = 0;            ///< bytes 1-8 of the SHA-256 of shared_text()
  std::int64_t shared_digest_check = 0;  ///< bytes 9-16
  /// A/AAAA records whose data is not a valid IP address (kept as text).
  std::size_t bad_addresses = 0;
};

/// Packs `records` in the canonical order of `answer`. `domain_name`: the watched domain's
/// own name (empty for names not on the watchlist): owners equal to it are stored as NULL in
/// the own part.
[[nodiscard]] PackedAnswer pack_answer(const std::vector<ResourceRecord>& records,
                                       const CanonicalAnswer& answer, std::string_view domain_name);

/// What a shared part's id hashes: "section TAB type TAB owner TAB data TAB ttl offset LF"
/// per record (the SQL of migration 0015 builds the same text).
[[nodiscard]] std::string shared_text(const std::vector<PackedRecord>& shared);

/// Which array columns of a part are not NULL (a NULL array is the column's default for
/// every record; migration 0015 gives each column's rule).
struct PackedLayout {
  bool rtypes = false;
  bool owners = false;
  bool ttl_offsets = false;
  bool address_ids = false;
  bool targets = false;
};
[[nodiscard]] PackedLayout packed_layout(const std::vector<PackedRecord>& part);

/// Writes the array columns of `part` to `row` in COPY's binary format, in the order of the
/// tables: (sections when `with_sections`,) rtypes, owners, ttl_offsets, address_ids,
/// targets. `address_id` gives the id of each record's address (called only for records
/// with one).
template <typename AddressId>
void write_packed_fields(CopyBinaryBuffer& row, const std::vector<PackedRecord>& part,
                         bool with_sections, AddressId&& address_id);

/// One element of a text[] literal: double-quoted, with backslash and double quote escaped
/// (so "NULL" or "{" stay text).
void append_array_text(std::string& literal, std::string_view element);

// --- template implementation ------------------------------------------------------------

/// The writer behind write_packed_fields() (address ids already looked up, one per record,
/// -1 where the record has none).
void write_packed_fields_with_ids(CopyBinaryBuffer& row, const std::vector<PackedRecord>& part,
                                  bool with_sections, const std::vector<std::int64_t>& ids);

template <typename AddressId>
void write_packed_fields(CopyBinaryBuffer& row, const std::vector<PackedRecord>& part,
                         bool with_sections, AddressId&& address_id) {
  std::vector<std::int64_t> ids;
  ids.reserve(part.size());
  for (const PackedRecord& record : part) {
    ids.push_back(record.address ? static_cast<std::int64_t>(address_id(*record.address)) : -1);
  }
  write_packed_fields_with_ids(row, part, with_sections, ids);
}

}  // namespace fluxwatch::storage::detail
