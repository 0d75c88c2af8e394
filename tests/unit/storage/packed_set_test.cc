// The packed form of an answer set (migration 0015): which records go to the set's own row and
// which to the shared part, the shared part's content address, and the packed columns (in
// COPY's binary format) with their NULL defaults.
#include "packed_set.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fluxwatch::storage::detail {
namespace {

constexpr std::uint16_t kA = 1;
constexpr std::uint16_t kNs = 2;
constexpr std::uint16_t kCname = 5;
constexpr std::uint16_t kTxt = 16;
constexpr std::uint16_t kAaaa = 28;

/// An answer of flux.test: `a_ttl` on its A records, `ns_ttl` on the zone's NS and glue.
std::vector<ResourceRecord> zone_answer(std::uint32_t a_ttl, std::uint32_t ns_ttl) {
  return {ResourceRecord{Section::Additional, "ns.test", kA, ns_ttl, "127.0.0.53"},
          ResourceRecord{Section::Answer, "flux.test", kA, a_ttl, "127.1.0.2"},
          ResourceRecord{Section::Authority, "test", kNs, ns_ttl, "ns.test"},
          ResourceRecord{Section::Answer, "flux.test", kA, a_ttl, "127.1.0.1"}};
}

PackedAnswer pack(const std::vector<ResourceRecord>& records, std::string_view domain) {
  return pack_answer(records, canonical_answer(records), domain);
}

TEST(PackedSet, TheAnswerSectionIsTheSetsOwnAndTheRestIsShared) {
  const auto records = zone_answer(300, 86400);
  const PackedAnswer packed = pack(records, "flux.test");
  ASSERT_EQ(packed.own.size(), 2U);
  ASSERT_EQ(packed.shared.size(), 2U);
  EXPECT_EQ(packed.own[0].address, "127.1.0.1");  // canonical order
  EXPECT_FALSE(packed.own[0].owner) << "the domain's own name is not stored";
  EXPECT_EQ(packed.own[0].ttl_offset, 0);
  EXPECT_EQ(packed.shared[0].section, Section::Authority);
  EXPECT_EQ(packed.shared[0].owner, "test") << "shared parts keep their owners";
  EXPECT_EQ(packed.shared[0].target, "ns.test");
  EXPECT_EQ(packed.shared[1].address, "127.0.0.53");
  EXPECT_EQ(packed.shared[1].ttl_offset, 0) << "relative to the part's smallest TTL";
  EXPECT_EQ(packed.shared_ttl_offset, 86100);
  EXPECT_EQ(shared_text(packed.shared),
            "authority\tNS\ttest\tns.test\t0\nadditional\tA\tns.test\t127.0.0.53\t0\n");
  EXPECT_EQ(packed.bad_addresses, 0U);
}

TEST(PackedSet, OneZonePartIsOneIdWhateverTheAnswerAndItsTtls) {
  const PackedAnswer a = pack(zone_answer(300, 86400), "flux.test");
  auto other_records = zone_answer(60, 7200);
  other_records[1].data = "127.9.9.9";
  const PackedAnswer b = pack(other_records, "other.test");
  EXPECT_EQ(a.shared_id, b.shared_id);
  EXPECT_EQ(a.shared_digest_check, b.shared_digest_check);
  EXPECT_EQ(b.shared_ttl_offset, 7140);
  // Other relative TTLs inside the part are another part.
  auto uneven = zone_answer(300, 86400);
  uneven[0].ttl = 3600;
  EXPECT_NE(pack(uneven, "flux.test").shared_id, a.shared_id);
  // No authority or additional section: no shared part.
  const std::vector<ResourceRecord> bare{
      ResourceRecord{Section::Answer, "flux.test", kA, 300, "127.1.0.1"}};
  EXPECT_TRUE(pack(bare, "flux.test").shared.empty());
}

/// The fields of one binary COPY row: each field's bytes, nullopt for NULL.
std::vector<std::optional<std::string>> binary_fields(std::string_view row) {
  const auto number = [&](std::size_t at, std::size_t bytes) {
    std::uint32_t value = 0;
    for (std::size_t i = 0; i < bytes; ++i) {
      value = value << 8 | static_cast<unsigned char>(row.at(at + i));
    }
    return value;
  };
  std::vector<std::optional<std::string>> fields(number(0, 2));
  std::size_t at = 2;
  for (auto& field : fields) {
    const auto length = static_cast<std::int32_t>(number(at, 4));
    at += 4;
    if (length >= 0) {
      field = std::string(row.substr(at, static_cast<std::size_t>(length)));
      at += static_cast<std::size_t>(length);
    }
  }
  EXPECT_EQ(at, row.size()) << "bytes after the last field";
  return fields;
}

/// A big-endian 32-bit number's bytes.
std::string be32(std::uint32_t value) {
  return {static_cast<char>(value >> 24), static_cast<char>(value >> 16),
          static_cast<char>(value >> 8), static_cast<char>(value)};
}

TEST(PackedSet, AddressOnlyAnswersLeaveEveryOtherArrayNull) {
  const PackedAnswer packed = pack(zone_answer(300, 86400), "flux.test");
  const PackedLayout own = packed_layout(packed.own);
  EXPECT_FALSE(own.rtypes) << "A for IPv4, AAAA for IPv6";
  EXPECT_FALSE(own.owners);
  EXPECT_FALSE(own.ttl_offsets);
  EXPECT_TRUE(own.address_ids);
  EXPECT_FALSE(own.targets);
  CopyBinaryBuffer row(5);
  write_packed_fields(row, packed.own, false,
                      [](std::string_view address) { return address == "127.1.0.1" ? 7 : 8; });
  row.end_row();
  const auto fields = binary_fields(row.data());
  ASSERT_EQ(fields.size(), 5U);
  EXPECT_FALSE(fields[0] || fields[1] || fields[2] || fields[4]);
  // int4[] {7,8}: one dimension, no NULLs, element type 23, length 2 from 1, then each
  // element's length and value.
  EXPECT_EQ(fields[3], be32(1) + be32(0) + be32(23) + be32(2) + be32(1) + be32(4) + be32(7) +
                           be32(4) + be32(8));

  const PackedLayout shared = packed_layout(packed.shared);
  EXPECT_TRUE(shared.rtypes);
  EXPECT_TRUE(shared.owners);
  EXPECT_FALSE(shared.ttl_offsets);
  EXPECT_TRUE(shared.address_ids);
  EXPECT_TRUE(shared.targets);
  CopyBinaryBuffer shared_row(6);
  write_packed_fields(shared_row, packed.shared, true, [](std::string_view) { return 3; });
  shared_row.end_row();
  const auto shared_fields = binary_fields(shared_row.data());
  ASSERT_EQ(shared_fields.size(), 6U);
  // "char"[] {u,d}
  EXPECT_EQ(shared_fields[0],
            be32(1) + be32(0) + be32(18) + be32(2) + be32(1) + be32(1) + "u" + be32(1) + "d");
  // int4[] {NULL,3}: the has-NULLs flag set, the NULL element's length -1.
  EXPECT_EQ(shared_fields[4], be32(1) + be32(1) + be32(23) + be32(2) + be32(1) + be32(0xffffffff) +
                                  be32(4) + be32(3));
  EXPECT_FALSE(shared_fields[3]) << "no TTL offsets";
}

TEST(PackedSet, OtherRecordsKeepTypesOwnersOffsetsAndText) {
  const std::vector<ResourceRecord> records{
      ResourceRecord{Section::Answer, "www.flux.test", kCname, 3600, "flux.test"},
      ResourceRecord{Section::Answer, "flux.test", kAaaa, 60, "2001:db8::1"},
      ResourceRecord{Section::Answer, "flux.test", kA, 60, "not-an-address"},
      ResourceRecord{Section::Answer, "flux.test", kTxt, 60, R"(NULL "q" \ {x,y})"},
      ResourceRecord{Section::Answer, "flux.test", kTxt, 60, ""}};
  const PackedAnswer packed = pack(records, "flux.test");
  EXPECT_EQ(packed.bad_addresses, 1U);
  const PackedLayout layout = packed_layout(packed.own);
  EXPECT_TRUE(layout.rtypes && layout.owners && layout.ttl_offsets && layout.address_ids &&
              layout.targets);
  // Canonical order: A, AAAA, CNAME, TXT, TXT (type names, then owner and data bytewise).
  ASSERT_EQ(packed.own.size(), 5U);
  EXPECT_EQ(packed.own[0].type, kA);
  EXPECT_FALSE(packed.own[0].address) << "not an address: kept as text";
  EXPECT_EQ(packed.own[0].target, "not-an-address");
  EXPECT_EQ(packed.own[1].address, "2001:db8::1");
  EXPECT_EQ(packed.own[2].owner, "www.flux.test");
  EXPECT_EQ(packed.own[2].ttl_offset, 3540);
  EXPECT_FALSE(packed.own[3].target) << "empty data: NULL";
  EXPECT_EQ(packed.own[4].target, R"(NULL "q" \ {x,y})");
  // (Their binary arrays read back through PostgreSQL: StorageCopyWriter and
  // AnswerSetStoreTest.AwkwardRecordTextReadsBackFromThePackedArrays.)
}

TEST(PackedSet, NamesNotOnTheWatchlistKeepTheirOwners) {
  const std::vector<ResourceRecord> records{
      ResourceRecord{Section::Answer, "ns1.elsewhere.test", kA, 300, "127.1.0.1"}};
  const PackedAnswer packed = pack(records, "");
  EXPECT_TRUE(packed_layout(packed.own).owners);
  EXPECT_EQ(packed.own[0].owner, "ns1.elsewhere.test");
}

}  // namespace
}  // namespace fluxwatch::storage::detail
