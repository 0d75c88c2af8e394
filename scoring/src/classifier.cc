#include "fluxwatch/scoring/classifier.h"

#include <fmt/format.h>

#include <array>
#include <utility>

namespace fluxwatch::scoring {
namespace {

constexpr std::array<std::pair<Label, std::string_view>, 6> kLabels{{
    {Label::InsufficientData, "insufficient_data"},
    {Label::DoubleFlux, "double_flux"},
    {Label::FastFlux, "fast_flux"},
    {Label::CdnLike, "cdn_like"},
    {Label::RoundRobin, "round_robin"},
    {Label::Stable, "stable"},
}};

std::string ratio_text(const std::optional<double>& ratio) {
  return ratio ? fmt::format("{:.2f}", *ratio) : std::string("n/a");
}

std::string ttl_text(const std::optional<std::int64_t>& ttl) {
  return ttl ? fmt::format("{} s", *ttl) : std::string("n/a");
}

}  // namespace

double holz_score(const HolzModel& model, double n_a, double n_asn, double n_ns) noexcept {
  return model.w_a * n_a + model.w_asn * n_asn + model.w_ns * n_ns - model.bias;
}

double holz_score(const HolzModel& model, const Features& features) noexcept {
  return holz_score(model, static_cast<double>(features.ipv4_addresses),
                    static_cast<double>(features.ipv4_asns),
                    static_cast<double>(features.ns_names));
}

std::string_view label_name(Label label) noexcept {
  for (const auto& [value, name] : kLabels) {
    if (value == label) {
      return name;
    }
  }
  return "insufficient_data";
}

std::optional<Label> parse_label(std::string_view text) noexcept {
  for (const auto& [value, name] : kLabels) {
    if (name == text) {
      return value;
    }
  }
  return std::nullopt;
}

Verdict classify(const Features& f, const Thresholds& t, const HolzModel& model) {
  Verdict verdict;
  verdict.holz_score = holz_score(model, f);
  verdict.holz_flux = verdict.holz_score > 0;
  auto& reasons = verdict.reasons;
  const std::string holz =
      fmt::format("Holz flux-score {:.2f} ({} flux): {} x nA={} + {} x nASN={} + {} x nNS={} - {}",
                  verdict.holz_score, verdict.holz_flux ? "says" : "says not", model.w_a,
                  f.ipv4_addresses, model.w_asn, f.ipv4_asns, model.w_ns, f.ns_names, model.bias);

  if (f.answered_lookups < t.min_lookups) {
    verdict.label = Label::InsufficientData;
    reasons.push_back(
        fmt::format("{} answered lookup{} (A or AAAA) of {} needed; {} probe{} in "
                    "the window, {} of them A/AAAA",
                    f.answered_lookups, f.answered_lookups == 1 ? "" : "s", t.min_lookups, f.probes,
                    f.probes == 1 ? "" : "s", f.address_probes));
    reasons.push_back(holz);
    return verdict;
  }

  const auto changes = f.set_change_ratio.value_or(0.0);
  const bool many_addresses = f.addresses() >= t.flux_min_addresses;
  const bool many_asns = f.asns >= t.flux_min_asns;
  const bool short_ttl = f.min_ttl && *f.min_ttl <= t.flux_max_ttl;
  const bool rotating = changes >= t.flux_min_change_ratio;
  if (many_addresses && many_asns && short_ttl && rotating) {
    reasons.push_back(
        fmt::format("{} distinct addresses (>= {}) in {} ASNs (>= {}) and {} "
                    "countries",
                    f.addresses(), t.flux_min_addresses, f.asns, t.flux_min_asns, f.countries));
    reasons.push_back(fmt::format("minimum TTL {} (<= {} s)", ttl_text(f.min_ttl), t.flux_max_ttl));
    reasons.push_back(fmt::format(
        "address set changed in {} of consecutive lookups (>= {:.2f}); "
        "{} of the addresses were new each time on average",
        ratio_text(f.set_change_ratio), t.flux_min_change_ratio, ratio_text(f.new_address_ratio)));
    const bool ns_rotating = f.ns_names >= t.double_flux_min_ns_names &&
                             f.ns_change_ratio.value_or(0.0) >= t.double_flux_min_ns_change_ratio;
    const bool ns_fluxing =
        f.ns_addresses >= t.double_flux_min_ns_addresses && f.ns_asns >= t.double_flux_min_ns_asns;
    if (ns_rotating || ns_fluxing) {
      verdict.label = Label::DoubleFlux;
      if (ns_rotating) {
        reasons.push_back(fmt::format(
            "{} distinct NS names (>= {}), NS set changed in {} of consecutive NS answers "
            "(>= {:.2f})",
            f.ns_names, t.double_flux_min_ns_names, ratio_text(f.ns_change_ratio),
            t.double_flux_min_ns_change_ratio));
      }
      if (ns_fluxing) {
        reasons.push_back(fmt::format(
            "the NS names resolved to {} addresses (>= {}) in {} ASNs "
            "(>= {})",
            f.ns_addresses, t.double_flux_min_ns_addresses, f.ns_asns, t.double_flux_min_ns_asns));
      }
    } else {
      verdict.label = Label::FastFlux;
      reasons.push_back(
          fmt::format("NS side not fluxing: {} NS names, NS change ratio {}, {} NS "
                      "addresses in {} ASNs",
                      f.ns_names, ratio_text(f.ns_change_ratio), f.ns_addresses, f.ns_asns));
    }
    reasons.push_back(holz);
    return verdict;
  }

  // Without any known ASN (no GeoIP data) nothing says "one network": not cdn_like.
  if (f.addresses() >= t.cdn_min_addresses && f.asns >= 1 && f.asns <= t.cdn_max_asns &&
      changes > 0) {
    verdict.label = Label::CdnLike;
    reasons.push_back(fmt::format("{} distinct addresses (>= {}) but only {} ASN{} (<= {})",
                                  f.addresses(), t.cdn_min_addresses, f.asns,
                                  f.asns == 1 ? "" : "s", t.cdn_max_asns));
    reasons.push_back(
        fmt::format("address set changed in {} of consecutive lookups; minimum TTL {}",
                    ratio_text(f.set_change_ratio), ttl_text(f.min_ttl)));
    reasons.push_back(holz);
    return verdict;
  }

  if (changes == 0 && f.max_answer_size >= t.round_robin_min_answer &&
      f.addresses() <= t.round_robin_max_addresses) {
    verdict.label = Label::RoundRobin;
    reasons.push_back(
        fmt::format("the same {} address{} in every lookup ({} answered), {} "
                    "per answer (>= {})",
                    f.addresses(), f.addresses() == 1 ? "" : "es", f.answered_lookups,
                    f.max_answer_size, t.round_robin_min_answer));
    reasons.push_back(fmt::format("minimum TTL {}", ttl_text(f.min_ttl)));
    reasons.push_back(holz);
    return verdict;
  }

  verdict.label = Label::Stable;
  if (changes == 0) {
    reasons.push_back(fmt::format("the same {} address{} in all {} answered lookups", f.addresses(),
                                  f.addresses() == 1 ? "" : "es", f.answered_lookups));
  } else {
    std::string missing;
    const auto add = [&](bool met, std::string_view what) {
      if (!met) {
        missing += fmt::format("{}{}", missing.empty() ? "" : ", ", what);
      }
    };
    add(many_addresses, fmt::format("addresses {} < {}", f.addresses(), t.flux_min_addresses));
    add(many_asns, fmt::format("ASNs {} < {}", f.asns, t.flux_min_asns));
    add(short_ttl, fmt::format("minimum TTL {} > {} s", ttl_text(f.min_ttl), t.flux_max_ttl));
    add(rotating, fmt::format("change ratio {} < {:.2f}", ratio_text(f.set_change_ratio),
                              t.flux_min_change_ratio));
    reasons.push_back(fmt::format("addresses change (ratio {}) but not like fast flux: {}",
                                  ratio_text(f.set_change_ratio), missing));
  }
  reasons.push_back(fmt::format("minimum TTL {}", ttl_text(f.min_ttl)));
  reasons.push_back(holz);
  return verdict;
}

}  // namespace fluxwatch::scoring
