// ProbeWriter: the rows of one probe batch in the layout of migration 0009 (its header
// describes the tables). Order within the caller's transaction:
//   1. the batch's answer sets not known to be stored: COPY into session staging tables,
//      then one INSERT ... ON CONFLICT DO NOTHING (a set another writer stored meanwhile is
//      skipped) whose RETURNING picks the records to insert; then the stored TTL shape and
//      digest of every staged set (a digest that differs is an id collision: refused);
//   2. one observation row per probe, by COPY into the partitioned table;
//   3. the (domain, address) summary: COPY into staging, one grouped upsert.
#include "probe_writer.h"

#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <pqxx/pqxx>

#include "answer_set.h"
#include "copy_text.h"
#include "copy_writer.h"
#include "fluxwatch/common/error.h"

namespace fluxwatch::storage::detail {
namespace {

/// Known answer sets kept before the cache starts over (about 64 bytes each).
constexpr std::size_t kMaxKnownSets = 4'000'000;

constexpr const char* kStageTablesSql = R"sql(
CREATE TEMP TABLE IF NOT EXISTS fw_set_stage (
  domain_id bigint, answer_set_id bigint, digest bytea, records integer, ttl_shape bigint,
  first_seen timestamptz) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS fw_set_record_stage (
  domain_id bigint, answer_set_id bigint, ord integer, section text, owner text, rtype text,
  ttl_offset bigint, address inet, target text) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS fw_seen_stage (
  domain_id bigint, address inet, first_seen timestamptz, last_seen timestamptz,
  times_seen bigint, min_ttl bigint) ON COMMIT DELETE ROWS
)sql";

constexpr const char* kInsertSetsSql = R"sql(
WITH inserted AS (
  INSERT INTO answer_sets (domain_id, answer_set_id, digest, records, ttl_shape, first_seen)
  SELECT domain_id, answer_set_id, digest, records, ttl_shape, first_seen
  FROM fw_set_stage ORDER BY domain_id, answer_set_id
  ON CONFLICT (domain_id, answer_set_id) DO NOTHING
  RETURNING domain_id, answer_set_id
)
INSERT INTO answer_set_records (domain_id, answer_set_id, ord, section, owner, rtype, ttl_offset,
                                address, target)
SELECT r.domain_id, r.answer_set_id, r.ord, r.section, r.owner, r.rtype, r.ttl_offset, r.address,
       r.target
FROM fw_set_record_stage r JOIN inserted USING (domain_id, answer_set_id)
)sql";

constexpr const char* kStagedSetsSql =
    "SELECT s.domain_id, s.answer_set_id, a.ttl_shape, a.digest = s.digest "
    "FROM fw_set_stage s JOIN answer_sets a USING (domain_id, answer_set_id)";

// Rows in key order: concurrent writers lock them in the same order (no deadlock).
constexpr const char* kUpsertSeenSql = R"sql(
INSERT INTO domain_address_seen AS d (domain_id, address, first_seen, last_seen, times_seen,
                                      min_ttl)
SELECT domain_id, address, min(first_seen), max(last_seen), sum(times_seen), min(min_ttl)
FROM fw_seen_stage GROUP BY domain_id, address ORDER BY domain_id, address
ON CONFLICT (domain_id, address) DO UPDATE
  SET first_seen = least(d.first_seen, excluded.first_seen),
      last_seen = greatest(d.last_seen, excluded.last_seen),
      times_seen = d.times_seen + excluded.times_seen,
      min_ttl = least(d.min_ttl, excluded.min_ttl)
)sql";

bool is_address_type(std::uint16_t type) {
  return type == static_cast<std::uint16_t>(RrType::A) ||
         type == static_cast<std::uint16_t>(RrType::AAAA);
}

/// What the summary learns about one (domain, address) in this batch.
struct Seen {
  std::chrono::system_clock::time_point first;
  std::chrono::system_clock::time_point last;
  std::int64_t times = 0;
  std::uint32_t min_ttl = std::numeric_limits<std::uint32_t>::max();
};

struct SeenKeyHash {
  std::size_t operator()(const std::pair<std::int64_t, std::string>& key) const noexcept {
    return std::hash<std::string>{}(key.second) ^ std::hash<std::int64_t>{}(key.first);
  }
};

}  // namespace

void ProbeWriter::ensure_partitions(pqxx::connection& connection,
                                    const std::vector<ProbeResult>& results) {
  std::set<std::chrono::sys_days> missing;
  for (const ProbeResult& result : results) {
    const auto day = std::chrono::floor<std::chrono::days>(result.sent_at);
    if (!partitions_.contains(day)) {
      missing.insert(day);
      missing.insert(day + std::chrono::days(1));  // created ahead: tomorrow's writes
    }
  }
  if (missing.empty()) {
    return;
  }
  pqxx::work tx(connection, "partitions");
  for (const auto day : missing) {
    const std::chrono::year_month_day date{day};
    tx.exec_params(
        "SELECT fluxwatch_create_observation_partition($1::date)",
        fmt::format("{:04}-{:02}-{:02}", static_cast<int>(date.year()),
                    static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day())));
  }
  tx.commit();
  partitions_.insert(missing.begin(), missing.end());
}

