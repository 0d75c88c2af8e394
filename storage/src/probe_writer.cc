// ProbeWriter: the rows of one probe batch in the layout of migrations 0009 and 0013 (their
// headers describe the tables). Order within the caller's transaction:
//   1. the batch's answer sets: those not in the cache are looked up (one query for the
//      batch); those not stored are staged by COPY with their records and this batch's
//      counters and inserted by one INSERT ... ON CONFLICT DO NOTHING (a set another writer
//      stored meanwhile is skipped and counted in step 3);
//   2. one observation row per probe, by COPY into the partitioned table;
//   3. the counters of the stored sets the batch saw again (watched domains only): COPY into
//      staging, one upsert in key order (an in-place HOT update per set).
// A set id whose digest_check differs from the stored one is a 64-bit id collision: the
// batch is refused.
#include "probe_writer.h"

#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <pqxx/pqxx>

#include "copy_text.h"
#include "copy_writer.h"
#include "fluxwatch/common/error.h"

namespace fluxwatch::storage::detail {
namespace {

/// Known answer sets kept before the cache starts over (about 64 bytes each).
constexpr std::size_t kMaxKnownSets = 4'000'000;
/// Watched domains' names kept before that cache starts over.
constexpr std::size_t kMaxDomainNames = 1'000'000;

constexpr const char* kStageTablesSql = R"sql(
CREATE TEMP TABLE IF NOT EXISTS fw_set_stage (
  domain_id bigint, answer_set_id bigint, digest_check bigint, ttl_shape bigint,
  first_seen timestamptz, last_seen timestamptz, times_seen bigint, min_ttl bigint,
  min_ttls bigint[]) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS fw_set_record_stage (
  domain_id bigint, answer_set_id bigint, ord integer, section text, owner text, rtype text,
  ttl_offset bigint, address inet, target text) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS fw_count_stage (LIKE fw_set_stage) ON COMMIT DELETE ROWS
)sql";

constexpr const char* kLookUpSetsSql = R"sql(
SELECT a.domain_id, a.answer_set_id, a.ttl_shape, a.digest_check
FROM unnest($1::bigint[], $2::bigint[]) AS k(domain_id, answer_set_id)
JOIN answer_sets a USING (domain_id, answer_set_id)
)sql";

constexpr const char* kInsertSetsSql = R"sql(
WITH inserted AS (
  INSERT INTO answer_sets (domain_id, answer_set_id, digest_check, ttl_shape, first_seen,
                           last_seen, times_seen, min_ttl, min_ttls)
  SELECT domain_id, answer_set_id, digest_check, ttl_shape, first_seen, last_seen, times_seen,
         min_ttl, min_ttls
  FROM fw_set_stage ORDER BY domain_id, answer_set_id
  ON CONFLICT (domain_id, answer_set_id) DO NOTHING
  RETURNING domain_id, answer_set_id
), inserted_records AS (
  INSERT INTO answer_set_records (domain_id, answer_set_id, ord, section, owner, rtype,
                                  ttl_offset, address, target)
  SELECT r.domain_id, r.answer_set_id, r.ord, r.section, r.owner, r.rtype, r.ttl_offset,
         r.address, r.target
  FROM fw_set_record_stage r JOIN inserted USING (domain_id, answer_set_id)
)
SELECT domain_id, answer_set_id FROM inserted
)sql";

// Rows in key order: concurrent writers lock them in the same order (no deadlock). The
// rows exist (the insert path only if a set was deleted by hand meanwhile).
constexpr const char* kAddCountersSql = R"sql(
INSERT INTO answer_sets AS a (domain_id, answer_set_id, digest_check, ttl_shape, first_seen,
                              last_seen, times_seen, min_ttl, min_ttls)
SELECT domain_id, answer_set_id, digest_check, ttl_shape, first_seen, last_seen, times_seen,
       min_ttl, min_ttls
FROM fw_count_stage ORDER BY domain_id, answer_set_id
ON CONFLICT (domain_id, answer_set_id) DO UPDATE
  SET first_seen = least(a.first_seen, excluded.first_seen),
      last_seen = greatest(a.last_seen, excluded.last_seen),
      times_seen = a.times_seen + excluded.times_seen,
      min_ttl = least(a.min_ttl, excluded.min_ttl),
      min_ttls = CASE WHEN excluded.min_ttls IS NULL THEN a.min_ttls
                      WHEN a.min_ttls IS NULL THEN excluded.min_ttls
                      ELSE ARRAY(SELECT least(x, y)
                                 FROM unnest(a.min_ttls, excluded.min_ttls)
                                      WITH ORDINALITY AS u(x, y, n)
                                 ORDER BY n) END
)sql";

bool is_address_type(std::uint16_t type) {
  return type == static_cast<std::uint16_t>(RrType::A) ||
         type == static_cast<std::uint16_t>(RrType::AAAA);
}

