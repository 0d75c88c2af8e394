// The health verdict on a status snapshot and its two renderings (table for people, JSON
// for scripts). Feed URLs, errors and worker ids come from the database: untrusted, so
// control characters are escaped before they reach a terminal.
#include "fluxwatch/status/status.h"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <regex>

namespace fluxwatch::status {
namespace {

/// Control characters (ESC, CR, ...) as \xNN, so stored text cannot drive the terminal.
std::string terminal_safe(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f) {
      out += fmt::format("\\x{:02x}", byte);
    } else {
      out += c;
    }
  }
  return out;
}

std::string iso(Clock::time_point when) {
  return fmt::format("{:%Y-%m-%dT%H:%M:%SZ}", std::chrono::floor<std::chrono::seconds>(when));
}

std::string iso(const std::optional<Clock::time_point>& when) { return when ? iso(*when) : "-"; }

nlohmann::json json_time(const std::optional<Clock::time_point>& when) {
  return when ? nlohmann::json(iso(*when)) : nlohmann::json(nullptr);
}

/// null for empty text (no error), else the text.
nlohmann::json json_text(const std::string& text) {
  return text.empty() ? nlohmann::json(nullptr) : nlohmann::json(text);
}

nlohmann::json json_number(const std::optional<double>& value) {
  return value ? nlohmann::json(*value) : nlohmann::json(nullptr);
}

std::string seconds_text(const std::optional<double>& seconds) {
  if (!seconds) {
    return "-";
  }
  if (*seconds < 120) {
    return fmt::format("{:.1f}s", *seconds);
  }
  if (*seconds < 7200) {
    return fmt::format("{:.0f}m", *seconds / 60);
  }
  return fmt::format("{:.1f}h", *seconds / 3600);
}

double age_seconds(const StatusReport& report, Clock::time_point when) {
  return std::chrono::duration<double>(report.checked_at - when).count();
}

}  // namespace

const char* health_name(Health health) noexcept {
  switch (health) {
    case Health::Healthy:
      return "healthy";
    case Health::Degraded:
      return "degraded";
    case Health::Down:
      return "down";
  }
  return "down";
}

std::string mask_password(const std::string& dsn) {
  // key=value form: password=secret or password='se cret'
  static const std::regex key_value(R"((password\s*=\s*)('([^'\\]|\\.)*'|\S+))", std::regex::icase);
  // URI form: postgresql://user:secret@host
  static const std::regex uri(R"(^(postgres(ql)?://[^:/@]*:)[^@]*@)", std::regex::icase);
  auto masked = std::regex_replace(dsn, key_value, "$1***");
  return std::regex_replace(masked, uri, "$1***@");
}

void judge(StatusReport& report, const HealthLimits& limits) {
  if (!report.reachable) {
    report.health = Health::Down;
    report.problems.insert(report.problems.begin(),
                           "database unreachable: " + terminal_safe(report.error));
    return;
  }
  // Problems already listed are sections that could not be read.
  bool degraded = !report.problems.empty();
  auto problem = [&](std::string text) {
    report.problems.push_back(std::move(text));
    degraded = true;
  };
  for (const auto& campaign : report.campaigns) {
    if (campaign.oldest_overdue_seconds &&
        *campaign.oldest_overdue_seconds > static_cast<double>(limits.max_overdue.count())) {
      problem(fmt::format(
          "campaign {}: {} due domain(s) nobody is probing, the oldest {} overdue (is a "
          "`fluxwatch run` for it running?)",
          terminal_safe(campaign.name), campaign.backlog,
          seconds_text(campaign.oldest_overdue_seconds)));
    }
    if (campaign.lateness_p95_seconds &&
        *campaign.lateness_p95_seconds > static_cast<double>(limits.max_lateness.count())) {
      problem(
          fmt::format("campaign {}: probes are late (p95 {} after due; more workers, a "
                      "higher qps or a longer min_interval)",
                      terminal_safe(campaign.name), seconds_text(campaign.lateness_p95_seconds)));
    }
  }
  for (auto& resolver : report.resolvers) {
    resolver.configured =
        !report.configured_resolvers || report.configured_resolvers->count(resolver.resolver) > 0;
    resolver.healthy =
        !resolver.configured || resolver.failures_since_answer < limits.max_resolver_failures;
    if (!resolver.healthy) {
      problem(fmt::format(
          "resolver {}: {} failed queries in a row, {} (check that it runs and that the "
          "address and port are right; `fluxwatch probe --resolver {}` tries it)",
          terminal_safe(resolver.resolver), resolver.failures_since_answer,
          resolver.last_answer ? "no answer since " + iso(resolver.last_answer)
                               : std::string("no answer in the last 15 minutes"),
          terminal_safe(resolver.resolver)));
    }
  }
  for (const auto& file : report.geo_files) {
    if (!file.error.empty()) {
      problem(fmt::format("GeoIP {}: {}", terminal_safe(file.path), terminal_safe(file.error)));
    } else if (file.built && report.checked_at - *file.built > limits.max_geoip_age) {
      problem(fmt::format("GeoIP {} is {:.0f} days old (`fluxwatch geo update`)",
                          terminal_safe(file.path), age_seconds(report, *file.built) / 86400));
    }
  }
  for (const auto& feed : report.feeds) {
    if (feed.consecutive_failures >= limits.max_feed_failures) {
      problem(fmt::format("feed {}: {} failed fetches in a row: {}", terminal_safe(feed.url),
                          feed.consecutive_failures, terminal_safe(feed.last_error)));
    }
  }
  report.health = degraded ? Health::Degraded : Health::Healthy;
}

