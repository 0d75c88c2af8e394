// ProbeWriter, step 1 of a batch: the answer sets the writer does not know to be stored (a
// round 1 stores every set; docs/performance.md, "Round 1: the new sets"). In the caller's
// transaction:
//   1. the ids of their addresses (addresses: created where missing);
//   2. their shared parts (authority and additional sections, once for all domains), by
//      binary COPY into a staging table and INSERT ... ON CONFLICT DO NOTHING;
//   3. one packed answer_set_contents row each, by binary COPY straight into the table under
//      a savepoint: the writer knows every value it writes, so nothing is read back. Sets are
//      content-addressed, so a key already stored is the same set: when one may be (the
//      writer's snapshot was not every set, or its cache started over), the keys are looked
//      up first; when one was stored anyway (another writer, another process), the COPY
//      fails with a unique violation, the savepoint undoes it and the batch's sets go through
//      the staging table and ON CONFLICT DO NOTHING, the stored ones read back.
// A set or shared part id whose digest_check differs from the stored one is an id collision:
// the batch is refused.
#include <fmt/format.h>

#include <algorithm>
#include <pqxx/pqxx>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "copy_writer.h"
#include "fluxwatch/common/error.h"
#include "packed_set.h"
#include "probe_writer.h"

namespace fluxwatch::storage::detail {
namespace {

/// Address ids (and shared part ids) kept before that cache starts over.
constexpr std::size_t kMaxAddresses = 4'000'000;
/// Rounds of "create what is missing, read it back" before an address is given up on (only
/// a concurrent writer's commit between the two makes a second round necessary).
constexpr int kAddressRounds = 5;

/// SQLSTATE unique_violation: the direct COPY met a set that is stored.
constexpr std::string_view kUniqueViolation = "23505";

// The ids of the addresses $1 (k: position in $1): those stored, and the others inserted
// now. An address a concurrent writer inserts meanwhile comes back without an id (asked
// again in the next statement).
constexpr const char* kResolveAddressesSql = R"sql(
WITH wanted AS (
  SELECT x.address, x.k FROM unnest($1::inet[]) WITH ORDINALITY AS x(address, k)
), found AS (
  -- LIMIT: a look-up in the unique index per address, never a scan of the table.
  SELECT w.k, a.address_id FROM wanted w
  CROSS JOIN LATERAL (SELECT address_id FROM addresses a WHERE a.address = w.address LIMIT 1) a
), inserted AS (
  INSERT INTO addresses (address)
  SELECT address FROM wanted WHERE k NOT IN (SELECT k FROM found) ORDER BY address
  ON CONFLICT (address) DO NOTHING
  RETURNING address_id, address
)
SELECT k, address_id FROM found
UNION ALL
SELECT w.k, i.address_id FROM inserted i JOIN wanted w USING (address)
)sql";

constexpr const char* kInsertSharedSql =
    "INSERT INTO shared_parts SELECT * FROM fw_shared_stage ORDER BY shared_id "
    "ON CONFLICT (shared_id) DO NOTHING";
constexpr const char* kSharedCollisionsSql =
    "SELECT s.shared_id FROM fw_shared_stage s JOIN shared_parts p USING (shared_id) "
    "WHERE p.digest_check <> s.digest_check";

// The staged sets no other writer stored first: the others are read back (kReadContentsSql).
constexpr const char* kInsertStagedContentsSql = R"sql(
INSERT INTO answer_set_contents SELECT * FROM fw_content_stage ORDER BY domain_id, answer_set_id
ON CONFLICT (domain_id, answer_set_id) DO NOTHING
RETURNING domain_id, answer_set_id
)sql";

// The stored sets among the keys $1, $2, with their TTL shape, digest check and TTL.
constexpr const char* kReadContentsSql = R"sql(
SELECT k.domain_id, k.answer_set_id, c.ttl_shape, c.digest_check, c.ttl
FROM unnest($1::bigint[], $2::bigint[]) AS k(domain_id, answer_set_id)
CROSS JOIN LATERAL (
  -- LIMIT: a primary-key probe per key, never a scan of the table.
  SELECT c.ttl_shape, c.digest_check, c.ttl FROM answer_set_contents c
  WHERE c.domain_id = k.domain_id AND c.answer_set_id = k.answer_set_id LIMIT 1
) c
)sql";

}  // namespace

