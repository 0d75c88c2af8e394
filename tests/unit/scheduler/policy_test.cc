// The scheduling rules (scheduler/policy.h): TTL clamp, adaptive drift, jitter bounds.
#include "fluxwatch/scheduler/policy.h"

#include <gtest/gtest.h>

namespace fluxwatch::scheduler {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

IntervalPolicy policy(double jitter = 0.0) {
  return IntervalPolicy{seconds(300), seconds(10), seconds(600), jitter};
}

ProbeResult answer(RrType type, std::string data, std::uint32_t ttl,
                   Outcome outcome = Outcome::NoError) {
  ProbeResult result;
  result.qtype = type;
  result.outcome = outcome;
  result.rcode = 0;
  result.records.push_back(ResourceRecord{Section::Answer, "x.test",
                                          static_cast<std::uint16_t>(type), ttl, std::move(data)});
  return result;
}

TEST(NextSchedule, IntervalIsTheShortestTtlWithinTheBounds) {
  const auto next = next_schedule(policy(), {}, AnswerSummary{30, 1}, 0.0);
  EXPECT_EQ(next.interval, seconds(30));
  EXPECT_EQ(next.delay, seconds(30));
  EXPECT_EQ(next_schedule(policy(), {}, AnswerSummary{3, 1}, 0.0).interval, seconds(10));
  EXPECT_EQ(next_schedule(policy(), {}, AnswerSummary{0, 1}, 0.0).interval, seconds(10));
  EXPECT_EQ(next_schedule(policy(), {}, AnswerSummary{3600, 1}, 0.0).interval, seconds(600));
}

TEST(NextSchedule, WithoutTtlTheBaseIntervalApplies) {
  EXPECT_EQ(next_schedule(policy(), {}, AnswerSummary{std::nullopt, 7}, 0.0).interval,
            seconds(300));
}

TEST(NextSchedule, UnchangedAnswersDoubleTheIntervalUpToMax) {
  DomainHistory history{0, 42};
  std::vector<milliseconds> intervals;
  for (int i = 0; i < 8; ++i) {
    const auto next = next_schedule(policy(), history, AnswerSummary{30, 42}, 0.0);
    intervals.push_back(next.interval);
    history = next.history;
  }
  EXPECT_EQ(intervals,
            (std::vector<milliseconds>{seconds(60), seconds(120), seconds(240), seconds(480),
                                       seconds(600), seconds(600), seconds(600), seconds(600)}));
  EXPECT_EQ(history.stable_runs, 8);
}

TEST(NextSchedule, ZeroTtlDriftsFromMinToMax) {
  DomainHistory history{0, 3};
  std::vector<milliseconds> intervals;
  for (int i = 0; i < 8; ++i) {
    const auto next = next_schedule(policy(), history, AnswerSummary{0, 3}, 0.0);
    intervals.push_back(next.interval);
    history = next.history;
  }
  EXPECT_EQ(intervals,
            (std::vector<milliseconds>{seconds(20), seconds(40), seconds(80), seconds(160),
                                       seconds(320), seconds(600), seconds(600), seconds(600)}));
}

TEST(NextSchedule, ChangingAnswersStayAtTheTtl) {
  DomainHistory history{5, 1};
  const auto next = next_schedule(policy(), history, AnswerSummary{30, 2}, 0.0);
  EXPECT_EQ(next.history.stable_runs, 0);
  EXPECT_EQ(next.history.answer_hash, 2U);
  EXPECT_EQ(next.interval, seconds(30));
}

TEST(NextSchedule, FirstProbeHasNothingToCompareWith) {
  const auto next = next_schedule(policy(), {}, AnswerSummary{30, 9}, 0.0);
  EXPECT_EQ(next.history.stable_runs, 0);
  EXPECT_EQ(next.history.answer_hash, 9U);
}

TEST(NextSchedule, FailedProbeKeepsTheHistory) {
  const DomainHistory history{3, 77};
  const auto next =
      next_schedule(policy(), history, AnswerSummary{std::nullopt, std::nullopt}, 0.0);
  EXPECT_EQ(next.history, history);
  // stable_runs still scale the base interval: 300 s x 8 -> max.
  EXPECT_EQ(next.interval, seconds(600));
}

TEST(NextSchedule, StableRunsSaturate) {
  const DomainHistory history{kMaxStableRuns, 5};
  const auto next = next_schedule(policy(), history, AnswerSummary{1, 5}, 0.0);
  EXPECT_EQ(next.history.stable_runs, kMaxStableRuns);
  EXPECT_EQ(next.interval, seconds(600));
}

TEST(NextSchedule, JitterMovesEarlierButNeverBelowMin) {
  const auto p = policy(0.1);
  EXPECT_EQ(next_schedule(p, {}, AnswerSummary{100, 1}, 0.0).delay, seconds(100));
  EXPECT_EQ(next_schedule(p, {}, AnswerSummary{100, 1}, 0.5).delay, seconds(95));
  EXPECT_EQ(next_schedule(p, {}, AnswerSummary{100, 1}, 0.999).delay.count(), 90010);
  // 10.5 s x (1 - 0.1) would be 9.45 s: below min, so min.
  EXPECT_EQ(next_schedule(p, {}, AnswerSummary{std::nullopt, 1}, 0.999).interval, seconds(300));
  const IntervalPolicy tight{seconds(300), seconds(10), seconds(600), 0.1};
  const auto near_min = next_schedule(tight, {}, AnswerSummary{11, 1}, 0.999);
  EXPECT_EQ(near_min.delay, seconds(10));
}

TEST(NextSchedule, AtMinJitterGoesLaterButNeverAboveMax) {
  const auto at_min = next_schedule(policy(0.1), {}, AnswerSummary{1, 1}, 0.5);
  EXPECT_EQ(at_min.interval, seconds(10));
  EXPECT_EQ(at_min.delay, milliseconds(10500));
  const IntervalPolicy flat{seconds(5), seconds(5), seconds(5), 0.2};
  EXPECT_EQ(next_schedule(flat, {}, AnswerSummary{1, 1}, 0.9).delay, seconds(5));
}

TEST(NextSchedule, JitterSpreadsDueTimes) {
  std::vector<milliseconds> delays;
  for (double u : {0.0, 0.25, 0.5, 0.75}) {
    delays.push_back(next_schedule(policy(0.05), {}, AnswerSummary{200, 1}, u).delay);
  }
  EXPECT_EQ(delays, (std::vector<milliseconds>{milliseconds(200000), milliseconds(197500),
                                               milliseconds(195000), milliseconds(192500)}));
}

TEST(Observe, ShortestAnswerTtlAndOrderIndependentHash) {
  const std::vector<ProbeResult> one{answer(RrType::A, "127.0.0.1", 30),
                                     answer(RrType::NS, "ns1.test", 3600)};
  const std::vector<ProbeResult> swapped{answer(RrType::NS, "ns1.test", 900),
                                         answer(RrType::A, "127.0.0.1", 10)};
  const auto a = summarize_answers(one);
  const auto b = summarize_answers(swapped);
  EXPECT_EQ(a.min_ttl, 30U);
  EXPECT_EQ(b.min_ttl, 10U);
  ASSERT_TRUE(a.answer_hash.has_value());
  EXPECT_EQ(a.answer_hash, b.answer_hash);  // TTLs and order do not count
}

TEST(Observe, DifferentAddressesOrOutcomesChangeTheHash) {
  const auto a = summarize_answers({answer(RrType::A, "127.0.0.1", 30)});
  const auto b = summarize_answers({answer(RrType::A, "127.0.0.2", 30)});
  EXPECT_NE(a.answer_hash, b.answer_hash);
  ProbeResult nx;
  nx.qtype = RrType::A;
  nx.outcome = Outcome::NxDomain;
  ProbeResult nodata = nx;
  nodata.outcome = Outcome::NoData;
  EXPECT_NE(summarize_answers({nx}).answer_hash, summarize_answers({nodata}).answer_hash);
  EXPECT_FALSE(summarize_answers({nx}).min_ttl.has_value());
}

TEST(Observe, OnlyFailuresGiveNoHash) {
  ProbeResult timeout;
  timeout.outcome = Outcome::Timeout;
  EXPECT_FALSE(summarize_answers({timeout, timeout}).answer_hash.has_value());
  EXPECT_TRUE(
      summarize_answers({timeout, answer(RrType::A, "127.0.0.1", 5)}).answer_hash.has_value());
}

}  // namespace
}  // namespace fluxwatch::scheduler
