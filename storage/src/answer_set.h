#pragma once
/// The canonical form of an answer set (migration 0009 describes it; its SQL twin moves the
/// rows of schema 8): what makes two probes' answers "the same set" and its content address.
/// Pure: no database, unit-tested.

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "fluxwatch/common/types.h"

namespace fluxwatch::storage::detail {

/// One probe's records in canonical order, with the set's identity and the probe's TTLs.
struct CanonicalAnswer {
  /// Indices into the probe's records, in canonical order (ord 0, 1, ...).
  std::vector<std::uint32_t> order;
  /// SHA-256 of the canonical text (section, type, owner, data of each record; no TTLs).
  std::array<unsigned char, 32> digest{};
  /// The first 8 bytes of digest, big-endian, as a signed integer: answer_set_id.
  std::int64_t id = 0;
  /// Bytes 9-16 of digest, likewise: answer_sets.digest_check (with id, a 128-bit address).
  std::int64_t digest_check = 0;
  /// The smallest TTL of the records (observations.ttl).
  std::uint32_t min_ttl = 0;
  /// Hash of the TTL offsets (ttl - min_ttl in canonical order): answer_sets.ttl_shape.
  std::int64_t ttl_shape = 0;
};

/// The canonical text: one "section TAB type TAB owner TAB data LF" line per record, sorted
/// by section (answer, authority, additional), then type name, owner and data bytewise
/// (ties by TTL). Also fills `order`.
[[nodiscard]] std::string canonical_text(const std::vector<ResourceRecord>& records,
                                         std::vector<std::uint32_t>& order);

/// The canonical form of `records` (which must not be empty).
[[nodiscard]] CanonicalAnswer canonical_answer(const std::vector<ResourceRecord>& records);

/// The first 8 bytes of a SHA-256 digest as PostgreSQL reads ('x' || hex)::bit(64)::bigint.
[[nodiscard]] std::int64_t digest_prefix(const std::array<unsigned char, 32>& digest) noexcept;
/// Bytes 9-16 of a SHA-256 digest, read the same way.
[[nodiscard]] std::int64_t digest_check(const std::array<unsigned char, 32>& digest) noexcept;

/// SHA-256 of `text`. @throw fluxwatch::Error if OpenSSL fails.
[[nodiscard]] std::array<unsigned char, 32> sha256(std::string_view text);

/// "\\x" and the digest in lower-case hex: bytea input.
[[nodiscard]] std::string bytea_hex(const std::array<unsigned char, 32>& digest);

}  // namespace fluxwatch::storage::detail
