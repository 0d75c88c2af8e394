// All SQL of the web view and of `fluxwatch plot` (see queries.h for what it may read).
#include "fluxwatch/web/queries.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "fluxwatch/common/ip_address.h"
#include "fluxwatch/status/campaigns.h"
#include "fluxwatch/storage/session.h"

namespace fluxwatch::web {
namespace {

// Times cross the wire as microseconds since the epoch, both ways: no time zone or text
// format to get wrong. An open window end is sent as '' and read as NULL.
constexpr const char* kEpochUs = "(extract(epoch FROM {})*1000000)::bigint";

std::string us(const char* column) { return fmt::format(fmt::runtime(kEpochUs), column); }

TimePoint from_us(std::int64_t micros) {
  return TimePoint(
      std::chrono::duration_cast<TimePoint::duration>(std::chrono::microseconds(micros)));
}

std::string window_param(const std::optional<TimePoint>& when) {
  if (!when) {
    return "";
  }
  return std::to_string(
      std::chrono::duration_cast<std::chrono::microseconds>(when->time_since_epoch()).count());
}

// sent_at inside [$2, $3) with either end open.
constexpr const char* kInWindow =
    "sent_at >= coalesce(to_timestamp(NULLIF($2, '')::double precision / 1e6), '-infinity') "
    "AND sent_at < coalesce(to_timestamp(NULLIF($3, '')::double precision / 1e6), 'infinity')";

template <typename T>
std::optional<T> opt(const pqxx::field& field) {
  if (field.is_null()) {
    return std::nullopt;
  }
  return field.as<T>();
}

std::string text(const pqxx::field& field) {
  return field.is_null() ? "" : field.as<std::string>();
}

std::vector<std::string> json_strings(const pqxx::field& field) {
  std::vector<std::string> out;
  if (field.is_null()) {
    return out;
  }
  for (const auto& item : nlohmann::json::parse(field.c_str())) {
    if (item.is_string()) {
      out.push_back(item.get<std::string>());
    }
  }
  return out;
}

std::string json_array(const std::vector<std::string>& items) {
  return nlohmann::json(items).dump();
}

/// The ORDER BY of each sortable column: fixed text, chosen by the enum, never from the URL.
std::string order_by(SortColumn column, bool descending) {
  const char* expression = "w.domain";
  switch (column) {
    case SortColumn::Domain:
      expression = "w.domain";
      break;
    case SortColumn::Source:
      expression = "w.source";
      break;
    case SortColumn::Label:
      expression = "s.label";
      break;
    case SortColumn::HolzScore:
      expression = "s.holz_score";
      break;
    case SortColumn::Addresses:
      expression = "s.ipv4_addresses";
      break;
    case SortColumn::Asns:
      expression = "s.asns";
      break;
    case SortColumn::Countries:
      expression = "s.countries";
      break;
    case SortColumn::MinTtl:
      expression = "s.min_ttl";
      break;
    case SortColumn::ScoredAt:
      expression = "s.computed_at";
      break;
  }
  return fmt::format("{} {} NULLS LAST, w.domain", expression, descending ? "DESC" : "ASC");
}

/// FROM and WHERE of the domains table: $1 label, $2 tag, $3 source, $4 name substring,
/// $5 '1' when filtering by campaign, $6/$7 its tags and sources as JSON arrays.
constexpr const char* kDomainSelection =
    "FROM watchlist w LEFT JOIN latest_scores s ON s.domain = w.domain "
    "WHERE ($1 = '' OR s.label = $1) AND ($2 = '' OR $2 = ANY(w.tags)) "
    "AND ($3 = '' OR w.source = $3) AND ($4 = '' OR strpos(w.domain, lower($4)) > 0) "
    "AND ($5 = '' OR w.tags && ARRAY(SELECT jsonb_array_elements_text($6::jsonb)) "
    "     OR w.source = ANY(ARRAY(SELECT jsonb_array_elements_text($7::jsonb))))";

}  // namespace

std::optional<std::string> canonical_address(const std::string& text) {
  const auto address = IpAddress::parse(text);
  if (!address) {
    return std::nullopt;
  }
  return address->to_string();
}

/// The page's connection through storage::Session (one connection policy and one set of
/// messages for every database user). A page does not retry a read cut off midway: see
/// docs/reliability.md ("Web pages and status").
struct ReadStore::Session {
  explicit Session(const std::string& dsn) : db(dsn, "web") {}

