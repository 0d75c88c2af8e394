#pragma once
/// Turning a raw DNS reply (wire format) into a ProbeResult. Pure: no sockets, so it is
/// unit-tested with hand-built packets. Parsing is done by ldns, a kept DNS library,
/// because c-ares 1.18's ares_parse_*_reply helpers drop TTLs of NS and CNAME records
/// and the authority section.

#include <cstdint>
#include <span>

#include "fluxwatch/common/types.h"

namespace fluxwatch::crawler {

/**
 * Fills `result.rcode`, `result.outcome` and `result.records` from `wire`.
 * Outcome: RCODE 0 with a record of `result.qtype` at the end of the CNAME chain that
 * starts at `result.name` is NoError, RCODE 0 without one is NoData, RCODE 1/2/3/5 map to
 * FormErr/ServFail/NxDomain/Refused, other RCODEs to OtherRcode. A reply that ldns cannot
 * parse, that is not a response, or whose question is not the one asked gives Malformed
 * with a detail. Returns true when the TC bit was set (the caller retries over TCP).
 */
bool map_reply(std::span<const std::uint8_t> wire, ProbeResult& result);

}  // namespace fluxwatch::crawler
