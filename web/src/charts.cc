#include "fluxwatch/web/charts.h"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>
#include <tuple>
#include <unordered_map>
#include <unordered_set>

namespace fluxwatch::web {

Timeline make_timeline(const std::vector<Sighting>& sightings) {
  // ASN and country of each address: the newest enrichment (the same for every sighting).
  std::map<std::string, const Sighting*> first_of;
  for (const auto& s : sightings) {
    first_of.emplace(s.address, &s);
  }
  std::vector<const Sighting*> rows;
  rows.reserve(first_of.size());
  for (const auto& [address, s] : first_of) {
    rows.push_back(s);
  }
  // Grouped by ASN (unknown last), then by address.
  std::ranges::stable_sort(rows, [](const Sighting* a, const Sighting* b) {
    const auto key = [](const Sighting* s) {
      return std::make_tuple(!s->asn.has_value(), s->asn.value_or(0));
    };
    return key(a) < key(b);
  });
  Timeline timeline;
  std::unordered_map<std::string, std::size_t> row_of;
  for (const auto* s : rows) {
    row_of.emplace(s->address, timeline.rows.size());
    timeline.rows.push_back({s->address, s->asn, s->country});
  }
  timeline.marks.reserve(sightings.size());
  for (const auto& s : sightings) {
    timeline.marks.push_back({s.sent_at, row_of.at(s.address)});
  }
  return timeline;
}

std::vector<GrowthPoint> make_growth(const std::vector<Sighting>& sightings) {
  std::vector<GrowthPoint> points;
  std::unordered_set<std::string> addresses;
  std::set<std::int64_t> asns;
  std::optional<std::int64_t> current;
  for (const auto& s : sightings) {
    if (current != s.probe_id) {
      current = s.probe_id;
      points.push_back({points.size() + 1, s.sent_at, 0, 0, s.ttl});
    }
    addresses.insert(s.address);
    if (s.asn) {
      asns.insert(*s.asn);
    }
    auto& point = points.back();
    point.addresses = addresses.size();
    point.asns = asns.size();
    point.min_ttl = std::min(point.min_ttl, s.ttl);
  }
  return points;
}

std::vector<CountryCount> count_countries(const std::vector<Sighting>& sightings) {
  std::map<std::string, std::unordered_set<std::string>> per_country;
  for (const auto& s : sightings) {
    per_country[s.country.empty() ? "??" : s.country].insert(s.address);
  }
  std::vector<CountryCount> counts;
  for (const auto& [country, addresses] : per_country) {
    counts.push_back({country, addresses.size()});
  }
  std::ranges::stable_sort(counts,
                           [](const auto& a, const auto& b) { return a.addresses > b.addresses; });
  return counts;
}

std::vector<NsSet> ns_changes(const std::vector<NsSet>& history) {
  std::vector<NsSet> changes;
  std::map<std::string, const std::vector<std::string>*> previous;
  for (const auto& set : history) {
    auto [it, first] = previous.try_emplace(set.zone, &set.ns_names);
    if (first || *it->second != set.ns_names) {
      changes.push_back(set);
    }
    it->second = &set.ns_names;
  }
  return changes;
}

std::vector<SoaSerial> soa_changes(const std::vector<SoaSerial>& history) {
  std::vector<SoaSerial> changes;
  std::map<std::pair<std::string, std::string>, std::optional<std::int64_t>> previous;
  for (const auto& soa : history) {
    auto [it, first] = previous.try_emplace({soa.zone, soa.server_name}, soa.serial);
    if (first || it->second != soa.serial) {
      changes.push_back(soa);
    }
    it->second = soa.serial;
  }
  return changes;
}

std::string country_colour(const std::string& country) {
  // A fixed palette indexed by a hash of the code: readable colours, stable across runs.
  static constexpr const char* kPalette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                             "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
                                             "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173",
                                             "#3182bd", "#e6550d", "#31a354", "#756bb1", "#636363"};
  if (country.empty() || country == "??") {
    return "#999999";
  }
  std::uint32_t hash = 2166136261U;  // FNV-1a
  for (unsigned char c : country) {
    hash = (hash ^ c) * 16777619U;
  }
  return kPalette[hash % std::size(kPalette)];
}

std::string iso_time(TimePoint when) {
  return fmt::format("{:%Y-%m-%dT%H:%M:%SZ}",
                     std::chrono::time_point_cast<std::chrono::seconds>(when));
}

std::int64_t epoch_ms(TimePoint when) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(when.time_since_epoch()).count();
}

}  // namespace fluxwatch::web
