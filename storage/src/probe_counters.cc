// ProbeWriter's second step (probe_writer.cc has the order of the whole batch): what a
// batch adds to each answer set's summary row (answer_set_counters: first/last seen, times
// seen, smallest TTLs), counted in the client and added in one statement.
#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <pqxx/pqxx>
#include <string>

#include "binary_params.h"
#include "copy_writer.h"
#include "probe_writer.h"

namespace fluxwatch::storage::detail {
namespace {

// What the batch adds to each set's summary, in key order (concurrent writers lock rows in
// the same order), from one of two sources ({rows}, a subquery with the columns of
// fw_counter_stage):
//   kCountersFromArrays  the counters as binary array parameters (binary_params.h), when no
//                        set of the batch has per-record TTLs (min_ttls): the server neither
//                        parses nor stages anything, ~2.5 us a set less than the staging
//                        table (docs/performance.md, "The counters without a staging table");
//   kCountersFromStage   fw_counter_stage, filled by binary COPY, for the other batches.
// When every set's counters row was committed before the batch (`known`: an unchanged
// round), a plain UPDATE adds them: a primary-key probe and a HOT update. INSERT ... ON
// CONFLICT DO UPDATE also locks the row first and cost twice as much per unchanged answer
// (docs/performance.md, "PostgreSQL's work per stored probe"); it takes every row of a batch
// with new sets, where a concurrent writer may insert the same row.
// fluxwatch_least_ttls is an SQL function PostgreSQL does not inline: called only when both
// sides have per-record TTLs.
constexpr const char* kCountersFromArrays = R"sql(
(SELECT s.*, NULL::bigint[] AS min_ttls
 FROM unnest($1::bigint[], $2::bigint[], $3::timestamptz[], $4::timestamptz[], $5::bigint[],
             $6::bigint[]) AS s(domain_id, answer_set_id, first_seen, last_seen, times_seen,
                                min_ttl)
 ORDER BY domain_id, answer_set_id)
)sql";
constexpr const char* kCountersFromStage =
    "(SELECT * FROM fw_counter_stage ORDER BY domain_id, answer_set_id)";
constexpr const char* kUpdateCountersSql = R"sql(
UPDATE answer_set_counters a
SET first_seen = least(a.first_seen, s.first_seen),
    last_seen = greatest(a.last_seen, s.last_seen),
    times_seen = a.times_seen + s.times_seen,
    min_ttl = least(a.min_ttl, s.min_ttl),
    min_ttls = CASE WHEN s.min_ttls IS NULL THEN a.min_ttls
                    WHEN a.min_ttls IS NULL THEN s.min_ttls
                    ELSE fluxwatch_least_ttls(a.min_ttls, s.min_ttls) END
FROM {rows} s
WHERE a.domain_id = s.domain_id AND a.answer_set_id = s.answer_set_id
)sql";
constexpr const char* kUpsertCountersSql = R"sql(
INSERT INTO answer_set_counters AS a (domain_id, answer_set_id, first_seen, last_seen,
                                      times_seen, min_ttl, min_ttls)
SELECT domain_id, answer_set_id, first_seen, last_seen, times_seen, min_ttl, min_ttls
FROM {rows} s ORDER BY domain_id, answer_set_id
ON CONFLICT (domain_id, answer_set_id) DO UPDATE
  SET first_seen = least(a.first_seen, excluded.first_seen),
      last_seen = greatest(a.last_seen, excluded.last_seen),
      times_seen = a.times_seen + excluded.times_seen,
      min_ttl = least(a.min_ttl, excluded.min_ttl),
      min_ttls = CASE WHEN excluded.min_ttls IS NULL THEN a.min_ttls
                      WHEN a.min_ttls IS NULL THEN excluded.min_ttls
                      ELSE fluxwatch_least_ttls(a.min_ttls, excluded.min_ttls) END
)sql";

}  // namespace

std::vector<std::pair<ProbeWriter::SetKey, ProbeWriter::SetCounters>> ProbeWriter::batch_counters(
    const std::vector<ProbeResult>& results, const std::vector<CanonicalAnswer>& answers,
    const BatchSets& sets, const std::unordered_set<SetKey, SetKeyHash>& new_sets) {
  // A probe with the set's stored TTL shape counts in min_ttl, any other in min_ttls per
  // record.
  std::vector<std::pair<SetKey, SetCounters>> counters(sets.count);
  for (std::size_t i = 0; i < results.size(); ++i) {
    const ProbeResult& result = results[i];
    if (sets.ordinal[i] == kNoSet) {
      continue;
    }
    auto& [key, c] = counters[sets.ordinal[i]];
    if (c.times == 0) {
      key = SetKey{result.domain_id, answers[i].id};
      c.first = result.sent_at;
      c.last = result.sent_at;
      c.known = !new_sets.contains(key);
    }
    c.first = std::min(c.first, result.sent_at);
    c.last = std::max(c.last, result.sent_at);
    c.times += 1;
    if (answers[i].ttl_shape == sets.stored[i]->ttl_shape) {
      c.min_ttl = std::min(c.min_ttl.value_or(answers[i].min_ttl), answers[i].min_ttl);
    } else {
      const auto& order = answers[i].order;
      if (c.min_ttls.empty()) {
        c.min_ttls.assign(order.size(), std::numeric_limits<std::uint32_t>::max());
      }
      for (std::size_t k = 0; k < order.size(); ++k) {
        c.min_ttls[k] = std::min(c.min_ttls[k], result.records[order[k]].ttl);
      }
    }
  }
  return counters;
}

