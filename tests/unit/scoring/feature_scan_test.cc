// FeatureScan (every domain in one pass, compact types) against compute_features() (the
// reference, one domain at a time, strings) on seeded random histories that exercise every
// feature: rotating and repeated answers, duplicates within an answer, CNAME chains, IPv6,
// timeouts, equal timestamps, NS sets with glue and NS host probes, SOA serials, addresses
// without enrichment, probes of another campaign; stored as the writer stores them (one set
// per domain and content, TTL offsets, per-probe TTLs when they differ), records shuffled.
#include "fluxwatch/scoring/feature_scan.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>

#include "fluxwatch/common/error.h"
#include "fluxwatch/scoring/features.h"

namespace fluxwatch::scoring {
namespace {

struct Probe {
  StoredProbe observation;
  std::int64_t domain_id = 0;  ///< 0: not a watched domain's
  bool own = false;
};

void expect_close(const char* name, const std::optional<double>& scan,
                  const std::optional<double>& reference, const std::string& domain) {
  ASSERT_EQ(scan.has_value(), reference.has_value()) << name << " of " << domain;
  if (scan) {
    EXPECT_NEAR(*scan, *reference, 1e-9 * std::max(1.0, std::fabs(*reference)))
        << name << " of " << domain;
  }
}

void expect_same(const Features& scan, const Features& reference, const std::string& domain) {
  // Doubles may differ in the last bits (other summation order); everything else exactly.
  Features a = scan;
  Features b = reference;
  expect_close("country_entropy", a.country_entropy, b.country_entropy, domain);
  expect_close("geo_dispersion_km", a.geo_dispersion_km, b.geo_dispersion_km, domain);
  expect_close("new_address_ratio", a.new_address_ratio, b.new_address_ratio, domain);
  expect_close("set_change_ratio", a.set_change_ratio, b.set_change_ratio, domain);
  expect_close("ns_change_ratio", a.ns_change_ratio, b.ns_change_ratio, domain);
  a.country_entropy = b.country_entropy;
  a.geo_dispersion_km = b.geo_dispersion_km;
  a.new_address_ratio = b.new_address_ratio;
  a.set_change_ratio = b.set_change_ratio;
  a.ns_change_ratio = b.ns_change_ratio;
  EXPECT_EQ(a, b) << domain << ": probes " << a.probes << "/" << b.probes << ", ipv4 "
                  << a.ipv4_addresses << "/" << b.ipv4_addresses << ", ns_addresses "
                  << a.ns_addresses << "/" << b.ns_addresses << ", median_ttl "
                  << a.median_ttl.value_or(-1) << "/" << b.median_ttl.value_or(-1) << ", soa "
                  << a.soa_serial_changes.value_or(-1) << "/" << b.soa_serial_changes.value_or(-1);
}

class RandomHistory {
 public:
  explicit RandomHistory(unsigned seed) : random_(seed) {
    for (int i = 0; i < 40; ++i) {
      v4_.push_back(fmt::format("10.{}.{}.{}", i % 3, i % 7, i));
    }
    for (int i = 0; i < 12; ++i) {
      v6_.push_back(fmt::format("2001:db8:{:x}::{:x}", i % 4, i + 1));
    }
    // Most addresses enriched; some without a country, some without coordinates.
    for (const auto* pool : {&v4_, &v6_}) {
      for (std::size_t i = 0; i < pool->size(); ++i) {
        if (i % 9 == 8) {
          continue;
        }
        AddressInfo info;
        if (i % 5 != 4) {
          info.asn = 64500 + static_cast<std::int64_t>(i % 6);
        }
        if (i % 4 != 3) {
          info.country = std::string(1, static_cast<char>('A' + i % 5)) + "X";
        }
        if (i % 7 != 6) {
          info.latitude = static_cast<double>(i % 90) - 45.0;
          info.longitude = static_cast<double>(i * 37 % 360) - 180.0;
        }
        geo_.emplace(IpAddress::parse((*pool)[i]).value(), info);
      }
    }
  }

  int pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(random_); }

