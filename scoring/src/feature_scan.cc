// FeatureScan: every domain's features in one pass (see feature_scan.h). The definitions are
// those of compute_features() in features.cc; the integration tests compare both.
#include "fluxwatch/scoring/feature_scan.h"

#include <algorithm>
#include <array>
#include <future>
#include <tuple>

#include "fluxwatch/common/error.h"

namespace fluxwatch::scoring {
namespace {

constexpr std::uint8_t kOther = 0;
constexpr std::uint8_t kA = 1;
constexpr std::uint8_t kAaaa = 2;

// What a set's record is to scoring (records of no kind are dropped as they are read).
constexpr std::uint8_t kAnswerA = 1;     ///< an answer A: an address of A lookups, a host address
constexpr std::uint8_t kAnswerAaaa = 2;  ///< an answer AAAA: likewise for AAAA lookups
constexpr std::uint8_t kHostOnly = 3;    ///< an additional A/AAAA (glue): a host address only
constexpr std::uint8_t kNs = 4;          ///< an answer NS with a target
constexpr std::uint8_t kSoa = 5;         ///< an SOA (any section) whose fields parse

std::uint8_t qtype_code(RrType qtype) {
  if (qtype == RrType::A) {
    return kA;
  }
  return qtype == RrType::AAAA ? kAaaa : kOther;
}

bool is(std::uint16_t type, RrType rrtype) { return type == static_cast<std::uint16_t>(rrtype); }

std::int64_t lower_median(std::vector<std::uint32_t>& values) {
  const auto middle = values.begin() + static_cast<std::ptrdiff_t>((values.size() - 1) / 2);
  std::nth_element(values.begin(), middle, values.end());
  return *middle;
}

/// Consecutive-set statistics over sorted, distinct sets (as ChangeStats in features.cc).
struct ChangeStats {
  double new_fraction_sum = 0;
  std::int64_t changed = 0;
  std::int64_t pairs = 0;

