// The packed form of an answer set (migration 0015): which records go to the set's own row and
// which to the shared part, the shared part's content address, and the array literals of the
// packed columns with their NULL defaults.
#include "packed_set.h"

#include <gtest/gtest.h>

#include <string>
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

TEST(PackedSet, AddressOnlyAnswersLeaveEveryOtherArrayNull) {
  const PackedAnswer packed = pack(zone_answer(300, 86400), "flux.test");
  const PackedColumns own = packed_columns(
      packed.own, false, [](std::string_view address) { return address == "127.1.0.1" ? 7 : 8; });
  EXPECT_FALSE(own.sections);
  EXPECT_FALSE(own.rtypes) << "A for IPv4, AAAA for IPv6";
  EXPECT_FALSE(own.owners);
  EXPECT_FALSE(own.ttl_offsets);
  EXPECT_EQ(own.address_ids, "{7,8}");
  EXPECT_FALSE(own.targets);

  const PackedColumns shared =
      packed_columns(packed.shared, true, [](std::string_view) { return 3; });
  EXPECT_EQ(shared.sections, "{u,d}");
  EXPECT_EQ(shared.rtypes, R"({"NS","A"})");
  EXPECT_EQ(shared.owners, R"({"test","ns.test"})");
  EXPECT_FALSE(shared.ttl_offsets);
  EXPECT_EQ(shared.address_ids, "{NULL,3}");
  EXPECT_EQ(shared.targets, R"({"ns.test",NULL})");
}

TEST(PackedSet, OtherRecordsKeepTypesOwnersOffsetsAndQuotedText) {
  const std::vector<ResourceRecord> records{
      ResourceRecord{Section::Answer, "www.flux.test", kCname, 3600, "flux.test"},
      ResourceRecord{Section::Answer, "flux.test", kAaaa, 60, "2001:db8::1"},
      ResourceRecord{Section::Answer, "flux.test", kA, 60, "not-an-address"},
      ResourceRecord{Section::Answer, "flux.test", kTxt, 60, R"(NULL "q" \ {x,y})"},
      ResourceRecord{Section::Answer, "flux.test", kTxt, 60, ""}};
  const PackedAnswer packed = pack(records, "flux.test");
  EXPECT_EQ(packed.bad_addresses, 1U);
  const PackedColumns own = packed_columns(packed.own, false, [](std::string_view) { return 5; });
  // Canonical order: A, AAAA, CNAME, TXT, TXT (type names, then owner and data bytewise).
  EXPECT_EQ(own.rtypes, R"({"A","AAAA","CNAME","TXT","TXT"})");
  EXPECT_EQ(own.owners, R"({NULL,NULL,"www.flux.test",NULL,NULL})");
  EXPECT_EQ(own.ttl_offsets, "{0,0,3540,0,0}");
  EXPECT_EQ(own.address_ids, "{NULL,5,NULL,NULL,NULL}");
  EXPECT_EQ(own.targets, R"({"not-an-address",NULL,"flux.test",NULL,"NULL \"q\" \\ {x,y}"})");
}

TEST(PackedSet, NamesNotOnTheWatchlistKeepTheirOwners) {
  const std::vector<ResourceRecord> records{
      ResourceRecord{Section::Answer, "ns1.elsewhere.test", kA, 300, "127.1.0.1"}};
  const PackedColumns own =
      packed_columns(pack(records, "").own, false, [](std::string_view) { return 1; });
  EXPECT_EQ(own.owners, R"({"ns1.elsewhere.test"})");
}

}  // namespace
}  // namespace fluxwatch::storage::detail
