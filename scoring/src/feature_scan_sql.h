#pragma once
// The reads behind ScoreStore::compute_features(): the watchlist, the newest enrichment of
// every address, the probe contexts, the answer sets the window may reference with their
// records (packed, one row a set), and the window's probes (one narrow row each: its set's id
// and TTLs), each streamed with binary COPY into a FeatureScan (feature_scan.h; the reading:
// window_read.cc). Two connections read at once, the sets on the session's and the probes on
// a second one, in read-only repeatable-read transactions that share one snapshot
// (pg_export_snapshot). COPY takes no bind parameters: the window is set as
// transaction-local settings (set_config with bind parameters) and read back with
// current_setting() in scalar subqueries: InitPlans, evaluated once per statement (in a
// plain expression or a joined one-row subquery they are evaluated, and parsed, per row).

namespace fluxwatch::scoring::detail {

// $1 window start ('-infinity' for none), $2 window end.
constexpr const char* kScanSettingsSql =
    "SELECT set_config('fluxwatch.score_since', $1, true), "
    "set_config('fluxwatch.score_until', $2, true)";

constexpr const char* kDomainsSql = "SELECT domain_id, domain FROM watchlist ORDER BY domain";

// What the probes of a run share: the query type, and what decides whether a probe is its
// domain's own (mode, campaign; see ScoreStore::compute_features()).
constexpr const char* kContextsSql = "SELECT context_id, qtype, mode, campaign FROM probe_contexts";

// The streams below are read with binary COPY (binary_copy.h), which wraps them in
// COPY (...) TO STDOUT (FORMAT binary).

// address, asn, country, latitude, longitude: what the newest GeoIP build says.
constexpr const char* kGeoCopySql =
    "SELECT address, asn, country, latitude, longitude FROM address_geo_newest";

// address_id, address: every address a set refers to (answer_set_contents.address_ids,
// shared_parts.address_ids), read once.
constexpr const char* kAddressesCopySql = "SELECT address_id, address FROM addresses";

// The authority and additional sections of answers, stored once for every set that holds
// them (migration 0015): shared_id, then the packed arrays.
constexpr const char* kSharedPartsCopySql =
    "SELECT shared_id, sections, rtypes, owners, ttl_offsets, address_ids, targets "
    "FROM shared_parts";

// domain_id, answer_set_id, ttl (the set's own smallest TTL), shared_id, shared_ttl_offset,
// then the answer section's packed arrays (rtypes, owners, ttl_offsets, address_ids,
// targets): one row per set seen in the window (first seen before its end and last seen at
// or after its start: a superset of the sets the window's probes got; the scan ignores the
// others). The arrays are unpacked in the client (window_read.cc), as the set_records view
// would, without that view's per-record rows and joins.
constexpr const char* kSetContentsCopySql =
    "SELECT c.domain_id, c.answer_set_id, c.ttl, c.shared_id, c.shared_ttl_offset, c.rtypes, "
    "c.owners, c.ttl_offsets, c.address_ids, c.targets "
    "FROM answer_set_counters k JOIN answer_set_contents c USING (domain_id, answer_set_id) "
    "WHERE k.last_seen >= (SELECT current_setting('fluxwatch.score_since')::timestamptz) "
    "AND k.first_seen < (SELECT current_setting('fluxwatch.score_until')::timestamptz)";

// The planner's estimate of the window's probes (EXPLAIN's first line, "rows=N"): the room
// reserved for them.
constexpr const char* kProbeEstimateSql =
    "EXPLAIN SELECT 1 FROM observations o "
    "WHERE o.sent_at >= $1::timestamptz AND o.sent_at < $2::timestamptz";

// The planner's estimate of the window's sets (with the bounds as values: the settings read
// by kSetContentsCopySql leave it a guess): the room reserved for their records.
constexpr const char* kSetEstimateSql =
    "EXPLAIN SELECT 1 FROM answer_set_counters k "
    "WHERE k.last_seen >= $1::timestamptz AND k.first_seen < $2::timestamptz";

// probe_id, domain_id, context_id, sent_at, answer_set_id, ttl (NULL: the set's own), ttls:
// every probe of the window (the window selects the daily partitions).
constexpr const char* kProbesCopySql =
    "SELECT o.probe_id, o.domain_id, o.context_id, o.sent_at, o.answer_set_id, o.ttl, o.ttls "
    "FROM observations o "
    "WHERE o.sent_at >= (SELECT current_setting('fluxwatch.score_since')::timestamptz) "
    "AND o.sent_at < (SELECT current_setting('fluxwatch.score_until')::timestamptz)";

}  // namespace fluxwatch::scoring::detail
