// ProbeWriter: the rows of one probe batch in the layout of migrations 0009 and 0013 (their
// headers describe the tables). Order within the caller's transaction:
//   1. every answer set the batch saw, with what the batch adds to its summary (first/last
//      seen, times seen, smallest TTLs): COPY into a session staging table, then one
//      INSERT ... ON CONFLICT DO UPDATE in key order that inserts the new sets and updates
//      the stored ones in place (HOT), returning each set's stored TTL shape; the records of
//      the sets it inserted follow by COPY. No look-up first: an unchanged answer costs one
//      staged row and one in-place update, also in a new process with empty caches;
//   2. one observation row per probe, by COPY into the partitioned table.
// A set id whose digest_check differs from the stored one is an id collision: the batch is
// refused.
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
  min_ttls bigint[], shape_ttls bigint[]) ON COMMIT DELETE ROWS
)sql";

constexpr const char* kLookUpSetsSql = R"sql(
SELECT a.domain_id, a.answer_set_id, a.ttl_shape, a.digest_check
FROM unnest($1::bigint[], $2::bigint[]) AS k(domain_id, answer_set_id)
JOIN answer_sets a USING (domain_id, answer_set_id)
)sql";

constexpr const char* kLookUpDomainsSql =
    "SELECT domain_id, domain FROM watchlist WHERE domain_id = ANY($1::bigint[])";

// Every set the batch saw, one row each in key order (concurrent writers lock rows in the
// same order: no deadlock): a new one is inserted with the batch's counters and its TTL shape
// (its records follow by COPY), a stored one gets them added in place. A row's counters
// assume the TTL shape it carries (the stored one where known, else its probes' shape): when
// the stored shape differs, those probes count per record (shape_ttls) instead of in min_ttl.
// A set id stored with another digest_check (an id collision) is neither updated nor
// returned.
constexpr const char* kUpsertSetsSql = R"sql(
INSERT INTO answer_sets AS a (domain_id, answer_set_id, digest_check, ttl_shape, first_seen,
                              last_seen, times_seen, min_ttl, min_ttls)
SELECT domain_id, answer_set_id, digest_check, ttl_shape, first_seen, last_seen, times_seen,
       min_ttl, min_ttls
FROM fw_set_stage ORDER BY domain_id, answer_set_id
ON CONFLICT (domain_id, answer_set_id) DO UPDATE
  SET first_seen = least(a.first_seen, excluded.first_seen),
      last_seen = greatest(a.last_seen, excluded.last_seen),
      times_seen = a.times_seen + excluded.times_seen,
      min_ttl = CASE WHEN a.ttl_shape = excluded.ttl_shape THEN least(a.min_ttl, excluded.min_ttl)
                     ELSE a.min_ttl END,
      min_ttls = CASE WHEN a.ttl_shape = excluded.ttl_shape
                      THEN fluxwatch_least_ttls(a.min_ttls, excluded.min_ttls)
                      ELSE fluxwatch_least_ttls(
                             fluxwatch_least_ttls(a.min_ttls, excluded.min_ttls),
                             (SELECT s.shape_ttls FROM fw_set_stage s
                              WHERE s.domain_id = excluded.domain_id
                                AND s.answer_set_id = excluded.answer_set_id)) END
  WHERE a.digest_check = excluded.digest_check
RETURNING a.domain_id, a.answer_set_id, a.ttl_shape, (a.xmax = 0) AS inserted
)sql";

/// answer_set_entries.section: a, u or d.
std::string_view section_letter(Section section) {
  using namespace std::string_view_literals;
  return section == Section::Answer ? "a"sv : section == Section::Authority ? "u"sv : "d"sv;
}

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

std::vector<ProbeWriter::SetKey> ProbeWriter::upsert_sets(
    pqxx::work& tx, const std::unordered_map<SetKey, SetCounters, SetKeyHash>& counters,
    const std::unordered_map<SetKey, std::int64_t, SetKeyHash>& shapes,
    const std::vector<CanonicalAnswer>& answers, const SetMap& first_probe) {
  {
    CopyWriter stage(tx, "fw_set_stage",
                     {"domain_id", "answer_set_id", "digest_check", "ttl_shape", "first_seen",
                      "last_seen", "times_seen", "min_ttl", "min_ttls", "shape_ttls"});
    const auto array_or_null = [](CopyTextBuffer& row, const std::vector<std::uint32_t>& ttls) {
      ttls.empty() ? row.null() : row.text(array_text(ttls, std::identity{}));
    };
    for (const auto& [key, c] : counters) {
      CopyTextBuffer& row = stage.row();
      row.integer(key.domain_id)
          .integer(key.answer_set_id)
          .integer(answers[first_probe.at(key)].digest_check)
          .integer(shapes.at(key))
          .timestamp(c.first)
          .timestamp(c.last)
          .integer(c.times);
      c.min_ttl ? row.integer(*c.min_ttl) : row.null();
      array_or_null(row, c.min_ttls);
      array_or_null(row, c.shape_ttls);
      row.end_row();
    }
    stage.complete();
  }
  std::vector<SetKey> inserted;
  std::size_t returned = 0;
  for (const auto& row : tx.exec(kUpsertSetsSql)) {
    const SetKey key{row[0].as<std::int64_t>(), row[1].as<std::int64_t>()};
    pending_sets_[key] = row[2].as<std::int64_t>();
    if (row[3].as<bool>()) {
      inserted.push_back(key);
    }
    ++returned;
  }
  if (returned != counters.size()) {
    for (const auto& [key, c] : counters) {
      if (stored_shape(key) == nullptr) {
        throw Error(fmt::format(
            "storage: two different answer sets of domain {} hash to the id {}: a 128-bit "
            "SHA-256 prefix collision; please report it",
            key.domain_id, key.answer_set_id));
      }
    }
  }
  return inserted;
}