void ProbeWriter::resolve_addresses(pqxx::work& tx, const std::vector<std::string_view>& texts) {
  std::vector<std::string_view> missing;
  std::unordered_set<std::string_view> asked;
  for (const std::string_view text : texts) {
    if (!address_ids_.contains(text) && !pending_address_ids_.contains(text) &&
        asked.insert(text).second) {
      missing.push_back(text);
    }
  }
  if (address_ids_.size() + pending_address_ids_.size() + missing.size() > kMaxAddresses) {
    address_ids_.clear();
  }
  for (int round = 0; round < kAddressRounds && !missing.empty(); ++round) {
    std::string literal = "{";
    for (const std::string_view text : missing) {
      if (literal.size() > 1) {
        literal += ',';
      }
      append_array_text(literal, text);
    }
    literal += '}';
    std::vector<bool> resolved(missing.size());
    for (const auto& row : tx.exec_params(kResolveAddressesSql, literal)) {
      const auto k = row[0].as<std::size_t>() - 1;
      pending_address_ids_.insert_or_assign(std::string(missing.at(k)), row[1].as<std::int32_t>());
      resolved[k] = true;
    }
    std::vector<std::string_view> left;
    for (std::size_t k = 0; k < missing.size(); ++k) {
      if (!resolved[k]) {
        left.push_back(missing[k]);
      }
    }
    missing.swap(left);
  }
  if (!missing.empty()) {
    throw Error(fmt::format("storage: no address id for {} after {} attempts", missing.front(),
                            kAddressRounds));
  }
}

void ProbeWriter::store_shared_parts(pqxx::work& tx,
                                     const std::vector<const PackedAnswer*>& parts) {
  std::vector<const PackedAnswer*> unknown;
  std::unordered_set<std::int64_t> staged;
  for (const PackedAnswer* part : parts) {
    if (!part->shared.empty() && !known_shared_.contains(part->shared_id) &&
        !pending_shared_.contains(part->shared_id) && staged.insert(part->shared_id).second) {
      unknown.push_back(part);
    }
  }
  if (unknown.empty()) {
    return;
  }
  {
    BinaryCopyWriter stage(tx, "fw_shared_stage",
                           {"shared_id", "digest_check", "sections", "rtypes", "owners",
                            "ttl_offsets", "address_ids", "targets"});
    for (const PackedAnswer* part : unknown) {
      CopyBinaryBuffer& row = stage.row();
      row.int8(part->shared_id).int8(part->shared_digest_check);
      write_packed_fields(row, part->shared, true,
                          [this](std::string_view address) { return address_id(address); });
      row.end_row();
    }
    stage.complete();
  }
  tx.exec(kInsertSharedSql);
  if (const auto collisions = tx.exec(kSharedCollisionsSql); !collisions.empty()) {
    throw_collision("shared parts", 0, collisions[0][0].as<std::int64_t>());
  }
  if (known_shared_.size() + pending_shared_.size() + staged.size() > kMaxAddresses) {
    known_shared_.clear();
  }
  pending_shared_.insert(staged.begin(), staged.end());
}

std::int32_t ProbeWriter::address_id(std::string_view address) const {
  if (const auto found = pending_address_ids_.find(address); found != pending_address_ids_.end()) {
    return found->second;
  }
  return address_ids_.find(address)->second;  // resolve_addresses() asked for every one
}

bool ProbeWriter::unknown_sets_may_be_stored() const {
  return !snapshot_ || !snapshot_->all_sets || lost_track_of_sets_;
}

void ProbeWriter::learn_set(const SetKey& key, const StoredSet& set,
                            const CanonicalAnswer& answer) {
  if (set.digest_check != answer.digest_check) {
    throw_collision("answer sets", key.domain_id, key.answer_set_id);
  }
  pending_sets_.insert_or_assign(key, set);
}

std::vector<bool> ProbeWriter::read_stored_sets(pqxx::work& tx, const std::vector<SetKey>& keys,
                                                const std::vector<CanonicalAnswer>& answers,
                                                const SetMap& first_probe) {
  std::unordered_map<SetKey, std::size_t, SetKeyHash> position;
  for (std::size_t n = 0; n < keys.size(); ++n) {
    position.emplace(keys[n], n);
  }
  std::vector<bool> stored(keys.size());
  const auto rows = tx.exec_params(
      kReadContentsSql, array_text(keys, [](const SetKey& k) { return k.domain_id; }),
      array_text(keys, [](const SetKey& k) { return k.answer_set_id; }));
  for (const auto& row : rows) {
    const SetKey key{row[0].as<std::int64_t>(), row[1].as<std::int64_t>()};
    const StoredSet set{
        row[2].as<std::int64_t>(), row[3].as<std::int64_t>(),
        row[4].is_null() ? std::nullopt : std::optional<std::int64_t>(row[4].as<std::int64_t>())};
    learn_set(key, set, answers[first_probe.at(key)]);
    stored[position.at(key)] = true;
  }
  return stored;
}

