// The Holz et al. flux-score against values computed by hand, and each rule of the classifier.
#include "fluxwatch/scoring/classifier.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "fluxwatch/common/error.h"
#include "fluxwatch/config/config.h"

namespace fluxwatch::scoring {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;

TEST(Holz, PublishedWeightsAndBias) {
  const HolzModel model;
  EXPECT_DOUBLE_EQ(model.w_a, 1.32);
  EXPECT_DOUBLE_EQ(model.w_asn, 18.54);
  EXPECT_DOUBLE_EQ(model.w_ns, 0.0);
  EXPECT_DOUBLE_EQ(model.bias, 142.38);
}

TEST(Holz, ScoresComputedByHand) {
  const HolzModel model;
  // Nothing seen: -142.38.
  EXPECT_NEAR(holz_score(model, 0, 0, 0), -142.38, 1e-9);
  // A benign site: 2 addresses, 1 ASN, 4 NS: 2.64 + 18.54 + 0 - 142.38 = -121.20.
  EXPECT_NEAR(holz_score(model, 2, 1, 4), -121.20, 1e-9);
  // A CDN: 40 addresses in 1 ASN: 52.80 + 18.54 - 142.38 = -71.04.
  EXPECT_NEAR(holz_score(model, 40, 1, 8), -71.04, 1e-9);
  // 10 addresses in 5 ASNs: 13.20 + 92.70 - 142.38 = -36.48 (not flux).
  EXPECT_NEAR(holz_score(model, 10, 5, 3), -36.48, 1e-9);
  // 20 addresses in 8 ASNs: 26.40 + 148.32 - 142.38 = 32.34 (flux).
  EXPECT_NEAR(holz_score(model, 20, 8, 3), 32.34, 1e-9);
  // The NS count has weight 0: it never changes the score.
  EXPECT_DOUBLE_EQ(holz_score(model, 20, 8, 0), holz_score(model, 20, 8, 100));
  // Other weights are used as given: 2*3 + 10*4 + 1*5 - 50 = 1.
  EXPECT_NEAR(holz_score(HolzModel{2, 10, 1, 50}, 3, 4, 5), 1.0, 1e-12);
}

TEST(Holz, FeaturesUseIpv4AddressesTheirAsnsAndNsNames) {
  Features f;
  f.ipv4_addresses = 20;
  f.ipv6_addresses = 64;  // not part of the 2008 model
  f.ipv4_asns = 8;
  f.asns = 12;
  f.ns_names = 3;
  EXPECT_NEAR(holz_score(HolzModel{}, f), 32.34, 1e-9);
}

/// A feature set that passes every fast-flux rule with the default thresholds.
Features flux_features() {
  Features f;
  f.probes = 12;
  f.address_probes = 8;
  f.answered_lookups = 4;
  f.max_answer_size = 5;
  f.ipv4_addresses = 18;
  f.asns = 12;
  f.ipv4_asns = 12;
  f.countries = 11;
  f.min_ttl = 30;
  f.set_change_ratio = 1.0;
  f.new_address_ratio = 0.9;
  f.ns_names = 1;
  f.ns_change_ratio = 0.0;
  return f;
}

TEST(Classifier, TooFewAnsweredLookupsIsInsufficientData) {
  auto f = flux_features();
  f.answered_lookups = 2;
  const auto v = classify(f, Thresholds{}, HolzModel{});
  EXPECT_EQ(v.label, Label::InsufficientData);
  EXPECT_THAT(v.reasons[0], HasSubstr("2 answered lookups"));
  // The score is still computed and reported.
  EXPECT_NEAR(v.holz_score, 1.32 * 18 + 18.54 * 12 - 142.38, 1e-9);
  EXPECT_TRUE(v.holz_flux);
  // Lower the bar and the same features are flux.
  Thresholds t;
  t.min_lookups = 2;
  EXPECT_EQ(classify(f, t, HolzModel{}).label, Label::FastFlux);
}

TEST(Classifier, FastFluxNeedsEveryCondition) {
  const auto f = flux_features();
  const auto v = classify(f, Thresholds{}, HolzModel{});
  EXPECT_EQ(v.label, Label::FastFlux);
  EXPECT_THAT(v.reasons, Contains(HasSubstr("18 distinct addresses (>= 6) in 12 ASNs (>= 3)")));
  EXPECT_THAT(v.reasons, Contains(HasSubstr("Holz flux-score")));

  auto long_ttl = f;
  long_ttl.min_ttl = 3600;
  EXPECT_NE(classify(long_ttl, Thresholds{}, HolzModel{}).label, Label::FastFlux);
  auto few_asns = f;
  few_asns.asns = 2;
  EXPECT_EQ(classify(few_asns, Thresholds{}, HolzModel{}).label, Label::CdnLike);
  auto frozen = f;
  frozen.set_change_ratio = 0.25;
  EXPECT_NE(classify(frozen, Thresholds{}, HolzModel{}).label, Label::FastFlux);
  auto few_addresses = f;
  few_addresses.ipv4_addresses = 5;
  EXPECT_NE(classify(few_addresses, Thresholds{}, HolzModel{}).label, Label::FastFlux);
  Thresholds strict;
  strict.flux_min_asns = 13;
  EXPECT_NE(classify(f, strict, HolzModel{}).label, Label::FastFlux);
}

TEST(Classifier, RotatingNsSetMakesDoubleFlux) {
  auto f = flux_features();
  f.ns_names = 8;
  f.ns_change_ratio = 1.0;
  const auto v = classify(f, Thresholds{}, HolzModel{});
  EXPECT_EQ(v.label, Label::DoubleFlux);
  EXPECT_THAT(v.reasons, Contains(HasSubstr("8 distinct NS names (>= 4)")));
  // Many NS names that never change (a big, stable NS set) are not double flux.
  f.ns_change_ratio = 0.0;
  EXPECT_EQ(classify(f, Thresholds{}, HolzModel{}).label, Label::FastFlux);
}

TEST(Classifier, FluxingNsAddressesMakeDoubleFlux) {
  auto f = flux_features();
  f.ns_addresses = 9;
  f.ns_asns = 6;
  const auto v = classify(f, Thresholds{}, HolzModel{});
  EXPECT_EQ(v.label, Label::DoubleFlux);
  EXPECT_THAT(v.reasons, Contains(HasSubstr("9 addresses (>= 6) in 6 ASNs (>= 3)")));
  f.ns_asns = 2;
  EXPECT_EQ(classify(f, Thresholds{}, HolzModel{}).label, Label::FastFlux);
}

TEST(Classifier, ManyAddressesInOneAsnIsCdnLike) {
  Features f;
  f.answered_lookups = 4;
  f.max_answer_size = 4;
  f.ipv4_addresses = 14;
  f.asns = 1;
  f.ipv4_asns = 1;
  f.countries = 6;
  f.min_ttl = 300;
  f.set_change_ratio = 1.0;
  const auto v = classify(f, Thresholds{}, HolzModel{});
  EXPECT_EQ(v.label, Label::CdnLike);
  EXPECT_THAT(v.reasons[0], HasSubstr("only 1 ASN"));
  EXPECT_FALSE(v.holz_flux);
  // Without any ASN data nothing says "one network".
  f.asns = 0;
  f.ipv4_asns = 0;
  EXPECT_EQ(classify(f, Thresholds{}, HolzModel{}).label, Label::Stable);
}

TEST(Classifier, AStableSetOfSeveralAddressesIsRoundRobin) {
  Features f;
  f.answered_lookups = 4;
  f.max_answer_size = 3;
  f.ipv4_addresses = 3;
  f.asns = 1;
  f.min_ttl = 600;
  f.set_change_ratio = 0.0;
  f.new_address_ratio = 0.0;
  const auto v = classify(f, Thresholds{}, HolzModel{});
  EXPECT_EQ(v.label, Label::RoundRobin);
  EXPECT_THAT(v.reasons[0], HasSubstr("the same 3 addresses in every lookup"));
  f.ipv4_addresses = 1;
  f.max_answer_size = 1;
  const auto single = classify(f, Thresholds{}, HolzModel{});
  EXPECT_EQ(single.label, Label::Stable);
  EXPECT_THAT(single.reasons[0], HasSubstr("the same 1 address in all 4 answered lookups"));
}

TEST(Classifier, ChangingButNotFluxIsStableWithTheMissingConditions) {
  Features f;
  f.answered_lookups = 5;
  f.max_answer_size = 2;
  f.ipv4_addresses = 3;
  f.asns = 3;
  f.min_ttl = 3600;
  f.set_change_ratio = 0.25;
  const auto v = classify(f, Thresholds{}, HolzModel{});
  EXPECT_EQ(v.label, Label::Stable);
  EXPECT_THAT(v.reasons[0], HasSubstr("addresses 3 < 6"));
  EXPECT_THAT(v.reasons[0], HasSubstr("minimum TTL 3600 s > 300 s"));
  EXPECT_THAT(v.reasons[0], HasSubstr("change ratio 0.25 < 0.50"));
  EXPECT_THAT(v.reasons[0], ::testing::Not(HasSubstr("ASNs")));
}

TEST(Classifier, LabelNamesRoundTrip) {
  for (const auto label : {Label::InsufficientData, Label::DoubleFlux, Label::FastFlux,
                           Label::CdnLike, Label::RoundRobin, Label::Stable}) {
    EXPECT_EQ(parse_label(label_name(label)), label);
  }
  EXPECT_EQ(label_name(Label::FastFlux), "fast_flux");
  EXPECT_EQ(parse_label("flux"), std::nullopt);
  EXPECT_TRUE(is_flux(Label::DoubleFlux));
  EXPECT_FALSE(is_flux(Label::CdnLike));
}

TEST(Classifier, ConfigDefaultsAreTheLibraryDefaults) {
  const auto s = config::default_config().scoring;
  const Thresholds t;
  EXPECT_EQ(s.thresholds.min_lookups, t.min_lookups);
  EXPECT_EQ(s.thresholds.flux_min_addresses, t.flux_min_addresses);
  EXPECT_EQ(s.thresholds.flux_min_asns, t.flux_min_asns);
  EXPECT_EQ(s.thresholds.flux_max_ttl, t.flux_max_ttl);
  EXPECT_EQ(s.thresholds.flux_min_change_ratio, t.flux_min_change_ratio);
  EXPECT_EQ(s.thresholds.double_flux_min_ns_names, t.double_flux_min_ns_names);
  EXPECT_EQ(s.thresholds.double_flux_min_ns_change_ratio, t.double_flux_min_ns_change_ratio);
  EXPECT_EQ(s.thresholds.double_flux_min_ns_addresses, t.double_flux_min_ns_addresses);
  EXPECT_EQ(s.thresholds.double_flux_min_ns_asns, t.double_flux_min_ns_asns);
  EXPECT_EQ(s.thresholds.cdn_min_addresses, t.cdn_min_addresses);
  EXPECT_EQ(s.thresholds.cdn_max_asns, t.cdn_max_asns);
  EXPECT_EQ(s.thresholds.round_robin_min_answer, t.round_robin_min_answer);
  EXPECT_EQ(s.thresholds.round_robin_max_addresses, t.round_robin_max_addresses);
  const HolzModel m;
  EXPECT_EQ(s.holz.w_a, m.w_a);
  EXPECT_EQ(s.holz.w_asn, m.w_asn);
  EXPECT_EQ(s.holz.w_ns, m.w_ns);
  EXPECT_EQ(s.holz.bias, m.bias);
}

TEST(Classifier, ScoringConfigIsParsedAndUnknownKeysRejectedWithLine) {
  const auto c = config::parse_config(
      "scoring:\n  flux_min_asns: 5\n  flux_min_change_ratio: 0.75\n  holz:\n    bias: 100\n",
      "cfg.yaml");
  EXPECT_EQ(c.scoring.thresholds.flux_min_asns, 5);
  EXPECT_DOUBLE_EQ(c.scoring.thresholds.flux_min_change_ratio, 0.75);
  EXPECT_DOUBLE_EQ(c.scoring.holz.bias, 100);
  EXPECT_DOUBLE_EQ(c.scoring.holz.w_asn, 18.54);
  try {
    (void)config::parse_config("scoring:\n  min_lookups: 2\n  flux_min_asn: 5\n", "cfg.yaml");
    FAIL() << "unknown key accepted";
  } catch (const ConfigError& e) {
    EXPECT_THAT(e.what(), HasSubstr("cfg.yaml:3: scoring.flux_min_asn: unknown setting"));
  }
  EXPECT_THROW((void)config::parse_config("scoring:\n  flux_min_change_ratio: 2\n", "c"),
               ConfigError);
  EXPECT_THAT(config::to_yaml(c), HasSubstr("flux_min_asns: 5"));
}

}  // namespace
}  // namespace fluxwatch::scoring