std::string render_table(const StatusReport& report) {
  std::string out;
  auto line = [&out](std::string text) {
    out += text;
    out += '\n';
  };
  line(fmt::format("status:    {}", health_name(report.health)));
  line(fmt::format("database:  {} ({})", terminal_safe(report.database),
                   report.reachable ? "reachable" : "UNREACHABLE"));
  if (report.reachable) {
    line(fmt::format("schema:    version {}", report.schema_version));
    line(fmt::format("watched:   {} domains", report.watched_domains));
    line(fmt::format("probes:    {} today, ~{} total", report.probes_today, report.probes_total));
    line(fmt::format("rate:      {:.1f}/s (1 min)  {:.1f}/s (5 min)  {:.1f}/s (15 min)",
                     report.rate_1m, report.rate_5m, report.rate_15m));
  }
  if (!report.campaigns.empty()) {
    line("");
    line(fmt::format("{:<20} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}  {}", "campaign", "domains",
                     "due now", "backlog", "overdue", "late p50", "late p95", "last probe"));
    for (const auto& c : report.campaigns) {
      line(fmt::format("{:<20} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}  {}", terminal_safe(c.name),
                       c.domains, c.due_now, c.backlog, seconds_text(c.oldest_overdue_seconds),
                       seconds_text(c.lateness_p50_seconds), seconds_text(c.lateness_p95_seconds),
                       iso(c.last_probe)));
    }
  }
  if (!report.workers.empty()) {
    line("");
    line(fmt::format("{:<40} {:<20} {:>7}  {}", "worker", "campaign", "leases", "lease until"));
    for (const auto& w : report.workers) {
      line(fmt::format("{:<40} {:<20} {:>7}  {}", terminal_safe(w.worker),
                       terminal_safe(w.campaign), w.leases, iso(w.lease_until)));
    }
  }
  if (!report.resolvers.empty()) {
    line("");
    line(fmt::format("{:<24} {:<9} {:>9} {:>9} {:>9}  {}", "resolver (15 min)", "health", "queries",
                     "failed", "in a row", "last answer"));
    for (const auto& r : report.resolvers) {
      line(fmt::format("{:<24} {:<9} {:>9} {:>9} {:>9}  {}", terminal_safe(r.resolver),
                       !r.configured ? "unlisted"
                       : r.healthy   ? "healthy"
                                     : "UNHEALTHY",
                       r.queries, r.failures, r.failures_since_answer, iso(r.last_answer)));
    }
  }
  if (!report.geo_files.empty() || !report.geo_builds.empty()) {
    line("");
    for (const auto& file : report.geo_files) {
      line(fmt::format("geoip:     {} {} built {} ({}){}", terminal_safe(file.path),
                       terminal_safe(file.database_type), iso(file.built),
                       file.built ? seconds_text(age_seconds(report, *file.built)) + " old" : "-",
                       file.error.empty() ? "" : ": " + terminal_safe(file.error)));
    }
    for (const auto& build : report.geo_builds) {
      line(fmt::format("geo build: {} first used {}", terminal_safe(build.tag),
                       iso(build.first_used)));
    }
  }
  if (!report.feeds.empty()) {
    line("");
    for (const auto& feed : report.feeds) {
      line(fmt::format(
          "feed:      {} last success {}{}", terminal_safe(feed.url), iso(feed.last_success),
          feed.last_error.empty()
              ? ""
              : fmt::format(", last error ({} in a row): {}", feed.consecutive_failures,
                            terminal_safe(feed.last_error))));
    }
  }
  if (!report.problems.empty()) {
    line("");
    for (const auto& problem : report.problems) {
      line("problem:   " + problem);
    }
  }
  return out;
}

