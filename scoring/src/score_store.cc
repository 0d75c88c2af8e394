// ScoreStore: features from one pass over the window (window_read.cc, FeatureScan),
// verdicts stored with COPY, scores read back.
// libpqxx 6.4 cannot read std::optional (see storage/src/database.cc), so NULLs are checked
// field by field.
#include "fluxwatch/scoring/score_store.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <map>
#include <pqxx/pqxx>
#include <tuple>
#include <unordered_map>
#include <utility>

#include "feature_scan_sql.h"
#include "fluxwatch/common/clock.h"
#include "fluxwatch/common/error.h"
#include "fluxwatch/common/time_text.h"
#include "fluxwatch/scoring/feature_scan.h"
#include "fluxwatch/storage/session.h"
#include "window_read.h"

namespace fluxwatch::scoring {
namespace {

TimePoint from_micros(std::int64_t micros) { return TimePoint(std::chrono::microseconds(micros)); }

std::optional<std::int64_t> opt_int(const pqxx::field& field) {
  return field.is_null() ? std::nullopt : std::optional<std::int64_t>(field.as<std::int64_t>());
}
std::optional<double> opt_double(const pqxx::field& field) {
  return field.is_null() ? std::nullopt : std::optional<double>(field.as<double>());
}
std::string opt_text(const pqxx::field& field) {
  return field.is_null() ? std::string() : field.as<std::string>();
}

/// A PostgreSQL array literal of text elements (each quoted, " and \ escaped).
std::string text_array(const std::vector<std::string>& items) {
  std::string out = "{";
  for (std::size_t i = 0; i < items.size(); ++i) {
    out += i == 0 ? "\"" : ",\"";
    for (const char c : items[i]) {
      if (c == '"' || c == '\\') {
        out += '\\';
      }
      out += c;
    }
    out += '"';
  }
  return out + "}";
}

/// Reads a text[] value (as produced by PostgreSQL's array output) into strings.
std::vector<std::string> parse_text_array(const pqxx::field& field) {
  std::vector<std::string> out;
  auto parser = field.as_array();
  for (auto item = parser.get_next(); item.first != pqxx::array_parser::done;
       item = parser.get_next()) {
    if (item.first == pqxx::array_parser::string_value) {
      out.push_back(item.second);
    }
  }
  return out;
}

/// Reads the 23 feature columns starting at `first` (the order of kFeaturesSql / kScoreColumns).
Features read_features(const pqxx::row& row, pqxx::row::size_type first) {
  Features f;
  auto i = first;
  f.probes = row[i++].as<std::int64_t>();
  f.address_probes = row[i++].as<std::int64_t>();
  f.answered_lookups = row[i++].as<std::int64_t>();
  f.max_answer_size = row[i++].as<std::int64_t>();
  f.ipv4_addresses = row[i++].as<std::int64_t>();
  f.ipv6_addresses = row[i++].as<std::int64_t>();
  f.asns = row[i++].as<std::int64_t>();
  f.ipv4_asns = row[i++].as<std::int64_t>();
  f.countries = row[i++].as<std::int64_t>();
  f.prefixes = row[i++].as<std::int64_t>();
  f.country_entropy = opt_double(row[i++]);
  f.geo_dispersion_km = opt_double(row[i++]);
  f.min_ttl = opt_int(row[i++]);
  f.median_ttl = opt_int(row[i++]);
  f.ns_min_ttl = opt_int(row[i++]);
  f.ns_median_ttl = opt_int(row[i++]);
  f.ns_names = row[i++].as<std::int64_t>();
  f.ns_addresses = row[i++].as<std::int64_t>();
  f.ns_asns = row[i++].as<std::int64_t>();
  f.new_address_ratio = opt_double(row[i++]);
  f.set_change_ratio = opt_double(row[i++]);
  f.ns_change_ratio = opt_double(row[i++]);
  f.soa_serial_changes = opt_int(row[i++]);
  return f;
}

// The feature columns of domain_scores, in the order read_features() reads them.
constexpr const char* kFeatureColumns =
    "probes, address_probes, answered_lookups, max_answer_size, ipv4_addresses, "
    "ipv6_addresses, asns, ipv4_asns, countries, prefixes, country_entropy, geo_dispersion_km, "
    "min_ttl, median_ttl, ns_min_ttl, ns_median_ttl, ns_names, ns_addresses, ns_asns, "
    "new_address_ratio, set_change_ratio, ns_change_ratio, soa_serial_changes";

std::string stored_select(std::string_view where, std::string_view order) {
  return fmt::format(
      "SELECT domain, score_run_id, (extract(epoch FROM computed_at) * 1000000)::bigint, "
      "(extract(epoch FROM window_start) * 1000000)::bigint, "
      "(extract(epoch FROM window_end) * 1000000)::bigint, label, reasons, holz_score, "
      "holz_flux, {} FROM {} ORDER BY {}",
      kFeatureColumns, where, order);
}

StoredScore read_stored(const pqxx::row& row) {
  StoredScore s;
  s.domain = row[0].as<std::string>();
  s.score_run_id = row[1].as<std::int64_t>();
  s.computed_at = from_micros(row[2].as<std::int64_t>());
  if (!row[3].is_null()) {
    s.window_start = from_micros(row[3].as<std::int64_t>());
  }
  s.window_end = from_micros(row[4].as<std::int64_t>());
  s.verdict.label = parse_label(row[5].as<std::string>()).value_or(Label::InsufficientData);
  s.verdict.reasons = parse_text_array(row[6]);
  s.verdict.holz_score = row[7].as<double>();
  s.verdict.holz_flux = row[8].as<bool>();
  s.features = read_features(row, 9);
  return s;
}

std::string sort_sql(StoredScoreOrder sort, bool descending) {
  const char* dir = descending ? "DESC" : "ASC";
  switch (sort) {
    case StoredScoreOrder::Label:
      return fmt::format("label {}, domain", dir);
    case StoredScoreOrder::HolzScore:
      return fmt::format("holz_score {}, domain", dir);
    case StoredScoreOrder::Addresses:
      return fmt::format("ipv4_addresses + ipv6_addresses {}, domain", dir);
    case StoredScoreOrder::Asns:
      return fmt::format("asns {}, domain", dir);
    case StoredScoreOrder::Domain:
      break;
  }
  return fmt::format("domain {}", dir);
}

std::string window_start_text(const Window& window) {
  return window.since ? format_timestamp_utc(*window.since) : "-infinity";
}

}  // namespace

struct ScoreStore::Impl {
  Impl(const std::string& dsn, const std::string& read_dsn)
      : writer(dsn, "scoring"),
        reader(read_dsn.empty() || read_dsn == dsn
                   ? nullptr
                   : std::make_unique<storage::Session>(read_dsn, "scoring (read_dsn)")) {}

