// read_window(): the window's streams into a FeatureScan, the sets and the probes at once.
#include "window_read.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <future>

#include "feature_scan_sql.h"
#include "fluxwatch/common/error.h"
#include "fluxwatch/scoring/features.h"

namespace fluxwatch::scoring::detail {
namespace {

using SteadyClock = std::chrono::steady_clock;

long long ms_since(SteadyClock::time_point since) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - since).count();
}

/// The planner's row estimate in the first line of an EXPLAIN ("... rows=N width=W)").
std::size_t estimated_rows(const pqxx::result& plan) {
  if (plan.empty()) {
    return 0;
  }
  const auto line = plan[0][0].as<std::string>();
  const auto at = line.find("rows=");
  std::size_t rows = 0;
  if (at != std::string::npos) {
    std::from_chars(line.data() + at + 5, line.data() + line.size(), rows);
  }
  return rows;
}

/// Sets `flag` when it goes out of scope: tells the probe thread to stop when the sets'
/// side fails (declared after the thread's future, so that it is set before the future
/// waits for the thread).
class RaiseOnExit {
 public:
  explicit RaiseOnExit(std::atomic<bool>& flag) : flag_(flag) {}
  RaiseOnExit(const RaiseOnExit&) = delete;
  RaiseOnExit(RaiseOnExit&&) = delete;
  RaiseOnExit& operator=(const RaiseOnExit&) = delete;
  RaiseOnExit& operator=(RaiseOnExit&&) = delete;
  ~RaiseOnExit() { flag_ = true; }

 private:
  std::atomic<bool>& flag_;
};

/// Reads the window's probes into `scan` on a new connection to `dsn` that imports
/// `snapshot`. Runs on its own thread, beside the sets' reading.
void read_probes(const std::string& dsn, const std::string& snapshot, const WindowText& window,
                 FeatureScan& scan, const std::atomic<bool>& stop) {
  const auto start = SteadyClock::now();
  pqxx::connection connection(dsn);
  pqxx::transaction<pqxx::isolation_level::repeatable_read, pqxx::readwrite_policy::read_only> tx(
      connection, "feature probes");
  tx.exec("SET TRANSACTION SNAPSHOT " + tx.quote(snapshot));
  tx.exec_params(kScanSettingsSql, window.since, window.until);
  // Per context: the query type, and whether its probes are their domain's own: of the
  // campaign asked for (any when none), and not an address lookup of authoritative mode's
  // NS names (mode 'delegation', other than NS: those belong to the name servers; their
  // sets still give NS host addresses).
  struct Context {
    RrType qtype;
    bool own;
  };
  std::unordered_map<std::int64_t, Context> contexts;
  for (const auto& row : tx.exec(kContextsSql)) {
    const auto qtype = static_cast<RrType>(stored_rrtype(row[1].c_str()));
    const bool own = (row[2].as<std::string>() != "delegation" || qtype == RrType::NS) &&
                     (window.campaign.empty() || row[3].as<std::string>() == window.campaign);
    contexts.emplace(row[0].as<std::int64_t>(), Context{qtype, own});
  }
  scan.reserve_probes(
      estimated_rows(tx.exec_params(kProbeEstimateSql, window.since, window.until)));
  BinaryArray ttl_array;
  std::vector<std::optional<std::int64_t>> ttls;
  copy_binary(tx, kProbesCopySql, [&](const BinaryRow& row) {
    if (stop) {
      throw Error("scoring: reading the probes stopped");
    }
    const auto context = contexts.find(row.integer(2));
    if (context == contexts.end()) {
      throw Error("scoring: a probe refers to an unknown probe context");
    }
    ttls.clear();
    if (!row.null(6)) {
      row.array(6, ttl_array);
      for (std::size_t i = 0; i < ttl_array.size(); ++i) {
        ttls.push_back(ttl_array.null(i) ? std::nullopt
                                         : std::optional<std::int64_t>(ttl_array.integer(i)));
      }
    }
    const bool watched = !row.null(1);
    scan.add_probe(row.integer(0), watched ? row.integer(1) : 0, context->second.qtype,
                   row.unix_micros(3), watched && context->second.own,
                   row.null(4) ? std::nullopt : std::optional<std::int64_t>(row.integer(4)),
                   row.null(5) ? std::nullopt : std::optional<std::int64_t>(row.integer(5)), ttls);
  });
  tx.commit();
  spdlog::debug("scoring: {} probes of the window read in {} ms (second connection)", scan.probes(),
                ms_since(start));
}

}  // namespace

