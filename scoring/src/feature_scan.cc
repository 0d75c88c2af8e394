// FeatureScan: every domain's features in one pass (see feature_scan.h). The definitions are
// those of compute_features() in features.cc; the integration tests compare both.
#include "fluxwatch/scoring/feature_scan.h"

#include <algorithm>
#include <array>
#include <tuple>

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
  own_names_.push_back(kNone);
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
  geo_.insert_or_assign(address, geo);
}

std::uint32_t FeatureScan::intern(std::string_view name) {
  const auto [entry, fresh] =
      names_.try_emplace(std::string(name), static_cast<std::uint32_t>(names_.size()));
  return entry->second;
}

std::uint32_t FeatureScan::own_name(std::int64_t domain_id) {
  const auto found = domain_index_.find(domain_id);
  if (found == domain_index_.end()) {
    return intern("");  // no name: never an NS target (empty targets are not kept)
  }
  auto& id = own_names_[static_cast<std::size_t>(found->second)];
  if (id == kNone) {
    id = intern(domains_[static_cast<std::size_t>(found->second)].second);
  }
  return id;
}

void FeatureScan::add_set_record(std::int64_t domain_id, std::int64_t set_id, std::int32_t ord,
                                 Section section, std::string_view owner, std::uint16_t type,
                                 std::int64_t ttl_offset, const std::optional<IpAddress>& address,
                                 std::string_view target, const std::optional<SoaRecord>& soa,
                                 std::int64_t set_ttl) {
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
  // A set's records mostly arrive together.
  if (last_set_ == kNone || set_keys_[last_set_] != key) {
    const auto [entry, fresh] =
        set_index_.try_emplace(key, static_cast<std::uint32_t>(set_keys_.size()));
    if (fresh) {
      set_keys_.push_back(key);
      set_ttls_.push_back(set_ttl);
    }
    last_set_ = entry->second;
  }
  SetRecord record{ttl_offset, last_set_, ord, 0, 0, IpAddress(), kind};
  if (kind == kNs) {
    record.name = intern(target);
  } else if (kind == kSoa) {
    record.serial = soa->serial;
  } else {
    record.address = *address;
    record.name = owner.empty() ? own_name(domain_id) : intern(owner);
  }
  set_records_.push_back(record);
}

void FeatureScan::add_probe(std::int64_t probe_id, std::int64_t domain_id, RrType qtype,
                            std::int64_t sent_at_us, bool own, std::optional<std::int64_t> set_id,
                            std::optional<std::int64_t> ttl,
                            const std::vector<std::optional<std::int64_t>>& ttls) {
  // domain_index_ is complete before any probe arrives: reading it here is safe while
  // another thread adds set records.
  std::int32_t domain = -1;
  if (own) {
    if (const auto found = domain_index_.find(domain_id); found != domain_index_.end()) {
      domain = found->second;
    }
  }
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
  probes_.push_back({probe_id, sent_at_us, set_id.value_or(kNoSet), ttl.value_or(kNoTtl), domain,
                     qtype_code(qtype), has_ttls});
}