  /// Where reads go: the read_dsn session when there is one.
  storage::Session& reads() { return reader ? *reader : writer; }

  /// The window's end as text: `until`, else the server's now().
  std::string window_end_text(pqxx::transaction_base& tx, const Window& window) const {
    if (window.until) {
      return format_timestamp_utc(*window.until);
    }
    return tx.exec("SELECT now()::text")[0][0].as<std::string>();
  }

  storage::Session writer;
  std::unique_ptr<storage::Session> reader;
};

ScoreStore::ScoreStore(const std::string& dsn, const std::string& read_dsn)
    : impl_(std::make_unique<Impl>(dsn, read_dsn)) {}
ScoreStore::~ScoreStore() = default;
ScoreStore::ScoreStore(ScoreStore&&) noexcept = default;
ScoreStore& ScoreStore::operator=(ScoreStore&&) noexcept = default;

std::vector<DomainFeatures> ScoreStore::compute_features(const Window& window) {
  return impl_->reads().run("computing features", [&](pqxx::connection& connection) {
    // One snapshot for every read; nothing is written.
    pqxx::transaction<pqxx::isolation_level::repeatable_read, pqxx::readwrite_policy::read_only> tx(
        connection, "features");
    const std::string until = impl_->window_end_text(tx, window);
    tx.exec_params(detail::kScanSettingsSql, window_start_text(window), until);
    FeatureScan scan;
    auto names = detail::read_window(tx, impl_->reads().dsn(),
                                     {window_start_text(window), until, window.campaign}, scan);
    tx.commit();
    const auto phase = SteadyClock::now();
    std::vector<DomainFeatures> out;
    auto features = scan.finish();
    spdlog::debug(
        "scoring: features computed in {} ms",
        std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - phase).count());
    out.reserve(features.size());
    for (std::size_t i = 0; i < features.size(); ++i) {
      out.push_back({features[i].first, std::move(names[i]), features[i].second});
    }
    return out;
  });
}