// --- PackedSets -----------------------------------------------------------------------------

void PackedSets::add_address(std::int64_t address_id, std::optional<IpAddress> address) {
  if (address) {
    addresses_.emplace(address_id, *address);
  }
}

void PackedSets::load_arrays(const BinaryRow& row, std::size_t first, bool with_sections) {
  if (with_sections) {
    row.array(first - 1, sections_);
  }
  row.array(first, rtypes_);
  row.array(first + 1, owners_);
  row.array(first + 2, ttl_offsets_);
  row.array(first + 3, address_ids_);
  row.array(first + 4, targets_);
}

std::size_t PackedSets::records() const {
  return std::max(
      {rtypes_.size(), owners_.size(), ttl_offsets_.size(), address_ids_.size(), targets_.size()});
}

PackedSets::RecordView PackedSets::record(std::size_t k) const {
  const auto has = [k](const BinaryArray& array) { return k < array.size() && !array.null(k); };
  RecordView r;
  if (has(address_ids_)) {
    if (const IpAddress* found = addresses_.find(address_ids_.integer(k))) {
      r.address = *found;
      r.address_id = address_ids_.integer(k);
    }
  }
  if (has(rtypes_)) {
    r.type = stored_rrtype(rtypes_.text(k));
  } else {
    // A NULL type: an address record, A or AAAA by the address's family.
    r.type = static_cast<std::uint16_t>(r.address && r.address->is_v4() ? RrType::A : RrType::AAAA);
  }
  if (has(owners_)) {
    r.owner = owners_.text(k);
  }
  if (has(ttl_offsets_)) {
    r.ttl_offset = ttl_offsets_.integer(k);
  }
  if (has(targets_)) {
    r.target = targets_.text(k);
  }
  return r;
}

void PackedSets::add_shared_part(const BinaryRow& row) {
  load_arrays(row, 2, true);
  std::vector<SharedRecord> part;
  const std::size_t count = std::max(records(), sections_.size());
  for (std::size_t k = 0; k < count; ++k) {
    const RecordView r = record(k);
    // 'u': authority, anything else additional (as the set_records view reads it).
    const bool authority = k < sections_.size() && !sections_.null(k) && sections_.text(k) == "u";
    const bool address = r.type == static_cast<std::uint16_t>(RrType::A) ||
                         r.type == static_cast<std::uint16_t>(RrType::AAAA);
    // Of the authority and additional sections scoring reads the glue and SOA records
    // (FeatureScan::add_set_record drops the others): only those are kept, with their ord.
    if (!(address && !authority) && r.type != static_cast<std::uint16_t>(RrType::SOA)) {
      continue;
    }
    SharedRecord& out = part.emplace_back();
    out.ord = static_cast<std::int32_t>(k);
    out.section = authority ? Section::Authority : Section::Additional;
    out.type = r.type;
    out.owner = r.owner;
    out.ttl_offset = r.ttl_offset;
    out.address = r.address;
    out.address_id = r.address_id;
    if (r.type == static_cast<std::uint16_t>(RrType::SOA)) {
      out.soa = SoaRecord::parse(r.target);
    } else {
      out.target = r.target;
    }
  }
  sections_.parse({});  // the sets' own arrays have none
  shared_.insert_or_assign(row.integer(0), std::move(part));
}