/// "{1,2,3}": a bigint[] parameter.
template <typename Range, typename Field>
std::string array_text(const Range& range, Field&& field) {
  std::string text = "{";
  for (const auto& item : range) {
    text += fmt::format("{}{}", text.size() > 1 ? "," : "", field(item));
  }
  text += '}';
  return text;
}

/// One probe's TTLs in canonical order.
std::string ttl_array(const ProbeResult& result, const CanonicalAnswer& answer) {
  return array_text(answer.order, [&](std::uint32_t index) { return result.records[index].ttl; });
}

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

const std::int64_t* ProbeWriter::stored_shape(const SetKey& key) const {
  if (const auto found = known_sets_.find(key); found != known_sets_.end()) {
    return &found->second;
  }
  if (const auto found = pending_sets_.find(key); found != pending_sets_.end()) {
    return &found->second;
  }
  return nullptr;
}

void ProbeWriter::look_up_sets(pqxx::work& tx, const std::vector<SetKey>& keys,
                               const std::vector<CanonicalAnswer>& answers,
                               const SetMap& first_probe) {
  if (keys.empty()) {
    return;
  }
  const auto rows =
      tx.exec_params(kLookUpSetsSql, array_text(keys, [](const SetKey& k) { return k.domain_id; }),
                     array_text(keys, [](const SetKey& k) { return k.answer_set_id; }));
  for (const auto& row : rows) {
    const SetKey key{row[0].as<std::int64_t>(), row[1].as<std::int64_t>()};
    if (row[3].as<std::int64_t>() != answers[first_probe.at(key)].digest_check) {
      throw Error(fmt::format(
          "storage: two different answer sets of domain {} hash to the id {}: a SHA-256 "
          "prefix collision; please report it",
          key.domain_id, key.answer_set_id));
    }
    pending_sets_[key] = row[2].as<std::int64_t>();
  }
}