  template <typename T>
  void add(const std::vector<T>& previous, const std::vector<T>& current) {
    std::size_t fresh = 0;
    auto p = previous.begin();
    for (const auto& item : current) {
      while (p != previous.end() && *p < item) {
        ++p;
      }
      if (p == previous.end() || *p != item) {
        ++fresh;
      }
    }
    new_fraction_sum += static_cast<double>(fresh) / static_cast<double>(current.size());
    changed += current != previous ? 1 : 0;
    ++pairs;
  }
  /// The same answer set as the previous lookup: nothing new, nothing changed.
  void add_unchanged() { ++pairs; }
};

/// The distinct values of items [begin, end) (sorted by value) into `out`.
template <typename T, typename Items>
void distinct_values(const Items& items, std::uint32_t begin, std::uint32_t end,
                     std::vector<T>& out) {
  out.clear();
  for (auto i = begin; i < end; ++i) {
    if (out.empty() || out.back() != items[i].value) {
      out.push_back(items[i].value);
    }
  }
}

template <typename T>
void sort_unique(std::vector<T>& values) {
  std::ranges::sort(values);
  values.erase(std::unique(values.begin(), values.end()), values.end());
}

}  // namespace

void FeatureScan::add_domain(std::int64_t domain_id, std::string domain) {
  domain_index_.emplace(domain_id, static_cast<std::int32_t>(domains_.size()));
  domains_.emplace_back(domain_id, std::move(domain));
  domain_probes_.emplace_back();
  own_names_.push_back(kNone);
}

std::int32_t FeatureScan::domain_of(std::int64_t domain_id) const {
  const std::int32_t* found = domain_index_.find(domain_id);
  return found == nullptr ? -1 : *found;
}

void FeatureScan::add_geo(const IpAddress& address, const AddressInfo& info) {
  Geo geo;
  geo.asn = info.asn;
  if (info.country) {
    const auto found = std::ranges::find(countries_, *info.country);
    geo.country = static_cast<std::int32_t>(found - countries_.begin());
    if (found == countries_.end()) {
      countries_.push_back(*info.country);
    }
  }
  if (info.latitude && info.longitude) {
    geo.has_point = true;
    geo.point = {*info.latitude, *info.longitude};
  }
  const auto [entry, fresh] =
      geo_index_.try_emplace(address, static_cast<std::uint32_t>(geo_values_.size()));
  if (fresh) {
    geo_values_.push_back(geo);
  } else {
    geo_values_[entry->second] = geo;  // the last one given counts
  }
}

std::uint32_t FeatureScan::geo_of(const IpAddress& address, std::int64_t address_id) {
  const auto find = [&] {
    const auto found = geo_index_.find(address);
    return found == geo_index_.end() ? kNone : found->second;
  };
  // Address ids are dense (bigserial): a hash look-up per address, not per record (a flux
  // address is in thousands of sets).
  constexpr std::int64_t kDenseIds = std::int64_t{1} << 26;
  if (address_id < 0 || address_id >= kDenseIds) {
    return find();
  }
  const auto at = static_cast<std::size_t>(address_id);
  if (at >= geo_by_address_id_.size()) {
    geo_by_address_id_.resize(std::max(at + 1, 2 * geo_by_address_id_.size()), kUnresolved);
  }
  auto& slot = geo_by_address_id_[at];
  if (slot == kUnresolved) {
    slot = find();
  }
  return slot;
}

std::uint32_t FeatureScan::intern(std::string_view name) {
  if (const auto found = names_.find(name); found != names_.end()) {
    return found->second;  // no string made for a name already known
  }
  const auto id = static_cast<std::uint32_t>(names_.size());
  names_.emplace(std::string(name), id);
  return id;
}

std::uint32_t FeatureScan::own_name(std::int64_t domain_id) {
  const auto domain = domain_of(domain_id);
  if (domain < 0) {
    return intern("");  // no name: never an NS target (empty targets are not kept)
  }
  auto& id = own_names_[static_cast<std::size_t>(domain)];
  if (id == kNone) {
    id = intern(domains_[static_cast<std::size_t>(domain)].second);
  }
  return id;
}

void FeatureScan::add_set_record(std::int64_t domain_id, std::int64_t set_id, std::int32_t ord,
                                 Section section, std::string_view owner, std::uint16_t type,
                                 std::int64_t ttl_offset, const std::optional<IpAddress>& address,
                                 std::string_view target, const std::optional<SoaRecord>& soa,
                                 std::int64_t set_ttl, std::int64_t address_id) {
  std::uint8_t kind = 0;
  if ((is(type, RrType::A) || is(type, RrType::AAAA)) && address) {
    if (section == Section::Answer) {
      kind = is(type, RrType::A) ? kAnswerA : kAnswerAaaa;
    } else if (section == Section::Additional) {
      kind = kHostOnly;
    }
  } else if (is(type, RrType::NS) && section == Section::Answer && !target.empty()) {
    kind = kNs;
  } else if (is(type, RrType::SOA) && soa) {
    kind = kSoa;
  }
  if (kind == 0) {
    return;  // nothing scoring reads
  }
  const std::pair key(domain_id, set_id);
  // A set's records arrive together: the set before is complete when another one starts.
  if (last_set_ == kNone || set_keys_[last_set_] != key) {
    index_pending_set();
    const auto [entry, fresh] =
        set_index_.try_emplace(key, static_cast<std::uint32_t>(set_keys_.size()));
    if (!fresh) {
      throw Error("scoring: the records of an answer set came apart");
    }
    set_keys_.push_back(key);
    set_ttls_.push_back(set_ttl);
    last_set_ = entry->second;
  }
  ++record_count_;
  SetRecord record{ttl_offset, ord, 0, 0, IpAddress(), kind};
  if (kind == kNs) {
    record.name = intern(target);
  } else if (kind == kSoa) {
    record.serial = soa->serial;
  } else {
    record.address = *address;
    record.geo = geo_of(*address, address_id);
    record.name = owner.empty() ? own_name(domain_id) : intern(owner);
  }
  pending_.push_back(record);
}

void FeatureScan::reserve_set_records(std::size_t count) {
  // Mostly answer addresses; room that is never written costs address space, not memory.
  sets_.a_items.reserve(count);
}

void FeatureScan::index_pending_set() {
  if (last_set_ == kNone) {
    return;
  }
  // The set's records by kind, then value (address or name), then ord: each kind's items
  // sorted by value, so its distinct values are runs.
  std::ranges::sort(pending_, [](const SetRecord& a, const SetRecord& b) {
    return std::tie(a.kind, a.address, a.name, a.ord) < std::tie(b.kind, b.address, b.name, b.ord);
  });
  std::uint32_t distinct_a = 0;
  std::uint32_t distinct_aaaa = 0;
  std::uint32_t distinct_ns = 0;
  std::uint32_t distinct_host = 0;
  std::optional<std::int64_t> serial;
  const auto add = [](auto& items, std::uint32_t begin, std::uint32_t& distinct, auto value,
                      const SetRecord& r) {
    if (items.size() == begin || items.back().value != value) {
      ++distinct;
    }
    items.push_back({value, r.ord, r.ttl_offset, r.geo, r.name});
  };
  const std::uint32_t a_begin = sets_.a_begin.back();
  const std::uint32_t aaaa_begin = sets_.aaaa_begin.back();
  const std::uint32_t ns_begin = sets_.ns_begin.back();
  const std::uint32_t host_begin = sets_.host_begin.back();
  for (const SetRecord& r : pending_) {
    if (r.kind == kAnswerA) {
      add(sets_.a_items, a_begin, distinct_a, r.address, r);
    } else if (r.kind == kAnswerAaaa) {
      add(sets_.aaaa_items, aaaa_begin, distinct_aaaa, r.address, r);
    } else if (r.kind == kNs) {
      add(sets_.ns_items, ns_begin, distinct_ns, r.name, r);
    } else if (r.kind == kHostOnly) {
      add(sets_.host_items, host_begin, distinct_host, r.address, r);
    } else if (r.kind == kSoa) {
      const std::int64_t value = r.serial;
      serial = std::min(serial.value_or(value), value);
    }
  }
  sets_.a_begin.push_back(static_cast<std::uint32_t>(sets_.a_items.size()));
  sets_.aaaa_begin.push_back(static_cast<std::uint32_t>(sets_.aaaa_items.size()));
  sets_.ns_begin.push_back(static_cast<std::uint32_t>(sets_.ns_items.size()));
  sets_.host_begin.push_back(static_cast<std::uint32_t>(sets_.host_items.size()));
  sets_.distinct_a.push_back(distinct_a);
  sets_.distinct_aaaa.push_back(distinct_aaaa);
  sets_.serial.push_back(serial);
  pending_.clear();
}

void FeatureScan::add_probe(std::int64_t probe_id, std::int64_t domain_id, RrType qtype,
                            std::int64_t sent_at_us, bool own, std::optional<std::int64_t> set_id,
                            std::optional<std::int64_t> ttl,
                            const std::vector<std::optional<std::int64_t>>& ttls) {
  // The domains are complete before any probe arrives: reading them here is safe while
  // another thread adds set records.
  const std::int32_t domain = own ? domain_of(domain_id) : -1;
  if (domain < 0) {
    if (set_id) {
      other_sets_.emplace_back(domain_id, *set_id);  // only its set's host addresses matter
    }
    return;
  }
  const bool has_ttls = !ttls.empty() && set_id;
  if (has_ttls) {
    ttl_lists_.insert_or_assign(probe_id, ttls);
  }
  ++probe_count_;
  domain_probes_[static_cast<std::size_t>(domain)].push_back(
      {probe_id, sent_at_us, set_id.value_or(kNoSet), ttl.value_or(kNoTtl), qtype_code(qtype),
       has_ttls});
}

void FeatureScan::reserve_probes(std::size_t count) {
  // Each domain's share and an eighth more (the planner's estimate is not exact; a domain
  // past its room doubles it).
  if (domains_.empty()) {
    return;
  }
  const std::size_t each = count / domains_.size();
  for (auto& probes : domain_probes_) {
    probes.reserve(each + each / 8 + 2);
  }
}

std::array<FeatureScan::DomainRange, 2> FeatureScan::halves() const {
  const auto domains = static_cast<std::int32_t>(domains_.size());
  std::size_t before = 0;
  std::int32_t cut = 0;
  while (cut < domains && 2 * before < probe_count_) {
    before += domain_probes_[static_cast<std::size_t>(cut++)].size();
  }
  return {DomainRange{0, cut}, DomainRange{cut, domains}};
}

void FeatureScan::resolve_probes(DomainRange range, std::vector<bool>& referenced) {
  referenced.assign(set_keys_.size(), false);
  const auto index_of = [&](std::int64_t domain_id, std::int64_t set_id) {
    const auto found = set_index_.find({domain_id, set_id});
    return found == set_index_.end() ? kNone : found->second;
  };
  for (std::int32_t d = range.begin; d < range.end; ++d) {
    auto& probes = domain_probes_[static_cast<std::size_t>(d)];
    const auto first = probes.begin();
    const auto last = probes.end();
    // The domain's probes in time order (ties by id): every later pass walks them so. They
    // mostly come in that order already (observations are written round after round).
    std::sort(first, last, [](const Probe& a, const Probe& b) {
      return std::tie(a.sent_at_us, a.probe_id) < std::tie(b.sent_at_us, b.probe_id);
    });
    // A domain's probes mostly get the set of one of its two previous probes (its A set and
    // its NS set), so those are asked first.
    std::array<std::pair<std::int64_t, std::uint32_t>, 2> recent{
        {{kNoSet, kNone}, {kNoSet, kNone}}};  // (set id, index)
    const std::int64_t domain_id = domains_[static_cast<std::size_t>(d)].first;
    for (auto probe = first; probe != last; ++probe) {
      std::uint32_t set = kNone;
      if (probe->set == kNoSet) {
        set = kNone;
      } else if (probe->set == recent[0].first) {
        set = recent[0].second;
      } else if (probe->set == recent[1].first) {
        set = recent[1].second;
        std::swap(recent[0], recent[1]);
      } else {
        set = index_of(domain_id, probe->set);
        recent[1] = recent[0];
        recent[0] = {probe->set, set};
      }
      if (set != kNone) {
        referenced[set] = true;
      }
      probe->set = set;
      if (probe->ttl == kNoTtl) {
        probe->ttl = set != kNone ? set_ttls_[set] : 0;
      }
    }
  }
}

std::int64_t FeatureScan::record_ttl(const Probe& probe, std::int32_t ord,
                                     std::int64_t offset) const {
  // As the records view: coalesce(ttls[ord + 1], ttl + ttl_offset).
  if (probe.has_ttls) {
    const auto& list = ttl_lists_.at(probe.probe_id);
    if (ord >= 0 && static_cast<std::size_t>(ord) < list.size() &&
        list[static_cast<std::size_t>(ord)]) {
      return *list[static_cast<std::size_t>(ord)];
    }
  }
  return probe.ttl + offset;
}

std::vector<std::pair<std::int64_t, Features>> FeatureScan::finish() {
  // Two threads: each half of the domains (by probes) has its probes ordered and resolved,
  // then scored, on its own thread. Every domain's features depend only on its own probes
  // and on the shared tables, which are read-only by then, so the result is that of one
  // thread.
  index_pending_set();  // the last set read
  last_set_ = kNone;
  const SetIndex& sets = sets_;
  const auto parts = halves();
  std::array<std::vector<bool>, 2> referenced;
  {
    auto second = std::async(std::launch::async, [&] { resolve_probes(parts[1], referenced[1]); });
    resolve_probes(parts[0], referenced[0]);
    second.get();
  }
  // The sets the domains' own probes got, then with the other probes' sets.
  referenced_.assign(set_keys_.size(), false);
  for (std::size_t s = 0; s < referenced_.size(); ++s) {
    referenced_[s] = referenced[0][s] || referenced[1][s];
  }
  referenced = {};
  // The names that are an NS target in some domain's answers.
  std::vector<bool> is_ns_name(names_.size(), false);
  for (std::uint32_t s = 0; s < referenced_.size(); ++s) {
    if (referenced_[s]) {
      for (auto i = sets.ns_begin[s]; i < sets.ns_begin[s + 1]; ++i) {
        is_ns_name[sets.ns_items[i].value] = true;
      }
    }
  }
  for (const auto& [domain_id, set_id] : other_sets_) {
    if (const auto found = set_index_.find({domain_id, set_id}); found != set_index_.end()) {
      referenced_[found->second] = true;  // its host addresses count, whoever's probe it is
    }
  }

  // Their addresses, from the address records (answer or additional) of every set a probe
  // of the window got.
  std::vector<std::vector<GeoAddress>> name_addresses(names_.size());
  const auto add_hosts = [&](const std::vector<Item<IpAddress>>& items, std::uint32_t begin,
                             std::uint32_t end) {
    for (auto i = begin; i < end; ++i) {
      if (is_ns_name[items[i].name]) {
        name_addresses[items[i].name].emplace_back(items[i].value, items[i].geo);
      }
    }
  };
  for (std::uint32_t s = 0; s < referenced_.size(); ++s) {
    if (referenced_[s]) {
      add_hosts(sets.a_items, sets.a_begin[s], sets.a_begin[s + 1]);
      add_hosts(sets.aaaa_items, sets.aaaa_begin[s], sets.aaaa_begin[s + 1]);
      add_hosts(sets.host_items, sets.host_begin[s], sets.host_begin[s + 1]);
    }
  }
  for (auto& list : name_addresses) {
    sort_unique(list);
  }

  std::vector<std::pair<std::int64_t, Features>> out(domains_.size());
  const auto score = [&](DomainRange range) {
    for (std::int32_t d = range.begin; d < range.end; ++d) {
      out[static_cast<std::size_t>(d)] = {domains_[static_cast<std::size_t>(d)].first,
                                          features_of(d, sets, name_addresses)};
    }
  };
  auto second = std::async(std::launch::async, [&] { score(parts[1]); });
  score(parts[0]);
  second.get();
  return out;
}

Features FeatureScan::features_of(
    std::int32_t domain, const SetIndex& sets,
    const std::vector<std::vector<GeoAddress>>& name_addresses) const {
  Features f;
  const auto& probes = domain_probes_[static_cast<std::size_t>(domain)];
  for (const Probe& probe : probes) {
    f.probes += 1;
    f.address_probes += probe.qtype != kOther ? 1 : 0;
  }

  // Lookups: the distinct addresses of each answered A/AAAA probe, in time order; a probe
  // that got the same set as the previous lookup of its type changed nothing.
  std::array<std::vector<IpAddress>, 3> previous;  // by qtype code
  std::array<std::uint32_t, 3> previous_set{kNone, kNone, kNone};
  std::array<std::int64_t, 3> lookups{};
  ChangeStats change;
  std::vector<std::uint32_t> ttls;
  std::vector<std::pair<std::uint32_t, std::uint8_t>> lookup_sets;  // (set, qtype) seen
  std::vector<IpAddress> current;
  // NS answers: the name set of each probe with one, in time order.
  std::vector<std::uint32_t> ns_ttls;
  std::vector<std::uint32_t> ns_sets;
  std::vector<std::uint32_t> ns_previous;
  std::uint32_t ns_previous_set = kNone;
  ChangeStats ns_change;
  std::vector<std::uint32_t> ns_current;
  // SOA serials: the smallest per probe, changes between consecutive probes that had one.
  std::optional<std::int64_t> previous_serial;
  std::int64_t serial_changes = 0;

  for (const Probe& probe : probes) {
    const auto s = resolved_set(probe);
    if (s == kNone) {
      continue;  // no records
    }
    if (probe.qtype != kOther) {
      const bool v4 = probe.qtype == kA;
      const auto& items = v4 ? sets.a_items : sets.aaaa_items;
      const auto& starts = v4 ? sets.a_begin : sets.aaaa_begin;
      if (starts[s] < starts[s + 1]) {
        const auto type = probe.qtype;
        ++lookups[type];
        for (auto k = starts[s]; k < starts[s + 1]; ++k) {
          ttls.push_back(
              static_cast<std::uint32_t>(record_ttl(probe, items[k].ord, items[k].ttl_offset)));
        }
        f.max_answer_size =
            std::max(f.max_answer_size,
                     static_cast<std::int64_t>(v4 ? sets.distinct_a[s] : sets.distinct_aaaa[s]));
        lookup_sets.emplace_back(s, type);
        if (previous_set[type] != s) {
          distinct_values(items, starts[s], starts[s + 1], current);
          if (previous_set[type] != kNone) {
            change.add(previous[type], current);
          }
          previous[type].swap(current);
          previous_set[type] = s;
        } else {
          change.add_unchanged();
        }
      }
    }
    if (sets.ns_begin[s] < sets.ns_begin[s + 1]) {
      for (auto k = sets.ns_begin[s]; k < sets.ns_begin[s + 1]; ++k) {
        ns_ttls.push_back(static_cast<std::uint32_t>(
            record_ttl(probe, sets.ns_items[k].ord, sets.ns_items[k].ttl_offset)));
      }
      ns_sets.push_back(s);
      if (ns_previous_set != s) {
        distinct_values(sets.ns_items, sets.ns_begin[s], sets.ns_begin[s + 1], ns_current);
        if (ns_previous_set != kNone) {
          ns_change.add(ns_previous, ns_current);
        }
        ns_previous.swap(ns_current);
        ns_previous_set = s;
      } else {
        ns_change.add_unchanged();
      }
    }
    if (const auto serial = sets.serial[s]) {
      if (previous_serial && *previous_serial != *serial) {
        ++serial_changes;
      }
      previous_serial = serial;
    }
  }
  f.answered_lookups = std::max(lookups[kA], lookups[kAaaa]);
  if (change.pairs > 0) {
    f.new_address_ratio = change.new_fraction_sum / static_cast<double>(change.pairs);
    f.set_change_ratio = static_cast<double>(change.changed) / static_cast<double>(change.pairs);
  }
  if (!ttls.empty()) {
    f.min_ttl = *std::ranges::min_element(ttls);
    f.median_ttl = lower_median(ttls);
  }

  // Enrichment of the distinct addresses, from the distinct sets of the lookups.
  sort_unique(lookup_sets);
  // With its enrichment: an address has one, so (address, geo) pairs are distinct exactly
  // when the addresses are, and sort in address order.
  std::vector<GeoAddress> distinct;
  for (const auto& [s, type] : lookup_sets) {
    const bool v4 = type == kA;
    const auto& items = v4 ? sets.a_items : sets.aaaa_items;
    const auto& starts = v4 ? sets.a_begin : sets.aaaa_begin;
    for (auto k = starts[s]; k < starts[s + 1]; ++k) {
      distinct.emplace_back(items[k].value, items[k].geo);
    }
  }
  sort_unique(distinct);
  std::vector<std::int64_t> asns;
  std::vector<std::int64_t> v4_asns;
  std::vector<std::int64_t> per_country(countries_.size(), 0);
  std::vector<IpAddress> prefixes;
  std::vector<LatLon> points;
  for (const auto& [address, geo_at] : distinct) {
    const bool v4 = address.is_v4();
    (v4 ? f.ipv4_addresses : f.ipv6_addresses) += 1;
    prefixes.push_back(address_prefix(address));
    if (geo_at == kNone) {
      continue;
    }
    const Geo& geo = geo_values_[geo_at];
    if (geo.asn) {
      asns.push_back(*geo.asn);
      if (v4) {
        v4_asns.push_back(*geo.asn);
      }
    }
    if (geo.country >= 0) {
      ++per_country[static_cast<std::size_t>(geo.country)];
    }
    if (geo.has_point) {
      points.push_back(geo.point);
    }
  }
  sort_unique(asns);
  sort_unique(v4_asns);
  sort_unique(prefixes);
  f.asns = static_cast<std::int64_t>(asns.size());
  f.ipv4_asns = static_cast<std::int64_t>(v4_asns.size());
  f.prefixes = static_cast<std::int64_t>(prefixes.size());
  std::vector<std::int64_t> counts;
  for (const auto count : per_country) {
    if (count > 0) {
      counts.push_back(count);
    }
  }
  f.countries = static_cast<std::int64_t>(counts.size());
  if (!counts.empty()) {
    f.country_entropy = entropy_bits(counts);
  }
  f.geo_dispersion_km = mean_distance_from_centroid_km(points);

  if (!ns_ttls.empty()) {
    f.ns_min_ttl = *std::ranges::min_element(ns_ttls);
    f.ns_median_ttl = lower_median(ns_ttls);
  }
  if (ns_change.pairs > 0) {
    f.ns_change_ratio =
        static_cast<double>(ns_change.changed) / static_cast<double>(ns_change.pairs);
  }
  sort_unique(ns_sets);
  std::vector<std::uint32_t> ns_names;
  for (const auto s : ns_sets) {
    for (auto k = sets.ns_begin[s]; k < sets.ns_begin[s + 1]; ++k) {
      ns_names.push_back(sets.ns_items[k].value);
    }
  }
  sort_unique(ns_names);
  f.ns_names = static_cast<std::int64_t>(ns_names.size());
  std::vector<GeoAddress> ns_addresses;
  for (const auto name : ns_names) {
    const auto& list = name_addresses[name];
    ns_addresses.insert(ns_addresses.end(), list.begin(), list.end());
  }
  sort_unique(ns_addresses);
  std::vector<std::int64_t> ns_asns;
  for (const auto& [address, geo_at] : ns_addresses) {
    if (geo_at != kNone && geo_values_[geo_at].asn) {
      ns_asns.push_back(*geo_values_[geo_at].asn);
    }
  }
  sort_unique(ns_asns);
  f.ns_addresses = static_cast<std::int64_t>(ns_addresses.size());
  f.ns_asns = static_cast<std::int64_t>(ns_asns.size());
  if (previous_serial) {
    f.soa_serial_changes = serial_changes;
  }
  return f;
}

}  // namespace fluxwatch::scoring