std::size_t ProbeWriter::store_new_sets(pqxx::work& tx, const std::vector<SetKey>& keys,
                                        const std::vector<ProbeResult>& results,
                                        const std::vector<CanonicalAnswer>& answers,
                                        const SetMap& first_probe) {
  // A set stored since the writer's snapshot, by a writer it does not hear of: looked up
  // first (a primary-key probe each), so that the COPY below does not fail on it.
  std::vector<SetKey> fresh;
  if (unknown_sets_may_be_stored()) {
    const std::vector<bool> stored = read_stored_sets(tx, keys, answers, first_probe);
    for (std::size_t n = 0; n < keys.size(); ++n) {
      if (!stored[n]) {
        fresh.push_back(keys[n]);
      }
    }
  } else {
    fresh = keys;
  }
  std::vector<PackedAnswer> packed;
  packed.reserve(fresh.size());
  std::vector<std::string_view> addresses;
  std::size_t bad_addresses = 0;
  for (const SetKey& key : fresh) {
    const std::size_t i = first_probe.at(key);
    const std::string* name = domain_name(key.domain_id);
    packed.push_back(pack_answer(results[i].records, answers[i],
                                 name != nullptr ? std::string_view(*name) : std::string_view()));
    bad_addresses += packed.back().bad_addresses;
    for (const auto* part : {&packed.back().own, &packed.back().shared}) {
      for (const PackedRecord& record : *part) {
        if (record.address) {
          addresses.push_back(*record.address);
        }
      }
    }
  }
  if (fresh.empty()) {
    return bad_addresses;
  }
  resolve_addresses(tx, addresses);
  std::vector<const PackedAnswer*> parts;
  parts.reserve(packed.size());
  for (const PackedAnswer& answer : packed) {
    parts.push_back(&answer);
  }
  store_shared_parts(tx, parts);

  // The sets' rows in key order (two writers storing the same keys wait in the same order),
  // binary: the server parses no integers or array literals.
  const auto copy_rows = [&](std::string_view table) {
    BinaryCopyWriter copy(
        tx, table,
        {"domain_id", "answer_set_id", "digest_check", "ttl_shape", "ttl", "shared_id",
         "shared_ttl_offset", "rtypes", "owners", "ttl_offsets", "address_ids", "targets"});
    const auto id_of = [this](std::string_view address) { return address_id(address); };
    for (std::size_t n = 0; n < fresh.size(); ++n) {
      const CanonicalAnswer& answer = answers[first_probe.at(fresh[n])];
      const PackedAnswer& set = packed[n];
      CopyBinaryBuffer& row = copy.row();
      row.int8(fresh[n].domain_id)
          .int8(fresh[n].answer_set_id)
          .int8(answer.digest_check)
          .int8(answer.ttl_shape)
          .int8(answer.min_ttl);
      set.shared.empty() ? row.null().null() : row.int8(set.shared_id).int8(set.shared_ttl_offset);
      write_packed_fields(row, set.own, false, id_of);
      row.end_row();
    }
    copy.complete();
  };
  // What the writer stored: the values it wrote.
  const auto learn_written = [&](const SetKey& key) {
    const CanonicalAnswer& answer = answers[first_probe.at(key)];
    pending_sets_.insert_or_assign(
        key, StoredSet{answer.ttl_shape, answer.digest_check, std::int64_t{answer.min_ttl}});
  };

  tx.exec("SAVEPOINT fw_contents");
  try {
    copy_rows("answer_set_contents");
    tx.exec("RELEASE SAVEPOINT fw_contents");
    for (const SetKey& key : fresh) {
      learn_written(key);
    }
    return bad_addresses;
  } catch (const pqxx::sql_error& error) {
    if (error.sqlstate() != kUniqueViolation) {
      throw;
    }
    tx.exec("ROLLBACK TO SAVEPOINT fw_contents");
    lost_track_of_sets_ = true;  // look the next batches' sets up first
  }
  // Another writer stored one of the sets since the snapshot: insert those still missing,
  // read the others back.
  copy_rows("fw_content_stage");
  std::unordered_set<SetKey, SetKeyHash> inserted;
  for (const auto& row : tx.exec(kInsertStagedContentsSql)) {
    inserted.insert({row[0].as<std::int64_t>(), row[1].as<std::int64_t>()});
  }
  std::vector<SetKey> others;
  for (const SetKey& key : fresh) {
    if (inserted.contains(key)) {
      learn_written(key);
    } else {
      others.push_back(key);
    }
  }
  if (!others.empty()) {
    const std::vector<bool> stored = read_stored_sets(tx, others, answers, first_probe);
    if (std::find(stored.begin(), stored.end(), false) != stored.end()) {
      throw Error("storage: an answer set stored by another writer could not be read back");
    }
  }
  return bad_addresses;
}

}  // namespace fluxwatch::storage::detail
