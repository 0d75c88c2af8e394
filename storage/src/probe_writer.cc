// ProbeWriter: the rows of one probe batch in the layout of migrations 0009, 0013 and 0015
// (their headers describe the tables). Order within the caller's transaction:
//   1. the answer sets the writer does not know to be stored (its caches are warmed at the
//      first batch from the sets seen in the last days): their addresses' ids, their shared
//      parts and one packed row each (probe_writer_sets.cc). An unchanged answer with a warm
//      cache skips all of this;
//   2. what the batch adds to every set's summary (first/last seen, times seen, smallest
//      TTLs), counted per set with one cache look-up per set (probe_counters.cc): one UPDATE
//      in key order when every set was stored before the batch (in place: HOT), else one
//      INSERT ... ON CONFLICT DO UPDATE, from binary array parameters (or a staging table
//      when a set has per-record TTLs);
//   3. one observation row per probe, by COPY into the partitioned table.
// A set id whose digest_check differs from the stored one is an id collision: the batch is
// refused.
#include "probe_writer.h"

#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <pqxx/pqxx>
#include <stdexcept>
#include <tuple>

#include "copy_text.h"
#include "copy_writer.h"
#include "fluxwatch/common/error.h"
#include "packed_set.h"

namespace fluxwatch::storage::detail {
namespace {

/// Known answer sets kept before the cache starts over (about 64 bytes each).
constexpr std::size_t kMaxKnownSets = 4'000'000;
/// Sets read at the first batch, at most half the cache: all of them while they fit, else
/// those seen in this window.
constexpr const char* kWarmUpWindow = "2 days";
/// Watched domains' names kept before that cache starts over.
constexpr std::size_t kMaxDomainNames = 1'000'000;

constexpr const char* kStageTablesSql = R"sql(
CREATE TEMP TABLE IF NOT EXISTS fw_counter_stage (
  domain_id bigint, answer_set_id bigint, first_seen timestamptz, last_seen timestamptz,
  times_seen bigint, min_ttl bigint, min_ttls bigint[]) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS fw_content_stage (LIKE answer_set_contents) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS fw_shared_stage (LIKE shared_parts) ON COMMIT DELETE ROWS
)sql";

constexpr const char* kLookUpDomainsSql =
    "SELECT domain_id, domain FROM watchlist WHERE domain_id = ANY($1::bigint[])";

}  // namespace

void ProbeWriter::throw_collision(std::string_view what, std::int64_t domain_id, std::int64_t id) {
  throw Error(fmt::format(
      "storage: two different {} of domain {} hash to the id {}: a 128-bit SHA-256 prefix "
      "collision; please report it",
      what, domain_id, id));
}

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

std::shared_ptr<const ProbeWriter::WarmSnapshot> ProbeWriter::shared_snapshot(pqxx::work& tx) {
  // One per database and process: the writer connections of one `probe` share it (the first
  // reads it, the others wait for it). The database's OID tells a re-created one apart.
  static std::mutex mutex;
  static std::map<std::string, std::shared_ptr<const WarmSnapshot>> snapshots;
  const std::string key =
      fmt::format("{}:{}/{}/{}", tx.conn().hostname() != nullptr ? tx.conn().hostname() : "",
                  tx.conn().port() != nullptr ? tx.conn().port() : "", tx.conn().dbname(),
                  tx.exec1("SELECT oid FROM pg_database WHERE datname = current_database()")[0]
                      .as<std::string>());
  const std::lock_guard lock(mutex);
  auto& snapshot = snapshots[key];
  if (!snapshot) {
    snapshot = load_snapshot(tx);
  }
  return snapshot;
}

void ProbeWriter::warm_up(pqxx::work& tx) {
  if (!snapshot_) {
    snapshot_ = shared_snapshot(tx);
  }
}

