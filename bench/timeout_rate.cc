// timeout_rate - how much names that time out slow the probing of all the others.
//
// Resolves NAMES lab names through the crawler library, once with every name answered by
// the lab and once with a share of them (default 5%) sent to a server that never answers,
// alternating the two for REPEATS rounds. Prints, per round and as medians:
//   round rate  = names / time until every result (timeouts included) is in;
//   answer rate = answered names / time until the last answer arrived, i.e. how fast the
//                 rest keeps going while the timeouts are pending.
// The ratios compare each against the all-answered round of the same repetition.
// Usage: timeout_rate SERVER BLACKHOLE [NAMES] [REPEATS] [CONCURRENCY] [TIMEOUT_SHARE]
//                     [STALL_MS]   (the crawler's stall_after; default its default)
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <vector>

#include "fluxwatch/common/endpoint.h"
#include "fluxwatch/crawler/crawler.h"

namespace {

using Clock = std::chrono::steady_clock;

struct RoundFigures {
  double round_rate = 0;   // names/s including the wait for the timeouts
  double answer_rate = 0;  // answered names/s up to the last answer
  std::size_t answered = 0;
  std::size_t timeouts = 0;
};

RoundFigures run_round(fluxwatch::crawler::Crawler& crawler,
                       const std::vector<fluxwatch::crawler::Query>& queries) {
  RoundFigures figures;
  const auto start = Clock::now();
  auto last_answer = start;
  crawler.run(queries, [&](fluxwatch::ProbeResult&& result) {
    if (result.outcome == fluxwatch::Outcome::Timeout) {
      ++figures.timeouts;
    } else {
      ++figures.answered;
      last_answer = Clock::now();
    }
  });
  const double total = std::chrono::duration<double>(Clock::now() - start).count();
  const double answering = std::chrono::duration<double>(last_answer - start).count();
  figures.round_rate = static_cast<double>(queries.size()) / total;
  figures.answer_rate = answering > 0 ? static_cast<double>(figures.answered) / answering : 0;
  return figures;
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(
        stderr,
        "usage: %s SERVER BLACKHOLE [NAMES] [REPEATS] [CONCURRENCY] [TIMEOUT_SHARE] [STALL_MS]\n",
        argv[0]);
    return 2;
  }
  try {
    const auto server = fluxwatch::parse_endpoint(argv[1]);
    const auto blackhole = fluxwatch::parse_endpoint(argv[2]);
    if (!server || !blackhole) {
      std::fprintf(stderr, "timeout_rate: SERVER and BLACKHOLE are ip:port\n");
      return 2;
    }
    const std::size_t names = argc > 3 ? std::stoul(argv[3]) : 20000;
    const int repeats = argc > 4 ? std::stoi(argv[4]) : 3;
    const std::size_t concurrency = argc > 5 ? std::stoul(argv[5]) : 150;
    const double share = argc > 6 ? std::stod(argv[6]) : 0.05;

    fluxwatch::crawler::AresLibrary ares;
    fluxwatch::crawler::CrawlerOptions options;
    options.servers = {*server, *blackhole};
    options.max_in_flight = concurrency;
    if (argc > 7) {
      options.stall_after = std::chrono::milliseconds(std::stol(argv[7]));
    }
    fluxwatch::crawler::Crawler crawler(options);

    // Wildcard names of the lab's fast-flux zones; every 1/share-th goes to the blackhole.
    const std::vector<std::string> zones{"flux-alpha.test", "flux-beta.test", "flux-gamma.test",
                                         "cdn-static.test"};
    std::vector<fluxwatch::crawler::Query> all_answered;
    std::vector<fluxwatch::crawler::Query> with_timeouts;
    const auto every = share > 0 ? static_cast<std::size_t>(1.0 / share) : 0;
    for (std::size_t i = 0; i < names; ++i) {
      fluxwatch::crawler::Query query;
      query.domain_id = static_cast<std::int64_t>(i + 1);
      query.name = fmt::format("t{:06d}.{}", i, zones[i % zones.size()]);
      query.server = 0;
      all_answered.push_back(query);
      if (every > 0 && i % every == every - 1) {
        query.server = 1;
      }
      with_timeouts.push_back(query);
    }

    std::vector<double> round_ratios;
    std::vector<double> answer_ratios;
    std::vector<double> reference_rates;
    fmt::print("names {}, concurrency {}, {:.1f}% to a silent server, stall after {} ms\n", names,
               concurrency, share * 100, options.stall_after.count());
    for (int r = 1; r <= repeats; ++r) {
      const RoundFigures reference = run_round(crawler, all_answered);
      const RoundFigures timeouts = run_round(crawler, with_timeouts);
      fmt::print(
          "run {}: no timeouts {:8.0f} names/s ({} answered, {} timeouts) | with timeouts: "
          "round {:8.0f} names/s, answers {:8.0f} names/s ({} answered, {} timeouts)\n",
          r, reference.round_rate, reference.answered, reference.timeouts, timeouts.round_rate,
          timeouts.answer_rate, timeouts.answered, timeouts.timeouts);
      reference_rates.push_back(reference.round_rate);
      round_ratios.push_back(timeouts.round_rate / reference.round_rate);
      answer_ratios.push_back(timeouts.answer_rate / reference.round_rate);
    }
    fmt::print(
        "median: no timeouts {:.0f} names/s; with timeouts round rate {:.2f}x, answered-name "
        "rate {:.2f}x\n",
        median(reference_rates), median(round_ratios), median(answer_ratios));
    return 0;
  } catch (const std::exception& error) {
    std::fprintf(stderr, "timeout_rate: %s\n", error.what());
    return 1;
  }
}
