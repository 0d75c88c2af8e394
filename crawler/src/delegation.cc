#include "fluxwatch/crawler/delegation.h"

#include <fmt/format.h>

#include <algorithm>

namespace fluxwatch::crawler {
namespace {

constexpr auto kNs = static_cast<std::uint16_t>(RrType::NS);
constexpr auto kSoa = static_cast<std::uint16_t>(RrType::SOA);
constexpr auto kA = static_cast<std::uint16_t>(RrType::A);
constexpr auto kAaaa = static_cast<std::uint16_t>(RrType::AAAA);

/// "a.b.c" -> "b.c"; "" for a single label.
std::string parent_of(const std::string& name) {
  const auto dot = name.find('.');
  return dot == std::string::npos ? std::string{} : name.substr(dot + 1);
}

/// True for answers that came back (any RCODE) and so were measured at the server.
bool answered(const ProbeResult& result) { return result.rcode >= 0; }

}  // namespace

AuthoritativePlan::AuthoritativePlan(std::int64_t domain_id, std::string domain,
                                     AuthoritativeOptions options)
    : domain_id_(domain_id), domain_(std::move(domain)), options_(std::move(options)) {}

PlannedQuery AuthoritativePlan::lookup(const std::string& name, RrType type) const {
  PlannedQuery planned;
  planned.query.domain_id = domain_id_;
  planned.query.name = name;
  planned.query.type = type;
  planned.query.mode = ProbeMode::Delegation;
  return planned;
}

std::vector<PlannedQuery> AuthoritativePlan::start() {
  started_ = true;
  outstanding_ = 1;
  steps_ = 1;
  return {lookup(domain_, RrType::NS)};
}

std::vector<PlannedQuery> AuthoritativePlan::on_result(ProbeResult& result) {
  if (outstanding_ > 0) {
    --outstanding_;
  }
  std::vector<PlannedQuery> next;
  switch (result.mode) {
    case ProbeMode::Delegation:
      next = result.qtype == RrType::NS ? on_delegation(result) : on_address(result);
      break;
    case ProbeMode::Authoritative:
      // RFC 1034 4.3.1 / RFC 8499 "lame": a listed server that does not answer for the
      // zone authoritatively (referral, cached answer) or refuses it.
      if (answered(result) && (!result.authoritative || result.outcome == Outcome::Refused)) {
        result.detail =
            result.outcome == Outcome::Refused
                ? fmt::format("lame: {} ({}) refused the query", result.server_name,
                              result.resolver)
                : fmt::format("lame: {} ({}) answered {} without the AA bit", result.server_name,
                              result.resolver, outcome_name(result.outcome));
        result.outcome = Outcome::Lame;
      }
      break;
    case ProbeMode::Recursive:
      break;
  }
  outstanding_ += next.size();
  return next;
}

std::vector<PlannedQuery> AuthoritativePlan::on_delegation(const ProbeResult& result) {
  std::vector<PlannedQuery> next;
  if (!zone_.empty()) {
    return next;  // a late duplicate; the NS set is known
  }
  // The NS set: in the answer (the name is a zone apex), or in the authority section of a
  // referral (the resolver is a server of the parent zone).
  std::string owner;
  std::set<std::string> names;
  for (const Section section : {Section::Answer, Section::Authority}) {
    for (const ResourceRecord& record : result.records) {
      if (record.section != section || record.type != kNs) {
        continue;
      }
      if (section == Section::Answer && record.owner != result.name) {
        continue;
      }
      if (owner.empty()) {
        owner = record.owner;
      }
      if (record.owner == owner && !record.data.empty()) {
        names.insert(record.data);
      }
    }
    if (!names.empty()) {
      break;
    }
  }
  if (!names.empty()) {
    zone_ = owner;
    ns_names_ = std::move(names);
    // Addresses the same answer brought along (glue of a referral, additional data).
    std::set<std::string> resolved;
    for (const ResourceRecord& record : result.records) {
      const bool address = record.type == kA || (record.type == kAaaa && options_.ipv6);
      if (address && ns_names_.count(record.owner) > 0 && record.section != Section::Answer) {
        add_server(record.owner, record.address, next);
        resolved.insert(record.owner);
      }
    }
    std::size_t lookups = 0;  // names looked up: at most max_servers, like the servers
    for (const std::string& name : ns_names_) {
      if (resolved.count(name) > 0) {
        continue;
      }
      if (servers_.size() + lookups++ >= options_.max_servers) {
        break;
      }
      next.push_back(lookup(name, RrType::A));
      if (options_.ipv6) {
        next.push_back(lookup(name, RrType::AAAA));
      }
    }
    return next;
  }
  if (!answered(result) || steps_ >= options_.max_zone_steps) {
    return next;  // timeout, SERVFAIL, ...: stored; the round ends here for this domain
  }
  if (result.outcome != Outcome::NoData && result.outcome != Outcome::NxDomain) {
    return next;
  }
  // No NS set at this name: the SOA in the authority section names the zone; without one,
  // walk up a label.
  std::string zone;
  for (const ResourceRecord& record : result.records) {
    if (record.section == Section::Authority && record.type == kSoa) {
      zone = record.owner;
      break;
    }
  }
  if (zone.empty() || zone == result.name || zone.size() > result.name.size()) {
    zone = parent_of(result.name);
  }
  if (zone.empty() || zone.find('.') == std::string::npos) {
    return next;  // at a TLD: not probing the root's or a TLD's servers
  }
  ++steps_;
  next.push_back(lookup(zone, RrType::NS));
  return next;
}

std::vector<PlannedQuery> AuthoritativePlan::on_address(const ProbeResult& result) {
  std::vector<PlannedQuery> next;
  const auto wanted = static_cast<std::uint16_t>(result.qtype);
  for (const ResourceRecord& record : result.records) {
    if (record.section == Section::Answer && record.type == wanted) {
      add_server(result.name, record.address, next);
    }
  }
  return next;
}

void AuthoritativePlan::add_server(const std::string& ns_name,
                                   const std::optional<IpAddress>& address,
                                   std::vector<PlannedQuery>& out) {
  if (!address || servers_.size() >= options_.max_servers) {
    return;
  }
  const Endpoint endpoint{address->to_string(), options_.port};
  const std::string text = endpoint.to_string();
  if (!servers_.emplace(ns_name, text).second) {
    return;
  }
  auto ask = [&](const std::string& name, RrType type) {
    PlannedQuery planned;
    planned.query.domain_id = domain_id_;
    planned.query.name = name;
    planned.query.type = type;
    planned.query.recursion_desired = false;
    planned.query.mode = ProbeMode::Authoritative;
    planned.query.server_name = ns_name;
    planned.server = endpoint;
    out.push_back(std::move(planned));
  };
  for (const RrType type : options_.record_types) {
    if (type != RrType::SOA) {
      ask(domain_, type);
    }
  }
  ask(zone_, RrType::SOA);  // the serial, per server, every round
}

}  // namespace fluxwatch::crawler
