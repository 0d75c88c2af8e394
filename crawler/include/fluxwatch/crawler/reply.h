#pragma once
/// Turning a raw DNS reply (wire format) into a ProbeResult. Pure: no sockets, so it is
/// unit-tested with hand-built packets. c-ares 1.18's ares_parse_*_reply helpers drop TTLs
/// of NS and CNAME records and the authority section, so the reply is read here: the
/// common record types straight from the wire (every probe goes through this), the rest
/// by ldns, a kept DNS library.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "fluxwatch/common/types.h"

namespace fluxwatch::crawler {

/// How map_reply reads the records.
enum class ReplyDecoder {
  /// A, AAAA, NS, CNAME and SOA straight from the wire, any other type through ldns: the
  /// crawler's path.
  Fast,
  /// Every record through ldns: the reference that tests and the fuzzer compare Fast with.
  LdnsOnly,
};

/**
 * Fills `result.rcode`, `result.outcome` and `result.records` from `wire`.
 * Outcome: RCODE 0 with a record of `result.qtype` at the end of the CNAME chain that
 * starts at `result.name` is NoError, RCODE 0 without one is NoData, RCODE 1/2/3/5 map to
 * FormErr/ServFail/NxDomain/Refused, other RCODEs to OtherRcode. A reply that ldns cannot
 * parse, that is not a response, or whose question is not the one asked gives Malformed
 * with a detail; so does a reply scan_message rejects (forward or looping compression
 * pointers, labels over 63 and names over 255 bytes, counts larger than the records
 * present). Bytes after the last counted record are noted in the detail, the outcome is
 * kept. Returns true when the TC bit was set (the caller retries over TCP).
 */
bool map_reply(std::span<const std::uint8_t> wire, ProbeResult& result,
               ReplyDecoder decoder = ReplyDecoder::Fast);

/// What scan_message found out about a message's structure.
struct MessageScan {
  std::string error;     ///< why the message is broken; empty when it is well-formed
  bool has_opt = false;  ///< an OPT record (RFC 6891) is in the additional section
  std::size_t end = 0;   ///< offset just past the last record the header counts
};

/**
 * Walks a DNS message as its header's counts describe it, without ldns, and checks every
 * name in the question, the owners and the RDATA of NS, CNAME, PTR, DNAME, SOA and MX:
 * labels of at most 63 bytes, names of at most 255 bytes (RFC 1035 2.3.4), compression
 * pointers only to an earlier offset than the pointer itself ("a prior occurrence",
 * RFC 1035 4.1.4), so loops and forward pointers are errors. Records that run past the
 * end (counts larger than the content) are errors too; bytes after the last counted
 * record are not (`end` < size tells).
 */
[[nodiscard]] MessageScan scan_message(std::span<const std::uint8_t> wire);

}  // namespace fluxwatch::crawler
