#pragma once
/// What the pages and plots show, as plain values: read from the database by ReadStore
/// (queries.h), turned into chart series by charts.h, rendered by pages.h and svg_plot.h.
/// Times are system_clock time points (UTC).

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace fluxwatch::web {

using TimePoint = std::chrono::system_clock::time_point;

/// A half-open time window [since, until); unset ends are open.
struct TimeWindow {
  std::optional<TimePoint> since;
  std::optional<TimePoint> until;
};

/// The newest score of a domain, as `fluxwatch explain` shows it.
struct Verdict {
  std::string label;
  std::vector<std::string> reasons;
  double holz_score = 0;
  TimePoint computed_at{};
  std::optional<TimePoint> window_start;
  TimePoint window_end{};
  std::int64_t ipv4_addresses = 0;
  std::int64_t ipv6_addresses = 0;
  std::int64_t asns = 0;
  std::int64_t countries = 0;
  std::int64_t ns_names = 0;
  std::optional<std::int64_t> min_ttl;
  std::optional<double> set_change_ratio;
};

/// One A/AAAA record of one lookup: the unit of the timeline.
struct Sighting {
  std::int64_t probe_id = 0;
  TimePoint sent_at{};
  std::string qtype;  ///< A or AAAA
  std::int64_t ttl = 0;
  std::string address;
  std::optional<std::int64_t> asn;
  std::string as_org;
  std::string country;  ///< ISO code, empty when unknown
};

/// One NS-set answer (ns_set_history).
struct NsSet {
  TimePoint sent_at{};
  std::string zone;
  std::vector<std::string> ns_names;  ///< sorted
  std::optional<std::int64_t> ttl;
};

/// One SOA answer (soa_serial_history).
struct SoaSerial {
  TimePoint sent_at{};
  std::string zone;
  std::string server_name;
  std::optional<std::int64_t> serial;
};

/// One stored score of the domain (score_history).
struct ScorePoint {
  std::int64_t score_run_id = 0;
  TimePoint computed_at{};
  std::string label;
  double holz_score = 0;
  std::int64_t ipv4_addresses = 0;
  std::int64_t ipv4_asns = 0;
};

/// Another answer record (CNAME, NS, TXT, ...) of the domain, grouped by value.
struct OtherRecord {
  std::string rtype;
  std::string owner;
  std::string target;
  std::int64_t times_seen = 0;
  TimePoint first_seen{};
  TimePoint last_seen{};
};

/// Everything the domain page and `fluxwatch plot` show about one domain in a window.
struct DomainHistory {
  std::string domain;
  std::string source;
  std::vector<std::string> tags;
  TimeWindow window;
  std::optional<Verdict> verdict;
  std::vector<Sighting> sightings;  ///< ordered by sent_at, probe_id
  bool sightings_truncated = false;
  std::vector<NsSet> ns_sets;  ///< ordered by sent_at
  std::vector<SoaSerial> soa_serials;
  std::vector<ScorePoint> scores;
  std::vector<OtherRecord> other_records;
};

/// One row of the domains table.
struct DomainRow {
  std::string domain;
  std::string source;
  std::vector<std::string> tags;
  std::string label;  ///< empty: never scored
  std::optional<double> holz_score;
  std::optional<std::int64_t> ipv4_addresses;
  std::optional<std::int64_t> asns;
  std::optional<std::int64_t> countries;
  std::optional<std::int64_t> min_ttl;
  std::optional<TimePoint> scored_at;
};

/// The columns the domains table can be sorted by (a fixed list: no SQL from the URL).
enum class SortColumn {
  Domain,
  Source,
  Label,
  HolzScore,
  Addresses,
  Asns,
  Countries,
  MinTtl,
  ScoredAt
};

/// The filter, order and page of the domains table (and of its CSV/JSON).
struct DomainQuery {
  std::string label;
  std::string tag;
  std::string source;
  std::string name;  ///< substring of the domain name
  /// A campaign selects the domains with any of its tags or sources (config `campaigns:`).
  std::optional<std::pair<std::vector<std::string>, std::vector<std::string>>> campaign;
  std::string campaign_name;
  SortColumn sort = SortColumn::Domain;
  bool descending = false;
  std::int64_t offset = 0;
  std::int64_t limit = 100;
};

struct DomainPage {
  std::vector<DomainRow> rows;
  std::int64_t total = 0;  ///< rows in the whole selection
};

/// One `fluxwatch probe`/`run` run (probe_runs).
struct RunRow {
  std::int64_t run_id = 0;
  std::string kind;
  TimePoint started_at{};
  std::optional<TimePoint> finished_at;
  std::optional<std::int64_t> probes;
  std::optional<std::int64_t> records;
  std::optional<std::int64_t> errors;
};

/// A campaign of the config with how many watched domains it selects.
struct CampaignRow {
  std::string name;
  std::vector<std::string> tags;
  std::vector<std::string> sources;
  std::chrono::seconds base_interval{0};
  std::int64_t domains = 0;  ///< watched domains its tags/sources select
  /// Its schedule as `status` reads it (status/campaigns.h); unset: nothing scheduled yet
  /// (no `fluxwatch run` has started it).
  std::optional<std::int64_t> scheduled;
  std::int64_t due_now = 0;
  std::int64_t backlog = 0;  ///< due and held by no live lease: nobody is probing them
  std::optional<double> oldest_overdue_seconds;
  std::optional<TimePoint> last_probe;  ///< the campaign's last round reached this
};

struct FluxDetection {
  std::string domain;
  std::string label;
  TimePoint first_flagged{};
};

struct Overview {
  std::int64_t watched = 0;
  std::vector<std::pair<std::string, std::int64_t>> labels;  ///< label -> domains
  std::vector<CampaignRow> campaigns;
  std::vector<RunRow> runs;  ///< newest first
  std::vector<FluxDetection> detections;
};

/// One domain that used an address.
struct AddressUse {
  std::string domain;
  TimePoint first_seen{};
  TimePoint last_seen{};
  std::int64_t times_seen = 0;
  std::optional<std::int64_t> min_ttl;
};

/// What the GeoIP builds said about an address, one row per change: consecutive builds
/// that agree on ASN and country are one period.
struct GeoPeriod {
  std::optional<std::int64_t> asn;
  std::string as_org;
  std::string country;
  std::string country_name;
  TimePoint from{};                ///< first use of the first build of the period
  std::optional<TimePoint> until;  ///< first use of the build that changed it; unset: now
  std::int64_t builds = 0;
  std::string first_build;
  std::string last_build;
};

struct AddressHistory {
  std::string address;
  std::optional<std::int64_t> asn;
  std::string as_org;
  std::string country;
  std::string country_name;
  std::string city;
  std::string geo_build;
  bool enriched = false;
  std::vector<AddressUse> domains;
  std::vector<GeoPeriod> geo_history;  ///< oldest first; the last is the current one
};

}  // namespace fluxwatch::web