  void generate(int domains) {
    for (int d = 1; d <= domains; ++d) {
      const std::string name = fmt::format("d{}.test", d);
      names_.push_back(name);
      const int probes = pick(12);  // some domains without probes
      for (int k = 0; k < probes; ++k) {
        add_probe(d, name);
      }
    }
    // NS host probes (not watched): A/AAAA answers owned by the NS names.
    for (int n = 1; n <= 6; ++n) {
      for (int k = 0; k < 2; ++k) {
        Probe p;
        p.observation.qname = fmt::format("ns{}.d{}.test", n, 1 + pick(domains));
        p.observation.qtype = pick(2) == 0 ? RrType::A : RrType::AAAA;
        p.observation.outcome = Outcome::NoError;
        p.observation.sent_at = time(pick(20));
        p.observation.probe_id = ++id_;
        const auto& pool = p.observation.qtype == RrType::A ? v4_ : v6_;
        p.observation.records.push_back(
            Record::from_columns("answer", p.observation.qname,
                                 rrtype_name(static_cast<std::uint16_t>(p.observation.qtype)), 60,
                                 pool[static_cast<std::size_t>(pick(8))], "")
                .value());
        probes_.push_back(p);
      }
    }
  }

  std::vector<Probe> probes_;
  std::vector<std::string> names_;
  GeoTable geo_;

 private:
  std::chrono::system_clock::time_point time(int slot) {
    return std::chrono::system_clock::time_point(std::chrono::seconds(1700000000 + 60 * slot));
  }

  void add_probe(int d, const std::string& name) {
    Probe p;
    p.domain_id = d;
    p.own = pick(10) != 0;  // every 10th: another campaign
    StoredProbe& o = p.observation;
    o.probe_id = ++id_;
    o.qname = name;
    o.sent_at = time(pick(20));  // equal timestamps happen: ties go by probe id
    o.outcome = Outcome::NoError;
    const int kind = pick(10);
    const bool rotating = d % 3 == 0;
    if (kind < 5) {
      o.qtype = RrType::A;
      const int answers = pick(4);
      if (answers == 0) {
        o.outcome = pick(2) == 0 ? Outcome::Timeout : Outcome::NoData;
      }
      std::string owner = name;
      if (pick(4) == 0) {  // through a CNAME chain
        owner = "edge." + name;
        o.records.push_back(Record::from_columns("answer", name, "CNAME", 3600, "", owner).value());
      }
      for (int i = 0; i < answers; ++i) {
        const auto& address = v4_[static_cast<std::size_t>(rotating ? pick(40) : (d + i) % 40)];
        o.records.push_back(
            Record::from_columns("answer", owner, "A", 10 * (1 + pick(30)), address, "").value());
        if (pick(6) == 0) {  // the same address twice in one answer
          o.records.push_back(
              Record::from_columns("answer", owner, "A", 10 * (1 + pick(30)), address, "").value());
        }
      }
    } else if (kind < 7) {
      o.qtype = RrType::AAAA;
      const int answers = pick(3);
      if (answers == 0) {
        o.outcome = Outcome::NoData;
        o.records.push_back(Record::from_columns("authority", name, "SOA", 300, "",
                                                 fmt::format("ns1.{} host.{} {} 3600 600 86400 300",
                                                             name, name, 7 + pick(2)))
                                .value());
      }
      for (int i = 0; i < answers; ++i) {
        o.records.push_back(Record::from_columns("answer", name, "AAAA", 60,
                                                 v6_[static_cast<std::size_t>(pick(12))], "")
                                .value());
      }
      // An A record in an AAAA answer is no address record of it.
      if (pick(5) == 0) {
        o.records.push_back(Record::from_columns("answer", name, "A", 5, v4_[0], "").value());
      }
    } else if (kind < 9) {
      o.qtype = RrType::NS;
      const int names = 1 + pick(3);
      for (int i = 0; i < names; ++i) {
        const auto ns = fmt::format("ns{}.d{}.test", 1 + pick(6), d);
        o.records.push_back(
            Record::from_columns("answer", name, "NS", 300 * (1 + pick(3)), "", ns).value());
        if (pick(3) == 0) {  // glue
          o.records.push_back(Record::from_columns("additional", ns, "A", 300,
                                                   v4_[static_cast<std::size_t>(pick(40))], "")
                                  .value());
        }
      }
      if (pick(4) == 0) {
        o.records.push_back(Record::from_columns("answer", name, "NS", 300, "", "")
                                .value());  // empty target: ignored
      }
    } else {
      o.qtype = RrType::SOA;
      o.records.push_back(
          Record::from_columns("answer", name, "SOA", 300, "",
                               pick(5) == 0
                                   ? "broken"
                                   : fmt::format("ns1.{} host.{} {} 1 2 3 4", name, name, pick(3)))
              .value());
    }
    probes_.push_back(p);
  }