std::int64_t ScoreStore::save(const Window& window, const std::string& settings_json,
                              const std::vector<DomainFeatures>& rows,
                              const std::vector<Verdict>& verdicts) {
  if (rows.size() != verdicts.size()) {
    throw Error("scoring: save(): one verdict per domain is needed");
  }
  return impl_->writer.run("storing scores", [&](pqxx::connection& connection) {
    pqxx::work tx(connection, "save_scores");
    const std::string until = impl_->window_end_text(tx, window);
    const auto run_id =
        tx.exec_params1(
              "INSERT INTO score_runs (window_start, window_end, campaign, settings, "
              "domains) VALUES (NULLIF($1, '-infinity')::timestamptz, $2::timestamptz, "
              "NULLIF($3, ''), $4::jsonb, $5) RETURNING score_run_id",
              window_start_text(window), until, window.campaign, settings_json,
              static_cast<std::int64_t>(rows.size()))[0]
            .as<std::int64_t>();
    pqxx::stream_to out(tx, "domain_scores",
                        std::vector<std::string>{"score_run_id",
                                                 "domain_id",
                                                 "label",
                                                 "reasons",
                                                 "holz_score",
                                                 "holz_flux",
                                                 "probes",
                                                 "address_probes",
                                                 "answered_lookups",
                                                 "max_answer_size",
                                                 "ipv4_addresses",
                                                 "ipv6_addresses",
                                                 "asns",
                                                 "ipv4_asns",
                                                 "countries",
                                                 "prefixes",
                                                 "country_entropy",
                                                 "geo_dispersion_km",
                                                 "min_ttl",
                                                 "median_ttl",
                                                 "ns_min_ttl",
                                                 "ns_median_ttl",
                                                 "ns_names",
                                                 "ns_addresses",
                                                 "ns_asns",
                                                 "new_address_ratio",
                                                 "set_change_ratio",
                                                 "ns_change_ratio",
                                                 "soa_serial_changes"});
    // Doubles as shortest round-trip text; NULL via std::optional without a value.
    const auto dbl = [](const std::optional<double>& v) -> std::optional<std::string> {
      return v ? std::optional<std::string>(fmt::format("{}", *v)) : std::nullopt;
    };
    for (std::size_t i = 0; i < rows.size(); ++i) {
      const Features& f = rows[i].features;
      const Verdict& v = verdicts[i];
      out << std::make_tuple(run_id, rows[i].domain_id, std::string(label_name(v.label)),
                             text_array(v.reasons), fmt::format("{}", v.holz_score), v.holz_flux,
                             f.probes, f.address_probes, f.answered_lookups, f.max_answer_size,
                             f.ipv4_addresses, f.ipv6_addresses, f.asns, f.ipv4_asns, f.countries,
                             f.prefixes, dbl(f.country_entropy), dbl(f.geo_dispersion_km),
                             f.min_ttl, f.median_ttl, f.ns_min_ttl, f.ns_median_ttl, f.ns_names,
                             f.ns_addresses, f.ns_asns, dbl(f.new_address_ratio),
                             dbl(f.set_change_ratio), dbl(f.ns_change_ratio), f.soa_serial_changes);
    }
    out.complete();
    impl_->writer.commit(tx);
    return run_id;
  });
}

