#pragma once
/// The models that turn Features into a verdict: the flux-score of Holz, Gorecki, Rieck and
/// Freiling ("Measuring and Detecting Fast-Flux Service Networks", NDSS 2008) and a
/// rule-based classifier that names a label and says why.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fluxwatch/scoring/features.h"

namespace fluxwatch::scoring {

/**
 * The Holz et al. linear model f(x) = w^T x - b with x = (nA, nASN, nNS); a domain is flux
 * when f(x) > 0. Defaults are the weights and bias published in the paper (section 4.2):
 * w = (1.32, 18.54, 0), b = 142.38.
 */
struct HolzModel {
  double w_a = 1.32;     ///< weight of nA, distinct A addresses
  double w_asn = 18.54;  ///< weight of nASN, distinct ASNs of those addresses
  double w_ns = 0.0;     ///< weight of nNS, NS records
  double bias = 142.38;  ///< b
  bool operator==(const HolzModel&) const = default;
};

/// f(x) = w_a * n_a + w_asn * n_asn + w_ns * n_ns - bias.
[[nodiscard]] double holz_score(const HolzModel& model, double n_a, double n_asn,
                                double n_ns) noexcept;
/// The flux-score of `features`: nA = ipv4_addresses, nASN = ipv4_asns, nNS = ns_names.
[[nodiscard]] double holz_score(const HolzModel& model, const Features& features) noexcept;

/// The labels, in the order the rules are tried (after insufficient_data).
enum class Label { InsufficientData, DoubleFlux, FastFlux, CdnLike, RoundRobin, Stable };

/// "fast_flux", "double_flux", "cdn_like", "round_robin", "stable", "insufficient_data".
[[nodiscard]] std::string_view label_name(Label label) noexcept;
[[nodiscard]] std::optional<Label> parse_label(std::string_view text) noexcept;
/// True for FastFlux and DoubleFlux.
[[nodiscard]] constexpr bool is_flux(Label label) noexcept {
  return label == Label::FastFlux || label == Label::DoubleFlux;
}

/// Thresholds of the rules (YAML `scoring:`; defaults documented in README.md).
struct Thresholds {
  std::int64_t min_lookups = 3;               ///< fewer answered lookups: insufficient_data
  std::int64_t flux_min_addresses = 6;        ///< fast flux: at least this many distinct addresses
  std::int64_t flux_min_asns = 3;             ///< ... in at least this many ASNs
  std::int64_t flux_max_ttl = 300;            ///< ... with a minimum TTL of at most this (s)
  double flux_min_change_ratio = 0.5;         ///< ... and the address set changing this often
  std::int64_t double_flux_min_ns_names = 4;  ///< double flux: this many NS names ...
  double double_flux_min_ns_change_ratio = 0.3;   ///< ... with the NS set changing this often,
  std::int64_t double_flux_min_ns_addresses = 6;  ///< or this many NS host addresses ...
  std::int64_t double_flux_min_ns_asns = 3;       ///< ... in this many ASNs
  std::int64_t cdn_min_addresses = 4;             ///< cdn_like: at least this many addresses ...
  std::int64_t cdn_max_asns = 2;                  ///< ... in at most this many ASNs, set changing
  std::int64_t round_robin_min_answer = 2;        ///< round_robin: a stable set of >= this many
  std::int64_t round_robin_max_addresses = 16;    ///< ... and at most this many addresses
  bool operator==(const Thresholds&) const = default;
};

/// A label with the reasons that decided it (human-readable, one fact each) and the score.
struct Verdict {
  Label label = Label::InsufficientData;
  std::vector<std::string> reasons;
  double holz_score = 0;
  bool holz_flux = false;  ///< holz_score > 0
  bool operator==(const Verdict&) const = default;
};

/// Applies the rules in order: insufficient_data, double_flux/fast_flux, cdn_like,
/// round_robin, stable (the fallback). The Holz score is reported and explained, but does
/// not decide the label.
[[nodiscard]] Verdict classify(const Features& features, const Thresholds& thresholds,
                               const HolzModel& model);

}  // namespace fluxwatch::scoring