void PackedSets::add_set(const BinaryRow& row, FeatureScan& scan) {
  const auto domain_id = row.integer(0);
  const auto set_id = row.integer(1);
  const auto set_ttl = row.null(2) ? 0 : row.integer(2);
  load_arrays(row, 5, false);
  const std::size_t count = records();
  for (std::size_t k = 0; k < count; ++k) {
    const RecordView r = record(k);
    const bool soa = r.type == static_cast<std::uint16_t>(RrType::SOA);
    scan.add_set_record(domain_id, set_id, static_cast<std::int32_t>(k), Section::Answer, r.owner,
                        r.type, r.ttl_offset, r.address, soa ? std::string_view() : r.target,
                        soa ? SoaRecord::parse(r.target) : std::nullopt, set_ttl, r.address_id);
  }
  if (row.null(3)) {
    return;  // no authority or additional section
  }
  const auto shared = shared_.find(row.integer(3));
  if (shared == shared_.end()) {
    return;  // as the view's LEFT JOIN: no records
  }
  // The shared records' ord follow the answer's: as many as its types (or addresses).
  const std::size_t base = !row.null(5)   ? rtypes_.size()
                           : !row.null(8) ? address_ids_.size()
                                          : std::size_t{0};
  const auto offset = row.null(4) ? 0 : row.integer(4);
  for (const SharedRecord& r : shared->second) {
    scan.add_set_record(domain_id, set_id, static_cast<std::int32_t>(base) + r.ord, r.section,
                        r.owner, r.type, offset + r.ttl_offset, r.address, r.target, r.soa, set_ttl,
                        r.address_id);
  }
}

// --- read_window ----------------------------------------------------------------------------

std::vector<std::string> read_window(pqxx::dbtransaction& tx, const std::string& dsn,
                                     const WindowText& window, FeatureScan& scan) {
  auto phase = SteadyClock::now();
  std::vector<std::string> names;
  for (const auto& row : tx.exec(kDomainsSql)) {
    scan.add_domain(row[0].as<std::int64_t>(), row[1].as<std::string>());
    names.push_back(row[1].as<std::string>());
  }
  // The probes on a second connection, in this transaction's snapshot, while this one reads
  // the sets: the two streams are about as long, and each keeps a server process and a
  // client thread busy. The domains are all added first: add_probe() reads them.
  const auto snapshot = tx.exec("SELECT pg_export_snapshot()")[0][0].as<std::string>();
  std::atomic<bool> stop = false;
  std::future<void> probes =
      std::async(std::launch::async, [&] { read_probes(dsn, snapshot, window, scan, stop); });
  const RaiseOnExit stop_on_failure{stop};

  copy_binary(tx, kGeoCopySql, [&](const BinaryRow& row) {
    AddressInfo info;
    if (!row.null(1)) {
      info.asn = row.integer(1);
    }
    if (!row.null(2)) {
      info.country = std::string(row.text(2));
    }
    if (!row.null(3) && !row.null(4)) {
      info.latitude = row.float64(3);
      info.longitude = row.float64(4);
    }
    if (const auto address = row.inet(0)) {
      scan.add_geo(*address, info);
    }
  });
  spdlog::debug("scoring: {} domains and their enrichment read in {} ms", names.size(),
                ms_since(phase));
  phase = SteadyClock::now();
  // Room for the set records: about 4 a set (1-4 addresses, or an NS set with its glue)
  // spares the copies of a growing array, the peak of the process's memory otherwise.
  constexpr std::size_t kRecordsPerSet = 4;
  scan.reserve_set_records(
      kRecordsPerSet * estimated_rows(tx.exec_params(kSetEstimateSql, window.since, window.until)));
  PackedSets sets;
  copy_binary(tx, kAddressesCopySql,
              [&](const BinaryRow& row) { sets.add_address(row.integer(0), row.inet(1)); });
  copy_binary(tx, kSharedPartsCopySql, [&](const BinaryRow& row) { sets.add_shared_part(row); });
  copy_binary(tx, kSetContentsCopySql, [&](const BinaryRow& row) { sets.add_set(row, scan); });
  spdlog::debug("scoring: {} records of {} answer sets read in {} ms", scan.set_records(),
                scan.sets(), ms_since(phase));
  phase = SteadyClock::now();
  probes.get();
  spdlog::debug("scoring: waited {} ms for the probes after the sets", ms_since(phase));
  return names;
}

}  // namespace fluxwatch::scoring::detail