std::vector<StoredScore> ScoreStore::latest_scores(StoredScoreOrder sort, bool descending) {
  return impl_->reads().run("reading scores", [&](pqxx::connection& connection) {
    pqxx::read_transaction tx(connection, "latest_scores");
    std::vector<StoredScore> out;
    for (const auto& row : tx.exec(stored_select("latest_scores", sort_sql(sort, descending)))) {
      out.push_back(read_stored(row));
    }
    return out;
  });
}

std::optional<StoredScore> ScoreStore::latest_score(const std::string& domain) {
  return impl_->reads().run("reading a score", [&](pqxx::connection& connection) {
    pqxx::read_transaction tx(connection, "latest_score");
    const auto rows = tx.exec_params(
        stored_select("score_history WHERE domain = $1", "score_run_id DESC LIMIT 1"), domain);
    return rows.empty() ? std::nullopt : std::optional<StoredScore>(read_stored(rows[0]));
  });
}

std::vector<StoredScore> ScoreStore::score_history(const std::string& domain) {
  return impl_->reads().run("reading score history", [&](pqxx::connection& connection) {
    pqxx::read_transaction tx(connection, "score_history");
    std::vector<StoredScore> out;
    for (const auto& row :
         tx.exec_params(stored_select("score_history WHERE domain = $1", "score_run_id"), domain)) {
      out.push_back(read_stored(row));
    }
    return out;
  });
}

std::vector<AddressSeen> ScoreStore::addresses(const std::string& domain, const Window& window) {
  return impl_->reads().run("reading addresses", [&](pqxx::connection& connection) {
    pqxx::read_transaction tx(connection, "addresses");
    const std::string until = impl_->window_end_text(tx, window);
    std::vector<AddressSeen> out;
    for (const auto& row : tx.exec_params(
             "SELECT host(a.address), i.asn, i.as_org, i.country, count(DISTINCT a.probe_id), "
             "(extract(epoch FROM min(a.sent_at)) * 1000000)::bigint, "
             "(extract(epoch FROM max(a.sent_at)) * 1000000)::bigint "
             "FROM answers a LEFT JOIN address_info i ON i.address = a.address "
             "WHERE a.domain = $1 AND a.rtype IN ('A', 'AAAA') AND a.rtype = a.qtype "
             "AND a.address IS NOT NULL AND a.sent_at >= $2::timestamptz "
             "AND a.sent_at < $3::timestamptz AND ($4 = '' OR a.campaign = $4) "
             "GROUP BY a.address, i.asn, i.as_org, i.country "
             "ORDER BY count(DISTINCT a.probe_id) DESC, a.address",
             domain, window_start_text(window), until, window.campaign)) {
      AddressSeen seen;
      seen.address = row[0].as<std::string>();
      seen.asn = opt_int(row[1]);
      seen.as_org = opt_text(row[2]);
      seen.country = opt_text(row[3]);
      seen.times_seen = row[4].as<std::int64_t>();
      seen.first_seen = from_micros(row[5].as<std::int64_t>());
      seen.last_seen = from_micros(row[6].as<std::int64_t>());
      out.push_back(std::move(seen));
    }
    return out;
  });
}