  /// The connection, set up for reading: again if the session had to reconnect (a new
  /// backend has none of the settings).
  pqxx::connection& reader() {
    pqxx::connection& connection = db.connection();
    if (connection.backendpid() != configured_backend) {
      configure(connection);
      configured_backend = connection.backendpid();
    }
    return connection;
  }

  void configure(pqxx::connection& connection) {
    pqxx::nontransaction session(connection);
    session.exec("SET default_transaction_read_only = on");
    session.exec("SET statement_timeout = '30s'");
    try {
      session.exec("SET ROLE fluxwatch_reader");
      reader_role = true;
    } catch (const pqxx::sql_error&) {
      // Not a member (e.g. a login that already is read-only): the transactions stay READ
      // ONLY.
      reader_role = false;
    }
  }

  storage::Session db;
  int configured_backend = 0;
  bool reader_role = false;
};

ReadStore::ReadStore(const std::string& dsn) : session_(std::make_unique<Session>(dsn)) {
  session_->reader();
  reader_role_ = session_->reader_role;
}

ReadStore::~ReadStore() = default;
ReadStore::ReadStore(ReadStore&&) noexcept = default;
ReadStore& ReadStore::operator=(ReadStore&&) noexcept = default;

Overview ReadStore::overview(std::vector<CampaignRow> campaigns) {
  pqxx::read_transaction tx(session_->reader());
  Overview view;
  view.watched = tx.exec1("SELECT count(*) FROM watchlist")[0].as<std::int64_t>();
  for (const auto& row :
       tx.exec("SELECT label, count(*) FROM latest_scores GROUP BY label ORDER BY 2 DESC, 1")) {
    view.labels.emplace_back(row[0].as<std::string>(), row[1].as<std::int64_t>());
  }
  for (auto& campaign : campaigns) {
    campaign.domains = tx.exec_params1(
                             "SELECT count(*) FROM watchlist WHERE tags && ARRAY(SELECT "
                             "jsonb_array_elements_text($1::jsonb)) OR source = ANY(ARRAY(SELECT "
                             "jsonb_array_elements_text($2::jsonb)))",
                             json_array(campaign.tags), json_array(campaign.sources))[0]
                           .as<std::int64_t>();
  }
  // Due, backlog and last round: `status`'s own query (one place for it), matched by name;
  // campaigns scheduled but no longer configured are listed too.
  for (const auto& scheduled : status::read_campaigns(tx)) {
    auto found = std::find_if(campaigns.begin(), campaigns.end(),
                              [&](const CampaignRow& c) { return c.name == scheduled.name; });
    if (found == campaigns.end()) {
      found = campaigns.insert(campaigns.end(), CampaignRow{scheduled.name, {}, {}, {}, 0});
    }
    found->scheduled = scheduled.domains;
    found->due_now = scheduled.due_now;
    found->backlog = scheduled.backlog;
    found->oldest_overdue_seconds = scheduled.oldest_overdue_seconds;
    if (scheduled.last_probe) {
      found->last_probe = std::chrono::time_point_cast<TimePoint::duration>(*scheduled.last_probe);
    }
  }
  view.campaigns = std::move(campaigns);
  for (const auto& row :
       tx.exec(fmt::format("SELECT run_id, kind, {}, {}, probes, records, errors FROM probe_runs "
                           "ORDER BY run_id DESC LIMIT 100",
                           us("started_at"), us("finished_at")))) {
    RunRow run;
    run.run_id = row[0].as<std::int64_t>();
    run.kind = row[1].as<std::string>();
    run.started_at = from_us(row[2].as<std::int64_t>());
    if (auto finished = opt<std::int64_t>(row[3])) {
      run.finished_at = from_us(*finished);
    }
    run.probes = opt<std::int64_t>(row[4]);
    run.records = opt<std::int64_t>(row[5]);
    run.errors = opt<std::int64_t>(row[6]);
    view.runs.push_back(std::move(run));
  }
  for (const auto& row : tx.exec(fmt::format(
           "SELECT domain, (array_agg(label ORDER BY score_run_id))[1], {} FROM score_history "
           "WHERE label IN ('fast_flux', 'double_flux') GROUP BY domain "
           "ORDER BY min(computed_at) DESC, domain LIMIT 20",
           us("min(computed_at)")))) {
    view.detections.push_back(
        {row[0].as<std::string>(), row[1].as<std::string>(), from_us(row[2].as<std::int64_t>())});
  }
  return view;
}

DomainPage ReadStore::domains(const DomainQuery& query) {
  pqxx::read_transaction tx(session_->reader());
  const auto sql = fmt::format(
      "SELECT w.domain, w.source, array_to_json(w.tags)::text, s.label, s.holz_score, "
      "s.ipv4_addresses, s.asns, s.countries, s.min_ttl, {}, count(*) OVER () "
      "{} ORDER BY {} LIMIT $8 OFFSET $9",
      us("s.computed_at"), kDomainSelection, order_by(query.sort, query.descending));
  const bool by_campaign = query.campaign.has_value();
  const auto tags = json_array(by_campaign ? query.campaign->first : std::vector<std::string>{});
  const auto sources =
      json_array(by_campaign ? query.campaign->second : std::vector<std::string>{});
  DomainPage page;
  for (const auto& row :
       tx.exec_params(sql, query.label, query.tag, query.source, query.name, by_campaign ? "1" : "",
                      tags, sources, query.limit, query.offset)) {
    DomainRow out;
    out.domain = row[0].as<std::string>();
    out.source = text(row[1]);
    out.tags = json_strings(row[2]);
    out.label = text(row[3]);
    out.holz_score = opt<double>(row[4]);
    out.ipv4_addresses = opt<std::int64_t>(row[5]);
    out.asns = opt<std::int64_t>(row[6]);
    out.countries = opt<std::int64_t>(row[7]);
    out.min_ttl = opt<std::int64_t>(row[8]);
    if (auto scored = opt<std::int64_t>(row[9])) {
      out.scored_at = from_us(*scored);
    }
    page.total = row[10].as<std::int64_t>();
    page.rows.push_back(std::move(out));
  }
  if (page.rows.empty() && query.offset > 0) {
    // Past the last page: the count still tells the pager where the selection ends.
    page.total =
        tx.exec_params1(fmt::format("SELECT count(*) {}", kDomainSelection), query.label, query.tag,
                        query.source, query.name, by_campaign ? "1" : "", tags, sources)[0]
            .as<std::int64_t>();
  }
  return page;
}

std::optional<DomainHistory> ReadStore::domain(const std::string& name, const TimeWindow& window) {
  pqxx::read_transaction tx(session_->reader());
  const auto found = tx.exec_params(
      "SELECT domain_id, source, array_to_json(tags)::text FROM watchlist WHERE domain = $1", name);
  if (found.empty()) {
    return std::nullopt;
  }
  const auto domain_id = found[0][0].as<std::int64_t>();
  DomainHistory h;
  h.domain = name;
  h.source = text(found[0][1]);
  h.tags = json_strings(found[0][2]);
  h.window = window;
  const auto since = window_param(window.since);
  const auto until = window_param(window.until);

  const auto verdict = tx.exec_params(
      fmt::format("SELECT label, array_to_json(reasons)::text, holz_score, {}, {}, {}, "
                  "ipv4_addresses, ipv6_addresses, asns, countries, ns_names, min_ttl, "
                  "set_change_ratio FROM latest_scores WHERE domain = $1",
                  us("computed_at"), us("window_start"), us("window_end")),
      name);
  if (!verdict.empty()) {
    const auto& row = verdict[0];
    Verdict v;
    v.label = row[0].as<std::string>();
    v.reasons = json_strings(row[1]);
    v.holz_score = row[2].as<double>();
    v.computed_at = from_us(row[3].as<std::int64_t>());
    if (auto start = opt<std::int64_t>(row[4])) {
      v.window_start = from_us(*start);
    }
    v.window_end = from_us(row[5].as<std::int64_t>());
    v.ipv4_addresses = row[6].as<std::int64_t>();
    v.ipv6_addresses = row[7].as<std::int64_t>();
    v.asns = row[8].as<std::int64_t>();
    v.countries = row[9].as<std::int64_t>();
    v.ns_names = row[10].as<std::int64_t>();
    v.min_ttl = opt<std::int64_t>(row[11]);
    v.set_change_ratio = opt<double>(row[12]);
    h.verdict = std::move(v);
  }

  // The address records of every lookup: timeline, growth curves, TTLs and countries.
  const auto sightings = tx.exec_params(
      fmt::format("SELECT probe_id, {}, qtype, ttl, host(address), asn, as_org, country "
                  "FROM answers WHERE domain_id = $1 AND {} AND rtype IN ('A', 'AAAA') "
                  "AND rtype = qtype AND address IS NOT NULL "
                  "ORDER BY sent_at, probe_id, address LIMIT $4",
                  us("sent_at"), kInWindow),
      domain_id, since, until, kMaxSightings + 1);
  for (const auto& row : sightings) {
    if (static_cast<std::int64_t>(h.sightings.size()) == kMaxSightings) {
      h.sightings_truncated = true;
      break;
    }
    h.sightings.push_back({row[0].as<std::int64_t>(), from_us(row[1].as<std::int64_t>()),
                           row[2].as<std::string>(), row[3].as<std::int64_t>(),
                           row[4].as<std::string>(), opt<std::int64_t>(row[5]), text(row[6]),
                           text(row[7])});
  }

  // NS sets: the domain's own NS lookups (answers) and the delegation lookups of
  // authoritative probing (ns_set_history).
  for (const auto& row : tx.exec_params(
           fmt::format(
               "SELECT {}, zone, ns_names, ttl FROM ("
               "  SELECT sent_at, probe_id, min(owner) AS zone, "
               "         array_to_json(array_agg(DISTINCT target ORDER BY target))::text "
               "         AS ns_names, min(ttl) AS ttl "
               "  FROM answers WHERE domain_id = $1 AND {} AND qtype = 'NS' AND rtype = 'NS' "
               "  GROUP BY probe_id, sent_at "
               "  UNION ALL "
               "  SELECT sent_at, probe_id, zone, array_to_json(ns_names)::text, ttl "
               "  FROM ns_set_history WHERE domain_id = $1 AND {} AND ns_names IS NOT NULL"
               ") s ORDER BY sent_at, probe_id LIMIT 20000",
               us("sent_at"), kInWindow, kInWindow),
           domain_id, since, until)) {
    h.ns_sets.push_back({from_us(row[0].as<std::int64_t>()), text(row[1]), json_strings(row[2]),
                         opt<std::int64_t>(row[3])});
  }

  for (const auto& row : tx.exec_params(
           fmt::format("SELECT {}, zone, server_name, serial FROM soa_serial_history "
                       "WHERE domain_id = $1 AND {} ORDER BY sent_at, probe_id LIMIT 20000",
                       us("sent_at"), kInWindow),
           domain_id, since, until)) {
    h.soa_serials.push_back({from_us(row[0].as<std::int64_t>()), text(row[1]), text(row[2]),
                             opt<std::int64_t>(row[3])});
  }

  for (const auto& row : tx.exec_params(
           fmt::format("SELECT score_run_id, {}, label, holz_score, ipv4_addresses, ipv4_asns "
                       "FROM score_history WHERE domain = $1 ORDER BY score_run_id",
                       us("computed_at")),
           name)) {
    h.scores.push_back({row[0].as<std::int64_t>(), from_us(row[1].as<std::int64_t>()),
                        row[2].as<std::string>(), row[3].as<double>(), row[4].as<std::int64_t>(),
                        row[5].as<std::int64_t>()});
  }

  for (const auto& row : tx.exec_params(
           fmt::format("SELECT rtype, owner, coalesce(target, ''), count(*), {}, {} "
                       "FROM answers WHERE domain_id = $1 AND {} AND rtype NOT IN ('A', 'AAAA') "
                       "GROUP BY rtype, owner, target ORDER BY rtype, owner, target LIMIT 500",
                       us("min(sent_at)"), us("max(sent_at)"), kInWindow),
           domain_id, since, until)) {
    h.other_records.push_back({row[0].as<std::string>(), row[1].as<std::string>(),
                               row[2].as<std::string>(), row[3].as<std::int64_t>(),
                               from_us(row[4].as<std::int64_t>()),
                               from_us(row[5].as<std::int64_t>())});
  }
  return h;
}

std::optional<AddressHistory> ReadStore::address(const std::string& address) {
  const auto canonical = canonical_address(address);
  if (!canonical) {
    return std::nullopt;
  }
  pqxx::read_transaction tx(session_->reader());
  AddressHistory h;
  h.address = *canonical;
  const auto info = tx.exec_params(
      "SELECT asn, as_org, country, country_name, city, geo_build FROM address_info "
      "WHERE address = $1::inet",
      *canonical);
  if (!info.empty()) {
    h.enriched = true;
    h.asn = opt<std::int64_t>(info[0][0]);
    h.as_org = text(info[0][1]);
    h.country = text(info[0][2]);
    h.country_name = text(info[0][3]);
    h.city = text(info[0][4]);
    h.geo_build = text(info[0][5]);
  }
  // Every build's word on it, oldest first (primary key (address, geo_build_id)): periods
  // of the same ASN and country.
  for (const auto& row : tx.exec_params(
           fmt::format("SELECT g.asn, g.as_org, g.country, g.country_name, {}, b.tag "
                       "FROM address_geo g JOIN geo_builds b USING (geo_build_id) "
                       "WHERE g.address = $1::inet ORDER BY b.first_used, b.geo_build_id "
                       "LIMIT 10000",
                       us("b.first_used")),
           *canonical)) {
    const auto asn = opt<std::int64_t>(row[0]);
    const auto country = text(row[2]);
    const auto used = from_us(row[4].as<std::int64_t>());
    const auto tag = text(row[5]);
    if (!h.geo_history.empty() && h.geo_history.back().asn == asn &&
        h.geo_history.back().country == country) {
      auto& period = h.geo_history.back();
      ++period.builds;
      period.last_build = tag;
      period.as_org = text(row[1]);  // the newest spelling of the same AS
      continue;
    }
    if (!h.geo_history.empty()) {
      h.geo_history.back().until = used;
    }
    h.geo_history.push_back(
        GeoPeriod{asn, text(row[1]), country, text(row[3]), used, std::nullopt, 1, tag, tag});
  }
  for (const auto& row : tx.exec_params(
           fmt::format("SELECT domain, {}, {}, times_seen, min_ttl FROM domain_addresses "
                       "WHERE address = $1::inet ORDER BY last_seen DESC, domain LIMIT 1000",
                       us("first_seen"), us("last_seen")),
           *canonical)) {
    h.domains.push_back({row[0].as<std::string>(), from_us(row[1].as<std::int64_t>()),
                         from_us(row[2].as<std::int64_t>()), row[3].as<std::int64_t>(),
                         opt<std::int64_t>(row[4])});
  }
  return h;
}

}  // namespace fluxwatch::web
