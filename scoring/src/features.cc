// The reference implementation of the features (see features.h). The streaming scan
// (FeatureScan, feature_scan.cc) computes the same values for every domain in one pass; keep
// both in step (tests/unit/scoring/feature_scan_test.cc and the integration tests compare them).
#include "fluxwatch/scoring/features.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <numbers>
#include <set>
#include <tuple>

namespace fluxwatch::scoring {
namespace {

constexpr double kEarthRadiusKm = 6371.0088;  // IUGG mean earth radius

struct Vec3 {
  double x = 0;
  double y = 0;
  double z = 0;
};

Vec3 unit_vector(LatLon point) {
  const double lat = point.latitude * std::numbers::pi / 180.0;
  const double lon = point.longitude * std::numbers::pi / 180.0;
  return {std::cos(lat) * std::cos(lon), std::cos(lat) * std::sin(lon), std::sin(lat)};
}

/// Angle (radians) between two vectors, atan2(|a x b|, a . b): accurate for small angles
/// and independent of the vectors' lengths.
double angle(Vec3 a, Vec3 b) {
  const Vec3 cross{a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x};
  const double dot = a.x * b.x + a.y * b.y + a.z * b.z;
  return std::atan2(std::sqrt(cross.x * cross.x + cross.y * cross.y + cross.z * cross.z), dot);
}

bool is_address_type(RrType type) { return type == RrType::A || type == RrType::AAAA; }

bool is_address_record(const StoredProbe& probe, const Record& record) {
  return is_address_type(probe.qtype) && record.section == Section::Answer &&
         record.is(probe.qtype) && record.address;
}

std::int64_t lower_median(std::vector<std::int64_t> values) {
  std::ranges::sort(values);
  return values[(values.size() - 1) / 2];
}

/// Ratio of consecutive set pairs that differ, over sequences already in probe order.
struct ChangeStats {
  double new_fraction_sum = 0;
  std::int64_t changed = 0;
  std::int64_t pairs = 0;
};

template <typename T>
void add_sequence(const std::vector<std::set<T>>& sets, ChangeStats& stats) {
  for (std::size_t i = 1; i < sets.size(); ++i) {
    const auto& current = sets[i];
    const auto& previous = sets[i - 1];
    const auto fresh =
        std::ranges::count_if(current, [&](const T& item) { return !previous.contains(item); });
    stats.new_fraction_sum += static_cast<double>(fresh) / static_cast<double>(current.size());
    stats.changed += current != previous ? 1 : 0;
    ++stats.pairs;
  }
}

}  // namespace

std::optional<IpAddress> parse_inet_host(std::string_view text) {
  if (const auto slash = text.find('/'); slash != std::string_view::npos) {
    const auto length = text.substr(slash + 1);
    text = text.substr(0, slash);
    const bool v6 = text.find(':') != std::string_view::npos;
    if (length != (v6 ? "128" : "32")) {
      return std::nullopt;  // a network, not a host address
    }
  }
  return IpAddress::parse(text);
}

std::uint16_t stored_rrtype(std::string_view text) {
  const auto type = parse_rrtype(text);
  return type ? static_cast<std::uint16_t>(*type) : 0;
}

std::optional<Record> Record::from_columns(std::string_view section, std::string owner,
                                           std::string_view rtype, std::int64_t ttl,
                                           std::string_view address, std::string target) {
  const auto stored_section = parse_section(section);
  if (!stored_section) {
    return std::nullopt;
  }
  Record record{*stored_section,          std::move(owner),  stored_rrtype(rtype), ttl,
                parse_inet_host(address), std::move(target), std::nullopt};
  if (record.is(RrType::SOA)) {
    record.soa = SoaRecord::parse(record.target);
  }
  return record;
}

IpAddress address_prefix(const IpAddress& address) {
  return address.network(address.is_v4() ? 16 : 32);
}

double entropy_bits(const std::vector<std::int64_t>& counts) {
  double total = 0;
  for (const auto count : counts) {
    total += static_cast<double>(count);
  }
  double sum = 0;
  for (const auto count : counts) {
    if (count > 0) {
      const double p = static_cast<double>(count) / total;
      sum += p * std::log(p);
    }
  }
  return 0.0 - sum / std::numbers::ln2;
}

double great_circle_km(LatLon a, LatLon b) {
  return kEarthRadiusKm * angle(unit_vector(a), unit_vector(b));
}

std::optional<double> mean_distance_from_centroid_km(const std::vector<LatLon>& points) {
  if (points.empty()) {
    return std::nullopt;
  }
  Vec3 sum;
  for (const auto& point : points) {
    const auto v = unit_vector(point);
    sum.x += v.x;
    sum.y += v.y;
    sum.z += v.z;
  }
  double total = 0;
  for (const auto& point : points) {
    total += kEarthRadiusKm * angle(unit_vector(point), sum);
  }
  return total / static_cast<double>(points.size());
}

Features compute_features(const std::vector<StoredProbe>& domain_probes,
                          const std::vector<StoredProbe>& other_probes, const GeoTable& geo) {
  Features f;
  std::vector<const StoredProbe*> ordered;
  ordered.reserve(domain_probes.size());
  for (const auto& probe : domain_probes) {
    ordered.push_back(&probe);
  }
  std::ranges::sort(ordered, [](const StoredProbe* a, const StoredProbe* b) {
    return std::tie(a->sent_at, a->probe_id) < std::tie(b->sent_at, b->probe_id);
  });

  f.probes = static_cast<std::int64_t>(ordered.size());
  std::set<IpAddress> v4;
  std::set<IpAddress> v6;
  std::vector<std::int64_t> ttls;
  std::vector<std::int64_t> ns_ttls;
  std::set<std::string> ns_names;
  std::vector<std::set<IpAddress>> a_sets;
  std::vector<std::set<IpAddress>> aaaa_sets;
  std::vector<std::set<std::string>> ns_sets;
  std::vector<std::int64_t> serials;

  for (const StoredProbe* probe : ordered) {
    const bool address_probe = is_address_type(probe->qtype);
    f.address_probes += address_probe ? 1 : 0;
    std::set<IpAddress> addresses;
    std::set<std::string> ns_set;
    std::optional<std::int64_t> serial;
    for (const auto& record : probe->records) {
      if (is_address_record(*probe, record)) {
        addresses.insert(*record.address);
        (probe->qtype == RrType::A ? v4 : v6).insert(*record.address);
        ttls.push_back(record.ttl);
      }
      if (record.is(RrType::NS) && record.section == Section::Answer && !record.target.empty()) {
        ns_set.insert(record.target);
        ns_names.insert(record.target);
        ns_ttls.push_back(record.ttl);
      }
      if (record.is(RrType::SOA) && record.soa) {
        const std::int64_t value = record.soa->serial;
        serial = serial ? std::min(*serial, value) : value;
      }
    }
    if (!addresses.empty()) {
      f.max_answer_size = std::max(f.max_answer_size, static_cast<std::int64_t>(addresses.size()));
      (probe->qtype == RrType::A ? a_sets : aaaa_sets).push_back(std::move(addresses));
    }
    if (!ns_set.empty()) {
      ns_sets.push_back(std::move(ns_set));
    }
    if (serial) {
      serials.push_back(*serial);
    }
  }

  f.answered_lookups = static_cast<std::int64_t>(std::max(a_sets.size(), aaaa_sets.size()));
  f.ipv4_addresses = static_cast<std::int64_t>(v4.size());
  f.ipv6_addresses = static_cast<std::int64_t>(v6.size());

  // Enrichment of the distinct addresses.
  std::set<std::int64_t> asns;
  std::set<std::int64_t> v4_asns;
  std::map<std::string, std::int64_t> per_country;
  std::set<IpAddress> prefixes;
  std::vector<LatLon> points;
  for (const auto* family : {&v4, &v6}) {
    for (const auto& address : *family) {
      prefixes.insert(address_prefix(address));
      const auto found = geo.find(address);
      if (found == geo.end()) {
        continue;
      }
      const AddressInfo& info = found->second;
      if (info.asn) {
        asns.insert(*info.asn);
        if (family == &v4) {
          v4_asns.insert(*info.asn);
        }
      }
      if (info.country) {
        ++per_country[*info.country];
      }
      if (info.latitude && info.longitude) {
        points.push_back({*info.latitude, *info.longitude});
      }
    }
  }
  f.asns = static_cast<std::int64_t>(asns.size());
  f.ipv4_asns = static_cast<std::int64_t>(v4_asns.size());
  f.countries = static_cast<std::int64_t>(per_country.size());
  f.prefixes = static_cast<std::int64_t>(prefixes.size());
  if (!per_country.empty()) {
    std::vector<std::int64_t> counts;
    for (const auto& [country, count] : per_country) {
      counts.push_back(count);
    }
    f.country_entropy = entropy_bits(counts);
  }
  f.geo_dispersion_km = mean_distance_from_centroid_km(points);

  if (!ttls.empty()) {
    f.min_ttl = *std::ranges::min_element(ttls);
    f.median_ttl = lower_median(ttls);
  }
  if (!ns_ttls.empty()) {
    f.ns_min_ttl = *std::ranges::min_element(ns_ttls);
    f.ns_median_ttl = lower_median(ns_ttls);
  }

  ChangeStats change;
  add_sequence(a_sets, change);
  add_sequence(aaaa_sets, change);
  if (change.pairs > 0) {
    f.new_address_ratio = change.new_fraction_sum / static_cast<double>(change.pairs);
    f.set_change_ratio = static_cast<double>(change.changed) / static_cast<double>(change.pairs);
  }
  ChangeStats ns_change;
  add_sequence(ns_sets, ns_change);
  if (ns_change.pairs > 0) {
    f.ns_change_ratio =
        static_cast<double>(ns_change.changed) / static_cast<double>(ns_change.pairs);
  }
  if (!serials.empty()) {
    std::int64_t changes = 0;
    for (std::size_t i = 1; i < serials.size(); ++i) {
      changes += serials[i] != serials[i - 1] ? 1 : 0;
    }
    f.soa_serial_changes = changes;
  }

  // Double flux: the addresses behind the NS names, from glue (additional section) or from
  // probes of the NS host names themselves, in the domain's probes or any other of the window.
  f.ns_names = static_cast<std::int64_t>(ns_names.size());
  std::set<IpAddress> ns_addresses;
  for (const auto* list : {&domain_probes, &other_probes}) {
    for (const auto& probe : *list) {
      for (const auto& record : probe.records) {
        if ((record.is(RrType::A) || record.is(RrType::AAAA)) && record.address &&
            (record.section == Section::Answer || record.section == Section::Additional) &&
            ns_names.contains(record.owner)) {
          ns_addresses.insert(*record.address);
        }
      }
    }
  }
  std::set<std::int64_t> ns_asns;
  for (const auto& address : ns_addresses) {
    if (const auto found = geo.find(address); found != geo.end() && found->second.asn) {
      ns_asns.insert(*found->second.asn);
    }
  }
  f.ns_addresses = static_cast<std::int64_t>(ns_addresses.size());
  f.ns_asns = static_cast<std::int64_t>(ns_asns.size());
  return f;
}

}  // namespace fluxwatch::scoring