std::shared_ptr<const ProbeWriter::WarmSnapshot> ProbeWriter::load_snapshot(pqxx::work& tx) {
  // Committed rows only: what is read here stays true whether this batch commits or not.
  // Parsed from the raw COPY lines (libpqxx 6.4's tuple extraction took ~4 us a row).
  auto snapshot = std::make_shared<WarmSnapshot>();
  std::string line;
  std::vector<std::string_view> fields;
  // Every set while they fit (one scan of answer_set_contents), else those seen lately
  // (joined to their counters' last_seen).
  const auto estimated_sets =
      tx.exec1("SELECT reltuples FROM pg_class WHERE oid = 'answer_set_contents'::regclass")[0]
          .as<double>();
  const std::string recent =
      estimated_sets <= static_cast<double>(kMaxKnownSets / 2)
          ? std::string()
          : fmt::format(
                " JOIN answer_set_counters k USING (domain_id, answer_set_id) "
                "WHERE k.last_seen >= now() - interval '{}'",
                kWarmUpWindow);
  pqxx::stream_from sets(
      tx, fmt::format("(SELECT c.domain_id, c.answer_set_id, c.ttl_shape, c.digest_check, c.ttl "
                      "FROM answer_set_contents c{} LIMIT {})",
                      recent, kMaxKnownSets / 2));
  while (sets.get_raw_line(line)) {
    copy_fields(line, fields);
    snapshot->sets.insert_or_assign(
        SetKey{copy_integer(fields.at(0)), copy_integer(fields.at(1))},
        StoredSet{copy_integer(fields.at(2)), copy_integer(fields.at(3)),
                  fields.at(4) == "\\N" ? std::nullopt
                                        : std::optional<std::int64_t>(copy_integer(fields[4]))});
  }
  sets.complete();
  snapshot->all_sets = recent.empty() && snapshot->sets.size() < kMaxKnownSets / 2;
  pqxx::stream_from names(
      tx, fmt::format("(SELECT domain_id, domain FROM watchlist LIMIT {})", kMaxDomainNames));
  while (names.get_raw_line(line)) {
    copy_fields(line, fields);
    snapshot->names.insert_or_assign(copy_integer(fields.at(0)), copy_text_field(fields.at(1)));
  }
  names.complete();
  return snapshot;
}

const std::string* ProbeWriter::domain_name(std::int64_t domain_id) const {
  if (const auto found = domain_names_.find(domain_id); found != domain_names_.end()) {
    return &found->second;
  }
  if (snapshot_) {
    if (const auto found = snapshot_->names.find(domain_id); found != snapshot_->names.end()) {
      return &found->second;
    }
  }
  return nullptr;
}

const ProbeWriter::StoredSet* ProbeWriter::stored_set(const SetKey& key) const {
  if (const auto found = known_sets_.find(key); found != known_sets_.end()) {
    return &found->second;
  }
  if (snapshot_) {
    if (const auto found = snapshot_->sets.find(key); found != snapshot_->sets.end()) {
      return &found->second;
    }
  }
  if (const auto found = pending_sets_.find(key); found != pending_sets_.end()) {
    return &found->second;
  }
  return nullptr;
}

const ProbeWriter::StoredSet& ProbeWriter::stored(const SetKey& key) const {
  if (const StoredSet* set = stored_set(key)) {
    return *set;
  }
  throw std::logic_error("ProbeWriter: an answer set of the batch was not stored first");
}