void FeatureScan::resolve_probes() {
  referenced_.assign(set_keys_.size(), false);
  const auto index_of = [&](std::int64_t domain_id, std::int64_t set_id) {
    const auto found = set_index_.find({domain_id, set_id});
    return found == set_index_.end() ? kNone : found->second;
  };
  for (const auto& [domain_id, set_id] : other_sets_) {
    if (const auto set = index_of(domain_id, set_id); set != kNone) {
      referenced_[set] = true;  // its host addresses count, whoever's probe it is
    }
  }
  // Probes come sorted by domain: a domain's probes mostly get the set of one of its two
  // previous probes (its A set and its NS set), so those are asked first.
  std::array<std::pair<std::int64_t, std::uint32_t>, 2> recent{};  // (set id, index)
  std::int32_t recent_domain = -1;
  for (Probe& probe : probes_) {
    if (probe.domain != recent_domain) {
      recent_domain = probe.domain;
      recent = {std::pair{kNoSet, kNone}, std::pair{kNoSet, kNone}};
    }
    std::uint32_t set = kNone;
    if (probe.set == kNoSet) {
      set = kNone;
    } else if (probe.set == recent[0].first) {
      set = recent[0].second;
    } else if (probe.set == recent[1].first) {
      set = recent[1].second;
      std::swap(recent[0], recent[1]);
    } else {
      set = index_of(domains_[static_cast<std::size_t>(probe.domain)].first, probe.set);
      recent[1] = recent[0];
      recent[0] = {probe.set, set};
    }
    if (set != kNone) {
      referenced_[set] = true;
    }
    probe.set = set;
    if (probe.ttl == kNoTtl) {
      probe.ttl = set != kNone ? set_ttls_[set] : 0;
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

FeatureScan::SetIndex FeatureScan::index_sets() {
  std::ranges::sort(set_records_, [](const SetRecord& a, const SetRecord& b) {
    return std::tie(a.set, a.kind, a.address, a.name, a.ord) <
           std::tie(b.set, b.kind, b.address, b.name, b.ord);
  });
  SetIndex index;
  const std::size_t sets = set_keys_.size();
  index.a_begin.resize(sets + 1);
  index.aaaa_begin.resize(sets + 1);
  index.ns_begin.resize(sets + 1);
  index.distinct_a.resize(sets);
  index.distinct_aaaa.resize(sets);
  index.serial.resize(sets);
  const auto add = [](auto& items, std::uint32_t begin, std::uint32_t& distinct, auto value,
                      const SetRecord& r) {
    if (items.size() == begin || items.back().value != value) {
      ++distinct;
    }
    items.push_back({value, r.ord, r.ttl_offset});
  };
  std::size_t at = 0;
  for (std::uint32_t s = 0; s < sets; ++s) {
    index.a_begin[s] = static_cast<std::uint32_t>(index.a_items.size());
    index.aaaa_begin[s] = static_cast<std::uint32_t>(index.aaaa_items.size());
    index.ns_begin[s] = static_cast<std::uint32_t>(index.ns_items.size());
    std::uint32_t ns_distinct = 0;
    for (; at < set_records_.size() && set_records_[at].set == s; ++at) {
      const SetRecord& r = set_records_[at];
      if (r.kind == kAnswerA) {
        add(index.a_items, index.a_begin[s], index.distinct_a[s], r.address, r);
      } else if (r.kind == kAnswerAaaa) {
        add(index.aaaa_items, index.aaaa_begin[s], index.distinct_aaaa[s], r.address, r);
      } else if (r.kind == kNs) {
        add(index.ns_items, index.ns_begin[s], ns_distinct, r.name, r);
      } else if (r.kind == kSoa) {
        const std::int64_t serial = r.serial;
        index.serial[s] = std::min(index.serial[s].value_or(serial), serial);
      }
    }
  }
  index.a_begin[sets] = static_cast<std::uint32_t>(index.a_items.size());
  index.aaaa_begin[sets] = static_cast<std::uint32_t>(index.aaaa_items.size());
  index.ns_begin[sets] = static_cast<std::uint32_t>(index.ns_items.size());
  return index;
}

std::vector<std::pair<std::int64_t, Features>> FeatureScan::finish() {
  // The domain's probes in time order (ties by id), domains in output order: every later
  // pass walks domains and probes in this order.
  std::ranges::sort(probes_, [](const Probe& a, const Probe& b) {
    return std::tie(a.domain, a.sent_at_us, a.probe_id) <
           std::tie(b.domain, b.sent_at_us, b.probe_id);
  });
  resolve_probes();
  const SetIndex sets = index_sets();

  // Addresses of each name that is an NS target in some domain's answers, from the address
  // records (answer or additional) of every set a probe of the window got.
  std::vector<bool> is_ns_name(names_.size(), false);
  std::vector<bool> seen_set(set_keys_.size(), false);
  for (const Probe& probe : probes_) {
    const auto s = resolved_set(probe);
    if (s != kNone && !seen_set[s]) {
      seen_set[s] = true;
      for (auto i = sets.ns_begin[s]; i < sets.ns_begin[s + 1]; ++i) {
        is_ns_name[sets.ns_items[i].value] = true;
      }
    }
  }
  std::vector<std::vector<IpAddress>> name_addresses(names_.size());
  for (const SetRecord& r : set_records_) {
    if (referenced_[r.set] && r.kind <= kHostOnly && is_ns_name[r.name]) {
      name_addresses[r.name].push_back(r.address);
    }
  }
  set_records_.clear();
  set_records_.shrink_to_fit();
  for (auto& list : name_addresses) {
    sort_unique(list);
  }

  std::vector<std::pair<std::int64_t, Features>> out;
  out.reserve(domains_.size());
  std::size_t probe_at = 0;
  for (std::int32_t d = 0; d < static_cast<std::int32_t>(domains_.size()); ++d) {
    out.emplace_back(domains_[static_cast<std::size_t>(d)].first,
                     features_of(d, probe_at, sets, name_addresses));
  }
  return out;
}

Features FeatureScan::features_of(std::int32_t domain, std::size_t& probe_at, const SetIndex& sets,
                                  const std::vector<std::vector<IpAddress>>& name_addresses) const {
  Features f;
  const std::size_t begin = probe_at;
  while (probe_at < probes_.size() && probes_[probe_at].domain == domain) {
    f.probes += 1;
    f.address_probes += probes_[probe_at].qtype != kOther ? 1 : 0;
    ++probe_at;
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

  for (std::size_t i = begin; i < probe_at; ++i) {
    const Probe& probe = probes_[i];
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
  std::vector<IpAddress> distinct;
  for (const auto& [s, type] : lookup_sets) {
    const bool v4 = type == kA;
    const auto& items = v4 ? sets.a_items : sets.aaaa_items;
    const auto& starts = v4 ? sets.a_begin : sets.aaaa_begin;
    for (auto k = starts[s]; k < starts[s + 1]; ++k) {
      distinct.push_back(items[k].value);
    }
  }
  sort_unique(distinct);
  std::vector<std::int64_t> asns;
  std::vector<std::int64_t> v4_asns;
  std::vector<std::int64_t> per_country(countries_.size(), 0);
  std::vector<IpAddress> prefixes;
  std::vector<LatLon> points;
  for (const auto& address : distinct) {
    const bool v4 = address.is_v4();
    (v4 ? f.ipv4_addresses : f.ipv6_addresses) += 1;
    prefixes.push_back(address_prefix(address));
    const auto found = geo_.find(address);
    if (found == geo_.end()) {
      continue;
    }
    const Geo& geo = found->second;
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
  std::vector<IpAddress> ns_addresses;
  for (const auto name : ns_names) {
    const auto& list = name_addresses[name];
    ns_addresses.insert(ns_addresses.end(), list.begin(), list.end());
  }
  sort_unique(ns_addresses);
  std::vector<std::int64_t> ns_asns;
  for (const auto& address : ns_addresses) {
    if (const auto found = geo_.find(address); found != geo_.end() && found->second.asn) {
      ns_asns.push_back(*found->second.asn);
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