void ProbeWriter::stage_tables(pqxx::work& tx) {
  // IF NOT EXISTS answers with a NOTICE when they do: not worth a line on stderr.
  tx.exec("SET LOCAL client_min_messages = warning");
  tx.exec(kStageTablesSql);
  tx.exec("RESET client_min_messages");
}

int ProbeWriter::context_id(pqxx::work& tx, const ProbeResult& result) {
  context_key_.clear();
  for (const std::string_view part :
       {std::string_view(result.resolver), probe_mode_name(result.mode),
        std::string_view(result.campaign), std::string_view(result.vantage),
        std::string_view(result.server_name)}) {
    context_key_.append(part);
    context_key_ += '\0';
  }
  if (const auto found = contexts_.find(context_key_); found != contexts_.end()) {
    return found->second;
  }
  if (const auto found = pending_contexts_.find(context_key_); found != pending_contexts_.end()) {
    return found->second;
  }
  // DO UPDATE (not DO NOTHING) so that RETURNING yields the row even when it exists.
  const int id = tx.exec_params1(
                       "INSERT INTO probe_contexts (resolver, mode, campaign, vantage, "
                       "server_name) VALUES ($1, $2, $3, $4, $5) "
                       "ON CONFLICT (resolver, mode, campaign, vantage, server_name) "
                       "DO UPDATE SET mode = excluded.mode RETURNING context_id",
                       result.resolver, std::string(probe_mode_name(result.mode)), result.campaign,
                       result.vantage, result.server_name)[0]
                     .as<int>();
  pending_contexts_.emplace(context_key_, id);
  return id;
}

