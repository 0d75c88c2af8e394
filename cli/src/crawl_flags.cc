#include "crawl_flags.h"

#include "names.h"

namespace fluxwatch::cli {
CLI::Range setting_range(std::string_view key) {
  const auto range = config::integer_range(key);
  return {range.low, range.high};
}

void add_crawl_flags(CLI::App& command, CrawlFlags& flags, bool names_follow) {
  auto* resolver = command.add_option("--resolver", flags.resolvers,
                                      "DNS server ip[:port] (repeatable; overrides `resolvers`)");
  auto* types = command.add_option(names_follow ? "-t,--types" : "--types", flags.types,
                                   "Record types, e.g. A,AAAA,MX,TXT,CAA or TYPE65280 (overrides "
                                   "`probe.record_types`)");
  types->delimiter(',');
  if (names_follow) {  // one value per flag: the names follow as positionals
    resolver->expected(1)->take_all()->allow_extra_args(false);
    types->expected(1)->take_all()->allow_extra_args(false)->capture_default_str();
  }
  command
      .add_option("--concurrency", flags.concurrency,
                  "Queries in flight (overrides `probe.concurrency`)")
      ->check(setting_range("probe.concurrency"));
  command
      .add_option("--timeout-ms", flags.timeout_ms,
                  "Timeout of the first try in milliseconds, doubled on each retry (overrides "
                  "`probe.timeout_ms`)")
      ->check(setting_range("probe.timeout_ms"));
  command.add_option("--tries", flags.tries, "Tries per query (overrides `probe.tries`)")
      ->check(setting_range("probe.tries"));
  command.add_flag("--no-recursion", flags.no_recursion,
                   "Clear the RD bit (for asking authoritative servers)");
  command.add_option("--asn-db", flags.asn_db, "GeoLite2-ASN shaped MMDB file");
  command.add_option("--city-db", flags.city_db, "GeoLite2-City shaped MMDB file");
}

config::Config apply_crawl_flags(config::Config config, const CrawlFlags& flags) {
  if (!flags.resolvers.empty()) {
    config.resolvers = parse_resolver_flags(flags.resolvers);
  }
  if (!flags.types.empty()) {
    config.probe.record_types = parse_type_flags(flags.types);
  }
  if (flags.concurrency) {
    config.probe.concurrency = *flags.concurrency;
  }
  if (flags.timeout_ms) {
    config.probe.timeout = std::chrono::milliseconds(*flags.timeout_ms);
  }
  if (flags.tries) {
    config.probe.tries = *flags.tries;
  }
  if (flags.no_recursion) {
    config.probe.recursion = false;
  }
  if (!flags.asn_db.empty()) {
    config.geoip.asn_database = flags.asn_db;
  }
  if (!flags.city_db.empty()) {
    config.geoip.city_database = flags.city_db;
  }
  config.validate();
  return config;
}

}  // namespace fluxwatch::cli