  std::mt19937 random_;
  std::vector<std::string> v4_;
  std::vector<std::string> v6_;
  std::int64_t id_ = 1000;
};

/// A record of an answer set as the writer stores it (answer_set_entries).
struct SetEntry {
  std::int64_t domain_id;
  std::int64_t set_id;
  std::int32_t ord;
  Record record;         ///< ttl: the offset from the set's smallest TTL
  bool own_name;         ///< owner is the domain's own name: stored as NULL
  std::int64_t set_ttl;  ///< the set's smallest TTL as first stored
};

/// The probes' answers stored as sets, as the writer does: one set per domain and content
/// (TTLs aside), its TTL offsets from the first probe that got it; a probe whose TTLs are
/// not those offsets shifted keeps them all (ttls), and some keep them all anyway.
struct StoredSets {
  struct ProbeSet {
    std::optional<std::int64_t> set_id;
    std::optional<std::int64_t> ttl;  ///< nullopt: the set's own
    std::vector<std::optional<std::int64_t>> ttls;
  };
  std::vector<SetEntry> entries;
  std::map<std::int64_t, ProbeSet> of_probe;

  StoredSets(const RandomHistory& h, std::mt19937& random) {
    struct Set {
      std::int64_t id;
      std::vector<std::int64_t> offsets;
      std::int64_t ttl;
    };
    std::map<std::pair<std::int64_t, std::string>, Set> sets;  // (domain, content) -> set
    for (const auto& p : h.probes_) {
      const auto& records = p.observation.records;
      ProbeSet& stored = of_probe[p.observation.probe_id];
      if (records.empty()) {
        continue;
      }
      std::string content;
      std::int64_t min_ttl = records[0].ttl;
      for (const auto& r : records) {
        content += fmt::format("{}|{}|{}|{}|{}\n", static_cast<int>(r.section), r.type, r.owner,
                               r.address ? r.address->to_string() : "", r.target);
        min_ttl = std::min(min_ttl, r.ttl);
      }
      std::vector<std::int64_t> offsets;
      for (const auto& r : records) {
        offsets.push_back(r.ttl - min_ttl);
      }
      const auto [set, fresh] =
          sets.try_emplace({p.domain_id, content},
                           Set{static_cast<std::int64_t>(sets.size() * 7 + 3), offsets, min_ttl});
      const auto& [set_id, stored_offsets, set_ttl] = set->second;
      if (fresh) {
        const std::string own = p.domain_id == 0 ? "" : h.names_[p.domain_id - 1];
        for (std::size_t ord = 0; ord < records.size(); ++ord) {
          Record r = records[ord];
          r.ttl = offsets[ord];
          entries.push_back({p.domain_id, set_id, static_cast<std::int32_t>(ord), r,
                             !own.empty() && r.owner == own, set_ttl});
        }
      }
      stored.set_id = set_id;
      if (min_ttl != set_ttl) {  // as the writer: NULL when it is the set's own
        stored.ttl = min_ttl;
      }
      if (offsets != stored_offsets || random() % 4 == 0) {
        for (const auto& r : records) {
          stored.ttls.emplace_back(r.ttl);
        }
      }
    }
  }
};

TEST(FeatureScanTest, AgreesWithTheReferenceOnRandomHistories) {
  for (unsigned seed = 1; seed <= 20; ++seed) {
    RandomHistory h(seed);
    h.generate(25);
    std::mt19937 random(seed);
    const StoredSets stored(h, random);
    FeatureScan scan;
    for (std::size_t i = 0; i < h.names_.size(); ++i) {
      scan.add_domain(static_cast<std::int64_t>(i + 1), h.names_[i]);
    }
    for (const auto& [address, info] : h.geo_) {
      scan.add_geo(address, info);
    }
    // Sets in a random order, each set's records together (as the packed rows bring them)
    // in a random order.
    auto entries = stored.entries;
    std::shuffle(entries.begin(), entries.end(), random);
    std::map<std::pair<std::int64_t, std::int64_t>, std::size_t> first_at;
    for (const auto& e : entries) {
      first_at.try_emplace({e.domain_id, e.set_id}, first_at.size());
    }
    std::ranges::stable_sort(entries, {}, [&](const SetEntry& e) {
      return first_at.at({e.domain_id, e.set_id});
    });
    // A set no probe of the window got: its glue names no NS host.
    scan.add_set_record(1, -1, 0, Section::Answer, "", static_cast<std::uint16_t>(RrType::NS), 0,
                        std::nullopt, "ns1.d1.test", std::nullopt);
    scan.add_set_record(1, -1, 1, Section::Additional, "ns1.d1.test",
                        static_cast<std::uint16_t>(RrType::A), 0, IpAddress::parse("10.99.0.1"), "",
                        std::nullopt);
    for (const auto& e : entries) {
      const Record& r = e.record;
      scan.add_set_record(e.domain_id, e.set_id, e.ord, r.section, e.own_name ? "" : r.owner,
                          r.type, r.ttl, r.address, r.target, r.soa, e.set_ttl);
    }
    for (const auto& p : h.probes_) {
      const auto& o = p.observation;
      const auto& set = stored.of_probe.at(o.probe_id);
      scan.add_probe(
          o.probe_id, p.domain_id, o.qtype,
          std::chrono::duration_cast<std::chrono::microseconds>(o.sent_at.time_since_epoch())
              .count(),
          p.own, set.set_id, set.ttl, set.ttls);
    }
    const auto features = scan.finish();
    ASSERT_EQ(features.size(), h.names_.size());
    for (std::size_t i = 0; i < h.names_.size(); ++i) {
      const auto domain_id = static_cast<std::int64_t>(i + 1);
      std::vector<StoredProbe> mine;
      std::vector<StoredProbe> others;
      for (const auto& p : h.probes_) {
        (p.own && p.domain_id == domain_id ? mine : others).push_back(p.observation);
      }
      EXPECT_EQ(features[i].first, domain_id);
      expect_same(features[i].second, compute_features(mine, others, h.geo_),
                  fmt::format("{} (seed {})", h.names_[i], seed));
    }
  }
}

TEST(FeatureScanTest, ASetWhoseRecordsComeApartIsRefused) {
  // The set index is built as each set completes: a set that starts again after another one
  // would be indexed twice, so it is an error (the packed rows bring each set once, whole).
  FeatureScan scan;
  scan.add_domain(1, "d1.test");
  const auto a = static_cast<std::uint16_t>(RrType::A);
  scan.add_set_record(1, 7, 0, Section::Answer, "", a, 0, IpAddress::parse("10.0.0.1"), "",
                      std::nullopt);
  scan.add_set_record(1, 8, 0, Section::Answer, "", a, 0, IpAddress::parse("10.0.0.2"), "",
                      std::nullopt);
  EXPECT_THROW(scan.add_set_record(1, 7, 1, Section::Answer, "", a, 0, IpAddress::parse("10.0.0.3"),
                                   "", std::nullopt),
               Error);
}

TEST(FeatureScanTest, ParsesHostAddressesOnly) {
  EXPECT_EQ(parse_inet_host("10.1.2.3")->family(), IpAddress::Family::V4);
  EXPECT_EQ(parse_inet_host("10.1.2.3/32"), parse_inet_host("10.1.2.3"));
  EXPECT_EQ(parse_inet_host("2001:db8::1/128")->family(), IpAddress::Family::V6);
  EXPECT_FALSE(parse_inet_host("10.1.2.0/24"));
  EXPECT_FALSE(parse_inet_host("not an address"));
  EXPECT_FALSE(parse_inet_host(""));
}

}  // namespace
}  // namespace fluxwatch::scoring