std::size_t ProbeWriter::insert_records(pqxx::work& tx, const std::vector<SetKey>& keys,
                                        const std::vector<ProbeResult>& results,
                                        const std::vector<CanonicalAnswer>& answers,
                                        const SetMap& first_probe) {
  std::size_t bad_addresses = 0;
  CopyWriter records(tx, "answer_set_entries",
                     {"domain_id", "answer_set_id", "ttl_offset", "ord", "section", "rtype",
                      "owner", "address", "target"});
  for (const SetKey& key : keys) {
    const std::size_t i = first_probe.at(key);
    const CanonicalAnswer& answer = answers[i];
    const auto name = domain_names_.find(key.domain_id);
    for (std::size_t ord = 0; ord < answer.order.size(); ++ord) {
      const ResourceRecord& record = results[i].records[answer.order[ord]];
      CopyTextBuffer& row = records.row();
      row.integer(key.domain_id)
          .integer(key.answer_set_id)
          .integer(static_cast<std::int64_t>(record.ttl) - answer.min_ttl)
          .integer(static_cast<std::int64_t>(ord))
          .text(section_letter(record.section))
          .rrtype(record.type);
      name != domain_names_.end() && name->second == record.owner ? row.null()
                                                                  : row.text(record.owner);
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
  return bad_addresses;
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

  // 1. Answer sets: the canonical form of each probe's records and each set's TTL shape:
  // the stored one where known, else its first probe's. A set not known whose probes have
  // different shapes (rare: one domain twice in a batch) is looked up first, so that each
  // probe counts where its shape says.
  std::vector<CanonicalAnswer> answers(results.size());
  SetMap first_probe;  // the batch's first probe of each set
  std::unordered_map<SetKey, std::int64_t, SetKeyHash> shapes;
  std::unordered_set<SetKey, SetKeyHash> mixed;
  for (std::size_t i = 0; i < results.size(); ++i) {
    if (results[i].records.empty()) {
      continue;
    }
    answers[i] = canonical_answer(results[i].records);
    const SetKey key{results[i].domain_id, answers[i].id};
    const auto [first, added] = first_probe.emplace(key, i);
    if (added) {
      const std::int64_t* stored = stored_shape(key);
      shapes.emplace(key, stored != nullptr ? *stored : answers[i].ttl_shape);
    } else if (answers[first->second].ttl_shape != answers[i].ttl_shape &&
               stored_shape(key) == nullptr) {
      mixed.insert(key);
    }
  }
  if (!first_probe.empty()) {
    stage_tables(tx);
  }
  if (!mixed.empty()) {
    look_up_sets(tx, {mixed.begin(), mixed.end()}, answers, first_probe);
    for (const SetKey& key : mixed) {
      if (const std::int64_t* stored = stored_shape(key)) {
        shapes[key] = *stored;
      }
    }
  }

  // What the batch adds to each set's summary: a probe with the set's shape counts in
  // min_ttl (and, for a set whose stored shape is not known, in shape_ttls), any other in
  // min_ttls per record.
  std::unordered_map<SetKey, SetCounters, SetKeyHash> counters;
  for (std::size_t i = 0; i < results.size(); ++i) {
    const ProbeResult& result = results[i];
    if (result.records.empty()) {
      continue;
    }
    const SetKey key{result.domain_id, answers[i].id};
    auto [entry, added] = counters.try_emplace(key);
    SetCounters& c = entry->second;
    if (added) {
      c.first = result.sent_at;
      c.last = result.sent_at;
    }
    c.first = std::min(c.first, result.sent_at);
    c.last = std::max(c.last, result.sent_at);
    c.times += 1;
    const auto& order = answers[i].order;
    const auto least_per_record = [&](std::vector<std::uint32_t>& ttls) {
      if (ttls.empty()) {
        ttls.assign(order.size(), std::numeric_limits<std::uint32_t>::max());
      }
      for (std::size_t k = 0; k < order.size(); ++k) {
        ttls[k] = std::min(ttls[k], result.records[order[k]].ttl);
      }
    };
    if (answers[i].ttl_shape == shapes.at(key)) {
      c.min_ttl = std::min(c.min_ttl.value_or(answers[i].min_ttl), answers[i].min_ttl);
      if (stored_shape(key) == nullptr) {
        least_per_record(c.shape_ttls);
      }
    } else {
      least_per_record(c.min_ttls);
    }
  }
  look_up_domains(tx, results);  // for the owners of records and the qnames of probes
  const std::vector<SetKey> inserted =
      counters.empty() ? std::vector<SetKey>{}
                       : upsert_sets(tx, counters, shapes, answers, first_probe);
  std::size_t bad_addresses =
      inserted.empty() ? 0 : insert_records(tx, inserted, results, answers, first_probe);

  // 2. One observation per probe (contexts and names first: no query can run during a
  // COPY).
  std::vector<int> contexts(results.size());
  for (std::size_t i = 0; i < results.size(); ++i) {
    contexts[i] = context_id(tx, run_id, results[i]);
  }
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
    name != domain_names_.end() && name->second == result.name ? row.null() : row.text(result.name);
    row.text_or_null(result.detail);
    if (has_set && *stored_shape({result.domain_id, answers[i].id}) != answers[i].ttl_shape) {
      row.text(ttl_array(result, answers[i]));
    } else {
      row.null();
    }
    row.end_row();
  }
  observations.complete();
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
