// AuthoritativePlan: which queries follow from which answers, and LAME classification.
// Pure logic on hand-made ProbeResults (the lab tests cover the real servers).
#include "fluxwatch/crawler/delegation.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace fluxwatch::crawler {
namespace {

ResourceRecord rr(Section section, std::string owner, RrType type, std::string data,
                  std::uint32_t ttl = 300) {
  return ResourceRecord{section, std::move(owner), static_cast<std::uint16_t>(type), ttl,
                        std::move(data)};
}

/// The result of `planned` with an answer of `rcode`, `aa` and `records`.
ProbeResult answer(const PlannedQuery& planned, int rcode, bool aa,
                   std::vector<ResourceRecord> records, Outcome outcome = Outcome::NoError) {
  ProbeResult result;
  result.domain_id = planned.query.domain_id;
  result.name = planned.query.name;
  result.qtype = planned.query.type;
  result.mode = planned.query.mode;
  result.server_name = planned.query.server_name;
  result.resolver = planned.server ? planned.server->to_string() : "127.0.0.1:53";
  result.rcode = rcode;
  result.authoritative = aa;
  result.outcome = outcome;
  result.records = std::move(records);
  return result;
}

AuthoritativeOptions options() {
  AuthoritativeOptions o;
  o.record_types = {RrType::A};
  o.port = 5300;
  o.ipv6 = false;
  return o;
}

TEST(AuthoritativePlan, ApexNsThenAddressesThenEveryServerWithRd0) {
  AuthoritativePlan plan(7, "ex.test", options());
  auto first = plan.start();
  ASSERT_EQ(first.size(), 1U);
  EXPECT_EQ(first[0].query.type, RrType::NS);
  EXPECT_EQ(first[0].query.mode, ProbeMode::Delegation);
  EXPECT_FALSE(first[0].server.has_value());
  EXPECT_FALSE(plan.done());

  auto ns = answer(first[0], 0, true,
                   {rr(Section::Answer, "ex.test", RrType::NS, "ns1.ex.test"),
                    rr(Section::Answer, "ex.test", RrType::NS, "ns2.other.test"),
                    rr(Section::Additional, "ns1.ex.test", RrType::A, "127.0.0.11")});
  auto next = plan.on_result(ns);
  EXPECT_EQ(plan.zone(), "ex.test");
  // ns1 has an address in the additional section: A + SOA to it at once; ns2 is looked up.
  ASSERT_EQ(next.size(), 3U);
  EXPECT_EQ(next[0].server->to_string(), "127.0.0.11:5300");
  EXPECT_EQ(next[0].query.recursion_desired, std::optional<bool>(false));
  EXPECT_EQ(next[0].query.mode, ProbeMode::Authoritative);
  EXPECT_EQ(next[0].query.server_name, "ns1.ex.test");
  EXPECT_EQ(next[0].query.name, "ex.test");
  EXPECT_EQ(next[1].query.type, RrType::SOA);
  EXPECT_EQ(next[2].query.name, "ns2.other.test");
  EXPECT_EQ(next[2].query.type, RrType::A);
  EXPECT_FALSE(next[2].server.has_value());

  auto address =
      answer(next[2], 0, true, {rr(Section::Answer, "ns2.other.test", RrType::A, "127.0.0.12")});
  auto more = plan.on_result(address);
  ASSERT_EQ(more.size(), 2U);
  EXPECT_EQ(more[0].server->to_string(), "127.0.0.12:5300");
  EXPECT_EQ(more[0].query.server_name, "ns2.other.test");

  for (auto* list : {&next, &more}) {
    for (auto& planned : *list) {
      if (planned.server) {
        auto reply = answer(planned, 0, true, {});
        EXPECT_TRUE(plan.on_result(reply).empty());
        EXPECT_EQ(reply.outcome, Outcome::NoError);
      }
    }
  }
  EXPECT_TRUE(plan.done());
  EXPECT_EQ(plan.servers().size(), 2U);
}

TEST(AuthoritativePlan, ReferralGluesAndLameServers) {
  AuthoritativePlan plan(1, "www.child.test", options());
  auto first = plan.start();
  // A server of the parent answers with a referral: NS in authority, glue in additional.
  auto referral = answer(first[0], 0, false,
                         {rr(Section::Authority, "child.test", RrType::NS, "ns-a.test"),
                          rr(Section::Additional, "ns-a.test", RrType::A, "127.0.0.21")},
                         Outcome::NoData);
  auto next = plan.on_result(referral);
  EXPECT_EQ(plan.zone(), "child.test");
  ASSERT_EQ(next.size(), 2U);
  EXPECT_EQ(next[0].query.name, "www.child.test");
  EXPECT_EQ(next[1].query.name, "child.test");  // the SOA of the zone
  EXPECT_EQ(next[1].query.type, RrType::SOA);

  auto no_aa = answer(next[0], 0, false, {}, Outcome::NoData);
  (void)plan.on_result(no_aa);
  EXPECT_EQ(no_aa.outcome, Outcome::Lame);
  EXPECT_EQ(no_aa.rcode, 0);
  auto refused = answer(next[1], 5, false, {}, Outcome::Refused);
  (void)plan.on_result(refused);
  EXPECT_EQ(refused.outcome, Outcome::Lame);
  EXPECT_NE(refused.detail.find("refused"), std::string::npos);
  EXPECT_TRUE(plan.done());
}

TEST(AuthoritativePlan, WalksUpToTheZoneAndStopsOnFailures) {
  AuthoritativePlan plan(1, "a.b.zone.test", options());
  auto first = plan.start();
  auto nodata = answer(
      first[0], 0, true,
      {rr(Section::Authority, "zone.test", RrType::SOA, "ns.zone.test host.zone.test 1 2 3 4 5")},
      Outcome::NoData);
  auto next = plan.on_result(nodata);
  ASSERT_EQ(next.size(), 1U);
  EXPECT_EQ(next[0].query.name, "zone.test");
  EXPECT_EQ(next[0].query.type, RrType::NS);

  auto timeout = answer(next[0], -1, false, {}, Outcome::Timeout);
  EXPECT_TRUE(plan.on_result(timeout).empty());
  EXPECT_EQ(timeout.outcome, Outcome::Timeout);  // stored as it is, not LAME
  EXPECT_TRUE(plan.done());
  EXPECT_TRUE(plan.zone().empty());
}

TEST(AuthoritativePlan, HostileNsSetIsCapped) {
  auto o = options();
  o.max_servers = 3;
  AuthoritativePlan plan(1, "big.test", o);
  auto first = plan.start();
  std::vector<ResourceRecord> records;
  for (int i = 0; i < 50; ++i) {
    const auto name = "ns" + std::to_string(i) + ".big.test";
    records.push_back(rr(Section::Answer, "big.test", RrType::NS, name));
    records.push_back(rr(Section::Additional, name, RrType::A, "127.0.1." + std::to_string(i)));
  }
  auto ns = answer(first[0], 0, true, records);
  auto next = plan.on_result(ns);
  EXPECT_EQ(plan.servers().size(), 3U);
  const auto direct = std::count_if(next.begin(), next.end(),
                                    [](const PlannedQuery& q) { return q.server.has_value(); });
  EXPECT_EQ(direct, 6);  // 3 servers x (A + SOA)
}

}  // namespace
}  // namespace fluxwatch::crawler