std::unordered_set<ProbeWriter::SetKey, ProbeWriter::SetKeyHash> ProbeWriter::insert_sets(
    pqxx::work& tx, const std::vector<SetKey>& keys, const std::vector<ProbeResult>& results,
    const std::vector<CanonicalAnswer>& answers, const SetMap& first_probe,
    const std::unordered_map<SetKey, SetCounters, SetKeyHash>& counters,
    std::size_t& bad_addresses) {
  {
    CopyWriter sets(tx, "fw_set_stage",
                    {"domain_id", "answer_set_id", "digest_check", "ttl_shape", "first_seen",
                     "last_seen", "times_seen", "min_ttl", "min_ttls"});
    for (const SetKey& key : keys) {
      const std::size_t i = first_probe.at(key);
      CopyTextBuffer& row = sets.row();
      row.integer(key.domain_id)
          .integer(key.answer_set_id)
          .integer(answers[i].digest_check)
          .integer(answers[i].ttl_shape);
      if (const auto found = counters.find(key); found != counters.end()) {
        const SetCounters& c = found->second;
        row.timestamp(c.first).timestamp(c.last).integer(c.times);
        c.min_ttl ? row.integer(*c.min_ttl) : row.null();
        c.min_ttls.empty() ? row.null() : row.text(array_text(c.min_ttls, std::identity{}));
      } else {  // not a watched domain's: no counters
        row.timestamp(results[i].sent_at).timestamp(results[i].sent_at).integer(0).null().null();
      }
      row.end_row();
    }
    sets.complete();
  }
  {
    CopyWriter records(tx, "fw_set_record_stage",
                       {"domain_id", "answer_set_id", "ord", "section", "owner", "rtype",
                        "ttl_offset", "address", "target"});
    for (const SetKey& key : keys) {
      const std::size_t i = first_probe.at(key);
      const CanonicalAnswer& answer = answers[i];
      for (std::size_t ord = 0; ord < answer.order.size(); ++ord) {
        const ResourceRecord& record = results[i].records[answer.order[ord]];
        CopyTextBuffer& row = records.row();
        row.integer(key.domain_id)
            .integer(key.answer_set_id)
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
  std::unordered_set<SetKey, SetKeyHash> inserted;
  for (const auto& row : tx.exec(kInsertSetsSql)) {
    const SetKey key{row[0].as<std::int64_t>(), row[1].as<std::int64_t>()};
    pending_sets_[key] = answers[first_probe.at(key)].ttl_shape;
    inserted.insert(key);
  }
  return inserted;
}

void ProbeWriter::add_counters(pqxx::work& tx,
                               const std::unordered_map<SetKey, SetCounters, SetKeyHash>& counters,
                               const std::unordered_set<SetKey, SetKeyHash>& skip,
                               const std::vector<CanonicalAnswer>& answers,
                               const SetMap& first_probe) {
  if (counters.size() == skip.size()) {
    return;  // every set of the batch was inserted with its counters
  }
  {
    CopyWriter stage(tx, "fw_count_stage",
                     {"domain_id", "answer_set_id", "digest_check", "ttl_shape", "first_seen",
                      "last_seen", "times_seen", "min_ttl", "min_ttls"});
    for (const auto& [key, c] : counters) {
      if (skip.contains(key)) {
        continue;
      }
      CopyTextBuffer& row = stage.row();
      row.integer(key.domain_id)
          .integer(key.answer_set_id)
          .integer(answers[first_probe.at(key)].digest_check)
          .integer(*stored_shape(key))
          .timestamp(c.first)
          .timestamp(c.last)
          .integer(c.times);
      c.min_ttl ? row.integer(*c.min_ttl) : row.null();
      c.min_ttls.empty() ? row.null() : row.text(array_text(c.min_ttls, std::identity{}));
      row.end_row();
    }
    stage.complete();
  }
  tx.exec(kAddCountersSql);
}

void ProbeWriter::look_up_domains(pqxx::work& tx, const std::vector<ProbeResult>& results) {
  std::vector<std::int64_t> missing;
  std::unordered_set<std::int64_t> asked;
  for (const ProbeResult& result : results) {
    if (result.domain_id != 0 && !domain_names_.contains(result.domain_id) &&
        asked.insert(result.domain_id).second) {
      missing.push_back(result.domain_id);
    }
  }
  if (missing.empty()) {
    return;
  }
  if (domain_names_.size() + missing.size() > kMaxDomainNames) {
    domain_names_.clear();
  }
  for (const auto& row :
       tx.exec_params("SELECT domain_id, domain FROM watchlist WHERE domain_id = ANY($1::bigint[])",
                      array_text(missing, std::identity{}))) {
    domain_names_.emplace(row[0].as<std::int64_t>(), row[1].as<std::string>());
  }
}

int ProbeWriter::context_id(pqxx::work& tx, std::int64_t run_id, const ProbeResult& result) {
  // rcode < 0: no answer arrived, so neither an RCODE nor an AA bit (NULL, not false).
  const bool answered = result.rcode >= 0;
  const std::string_view qtype = rrtype_mnemonic(static_cast<std::uint16_t>(result.qtype));
  context_key_ = fmt::format("{}|{}|{}|{}|{}|{}|", run_id, static_cast<int>(result.qtype),
                             outcome_name(result.outcome), result.rcode, result.via_tcp,
                             answered && result.authoritative);
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
  const std::optional<std::int64_t> run =
      run_id != 0 ? std::optional<std::int64_t>(run_id) : std::nullopt;
  const std::optional<int> rcode = answered ? std::optional<int>(result.rcode) : std::nullopt;
  const std::optional<bool> aa =
      answered ? std::optional<bool>(result.authoritative) : std::nullopt;
  // DO UPDATE (not DO NOTHING) so that RETURNING yields the row even when it exists.
  const int id =
      tx.exec_params1(
            "INSERT INTO probe_contexts (run_id, resolver, mode, campaign, vantage, server_name, "
            "qtype, outcome, rcode, via_tcp, authoritative) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8::dns_outcome, $9, $10, $11) "
            "ON CONFLICT (run_id, resolver, mode, campaign, vantage, server_name, qtype, outcome, "
            "rcode, via_tcp, authoritative) DO UPDATE SET mode = excluded.mode "
            "RETURNING context_id",
            run, result.resolver, std::string(probe_mode_name(result.mode)), result.campaign,
            result.vantage, result.server_name,
            qtype.empty() ? rrtype_name(static_cast<std::uint16_t>(result.qtype))
                          : std::string(qtype),
            std::string(outcome_name(result.outcome)), rcode, result.via_tcp, aa)[0]
          .as<int>();
  pending_contexts_.emplace(context_key_, id);
  return id;
}

std::size_t ProbeWriter::write(pqxx::work& tx, std::int64_t run_id,
                               const std::vector<ProbeResult>& results,
                               const std::vector<std::int64_t>& probe_ids) {
  rolled_back();  // a retried batch starts from what is committed
  std::size_t bad_addresses = 0;

  // 1. Answer sets: the canonical form of each probe's records; the sets not known looked
  // up, those not stored inserted with their counters.
  std::vector<CanonicalAnswer> answers(results.size());
  SetMap first_probe;           // the batch's first probe of each set
  std::vector<SetKey> unknown;  // sets not in the cache
  for (std::size_t i = 0; i < results.size(); ++i) {
    if (results[i].records.empty()) {
      continue;
    }
    answers[i] = canonical_answer(results[i].records);
    const SetKey key{results[i].domain_id, answers[i].id};
    if (first_probe.emplace(key, i).second && stored_shape(key) == nullptr) {
      unknown.push_back(key);
    }
  }
  if (!first_probe.empty()) {
    stage_tables(tx);
  }
  look_up_sets(tx, unknown, answers, first_probe);
  std::vector<SetKey> fresh;  // sets not stored: their shape will be their first probe's
  for (const SetKey& key : unknown) {
    if (stored_shape(key) == nullptr) {
      fresh.push_back(key);
    }
  }

  // What the batch adds to the summary of each watched domain's set: a probe whose TTLs
  // are the stored offsets shifted counts in min_ttl, any other in min_ttls per record.
  std::unordered_map<SetKey, SetCounters, SetKeyHash> counters;
  auto count = [&](const auto& wanted) {
    for (std::size_t i = 0; i < results.size(); ++i) {
      const ProbeResult& result = results[i];
      if (result.domain_id == 0 || result.records.empty()) {
        continue;
      }
      const SetKey key{result.domain_id, answers[i].id};
      if (!wanted(key)) {
        continue;
      }
      const std::int64_t* stored = stored_shape(key);
      const std::int64_t shape =
          stored != nullptr ? *stored : answers[first_probe.at(key)].ttl_shape;
      auto [entry, added] = counters.try_emplace(key, SetCounters{result.sent_at, result.sent_at});
      SetCounters& c = entry->second;
      c.first = std::min(c.first, result.sent_at);
      c.last = std::max(c.last, result.sent_at);
      c.times += 1;
      if (answers[i].ttl_shape == shape) {
        c.min_ttl = std::min(c.min_ttl.value_or(answers[i].min_ttl), answers[i].min_ttl);
        continue;
      }
      const auto& order = answers[i].order;
      if (c.min_ttls.empty()) {
        c.min_ttls.assign(order.size(), std::numeric_limits<std::uint32_t>::max());
      }
      for (std::size_t k = 0; k < order.size(); ++k) {
        c.min_ttls[k] = std::min(c.min_ttls[k], result.records[order[k]].ttl);
      }
    }
  };
  count([](const SetKey&) { return true; });

  std::unordered_set<SetKey, SetKeyHash> inserted;
  if (!fresh.empty()) {
    inserted = insert_sets(tx, fresh, results, answers, first_probe, counters, bad_addresses);
    // Sets another writer stored since the look-up: their stored shape decides, and their
    // counters go with the others'.
    std::unordered_set<SetKey, SetKeyHash> raced;
    for (const SetKey& key : fresh) {
      if (!inserted.contains(key)) {
        raced.insert(key);
        counters.erase(key);
      }
    }
    if (!raced.empty()) {
      look_up_sets(tx, {raced.begin(), raced.end()}, answers, first_probe);
      for (const SetKey& key : raced) {
        if (stored_shape(key) == nullptr) {
          throw Error(fmt::format("storage: answer set {} of domain {} vanished while stored",
                                  key.answer_set_id, key.domain_id));
        }
      }
      count([&](const SetKey& key) { return raced.contains(key); });
    }
  }

  // 2. One observation per probe (contexts and names first: no query can run during a
  // COPY).
  std::vector<int> contexts(results.size());
  for (std::size_t i = 0; i < results.size(); ++i) {
    contexts[i] = context_id(tx, run_id, results[i]);
  }
  look_up_domains(tx, results);
  {
    CopyWriter observations(tx, "observations",
                            {"domain_id", "sent_at", "probe_id", "answer_set_id", "due_at",
                             "context_id", "latency_us", "ttl", "qname", "detail", "ttls"});
    for (std::size_t i = 0; i < results.size(); ++i) {
      const ProbeResult& result = results[i];
      const bool has_set = !result.records.empty();
      CopyTextBuffer& row = observations.row();
      row.integer_or_null(result.domain_id).timestamp(result.sent_at).integer(probe_ids[i]);
      has_set ? row.integer(answers[i].id) : row.null();
      result.due_at ? row.timestamp(*result.due_at) : row.null();
      row.integer(contexts[i]);
      // 0 (or less) means "not measured", e.g. a local failure before anything was sent.
      result.latency.count() > 0
          ? row.integer(std::min<std::int64_t>(result.latency.count(),
                                               std::numeric_limits<std::int32_t>::max()))
          : row.null();
      has_set ? row.integer(answers[i].min_ttl) : row.null();
      const auto name = domain_names_.find(result.domain_id);
      name != domain_names_.end() && name->second == result.name ? row.null()
                                                                 : row.text(result.name);
      row.text_or_null(result.detail);
      if (has_set && *stored_shape({result.domain_id, answers[i].id}) != answers[i].ttl_shape) {
        row.text(ttl_array(result, answers[i]));
      } else {
        row.null();
      }
      row.end_row();
    }
    observations.complete();
  }

  // 3. The counters of the sets stored before this batch, one upsert.
  add_counters(tx, counters, inserted, answers, first_probe);
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
