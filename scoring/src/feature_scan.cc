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
};

template <typename T>
void sort_unique(std::vector<T>& values) {
  std::ranges::sort(values);
  values.erase(std::unique(values.begin(), values.end()), values.end());
}

}  // namespace

void FeatureScan::add_domain(std::int64_t domain_id, std::string domain) {
  domain_index_.emplace(domain_id, static_cast<std::int32_t>(domains_.size()));
  domains_.emplace_back(domain_id, std::move(domain));
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

void FeatureScan::add_probe(std::int64_t probe_id, std::int64_t domain_id, RrType qtype,
                            std::int64_t sent_at_us, bool own) {
  std::int32_t domain = -1;
  if (own) {
    if (const auto found = domain_index_.find(domain_id); found != domain_index_.end()) {
      domain = found->second;
    }
  }
  probes_.push_back({probe_id, sent_at_us, domain, qtype_code(qtype)});
  sorted_ = false;
}

void FeatureScan::sort_probes() {
  // The domain's probes in time order (ties by id), domains in output order, the others last:
  // every later pass walks domains and probes in this order.
  std::ranges::sort(probes_, [](const Probe& a, const Probe& b) {
    const auto key = [](const Probe& p) {
      return std::tuple(p.domain < 0 ? INT32_MAX : p.domain, p.sent_at_us, p.probe_id);
    };
    return key(a) < key(b);
  });
  by_id_.clear();
  by_id_.reserve(probes_.size());
  for (std::uint32_t i = 0; i < probes_.size(); ++i) {
    by_id_.emplace_back(probes_[i].probe_id, i);
  }
  std::ranges::sort(by_id_);
  last_found_ = 0;
  sorted_ = true;
}

std::optional<std::pair<std::int64_t, std::int64_t>> FeatureScan::probe_id_range() const {
  if (probes_.empty()) {
    return std::nullopt;
  }
  const auto [low, high] = std::ranges::minmax_element(
      probes_, [](const Probe& a, const Probe& b) { return a.probe_id < b.probe_id; });
  return std::pair(low->probe_id, high->probe_id);
}

std::optional<std::uint32_t> FeatureScan::find_probe(std::int64_t probe_id) {
  // Records arrive mostly in probe order: try the last hit and its successor first.
  for (std::size_t at : {last_found_, last_found_ + 1}) {
    if (at < by_id_.size() && by_id_[at].first == probe_id) {
      last_found_ = at;
      return by_id_[at].second;
    }
  }
  const auto found = std::ranges::lower_bound(by_id_, std::pair(probe_id, std::uint32_t{0}));
  if (found == by_id_.end() || found->first != probe_id) {
    return std::nullopt;
  }
  last_found_ = static_cast<std::size_t>(found - by_id_.begin());
  return found->second;
}

std::uint32_t FeatureScan::intern(std::string_view name) {
  if (has_last_owner_ && name == last_owner_) {
    return last_owner_id_;
  }
  std::string key(name);
  const auto [entry, fresh] = names_.try_emplace(key, static_cast<std::uint32_t>(names_.size()));
  last_owner_ = std::move(key);
  last_owner_id_ = entry->second;
  has_last_owner_ = true;
  return entry->second;
}

void FeatureScan::add_record(std::int64_t probe_id, Section section, std::string_view owner,
                             std::uint16_t type, std::int64_t ttl,
                             const std::optional<IpAddress>& address, std::string_view target,
                             const std::optional<SoaRecord>& soa) {
  if (!sorted_) {
    sort_probes();
  }
  const auto index = find_probe(probe_id);
  if (!index) {
    return;  // a probe outside the window
  }
  ++records_seen_;
  const Probe& probe = probes_[*index];
  const bool address_type = is(type, RrType::A) || is(type, RrType::AAAA);
  const IpAddress* parsed = address_type && address ? &*address : nullptr;
  // Any probe of the window can tell an NS host's addresses (answer or glue).
  if (parsed != nullptr && (section == Section::Answer || section == Section::Additional)) {
    host_addresses_.push_back({intern(owner), *parsed});
  }
  if (probe.domain < 0) {
    return;
  }
  const auto ttl32 = static_cast<std::uint32_t>(ttl);
  if (parsed != nullptr && section == Section::Answer && probe.qtype != kOther &&
      is(type, probe.qtype == kA ? RrType::A : RrType::AAAA)) {
    address_records_.push_back({*index, ttl32, *parsed});
  } else if (is(type, RrType::NS) && section == Section::Answer && !target.empty()) {
    ns_records_.push_back({*index, ttl32, intern(target)});
  } else if (is(type, RrType::SOA) && soa) {
    serials_.push_back({*index, soa->serial});
  }
}

std::vector<std::pair<std::int64_t, Features>> FeatureScan::finish() {
  if (!sorted_) {
    sort_probes();
  }
  const auto by_probe = [](const auto& a, const auto& b) { return a.probe < b.probe; };
  std::ranges::sort(address_records_, [](const AddressRecord& a, const AddressRecord& b) {
    return std::tie(a.probe, a.address) < std::tie(b.probe, b.address);
  });
  std::ranges::sort(ns_records_, [](const NameRecord& a, const NameRecord& b) {
    return std::tie(a.probe, a.name) < std::tie(b.probe, b.name);
  });
  std::ranges::stable_sort(serials_, by_probe);

  // Addresses of each name that is an NS target of some domain.
  std::vector<bool> is_ns_name(names_.size(), false);
  for (const auto& record : ns_records_) {
    is_ns_name[record.name] = true;
  }
  std::vector<std::vector<IpAddress>> name_addresses(names_.size());
  for (const auto& host : host_addresses_) {
    if (is_ns_name[host.owner]) {
      name_addresses[host.owner].push_back(host.address);
    }
  }
  host_addresses_.clear();
  host_addresses_.shrink_to_fit();
  for (auto& list : name_addresses) {
    sort_unique(list);
  }

  std::vector<std::pair<std::int64_t, Features>> out;
  out.reserve(domains_.size());
  std::size_t probe_at = 0;
  std::size_t address_at = 0;
  std::size_t ns_at = 0;
  std::size_t serial_at = 0;
  for (std::int32_t d = 0; d < static_cast<std::int32_t>(domains_.size()); ++d) {
    out.emplace_back(domains_[static_cast<std::size_t>(d)].first,
                     features_of(d, probe_at, address_at, ns_at, serial_at, name_addresses));
  }
  return out;
}

Features FeatureScan::features_of(std::int32_t domain, std::size_t& probe_at,
                                  std::size_t& address_at, std::size_t& ns_at,
                                  std::size_t& serial_at,
                                  const std::vector<std::vector<IpAddress>>& name_addresses) const {
  Features f;
  while (probe_at < probes_.size() && probes_[probe_at].domain == domain) {
    f.probes += 1;
    f.address_probes += probes_[probe_at].qtype != kOther ? 1 : 0;
    ++probe_at;
  }
  const auto end = static_cast<std::uint32_t>(probe_at);

  // Lookups: the distinct addresses of each answered A/AAAA probe, in time order.
  std::array<std::vector<IpAddress>, 3> previous;  // by qtype code
  std::array<bool, 3> has_previous{};
  std::array<std::int64_t, 3> lookups{};
  ChangeStats change;
  std::vector<std::uint32_t> ttls;
  std::vector<IpAddress> distinct;
  std::vector<IpAddress> current;
  while (address_at < address_records_.size() && address_records_[address_at].probe < end) {
    const auto probe = address_records_[address_at].probe;
    current.clear();
    for (; address_at < address_records_.size() && address_records_[address_at].probe == probe;
         ++address_at) {
      const auto& record = address_records_[address_at];
      ttls.push_back(record.ttl);
      if (current.empty() || current.back() != record.address) {
        current.push_back(record.address);  // sorted by address within the probe
      }
    }
    const auto type = probes_[probe].qtype;
    ++lookups[type];
    f.max_answer_size = std::max(f.max_answer_size, static_cast<std::int64_t>(current.size()));
    distinct.insert(distinct.end(), current.begin(), current.end());
    if (has_previous[type]) {
      change.add(previous[type], current);
    }
    previous[type].swap(current);
    has_previous[type] = true;
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

  // Enrichment of the distinct addresses.
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

  // NS answers: the name set of each probe with one, in time order.
  std::vector<std::uint32_t> ns_ttls;
  std::vector<std::uint32_t> ns_names;
  std::vector<std::uint32_t> ns_previous;
  std::vector<std::uint32_t> ns_current;
  bool ns_has_previous = false;
  ChangeStats ns_change;
  while (ns_at < ns_records_.size() && ns_records_[ns_at].probe < end) {
    const auto probe = ns_records_[ns_at].probe;
    ns_current.clear();
    for (; ns_at < ns_records_.size() && ns_records_[ns_at].probe == probe; ++ns_at) {
      ns_ttls.push_back(ns_records_[ns_at].ttl);
      if (ns_current.empty() || ns_current.back() != ns_records_[ns_at].name) {
        ns_current.push_back(ns_records_[ns_at].name);
      }
    }
    ns_names.insert(ns_names.end(), ns_current.begin(), ns_current.end());
    if (ns_has_previous) {
      ns_change.add(ns_previous, ns_current);
    }
    ns_previous.swap(ns_current);
    ns_has_previous = true;
  }
  if (!ns_ttls.empty()) {
    f.ns_min_ttl = *std::ranges::min_element(ns_ttls);
    f.ns_median_ttl = lower_median(ns_ttls);
  }
  if (ns_change.pairs > 0) {
    f.ns_change_ratio =
        static_cast<double>(ns_change.changed) / static_cast<double>(ns_change.pairs);
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

  // SOA serials: the smallest per probe, changes between consecutive probes that had one.
  std::optional<std::int64_t> previous_serial;
  std::int64_t serial_changes = 0;
  while (serial_at < serials_.size() && serials_[serial_at].probe < end) {
    const auto probe = serials_[serial_at].probe;
    std::int64_t serial = serials_[serial_at].serial;
    for (; serial_at < serials_.size() && serials_[serial_at].probe == probe; ++serial_at) {
      serial = std::min(serial, serials_[serial_at].serial);
    }
    if (previous_serial && *previous_serial != serial) {
      ++serial_changes;
    }
    previous_serial = serial;
  }
  if (previous_serial) {
    f.soa_serial_changes = serial_changes;
  }
  return f;
}

}  // namespace fluxwatch::scoring
