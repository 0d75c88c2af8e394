// The canonical form of answer sets (storage/src/answer_set.h): order-independent, blind to
// TTLs, sensitive to every other field, and the same id as the SQL of migration 0009.
#include "answer_set.h"

#include <gtest/gtest.h>

#include <vector>

namespace fluxwatch::storage::detail {
namespace {

ResourceRecord rr(Section section, std::uint16_t type, std::string owner, std::string data,
                  std::uint32_t ttl) {
  return ResourceRecord{section, std::move(owner), type, ttl, std::move(data)};
}

std::vector<ResourceRecord> flux_answer(std::uint32_t a_ttl, std::uint32_t ns_ttl) {
  return {rr(Section::Answer, 1, "flux.test", "192.0.2.2", a_ttl),
          rr(Section::Answer, 1, "flux.test", "192.0.2.1", a_ttl),
          rr(Section::Authority, 2, "flux.test", "ns1.flux.test", ns_ttl)};
}

TEST(AnswerSet, CanonicalTextSortsBySectionTypeOwnerData) {
  std::vector<std::uint32_t> order;
  auto records = flux_answer(300, 3600);
  records.push_back(rr(Section::Additional, 99, "x.test", "\\# 0", 5));
  EXPECT_EQ(canonical_text(records, order),
            "answer\tA\tflux.test\t192.0.2.1\n"
            "answer\tA\tflux.test\t192.0.2.2\n"
            "authority\tNS\tflux.test\tns1.flux.test\n"
            "additional\tTYPE99\tx.test\t\\# 0\n");
  EXPECT_EQ(order, (std::vector<std::uint32_t>{1, 0, 2, 3}));
}

TEST(AnswerSet, IdIgnoresOrderAndTtlCountdown) {
  const auto first = canonical_answer(flux_answer(300, 3600));
  auto shuffled = flux_answer(120, 3420);  // a resolver's cache, 180 s later
  std::swap(shuffled[0], shuffled[2]);
  const auto later = canonical_answer(shuffled);
  EXPECT_EQ(first.id, later.id);
  EXPECT_EQ(first.digest, later.digest);
  EXPECT_EQ(first.min_ttl, 300U);
  EXPECT_EQ(later.min_ttl, 120U);
  EXPECT_EQ(first.ttl_shape, later.ttl_shape);  // a uniform shift: same offsets
}

TEST(AnswerSet, ANonUniformTtlChangeKeepsTheSetButNotTheShape) {
  const auto first = canonical_answer(flux_answer(300, 3600));
  const auto changed = canonical_answer(flux_answer(60, 3600));
  EXPECT_EQ(first.id, changed.id);
  EXPECT_NE(first.ttl_shape, changed.ttl_shape);
}

TEST(AnswerSet, EveryOtherFieldChangesTheId) {
  const auto base = canonical_answer(flux_answer(300, 3600)).id;
  auto address = flux_answer(300, 3600);
  address[0].data = "192.0.2.3";
  auto section = flux_answer(300, 3600);
  section[2].section = Section::Additional;
  auto type = flux_answer(300, 3600);
  type[2].type = 5;
  auto owner = flux_answer(300, 3600);
  owner[1].owner = "www.flux.test";
  for (const auto& records : {address, section, type, owner}) {
    EXPECT_NE(canonical_answer(records).id, base);
  }
}

TEST(AnswerSet, IdIsTheDigestPrefixAsPostgresqlReadsIt) {
  // SELECT ('x' || left(encode(sha256('abc'), 'hex'), 16))::bit(64)::bigint
  //   = -4822563950637968058 (ba7816bf8f01cfea)
  const auto digest = sha256("abc");
  EXPECT_EQ(bytea_hex(digest).substr(0, 18), "\\xba7816bf8f01cfea");
  EXPECT_EQ(digest_prefix(digest), static_cast<std::int64_t>(0xba7816bf8f01cfeaULL));
}

}  // namespace
}  // namespace fluxwatch::storage::detail