ScoreStore::History ScoreStore::history(const std::string& domain, const Window& window) {
  return impl_->reads().run("reading history", [&](pqxx::connection& connection) {
    pqxx::read_transaction tx(connection, "history");
    const std::string since = window_start_text(window);
    const std::string until = impl_->window_end_text(tx, window);
    History history;
    std::map<std::int64_t, std::pair<bool, StoredProbe>> probes;
    const auto add_rows = [&](const pqxx::result& rows) {
      for (const auto& row : rows) {
        const auto id = row[0].as<std::int64_t>();
        auto [entry, fresh] = probes.try_emplace(id);
        if (fresh) {
          entry->second.first = row[5].as<bool>();
          StoredProbe& o = entry->second.second;
          o.probe_id = id;
          o.qname = row[1].as<std::string>();
          o.qtype = static_cast<RrType>(stored_rrtype(row[2].c_str()));
          o.sent_at = from_micros(row[3].as<std::int64_t>());
          o.outcome = parse_outcome(row[4].c_str()).value_or(Outcome::NetError);
        }
        if (!row[6].is_null()) {
          if (auto record = Record::from_columns(row[6].c_str(), row[7].as<std::string>(),
                                                 row[8].c_str(), row[9].as<std::int64_t>(),
                                                 opt_text(row[10]), opt_text(row[11]))) {
            entry->second.second.records.push_back(std::move(*record));
          }
        }
      }
    };
    // The domain's probes of the window with all their records. Its own are those of the
    // campaign asked for that are not authoritative mode's address lookups of its NS names
    // (as in compute_features()); the others are only a source of NS host addresses.
    add_rows(tx.exec_params(
        "SELECT p.probe_id, p.qname, p.qtype, (extract(epoch FROM p.sent_at) * 1000000)::bigint, "
        "p.outcome::text, ($4 = '' OR p.campaign = $4) AND (p.mode <> 'delegation' OR "
        "p.qtype = 'NS'), r.section, r.owner, r.rtype, r.ttl, host(r.address), r.target "
        "FROM probes p LEFT JOIN records r ON r.probe_id = p.probe_id "
        "WHERE p.domain_id = (SELECT domain_id FROM watchlist WHERE domain = $1) "
        "AND p.sent_at >= $2::timestamptz AND p.sent_at < $3::timestamptz",
        domain, since, until, window.campaign));
    // Of every other probe of the window, only what the domain's features read: the address
    // records (answer or additional) owned by the NS names of its answers.
    add_rows(tx.exec_params(
        "WITH d AS (SELECT domain_id FROM watchlist WHERE domain = $1), "
        "ns AS (SELECT DISTINCT r.target FROM probes p JOIN records r USING (probe_id) "
        "  WHERE p.domain_id = (SELECT domain_id FROM d) AND ($4 = '' OR p.campaign = $4) "
        "  AND (p.mode <> 'delegation' OR p.qtype = 'NS') "
        "  AND p.sent_at >= $2::timestamptz AND p.sent_at < $3::timestamptz "
        "  AND r.rtype = 'NS' AND r.section = 'answer' AND r.target <> '') "
        "SELECT p.probe_id, p.qname, p.qtype, (extract(epoch FROM p.sent_at) * 1000000)::bigint, "
        "p.outcome::text, false, r.section, r.owner, r.rtype, r.ttl, host(r.address), r.target "
        "FROM probes p JOIN records r USING (probe_id) "
        "WHERE p.domain_id IS DISTINCT FROM (SELECT domain_id FROM d) "
        "AND p.sent_at >= $2::timestamptz AND p.sent_at < $3::timestamptz "
        "AND r.rtype IN ('A', 'AAAA') AND r.section IN ('answer', 'additional') "
        "AND r.owner IN (SELECT target FROM ns)",
        domain, since, until, window.campaign));
    std::vector<std::string> addresses;
    for (auto& [id, entry] : probes) {
      for (const auto& record : entry.second.records) {
        if (record.address) {
          addresses.push_back(record.address->to_string());
        }
      }
      (entry.first ? history.domain_probes : history.other_probes)
          .push_back(std::move(entry.second));
    }
    // The enrichment of those addresses.
    for (const auto& row : tx.exec_params("SELECT host(address), asn, country, latitude, longitude "
                                          "FROM address_info WHERE address = ANY($1::inet[])",
                                          text_array(addresses))) {
      AddressInfo info;
      info.asn = opt_int(row[1]);
      if (!row[2].is_null()) {
        info.country = row[2].as<std::string>();
      }
      info.latitude = opt_double(row[3]);
      info.longitude = opt_double(row[4]);
      if (const auto address = parse_inet_host(row[0].c_str())) {
        history.geo.emplace(*address, info);
      }
    }
    return history;
  });
}

}  // namespace fluxwatch::scoring