std::string render_json(const StatusReport& report) {
  nlohmann::json campaigns = nlohmann::json::array();
  for (const auto& c : report.campaigns) {
    campaigns.push_back({{"name", c.name},
                         {"domains", c.domains},
                         {"due_now", c.due_now},
                         {"backlog", c.backlog},
                         {"oldest_overdue_seconds", json_number(c.oldest_overdue_seconds)},
                         {"lateness_p50_seconds", json_number(c.lateness_p50_seconds)},
                         {"lateness_p95_seconds", json_number(c.lateness_p95_seconds)},
                         {"last_probe", json_time(c.last_probe)}});
  }
  nlohmann::json workers = nlohmann::json::array();
  for (const auto& w : report.workers) {
    workers.push_back({{"worker", w.worker},
                       {"campaign", w.campaign},
                       {"leases", w.leases},
                       {"lease_until", iso(w.lease_until)}});
  }
  nlohmann::json resolvers = nlohmann::json::array();
  for (const auto& r : report.resolvers) {
    resolvers.push_back({{"resolver", r.resolver},
                         {"configured", r.configured},
                         {"healthy", r.healthy},
                         {"queries_15m", r.queries},
                         {"failures_15m", r.failures},
                         {"failures_since_answer", r.failures_since_answer},
                         {"last_answer", json_time(r.last_answer)},
                         {"last_query", json_time(r.last_query)}});
  }
  nlohmann::json geo_files = nlohmann::json::array();
  for (const auto& f : report.geo_files) {
    geo_files.push_back({{"path", f.path},
                         {"database_type", f.database_type},
                         {"built", json_time(f.built)},
                         {"error", json_text(f.error)}});
  }
  nlohmann::json geo_builds = nlohmann::json::array();
  for (const auto& b : report.geo_builds) {
    geo_builds.push_back({{"tag", b.tag}, {"first_used", iso(b.first_used)}});
  }
  nlohmann::json feeds = nlohmann::json::array();
  for (const auto& f : report.feeds) {
    feeds.push_back(
        {{"url", f.url},
         {"last_attempt", json_time(f.last_attempt)},
         {"last_success", json_time(f.last_success)},
         {"last_status", f.last_status ? nlohmann::json(*f.last_status) : nlohmann::json(nullptr)},
         {"last_error", json_text(f.last_error)},
         {"consecutive_failures", f.consecutive_failures},
         {"entries", f.entries ? nlohmann::json(*f.entries) : nlohmann::json(nullptr)}});
  }
  const nlohmann::json json{
      {"status", health_name(report.health)},
      {"checked_at", iso(report.checked_at)},
      {"database",
       {{"dsn", report.database},
        {"reachable", report.reachable},
        {"error", report.reachable ? nlohmann::json(nullptr) : nlohmann::json(report.error)},
        {"schema_version", report.schema_version}}},
      {"watched_domains", report.watched_domains},
      {"probes", {{"today", report.probes_today}, {"total_estimate", report.probes_total}}},
      {"rate_per_second",
       {{"1m", report.rate_1m}, {"5m", report.rate_5m}, {"15m", report.rate_15m}}},
      {"campaigns", campaigns},
      {"workers", workers},
      {"resolvers", resolvers},
      {"geoip", {{"files", geo_files}, {"builds", geo_builds}}},
      {"feeds", feeds},
      {"problems", report.problems},
  };
  // error_handler replace: stored text is not guaranteed UTF-8.
  return json.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

}  // namespace fluxwatch::status