void ProbeWriter::add_counters(pqxx::work& tx,
                               const std::vector<std::pair<SetKey, SetCounters>>& counters) {
  if (counters.empty()) {
    return;
  }
  const auto known = static_cast<std::size_t>(std::count_if(
      counters.begin(), counters.end(), [](const auto& entry) { return entry.second.known; }));
  const bool per_record_ttls = std::any_of(counters.begin(), counters.end(), [](const auto& entry) {
    return !entry.second.min_ttls.empty();
  });
  std::vector<BinaryArray> arrays;
  if (per_record_ttls) {
    stage_counters(tx, counters);
  } else {
    arrays = counter_arrays(counters);
  }
  const std::string rows = per_record_ttls ? kCountersFromStage : kCountersFromArrays;
  const auto run = [&](const char* sql) {
    const std::string statement = fmt::format(fmt::runtime(sql), fmt::arg("rows", rows));
    return per_record_ttls ? static_cast<std::size_t>(tx.exec(statement).affected_rows())
                           : exec_with_arrays(tx, statement, arrays);
  };
  // Only when every set is known: a batch that also inserts would lock in two passes (the
  // UPDATE's rows, then the INSERT's), and two such writers could deadlock; one ordered
  // statement cannot.
  bool upsert = known < counters.size();
  if (!upsert) {
    // Undone if a row was missing (nothing deletes counters rows, but then nothing is lost).
    // A primary-key probe per row: the source has no statistics, and a hash join would read
    // the whole counters table.
    // A generic plan: a custom one plans with the batch's arrays as constants, which cost
    // about twice the bind time (docs/performance.md).
    tx.exec(
        "SAVEPOINT fw_counters; SET LOCAL enable_hashjoin = off; "
        "SET LOCAL enable_mergejoin = off; SET LOCAL plan_cache_mode = force_generic_plan");
    upsert = run(kUpdateCountersSql) != known;
    tx.exec(upsert ? "ROLLBACK TO SAVEPOINT fw_counters"
                   : "RESET enable_hashjoin; RESET enable_mergejoin; RESET plan_cache_mode; "
                     "RELEASE SAVEPOINT fw_counters");
  }
  if (upsert) {
    run(kUpsertCountersSql);
  }
}

std::vector<BinaryArray> ProbeWriter::counter_arrays(
    const std::vector<std::pair<SetKey, SetCounters>>& counters) {
  using Type = BinaryArray::Type;
  std::vector<BinaryArray> arrays{BinaryArray(Type::Int8),        BinaryArray(Type::Int8),
                                  BinaryArray(Type::Timestamptz), BinaryArray(Type::Timestamptz),
                                  BinaryArray(Type::Int8),        BinaryArray(Type::Int8)};
  for (const auto& [key, c] : counters) {
    arrays[0].int8(key.domain_id);
    arrays[1].int8(key.answer_set_id);
    arrays[2].timestamp(c.first);
    arrays[3].timestamp(c.last);
    arrays[4].int8(c.times);
    c.min_ttl ? arrays[5].int8(*c.min_ttl) : arrays[5].null();
  }
  return arrays;
}

void ProbeWriter::stage_counters(pqxx::work& tx,
                                 const std::vector<std::pair<SetKey, SetCounters>>& counters) {
  stage_tables(tx);
  // Binary: the server parses no timestamps or integers (docs/performance.md).
  BinaryCopyWriter stage(tx, "fw_counter_stage",
                         {"domain_id", "answer_set_id", "first_seen", "last_seen", "times_seen",
                          "min_ttl", "min_ttls"});
  std::vector<std::int64_t> ttls;
  for (const auto& [key, c] : counters) {
    CopyBinaryBuffer& row = stage.row();
    row.int8(key.domain_id)
        .int8(key.answer_set_id)
        .timestamp(c.first)
        .timestamp(c.last)
        .int8(c.times);
    c.min_ttl ? row.int8(*c.min_ttl) : row.null();
    if (c.min_ttls.empty()) {
      row.null();
    } else {
      ttls.assign(c.min_ttls.begin(), c.min_ttls.end());
      row.int8_array(ttls);
    }
    row.end_row();
  }
  stage.complete();
}

}  // namespace fluxwatch::storage::detail
