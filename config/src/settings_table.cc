// The one table of settings: key, member, kind of value (range), help, how it is shown.
// Parsing, `fluxwatch config`, the JSON each run records and README.md's table come from
// here (tests/unit/config checks the README against it).
#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>

#include "fluxwatch/common/utc_time.h"
#include "settings.h"

namespace fluxwatch::config::detail {
namespace {

using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;
using Ms = Duration<milliseconds>;

constexpr RowOptions kRecorded{Show::Plain, true, {}};
constexpr RowOptions kShowDsn{Show::Dsn, false, {}};
constexpr RowOptions kRecordedDsn{Show::Dsn, true, {}};
constexpr RowOptions kSetOrEmpty{Show::SetOrEmpty, false, {}};
constexpr RowOptions kShowUrl{Show::Url, false, {}};
constexpr RowOptions kAlias{Show::Alias, false, {}};

constexpr long long kMillion = 1000000;
constexpr double kYearSeconds = 366.0 * 86400.0;

std::optional<std::string> feed_url_problem(const std::string& url) {
  if (url.starts_with("http://") || url.starts_with("https://") || url.starts_with("file://")) {
    return std::nullopt;
  }
  return "expected an http://, https:// or file:// URL";
}

std::optional<std::string> campaign_name_problem(const std::string& name) {
  const bool ok = !name.empty() && name.size() <= 100 && std::ranges::all_of(name, [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_' || c == '.';
  });
  return ok ? std::nullopt
            : std::optional<std::string>("expected 1-100 letters, digits, '-', '_' or '.'");
}

std::optional<std::string> listen_problem(const std::string& text) {
  if (text.empty() || parse_endpoint(text)) {
    return std::nullopt;
  }
  return "expected ip:port, e.g. 127.0.0.1:9109 (empty: off)";
}

double seconds_of(milliseconds ms) { return static_cast<double>(ms.count()) / 1000.0; }

void check_feed(const std::vector<Config::Feed>& /*before*/, const Config::Feed& feed,
                const YAML::Node& node, std::string_view key, const Reporter& r) {
  if (feed.url.empty()) {
    r.fail(node, key, "a feed needs a url");
  }
}

void check_campaign(const std::vector<Campaign>& before, const Campaign& c, const YAML::Node& node,
                    std::string_view key, const Reporter& r) {
  if (c.name.empty()) {
    r.fail(node, key, "a campaign needs a name");
  }
  if (std::ranges::find(before, c.name, &Campaign::name) != before.end()) {
    r.fail(node["name"], fmt::format("{}.name", key),
           fmt::format("campaign '{}' is defined twice", c.name));
  }
  if (c.min_interval > c.max_interval) {
    const bool both = node["min_interval"].IsDefined() && node["max_interval"].IsDefined();
    r.fail(node, fmt::format("{}.min_interval", key),
           fmt::format("campaign '{}': min_interval ({} s) is above max_interval ({} s){}", c.name,
                       seconds_of(c.min_interval), seconds_of(c.max_interval),
                       both ? "" : " (a default applies to the one not given)"));
  }
  if (c.start && c.end && *c.end <= *c.start) {
    r.fail(node, fmt::format("{}.end", key),
           fmt::format("campaign '{}': end is not after start", c.name));
  }
}

}  // namespace

const std::vector<Field<Config::Feed>>& feed_rows() {
  using F = Config::Feed;
  static const std::vector<Field<F>> rows{
      field<F>(
          "url", [](auto& f) -> auto& { return f.url; }, Text{"a URL", false, feed_url_problem},
          "http, https or file URL; credentials in it are used for the fetch and never "
          "stored or shown",
          kShowUrl),
      field<F>(
          "format", [](auto& f) -> auto& { return f.format; }, OneOf{{"plain", "csv", "jsonl"}},
          "plain (the watchlist format), csv or jsonl"),
      field<F>(
          "column", [](auto& f) -> auto& { return f.column; }, text("a column or field name"),
          "csv column / jsonl field holding the domain"),
      field<F>(
          "field", [](auto& f) -> auto& { return f.column; }, text("a column or field name"),
          "another name of `column`", kAlias),
      field<F>(
          "tag", [](auto& f) -> auto& { return f.tag; }, optional_text(),
          "tag added to every entry of the feed"),
      field<F>(
          "refresh_minutes", [](auto& f) -> auto& { return f.refresh_interval; },
          Duration<minutes>{1, 60LL * 24 * 365}, "how often the feed is fetched again"),
  };
  return rows;
}

const std::vector<Field<Campaign>>& campaign_rows() {
  using C = Campaign;
  static const std::vector<Field<C>> rows{
      field<C>(
          "name", [](auto& c) -> auto& { return c.name; },
          Text{"a name", false, campaign_name_problem},
          "unique; stored with every probe (one `fluxwatch-run@NAME.service` each)"),
      field<C>(
          "tags", [](auto& c) -> auto& { return c.tags; }, TextList{true},
          "watchlist entries with any of these tags ..."),
      field<C>(
          "sources", [](auto& c) -> auto& { return c.sources; }, TextList{true},
          "... or from any of these sources (neither: the whole watchlist)"),
      field<C>(
          "record_types", [](auto& c) -> auto& { return c.record_types; }, RecordTypes{true},
          "not given: probe.record_types"),
      field<C>(
          "resolvers", [](auto& c) -> auto& { return c.resolvers; }, Resolvers{},
          "empty: the top-level resolvers"),
      field<C>(
          "base_interval", [](auto& c) -> auto& { return c.base_interval; },
          Seconds{0.1, kYearSeconds}, "first interval between probes of a domain"),
      field<C>(
          "min_interval", [](auto& c) -> auto& { return c.min_interval; },
          Seconds{0.1, kYearSeconds}, "the interval never goes below this (changing answers)"),
      field<C>(
          "max_interval", [](auto& c) -> auto& { return c.max_interval; },
          Seconds{0.1, kYearSeconds}, "... nor above this (stable answers)"),
      field<C>(
          "jitter", [](auto& c) -> auto& { return c.jitter; }, Number{0.0, 0.5},
          "random spread, a fraction of the interval"),
      field<C>(
          "start", [](auto& c) -> auto& { return c.start; }, UtcTime{},
          "probing starts at this time (empty: now)"),
      field<C>(
          "end", [](auto& c) -> auto& { return c.end; }, UtcTime{},
          "... and ends at this one (empty: never)"),
      field<C>(
          "vantage", [](auto& c) -> auto& { return c.vantage; }, optional_text("a label"),
          "label stored with every probe (where it was sent from)"),
      field<C>(
          "qps", [](auto& c) -> auto& { return c.qps; }, Number{0.0, 1e7},
          "queries per second overall; 0 = unlimited"),
      field<C>(
          "qps_per_resolver", [](auto& c) -> auto& { return c.qps_per_resolver; }, Number{0.0, 1e7},
          "queries per second per resolver; 0 = unlimited"),
      field<C>(
          "mode", [](auto& c) -> auto& { return c.authoritative; },
          Either{"recursive", "authoritative"},
          "ask the resolvers, or find the delegation and ask each of the domain's name "
          "servers directly (RD=0)"),
      field<C>(
          "resolver_mode", [](auto& c) -> auto& { return c.every_resolver; },
          Either{"spread", "every"},
          "each domain to one resolver in turn, or to every resolver at the same moment"),
  };
  return rows;
}

const std::vector<Field<Config>>& config_rows() {
  using C = Config;
  static const std::vector<Field<C>> rows{
      field<C>("state_dir", [](auto& c) -> auto& { return c.state_dir; }, text("a directory path"),
               "fluxwatch's own PostgreSQL cluster (`state_dir/postgres`) and runtime files",
               {Show::Plain, false,
                "`$FLUXWATCH_STATE_DIR`, else `/var/lib/fluxwatch` as root, else "
                "`~/.local/state/fluxwatch`"}),
      field<C>(
          "database.dsn", [](auto& c) -> auto& { return c.database.dsn; },
          optional_text("a libpq connection string"),
          "libpq connection string/URI. Empty: the `PG*` environment (`PGHOST`, "
          "`PGDATABASE`, ...) if set, else fluxwatch's own cluster",
          kRecordedDsn),
      field<C>(
          "database.read_dsn", [](auto& c) -> auto& { return c.database.read_dsn; },
          optional_text("a libpq connection string"),
          "where the read-only work goes: `report`, `explain`, `serve`, `plot` and scoring's "
          "reads (`score` writes its scores to the database above; `status` reports the "
          "database above). A hot standby (docs/scaling.md, \"Reading from a hot standby\") or "
          "a login with only `fluxwatch_reader`; its schema must be current. Empty: the "
          "database above",
          kShowDsn),
      field<C>(
          "storage.retention_days", [](auto& c) -> auto& { return c.storage.retention_days; },
          Count{0, kMillion},
          "`fluxwatch prune` drops the daily partitions of probe rows older than this "
          "(summaries stay); 0 = keep everything"),
      field<C>(
          "serve.listen", [](auto& c) -> auto& { return c.serve.listen; }, text("HOST:PORT"),
          "the web view's `HOST:PORT` (`[::1]:8080`); a non-loopback host is refused "
          "unless `serve.token` is set"),
      field<C>(
          "serve.token", [](auto& c) -> auto& { return c.serve.token; }, optional_text("a token"),
          "bearer token (or HTTP Basic password) every request must carry; never stored",
          kSetOrEmpty),
      field<C>(
          "resolvers", [](auto& c) -> auto& { return c.resolvers; }, Resolvers{},
          "DNS servers as `ip[:port]` (`[v6]:port`); empty = `/etc/resolv.conf`. Queries "
          "are spread over them and each probe records which one answered",
          kRecorded),
      field<C>(
          "probe.record_types", [](auto& c) -> auto& { return c.probe.record_types; },
          RecordTypes{}, "record types asked for every domain", kRecorded),
      field<C>(
          "probe.concurrency", [](auto& c) -> auto& { return c.probe.concurrency; },
          Count{1, 100000}, "queries in flight", kRecorded),
      field<C>(
          "probe.timeout_ms", [](auto& c) -> auto& { return c.probe.timeout; }, Ms{10, 60000},
          "first try; c-ares doubles it on each retry", kRecorded),
      field<C>(
          "probe.tries", [](auto& c) -> auto& { return c.probe.tries; }, Count{1, 10},
          "tries per query", kRecorded),
      field<C>(
          "probe.stall_ms", [](auto& c) -> auto& { return c.probe.stall_after; }, Ms{0, 60000},
          "upper bound of the stall threshold: a query unanswered for longer than answers "
          "usually take (smoothed latency + 4 x deviation, at least 100 ms) stops counting "
          "against `probe.concurrency` (up to 8,192 such queries wait out their timeout), "
          "so dead names do not slow the rest; 0 = they keep counting",
          kRecorded),
      field<C>(
          "probe.recursion", [](auto& c) -> auto& { return c.probe.recursion; }, Flag{},
          "RD bit (false for authoritative servers)", kRecorded),
      field<C>(
          "probe.edns", [](auto& c) -> auto& { return c.probe.edns; }, Flag{}, "EDNS0 (RFC 6891)",
          kRecorded),
      field<C>(
          "probe.edns_udp_size", [](auto& c) -> auto& { return c.probe.edns_udp_size; },
          Count{512, 4096}, "EDNS0 UDP payload size", kRecorded),
      field<C>(
          "probe.socket_buffer_bytes", [](auto& c) -> auto& { return c.probe.socket_buffer_bytes; },
          Count{0, 1 << 28}, "SO_RCVBUF/SO_SNDBUF: small buffers drop answers at high concurrency",
          kRecorded),
      field<C>(
          "probe.batch_size", [](auto& c) -> auto& { return c.probe.batch_size; },
          Count{1, kMillion}, "results per COPY transaction", kRecorded),
      field<C>(
          "probe.authoritative_port", [](auto& c) -> auto& { return c.probe.authoritative_port; },
          Count{1, 65535},
          "port of the domains' own name servers in authoritative mode (`probe "
          "--authoritative`, campaign `mode: authoritative`); the lab uses its own port",
          kRecorded),
      field<C>(
          "probe.authoritative_max_servers",
          [](auto& c) -> auto& { return c.probe.authoritative_max_servers; }, Count{1, 64},
          "name server addresses asked per domain at most (a hostile NS set cannot "
          "multiply the queries)",
          kRecorded),
      field<C>(
          "geoip.asn_database", [](auto& c) -> auto& { return c.geoip.asn_database; },
          optional_text("a file path"), "GeoLite2-ASN shaped MMDB", kRecorded),
      field<C>(
          "geoip.city_database", [](auto& c) -> auto& { return c.geoip.city_database; },
          optional_text("a file path"), "GeoLite2-City shaped MMDB", kRecorded),
      field<C>(
          "geoip.cache_entries", [](auto& c) -> auto& { return c.geoip.cache_entries; },
          Count{0, 1LL << 28}, "per-address lookup cache"),
      field<C>(
          "geoip.update.asn_url", [](auto& c) -> auto& { return c.geoip.update.asn_url; },
          optional_text(), "`geo update`: ASN database URL (plain `.mmdb`, `.gz` or `.tar.gz`)"),
      field<C>(
          "geoip.update.city_url", [](auto& c) -> auto& { return c.geoip.update.city_url; },
          optional_text(), "`geo update`: City database URL"),
      field<C>(
          "geoip.update.account_id", [](auto& c) -> auto& { return c.geoip.update.account_id; },
          optional_text(), "MaxMind account (with `license_key` and `edition_ids`)"),
      field<C>(
          "geoip.update.license_key", [](auto& c) -> auto& { return c.geoip.update.license_key; },
          optional_text(), "MaxMind licence key; never stored", kSetOrEmpty),
      field<C>(
          "geoip.update.edition_ids", [](auto& c) -> auto& { return c.geoip.update.edition_ids; },
          TextList{}, "MaxMind editions, e.g. GeoLite2-ASN"),
      field<C>(
          "geoip.update.maxmind_url", [](auto& c) -> auto& { return c.geoip.update.maxmind_url; },
          text("a URL"), "MaxMind download server"),
      field<C>(
          "feeds", [](auto& c) -> auto& { return c.feeds; },
          Items<Config::Feed>{
              feed_rows, "a list of feeds ({url: ..., format: plain|csv|jsonl, ...})", check_feed},
          "watchlists fetched over http(s)/file and refreshed on their interval; the "
          "feed is identified by a salted digest of its URL"),
      field<C>(
          "fetch.user_agent", [](auto& c) -> auto& { return c.fetch.user_agent; }, text(),
          "feed and GeoIP downloads"),
      field<C>(
          "fetch.timeout_ms", [](auto& c) -> auto& { return c.fetch.timeout; }, Ms{100, 3600000},
          "whole transfer"),
      field<C>(
          "fetch.connect_timeout_ms", [](auto& c) -> auto& { return c.fetch.connect_timeout; },
          Ms{10, 600000}, "connection set-up"),
      field<C>(
          "fetch.retries", [](auto& c) -> auto& { return c.fetch.retries; }, Count{0, 10},
          "after the first try, on transient failures (connect, timeout, truncated, "
          "408/429/5xx)"),
      field<C>(
          "fetch.retry_backoff_ms", [](auto& c) -> auto& { return c.fetch.retry_backoff; },
          Ms{0, 600000}, "first wait between tries; doubles each time"),
      field<C>(
          "fetch.max_feed_bytes", [](auto& c) -> auto& { return c.fetch.max_feed_bytes; },
          Count{1, 1LL << 34}, "decoded size limit of a feed"),
      field<C>(
          "fetch.max_download_bytes", [](auto& c) -> auto& { return c.fetch.max_download_bytes; },
          Count{1, 1LL << 36}, "decoded size limit of a GeoIP download"),
      field<C>(
          "fetch.verify_tls", [](auto& c) -> auto& { return c.fetch.verify_tls; }, Flag{},
          "TLS peer verification"),
      field<C>(
          "fetch.ca_file", [](auto& c) -> auto& { return c.fetch.ca_file; }, optional_text(),
          "extra CA bundle"),
      field<C>(
          "http_probe.enabled", [](auto& c) -> auto& { return c.http_probe.enabled; }, Flag{},
          "opt-in: fetch `http://DOMAIN/` from every address found", kRecorded),
      field<C>(
          "http_probe.user_agent", [](auto& c) -> auto& { return c.http_probe.user_agent; }, text(),
          "User-Agent of HTTP probes"),
      field<C>(
          "http_probe.https", [](auto& c) -> auto& { return c.http_probe.https; }, Flag{},
          "also `https://`"),
      field<C>(
          "http_probe.connect_timeout_ms",
          [](auto& c) -> auto& { return c.http_probe.connect_timeout; }, Ms{10, 60000},
          "per fetch"),
      field<C>(
          "http_probe.timeout_ms", [](auto& c) -> auto& { return c.http_probe.timeout; },
          Ms{10, 300000}, "per fetch, whole transfer"),
      field<C>(
          "http_probe.max_body_bytes", [](auto& c) -> auto& { return c.http_probe.max_body_bytes; },
          Count{0, 64LL << 20}, "body bytes read (and hashed) per fetch"),
      field<C>(
          "http_probe.concurrency", [](auto& c) -> auto& { return c.http_probe.concurrency; },
          Count{1, 10000}, "fetches in flight"),
      field<C>(
          "http_probe.rate_per_second",
          [](auto& c) -> auto& { return c.http_probe.rate_per_second; }, Number{0, 100000, true},
          "fetches started per second overall"),
      field<C>(
          "http_probe.per_address_interval_ms",
          [](auto& c) -> auto& { return c.http_probe.per_address_interval; }, Ms{0, 3600000},
          "at least this long between two fetches from one address"),
      field<C>(
          "log.level", [](auto& c) -> auto& { return c.log.level; },
          OneOf{{"trace", "debug", "info", "warn", "error", "off"}}, "`-v`/`-q` override it"),
      field<C>(
          "log.format", [](auto& c) -> auto& { return c.log.format; }, OneOf{{"text", "json"}},
          "json: one JSON object per line, for log shippers; under systemd text lines "
          "carry the journal's level prefix"),
      field<C>(
          "metrics.listen", [](auto& c) -> auto& { return c.metrics.listen; },
          Text{"ip:port", false, listen_problem},
          "`ip:port` where `fluxwatch run` serves Prometheus `/metrics` (e.g. "
          "`127.0.0.1:9109`); empty = off"),
      field<C>(
          "scoring.window_hours", [](auto& c) -> auto& { return c.scoring.window_hours; },
          Count{0, 24LL * 366 * 100},
          "default window of `fluxwatch score`: the last N hours; 0 = all history"),
      field<C>(
          "scoring.min_lookups", [](auto& c) -> auto& { return c.scoring.thresholds.min_lookups; },
          Count{1, kMillion}, "fewer answered A/AAAA lookups: `insufficient_data`"),
      field<C>(
          "scoring.flux_min_addresses",
          [](auto& c) -> auto& { return c.scoring.thresholds.flux_min_addresses; },
          Count{1, kMillion}, "fast flux: at least this many distinct addresses ..."),
      field<C>(
          "scoring.flux_min_asns",
          [](auto& c) -> auto& { return c.scoring.thresholds.flux_min_asns; }, Count{1, kMillion},
          "... in at least this many ASNs ..."),
      field<C>(
          "scoring.flux_max_ttl",
          [](auto& c) -> auto& { return c.scoring.thresholds.flux_max_ttl; },
          Count{0, 4294967295LL}, "... with a minimum TTL of at most this (seconds) ..."),
      field<C>(
          "scoring.flux_min_change_ratio",
          [](auto& c) -> auto& { return c.scoring.thresholds.flux_min_change_ratio; }, Number{0, 1},
          "... and the address set changing at least this often"),
      field<C>(
          "scoring.double_flux_min_ns_names",
          [](auto& c) -> auto& { return c.scoring.thresholds.double_flux_min_ns_names; },
          Count{1, kMillion}, "double flux: this many NS names ..."),
      field<C>(
          "scoring.double_flux_min_ns_change_ratio",
          [](auto& c) -> auto& { return c.scoring.thresholds.double_flux_min_ns_change_ratio; },
          Number{0, 1}, "... with the NS set changing this often ..."),
      field<C>(
          "scoring.double_flux_min_ns_addresses",
          [](auto& c) -> auto& { return c.scoring.thresholds.double_flux_min_ns_addresses; },
          Count{1, kMillion}, "... or this many NS host addresses ..."),
      field<C>(
          "scoring.double_flux_min_ns_asns",
          [](auto& c) -> auto& { return c.scoring.thresholds.double_flux_min_ns_asns; },
          Count{1, kMillion}, "... in this many ASNs"),
      field<C>(
          "scoring.cdn_min_addresses",
          [](auto& c) -> auto& { return c.scoring.thresholds.cdn_min_addresses; },
          Count{1, kMillion}, "`cdn_like`: at least this many addresses ..."),
      field<C>(
          "scoring.cdn_max_asns",
          [](auto& c) -> auto& { return c.scoring.thresholds.cdn_max_asns; }, Count{1, kMillion},
          "... in at most this many ASNs, the set changing"),
      field<C>(
          "scoring.round_robin_min_answer",
          [](auto& c) -> auto& { return c.scoring.thresholds.round_robin_min_answer; },
          Count{1, kMillion}, "`round_robin`: a fixed set of at least this many ..."),
      field<C>(
          "scoring.round_robin_max_addresses",
          [](auto& c) -> auto& { return c.scoring.thresholds.round_robin_max_addresses; },
          Count{1, kMillion}, "... and at most this many addresses"),
      field<C>(
          "scoring.holz.w_a", [](auto& c) -> auto& { return c.scoring.holz.w_a; }, Number{},
          "Holz et al. (NDSS 2008) flux-score f = w_a nA + w_asn nASN + w_ns nNS - bias"),
      field<C>(
          "scoring.holz.w_asn", [](auto& c) -> auto& { return c.scoring.holz.w_asn; }, Number{},
          "weight of the number of ASNs"),
      field<C>(
          "scoring.holz.w_ns", [](auto& c) -> auto& { return c.scoring.holz.w_ns; }, Number{},
          "weight of the number of NS records"),
      field<C>(
          "scoring.holz.bias", [](auto& c) -> auto& { return c.scoring.holz.bias; }, Number{},
          "bias b"),
      field<C>(
          "campaigns", [](auto& c) -> auto& { return c.campaigns; },
          Items<Campaign>{campaign_rows, "a list of campaigns ({name: ..., tags: [...], ...})",
                          check_campaign},
          "what `fluxwatch run` probes and how often (docs/scheduler.md); empty = one "
          "campaign `default` over the whole watchlist"),
      field<C>(
          "scheduler.lease_seconds", [](auto& c) -> auto& { return c.scheduler.lease; },
          Duration<seconds>{1, 86400}, "a dead worker's domains are free again after this"),
      field<C>(
          "scheduler.lease_batch", [](auto& c) -> auto& { return c.scheduler.lease_batch; },
          Count{1, kMillion}, "domains leased at a time"),
      field<C>(
          "scheduler.flush_ms", [](auto& c) -> auto& { return c.scheduler.flush_interval; },
          Ms{10, 600000}, "results are written at least this often"),
      field<C>(
          "scheduler.buffer_limit", [](auto& c) -> auto& { return c.scheduler.buffer_limit; },
          Count{100, 100 * kMillion},
          "results held while the database is away; probing pauses when it is full"),
      field<C>(
          "scheduler.shutdown_grace_ms",
          [](auto& c) -> auto& { return c.scheduler.shutdown_grace; }, Ms{0, 3600000},
          "on SIGTERM/SIGINT, queries in flight get this long to finish"),
  };
  return rows;
}

std::string choices_text(const std::vector<std::string_view>& names) {
  if (names.size() > 3) {
    return fmt::format("one of {}", fmt::join(names, ", "));
  }
  std::string out;
  for (std::size_t i = 0; i < names.size(); ++i) {
    out += (i == 0 ? "" : i + 1 == names.size() ? " or " : ", ") + std::string(names[i]);
  }
  return out;
}

Json RecordTypes::json(const std::vector<RrType>& types) const {
  if (types.empty() && may_be_unset) {
    return nullptr;
  }
  Json out = Json::array();
  for (const auto type : types) {
    out.push_back(rrtype_name(static_cast<std::uint16_t>(type)));
  }
  return out;
}

Json Resolvers::json(const std::vector<Endpoint>& endpoints) {
  Json out = Json::array();
  for (const auto& endpoint : endpoints) {
    out.push_back(endpoint.to_string());
  }
  return out;
}

UtcTime::TimePoint UtcTime::parse(const Reporter& r, const YAML::Node& n, std::string_view k) {
  const auto text = scalar<std::string>(r, n, k, "an ISO 8601 UTC time");
  const auto parsed = parse_utc_time(text, UtcTimeForm::WithZone);
  if (!parsed) {
    r.fail(n, k, fmt::format("'{}' is not a UTC time like 2026-11-22T10:00:00Z", text));
  }
  return *parsed;
}

Json UtcTime::json(const std::optional<TimePoint>& value) {
  return value ? Json(format_iso8601_utc(*value)) : Json(nullptr);
}

}  // namespace fluxwatch::config::detail