void ProbeWriter::look_up_domains(pqxx::work& tx, const std::vector<ProbeResult>& results) {
  std::vector<std::int64_t> missing;
  std::unordered_set<std::int64_t> asked;
  for (const ProbeResult& result : results) {
    if (result.domain_id != 0 && domain_name(result.domain_id) == nullptr &&
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
  for (const auto& row : tx.exec_params(kLookUpDomainsSql, array_text(missing, std::identity{}))) {
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
  if (!snapshot_) {
    snapshot_ = shared_snapshot(tx);
  }

  // 1. Answer sets: the canonical form of each probe's records; the sets not known to be
  // stored are stored (or their stored TTL shape learnt).
  std::vector<CanonicalAnswer> answers(results.size());
  SetMap first_probe;                                 // the batch's first probe of each set
  std::vector<std::size_t> first_of(results.size());  // each probe's set: its first probe
  std::vector<SetKey> unknown;
  for (std::size_t i = 0; i < results.size(); ++i) {
    if (results[i].records.empty()) {
      continue;
    }
    answers[i] = canonical_answer(results[i].records);
    const SetKey key{results[i].domain_id, answers[i].id};
    const auto [first, added] = first_probe.emplace(key, i);
    first_of[i] = first->second;
    if (added) {
      if (const StoredSet* stored = stored_set(key)) {
        if (stored->digest_check != answers[i].digest_check) {
          throw_collision("answer sets", key.domain_id, key.answer_set_id);
        }
      } else {
        unknown.push_back(key);
      }
    }
  }
  look_up_domains(tx, results);  // for the owners of records and the qnames of probes
  std::size_t bad_addresses = 0;
  // Sets whose counters row may not exist yet (the others' were committed with them).
  const std::unordered_set<SetKey, SetKeyHash> new_sets(unknown.begin(), unknown.end());
  if (!unknown.empty()) {
    stage_tables(tx);  // an unchanged round's batches need none (add_counters stages its own)
    std::sort(unknown.begin(), unknown.end());
    bad_addresses = store_new_sets(tx, unknown, results, answers, first_probe);
  }

  // 2. What the batch adds to each set's summary; 3. one observation per probe.
  const BatchSets sets = batch_sets(results, answers, first_of);
  add_counters(tx, batch_counters(results, answers, sets, new_sets));
  copy_observations(tx, run_id, results, probe_ids, answers, sets);
  return bad_addresses;
}

ProbeWriter::BatchSets ProbeWriter::batch_sets(const std::vector<ProbeResult>& results,
                                               const std::vector<CanonicalAnswer>& answers,
                                               const std::vector<std::size_t>& first_of) const {
  // One look-up per distinct set (the caches are large: each look-up is a cache miss or
  // two); the set's other probes take their first probe's.
  BatchSets sets{std::vector<const StoredSet*>(results.size()),
                 std::vector<std::size_t>(results.size(), kNoSet), 0};
  for (std::size_t i = 0; i < results.size(); ++i) {
    if (results[i].records.empty()) {
      continue;
    }
    const std::size_t first = first_of[i];
    if (first == i) {
      sets.stored[i] = &stored({results[i].domain_id, answers[i].id});
      sets.ordinal[i] = sets.count++;
    } else {
      sets.stored[i] = sets.stored[first];
      sets.ordinal[i] = sets.ordinal[first];
    }
  }
  return sets;
}

void ProbeWriter::copy_observations(pqxx::work& tx, std::int64_t run_id,
                                    const std::vector<ProbeResult>& results,
                                    const std::vector<std::int64_t>& probe_ids,
                                    const std::vector<CanonicalAnswer>& answers,
                                    const BatchSets& sets) {
  // Contexts first: no query can run during a COPY.
  std::vector<int> contexts(results.size());
  for (std::size_t i = 0; i < results.size(); ++i) {
    contexts[i] = context_id(tx, run_id, results[i]);
  }
  // Binary: the server parses no timestamps or integers (docs/performance.md).
  BinaryCopyWriter observations(tx, "observations",
                                {"domain_id", "sent_at", "probe_id", "answer_set_id", "due_at",
                                 "context_id", "latency_us", "ttl", "qname", "detail", "ttls"});
  std::vector<std::int64_t> ttls;
  for (std::size_t i = 0; i < results.size(); ++i) {
    const ProbeResult& result = results[i];
    const StoredSet* set = sets.stored[i];  // null: no records
    CopyBinaryBuffer& row = observations.row();
    row.int8_or_null(result.domain_id).timestamp(result.sent_at).int8(probe_ids[i]);
    set != nullptr ? row.int8(answers[i].id) : row.null();
    result.due_at ? row.timestamp(*result.due_at) : row.null();
    row.int4(contexts[i]);
    // 0 (or less) means "not measured", e.g. a local failure before anything was sent.
    result.latency.count() > 0
        ? row.int4(static_cast<std::int32_t>(std::min<std::int64_t>(
              result.latency.count(), std::numeric_limits<std::int32_t>::max())))
        : row.null();
    // NULL: the set's own smallest TTL (answer_set_contents.ttl), as an authoritative server
    // gives it every time.
    if (set != nullptr && set->ttl != answers[i].min_ttl) {
      row.int8(answers[i].min_ttl);
    } else {
      row.null();
    }
    const std::string* name = domain_name(result.domain_id);
    name != nullptr&&* name == result.name ? row.null() : row.text(result.name);
    row.text_or_null(result.detail);
    if (set != nullptr && set->ttl_shape != answers[i].ttl_shape) {
      // One probe's TTLs in canonical order.
      ttls.clear();
      for (const std::uint32_t index : answers[i].order) {
        ttls.push_back(result.records[index].ttl);
      }
      row.int8_array(ttls);
    } else {
      row.null();
    }
    row.end_row();
  }
  observations.complete();
}

void ProbeWriter::committed() {
  if (known_sets_.size() + pending_sets_.size() > kMaxKnownSets) {
    known_sets_.clear();
    lost_track_of_sets_ = true;
  }
  known_sets_.merge(pending_sets_);
  pending_sets_.clear();
  known_shared_.merge(pending_shared_);
  pending_shared_.clear();
  address_ids_.merge(pending_address_ids_);
  pending_address_ids_.clear();
  contexts_.merge(pending_contexts_);
  pending_contexts_.clear();
}

void ProbeWriter::rolled_back() {
  pending_sets_.clear();
  pending_shared_.clear();
  pending_address_ids_.clear();
  pending_contexts_.clear();
}

}  // namespace fluxwatch::storage::detail
