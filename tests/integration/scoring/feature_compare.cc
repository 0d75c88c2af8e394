#include "feature_compare.h"

#include <fmt/format.h>

#include <cmath>

namespace fluxwatch::testing {
namespace {

template <typename T>
std::string text(const std::optional<T>& value) {
  return value ? fmt::format("{}", *value) : "null";
}

}  // namespace

::testing::AssertionResult same_features(const scoring::Features& a, const scoring::Features& b) {
  std::string diff;
  const auto exact = [&](const char* name, auto x, auto y) {
    if (x != y) {
      diff += fmt::format(" {}: sql {} vs reference {};", name, x, y);
    }
  };
  const auto exact_opt = [&](const char* name, const auto& x, const auto& y) {
    if (x != y) {
      diff += fmt::format(" {}: sql {} vs reference {};", name, text(x), text(y));
    }
  };
  const auto close = [&](const char* name, const std::optional<double>& x,
                         const std::optional<double>& y) {
    const bool same = x.has_value() == y.has_value() &&
                      (!x || std::fabs(*x - *y) <= 1e-9 * std::max(1.0, std::fabs(*y)));
    if (!same) {
      diff += fmt::format(" {}: sql {} vs reference {};", name, text(x), text(y));
    }
  };
  exact("probes", a.probes, b.probes);
  exact("address_probes", a.address_probes, b.address_probes);
  exact("answered_lookups", a.answered_lookups, b.answered_lookups);
  exact("max_answer_size", a.max_answer_size, b.max_answer_size);
  exact("ipv4_addresses", a.ipv4_addresses, b.ipv4_addresses);
  exact("ipv6_addresses", a.ipv6_addresses, b.ipv6_addresses);
  exact("asns", a.asns, b.asns);
  exact("ipv4_asns", a.ipv4_asns, b.ipv4_asns);
  exact("countries", a.countries, b.countries);
  exact("prefixes", a.prefixes, b.prefixes);
  close("country_entropy", a.country_entropy, b.country_entropy);
  close("geo_dispersion_km", a.geo_dispersion_km, b.geo_dispersion_km);
  exact_opt("min_ttl", a.min_ttl, b.min_ttl);
  exact_opt("median_ttl", a.median_ttl, b.median_ttl);
  exact_opt("ns_min_ttl", a.ns_min_ttl, b.ns_min_ttl);
  exact_opt("ns_median_ttl", a.ns_median_ttl, b.ns_median_ttl);
  exact("ns_names", a.ns_names, b.ns_names);
  exact("ns_addresses", a.ns_addresses, b.ns_addresses);
  exact("ns_asns", a.ns_asns, b.ns_asns);
  close("new_address_ratio", a.new_address_ratio, b.new_address_ratio);
  close("set_change_ratio", a.set_change_ratio, b.set_change_ratio);
  close("ns_change_ratio", a.ns_change_ratio, b.ns_change_ratio);
  exact_opt("soa_serial_changes", a.soa_serial_changes, b.soa_serial_changes);
  if (diff.empty()) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure() << "features differ:" << diff;
}

}  // namespace fluxwatch::testing