std::size_t ProbeWriter::write(pqxx::work& tx, std::int64_t run_id,
                               const std::vector<ProbeResult>& results,
                               const std::vector<std::int64_t>& probe_ids) {
  rolled_back();  // a retried batch starts from what is committed
  std::size_t bad_addresses = 0;

  // 1. Answer sets: canonical form of each probe's records, new sets staged.
  std::vector<CanonicalAnswer> answers(results.size());
  std::vector<std::int64_t> set_shapes(results.size(), 0);
  std::vector<std::size_t> new_sets;  // index of the first probe of each set not known
  std::unordered_map<SetKey, std::size_t, SetKeyHash> batch_sets;
  for (std::size_t i = 0; i < results.size(); ++i) {
    if (results[i].records.empty()) {
      continue;
    }
    answers[i] = canonical_answer(results[i].records);
    const SetKey key{results[i].domain_id, answers[i].id};
    if (known_sets_.contains(key)) {
      continue;
    }
    if (batch_sets.emplace(key, i).second) {
      new_sets.push_back(i);
    }
  }
  if (!new_sets.empty()) {
    stage_tables(tx);
    {
      CopyWriter sets(
          tx, "fw_set_stage",
          {"domain_id", "answer_set_id", "digest", "records", "ttl_shape", "first_seen"});
      for (const std::size_t i : new_sets) {
        sets.row()
            .integer(results[i].domain_id)
            .integer(answers[i].id)
            .text(bytea_hex(answers[i].digest))
            .integer(static_cast<std::int64_t>(results[i].records.size()))
            .integer(answers[i].ttl_shape)
            .timestamp(results[i].sent_at)
            .end_row();
      }
      sets.complete();
    }
    {
      CopyWriter records(tx, "fw_set_record_stage",
                         {"domain_id", "answer_set_id", "ord", "section", "owner", "rtype",
                          "ttl_offset", "address", "target"});
      for (const std::size_t i : new_sets) {
        const CanonicalAnswer& answer = answers[i];
        for (std::size_t ord = 0; ord < answer.order.size(); ++ord) {
          const ResourceRecord& record = results[i].records[answer.order[ord]];
          CopyTextBuffer& row = records.row();
          row.integer(results[i].domain_id)
              .integer(answer.id)
              .integer(static_cast<std::int64_t>(ord))
              .text(section_name(record.section))
              .text(record.owner)
              .rrtype(record.type)
              .integer(static_cast<std::int64_t>(record.ttl) - answer.min_ttl);
          if (is_address_type(record.type) && is_ip_address(record.data)) {
            row.text(record.data).null();
          } else {
            // Keep whatever arrived rather than fail the batch on an unparsable address.
            bad_addresses += is_address_type(record.type) ? 1 : 0;
            row.null().text_or_null(record.data);
          }
          row.end_row();
        }
      }
      records.complete();
    }
    tx.exec(kInsertSetsSql);
    for (const auto& row : tx.exec(kStagedSetsSql)) {
      const SetKey key{row[0].as<std::int64_t>(), row[1].as<std::int64_t>()};
      if (!row[3].as<bool>()) {
        throw Error(fmt::format(
            "storage: two different answer sets of domain {} hash to the id {}: a SHA-256 "
            "prefix collision; please report it",
            key.domain_id, key.answer_set_id));
      }
      pending_sets_[key] = row[2].as<std::int64_t>();
    }
  }

  // 2. One observation per probe (contexts first: no query can run during a COPY).
  std::vector<int> contexts(results.size());
  for (std::size_t i = 0; i < results.size(); ++i) {
    contexts[i] = context_id(tx, results[i]);
  }
  std::unordered_map<std::pair<std::int64_t, std::string>, Seen, SeenKeyHash> seen;
  std::vector<std::pair<std::string_view, std::uint32_t>> probe_addresses;
  std::string ttls;
  CopyWriter observations(tx, "observations",
                          {"domain_id", "sent_at", "probe_id", "run_id", "answer_set_id", "ttl",
                           "due_at", "context_id", "latency_us", "outcome", "rcode", "via_tcp",
                           "authoritative", "qtype", "qname", "detail", "ttls"});
  for (std::size_t i = 0; i < results.size(); ++i) {
    const ProbeResult& result = results[i];
    CopyTextBuffer& row = observations.row();
    row.integer_or_null(result.domain_id).timestamp(result.sent_at).integer(probe_ids[i]);
    row.integer_or_null(run_id);
    const bool has_set = !result.records.empty();
    std::int64_t stored_shape = 0;
    if (has_set) {
      const SetKey key{result.domain_id, answers[i].id};
      const auto known = known_sets_.find(key);
      stored_shape = known != known_sets_.end() ? known->second : pending_sets_.at(key);
      row.integer(answers[i].id).integer(answers[i].min_ttl);
    } else {
      row.null().null();
    }
    result.due_at ? row.timestamp(*result.due_at) : row.null();
    row.integer(contexts[i]);
    // 0 (or less) means "not measured", e.g. a local failure before anything was sent.
    result.latency.count() > 0
        ? row.integer(std::min<std::int64_t>(result.latency.count(),
                                             std::numeric_limits<std::int32_t>::max()))
        : row.null();
    row.text(outcome_name(result.outcome));
    // rcode < 0: no answer arrived, so neither an RCODE nor an AA bit (NULL, not false).
    const bool answered = result.rcode >= 0;
    answered ? row.integer(result.rcode) : row.null();
    row.boolean(result.via_tcp);
    answered ? row.boolean(result.authoritative) : row.null();
    row.rrtype(static_cast<std::uint16_t>(result.qtype)).text(result.name);
    row.text_or_null(result.detail);
    if (has_set && stored_shape != answers[i].ttl_shape) {
      ttls = "{";
      for (const std::uint32_t index : answers[i].order) {
        ttls += fmt::format("{}{}", ttls.size() > 1 ? "," : "", result.records[index].ttl);
      }
      ttls += '}';
      row.text(ttls);
    } else {
      row.null();
    }
    row.end_row();

    // The summary: each distinct answer address of a watched domain's probe counts once.
    if (result.domain_id == 0 || !has_set) {
      continue;
    }
    probe_addresses.clear();
    for (const ResourceRecord& record : result.records) {
      if (record.section != Section::Answer || !is_address_type(record.type) ||
          !is_ip_address(record.data)) {
        continue;
      }
      const auto same = std::find_if(probe_addresses.begin(), probe_addresses.end(),
                                     [&](const auto& a) { return a.first == record.data; });
      if (same == probe_addresses.end()) {
        probe_addresses.emplace_back(record.data, record.ttl);
      } else {
        same->second = std::min(same->second, record.ttl);
      }
    }
    for (const auto& [address, ttl] : probe_addresses) {
      auto [entry, fresh] = seen.try_emplace({result.domain_id, std::string(address)},
                                             Seen{result.sent_at, result.sent_at, 0, ttl});
      Seen& s = entry->second;
      s.first = std::min(s.first, result.sent_at);
      s.last = std::max(s.last, result.sent_at);
      s.times += 1;
      s.min_ttl = std::min(s.min_ttl, ttl);
    }
  }
  observations.complete();

  // 3. The (domain, address) summary, one upsert.
  if (!seen.empty()) {
    stage_tables(tx);
    CopyWriter stage(tx, "fw_seen_stage",
                     {"domain_id", "address", "first_seen", "last_seen", "times_seen", "min_ttl"});
    for (const auto& [key, s] : seen) {
      stage.row()
          .integer(key.first)
          .text(key.second)
          .timestamp(s.first)
          .timestamp(s.last)
          .integer(s.times)
          .integer(s.min_ttl)
          .end_row();
    }
    stage.complete();
    tx.exec(kUpsertSeenSql);
  }
  return bad_addresses;
}

void ProbeWriter::committed() {
  if (known_sets_.size() + pending_sets_.size() > kMaxKnownSets) {
    known_sets_.clear();
  }
  known_sets_.merge(pending_sets_);
  pending_sets_.clear();
  contexts_.merge(pending_contexts_);
  pending_contexts_.clear();
}

void ProbeWriter::rolled_back() {
  pending_sets_.clear();
  pending_contexts_.clear();
}

}  // namespace fluxwatch::storage::detail
