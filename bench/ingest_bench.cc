// fluxwatch-ingest-bench: rows per second of fluxwatch's writer (storage::Database::store,
// the path of `fluxwatch probe` and `fluxwatch run`) on probe results shaped like the
// answers of bench/nsd-server.sh's zone. bench/run.sh then exports exactly the rows
// written here and loads them again with psql's COPY: the storage ceiling.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <exception>
#include <string>
#include <vector>

#include "fluxwatch/common/types.h"
#include "fluxwatch/storage/database.h"

namespace {

using fluxwatch::ProbeResult;
using fluxwatch::ResourceRecord;

/// Result i as nsd answers it from the bench zone: 1 + i % 5 A records of the lab's flux
/// networks, the NS record and its glue.
ProbeResult make_result(std::size_t i, const fluxwatch::WatchedDomain* domain,
                        std::chrono::system_clock::time_point now) {
  ProbeResult result;
  result.domain_id = domain != nullptr ? domain->id : 0;
  result.name = domain != nullptr ? domain->domain : fmt::format("n{:07d}.bench.test", i);
  result.qtype = fluxwatch::RrType::A;
  result.resolver = "127.0.0.1:5390";
  result.sent_at = now + std::chrono::microseconds(i);
  result.latency = std::chrono::microseconds(300 + i % 700);
  result.outcome = fluxwatch::Outcome::NoError;
  result.rcode = 0;
  result.authoritative = true;
  for (std::size_t k = 0; k <= i % 5; ++k) {
    const std::size_t x = (i * 7 + k * 1013) % 6096;
    result.records.push_back(ResourceRecord(fluxwatch::Section::Answer, result.name,
                                            static_cast<std::uint16_t>(fluxwatch::RrType::A), 30,
                                            fmt::format("127.64.{}.{}", 1 + x / 254, 1 + x % 254)));
  }
  // nsd adds the zone's NS record and its glue address to every answer.
  result.records.push_back(ResourceRecord(fluxwatch::Section::Authority, "bench.test",
                                          static_cast<std::uint16_t>(fluxwatch::RrType::NS), 3600,
                                          "ns.bench.test"));
  result.records.push_back(ResourceRecord(fluxwatch::Section::Additional, "ns.bench.test",
                                          static_cast<std::uint16_t>(fluxwatch::RrType::A), 3600,
                                          "127.0.0.1"));
  return result;
}

/// CPU time of this process (all threads: user and system), in seconds.
double process_cpu_seconds() {
  timespec now{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) / 1e9;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Rows per second of fluxwatch's COPY writer (probes + records), for bench/run.sh"};
  std::string dsn;
  std::size_t probes = 100000;
  std::size_t batch_size = 5000;
  app.add_option("--dsn", dsn, "libpq connection string of a migrated fluxwatch database")
      ->required();
  app.add_option("--probes", probes, "Probe results to write")->check(CLI::Range(1, 100000000));
  app.add_option("--batch-size", batch_size, "Results per store() transaction (probe.batch_size)")
      ->check(CLI::Range(1, 1000000));
  CLI11_PARSE(app, argc, argv);

  try {
    fluxwatch::storage::Database db(dsn);
    // Real watchlist ids when there are any, so the foreign-key checks are part of the cost.
    const auto domains = db.watched_domains();
    const auto now = std::chrono::system_clock::now();
    std::vector<fluxwatch::storage::ProbeBatch> batches;
    std::size_t records = 0;
    const std::int64_t run_id = db.begin_run("ingest-bench", "{}");
    for (std::size_t i = 0; i < probes; ++i) {
      if (i % batch_size == 0) {
        batches.push_back(fluxwatch::storage::ProbeBatch{run_id, {}, {}, "none"});
        batches.back().results.reserve(batch_size);
      }
      const auto* domain = domains.empty() ? nullptr : &domains[i % domains.size()];
      batches.back().results.push_back(make_result(i, domain, now));
      records += batches.back().results.back().records.size();
    }

    const auto started = std::chrono::steady_clock::now();
    const double cpu_started = process_cpu_seconds();
    for (const auto& batch : batches) {
      db.store(batch);
    }
    const std::chrono::duration<double> seconds = std::chrono::steady_clock::now() - started;
    const double cpu_seconds = process_cpu_seconds() - cpu_started;
    db.finish_run(run_id,
                  {static_cast<std::int64_t>(probes), static_cast<std::int64_t>(records), 0});
    const auto rows = static_cast<double>(probes + records);
    // One line, key=value, for bench/run.sh.
    // client_cpu_us_per_row: this process's CPU time per row while storing, which unlike
    // rows_per_s hardly depends on what else the machine is doing.
    fmt::print(
        "probes={} records={} rows={} seconds={:.3f} rows_per_s={:.0f} "
        "client_cpu_us_per_row={:.3f}\n",
        probes, records, probes + records, seconds.count(), rows / seconds.count(),
        cpu_seconds * 1e6 / rows);
    return 0;
  } catch (const std::exception& error) {
    fmt::print(stderr, "fluxwatch-ingest-bench: {}\n", error.what());
    return 1;
  }
}
