// HttpProbeStore: http_probes (migration 0006_feeds_http) and the addresses still to probe.
#include "fluxwatch/storage/http_probe_store.h"

#include <pqxx/pqxx>
#include <tuple>

#include "copy_text.h"
#include "fluxwatch/storage/session.h"

namespace fluxwatch::storage {

struct HttpProbeStore::Impl {
  explicit Impl(const std::string& dsn) : session(dsn, "http probes") {}

  template <typename Body>
  auto run(const char* what, Body&& body) {
    return session.run(what, std::forward<Body>(body));
  }

  Session session;
};

HttpProbeStore::HttpProbeStore(const std::string& dsn) : impl_(std::make_unique<Impl>(dsn)) {}
HttpProbeStore::~HttpProbeStore() = default;
HttpProbeStore::HttpProbeStore(HttpProbeStore&&) noexcept = default;
HttpProbeStore& HttpProbeStore::operator=(HttpProbeStore&&) noexcept = default;

std::vector<NewAddress> HttpProbeStore::unprobed_addresses(std::optional<TimePoint> since,
                                                           const std::string& campaign,
                                                           std::size_t limit) {
  return impl_->run("unprobed_addresses", [&](pqxx::connection& c) {
    pqxx::read_transaction tx(c);
    const std::string since_text = since ? detail::format_timestamp_utc(*since) : "";
    std::vector<NewAddress> out;
    for (const auto& row : tx.exec_params(
             R"sql(
SELECT p.domain_id, w.domain, host(r.address), max(p.sent_at) AS seen
FROM probes p
JOIN records r ON r.probe_id = p.probe_id
JOIN watchlist w ON w.domain_id = p.domain_id
WHERE r.section = 'answer' AND r.rtype IN ('A', 'AAAA') AND r.address IS NOT NULL
  AND p.sent_at >= coalesce(NULLIF($1, '')::timestamptz, '-infinity'::timestamptz)
  AND (NULLIF($2, '') IS NULL OR p.campaign = $2)
  AND NOT EXISTS (SELECT 1 FROM http_probes h
                  WHERE h.domain_id = p.domain_id AND h.address = r.address)
GROUP BY p.domain_id, w.domain, r.address
ORDER BY seen DESC, w.domain, r.address
LIMIT $3)sql",
             since_text, campaign, static_cast<long long>(limit))) {
      out.push_back(
          {row[0].as<std::int64_t>(), row[1].as<std::string>(), row[2].as<std::string>()});
    }
    return out;
  });
}

void HttpProbeStore::store_http_probes(const std::vector<HttpProbeRow>& rows) {
  if (rows.empty()) {
    return;
  }
  impl_->run("store_http_probes", [&](pqxx::connection& c) {
    pqxx::work tx(c);
    pqxx::stream_to out(tx, "http_probes",
                        std::vector<std::string>{
                            "domain_id", "domain", "address", "url", "started_at", "connect_us",
                            "ttfb_us", "total_us", "status", "server", "content_type", "location",
                            "body_length", "body_truncated", "body_sha256", "error", "campaign"});
    for (const auto& row : rows) {
      if (!detail::is_ip_address(row.address)) {
        continue;  // the inet column would reject the whole batch
      }
      out << std::make_tuple(
          row.domain_id != 0 ? std::optional<std::int64_t>(row.domain_id) : std::nullopt,
          row.domain, row.address, row.url, detail::format_timestamp_utc(row.started_at),
          row.connect_us, row.ttfb_us, row.total_us, row.status, detail::null_if_empty(row.server),
          detail::null_if_empty(row.content_type), detail::null_if_empty(row.location),
          row.body_length, row.body_truncated, detail::null_if_empty(row.body_sha256),
          detail::null_if_empty(row.error), detail::null_if_empty(row.campaign));
    }
    out.complete();
    impl_->session.commit(tx);
  });
}

}  // namespace fluxwatch::storage
