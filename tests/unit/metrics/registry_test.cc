// The metrics library's pure logic: the exposition text byte for byte, escaping of
// untrusted label values, histogram buckets, and the naming rules.
#include "fluxwatch/metrics/registry.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <thread>

namespace fluxwatch::metrics {
namespace {

using ::testing::HasSubstr;

TEST(MetricsEscaping, LabelValuesEscapeBackslashQuoteAndNewline) {
  EXPECT_EQ(escape_label_value(R"(a\b"c)"
                               "\n"
                               "d"),
            R"(a\\b\"c\nd)");
  EXPECT_EQ(escape_label_value("plain 127.0.0.1:53"), "plain 127.0.0.1:53");
  EXPECT_EQ(escape_help("line\\one\nline \"two\""), "line\\\\one\\nline \"two\"");
}

TEST(MetricsFormat, ValuesUseThePrometheusSpellings) {
  EXPECT_EQ(format_value(3), "3");
  EXPECT_EQ(format_value(0.25), "0.25");
  EXPECT_EQ(format_value(1.0 / 0.0), "+Inf");
  EXPECT_EQ(format_value(-1.0 / 0.0), "-Inf");
  EXPECT_EQ(format_value(0.0 / 0.0), "NaN");
}

TEST(MetricsNames, FollowThePrometheusRules) {
  EXPECT_TRUE(valid_metric_name("fluxwatch_queries_total"));
  EXPECT_TRUE(valid_metric_name("ns:rule_name"));
  EXPECT_FALSE(valid_metric_name("1abc"));
  EXPECT_FALSE(valid_metric_name("bad-name"));
  EXPECT_FALSE(valid_metric_name(""));
  EXPECT_TRUE(valid_label_name("resolver"));
  EXPECT_FALSE(valid_label_name("__reserved"));
  EXPECT_FALSE(valid_label_name("has:colon"));
  Registry registry;
  EXPECT_THROW((void)registry.counter("bad-name", "x"), std::invalid_argument);
  EXPECT_THROW((void)registry.counter("ok_total", "x", {"le"}), std::invalid_argument);
  (void)registry.counter("twice_total", "x");
  EXPECT_THROW((void)registry.gauge("twice_total", "x"), std::invalid_argument);
  EXPECT_THROW((void)registry.histogram("h", "x", {}, {2, 1}), std::invalid_argument);
}

TEST(MetricsExposition, RendersCountersGaugesAndHistogramsExactly) {
  Registry registry;
  auto& queries = registry.counter("q_total", "Queries.\nSecond line", {"resolver", "qtype"});
  queries.with({"127.0.0.1:53", "A"}).inc(2);
  queries.with({"evil\"}\n# TYPE x counter", "AAAA"}).inc();
  registry.gauge("up", "Up or not").get().set(1);
  auto& latency = registry.histogram("lat_seconds", "Latency", {}, {0.1, 1});
  latency.get().observe(0.05);
  latency.get().observe(0.1);  // le is inclusive
  latency.get().observe(5);
  EXPECT_EQ(registry.expose(),
            "# HELP q_total Queries.\\nSecond line\n"
            "# TYPE q_total counter\n"
            "q_total{resolver=\"127.0.0.1:53\",qtype=\"A\"} 2\n"
            "q_total{resolver=\"evil\\\"}\\n# TYPE x counter\",qtype=\"AAAA\"} 1\n"
            "# HELP up Up or not\n"
            "# TYPE up gauge\n"
            "up 1\n"
            "# HELP lat_seconds Latency\n"
            "# TYPE lat_seconds histogram\n"
            "lat_seconds_bucket{le=\"0.1\"} 2\n"
            "lat_seconds_bucket{le=\"1\"} 2\n"
            "lat_seconds_bucket{le=\"+Inf\"} 3\n"
            "lat_seconds_sum 5.15\n"
            "lat_seconds_count 3\n");
}

TEST(MetricsExposition, CollectorsRunBeforeEachExposition) {
  Registry registry;
  auto& gauge = registry.gauge("reading", "From elsewhere");
  int calls = 0;
  registry.add_collector([&] { gauge.get().set(++calls * 10); });
  EXPECT_THAT(registry.expose(), HasSubstr("reading 10\n"));
  EXPECT_THAT(registry.expose(), HasSubstr("reading 20\n"));
}

TEST(MetricsFamily, WrongNumberOfLabelValuesThrows) {
  Registry registry;
  auto& family = registry.counter("c_total", "c", {"a", "b"});
  EXPECT_THROW((void)family.with({"only one"}), std::invalid_argument);
}

TEST(MetricsCounter, ConcurrentIncrementsAreAllCounted) {
  Registry registry;
  auto& counter = registry.counter("n_total", "n").get();
  auto& histogram = registry.histogram("h_seconds", "h", {}, {1}).get();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) {
        counter.inc();
        histogram.observe(0.5);
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  EXPECT_EQ(counter.value(), 40000);
  EXPECT_EQ(histogram.snapshot().cumulative.back(), 40000U);
}

}  // namespace
}  // namespace fluxwatch::metrics
