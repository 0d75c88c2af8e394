#pragma once
/// The cases of tests/support/hostile_dns.py and what each must end as (docs/hostile-dns.md),
/// shared by hostile_test.cc (the crawler) and hostile_probe_test.cc (`fluxwatch probe`).

#include <chrono>
#include <cstddef>
#include <ostream>
#include <string>
#include <vector>

#include "fluxwatch/common/types.h"

namespace fluxwatch::crawler {

/// Crawler timing for the hostile tests: first try 500 ms, 2 tries wait 500 + 1000 ms.
/// (Over TCP c-ares 1.18 does not re-send on the same connection: an answer has one
/// timeout to arrive, and hostile_dns.py builds its 64 KiB answer in Python, so less is
/// tight on a loaded machine under ASan.)
inline constexpr std::chrono::milliseconds kTimeout{500};
inline constexpr int kTries = 2;
/// How long a query that is never answered waits in all: kTimeout doubled on each retry.
inline constexpr std::chrono::milliseconds kTotalTimeout = kTimeout + 2 * kTimeout;

/// What one hostile case must end as.
struct Expected {
  std::string behaviour;  // hostile_dns.py's case: <behaviour>.hostile.test
  Outcome outcome;
  int rcode;
  bool via_tcp = false;
  std::string detail;          // a part of the detail; "" means the detail is empty
  std::size_t answers = 0;     // A records in the answer section
  std::size_t mismatched = 0;  // CrawlStats::mismatched of a run with only this query
};

/// Every case of hostile_dns.py.
inline const std::vector<Expected>& cases() {
  static const std::vector<Expected> all{
      {"ok", Outcome::NoError, 0, false, "", 1, 0},
      {"silent", Outcome::Timeout, -1, false, "no reply from", 0, 0},
      {"wrong-id", Outcome::Timeout, -1, false, "ignored 2 replies that did not match", 0, 2},
      {"spoof", Outcome::NoError, 0, false, "a reply with the wrong query ID", 1, 1},
      {"short-header", Outcome::Timeout, -1, false, "5 bytes, shorter than a DNS header", 0, 2},
      {"count-high", Outcome::Malformed, 0, false, "answer section, record 2 of 3", 0, 0},
      {"count-low", Outcome::NoError, 0, false, "16 bytes after the last", 1, 0},
      {"pointer-loop", Outcome::Malformed, 0, false, "points to itself", 0, 0},
      {"forward-pointer", Outcome::Malformed, 0, false, "points forward", 0, 0},
      {"long-label", Outcome::Malformed, 0, false, "label of 64 bytes", 0, 0},
      {"long-name", Outcome::Malformed, 0, false, "longer than 255 bytes", 0, 0},
      {"huge-ttl", Outcome::NoError, 0, false, "", 2, 0},
      {"empty", Outcome::Timeout, -1, false, "meanwhile 2 replies", 0, 2},
      {"big-udp", Outcome::Malformed, 0, false, "65507-byte UDP reply was cut to the 4096", 0, 0},
      {"random", Outcome::Timeout, -1, false, "no reply from", 0, 2},
      {"wrong-name", Outcome::Timeout, -1, false, "a reply for other.hostile.test A", 0, 2},
      {"wrong-type", Outcome::Timeout, -1, false, "a reply for wrong-type.hostile.test AAAA", 0, 2},
      {"tc-reset", Outcome::NetError, -1, true, "bytes of an answer", 0, 0},
      {"tc-good", Outcome::NoError, 0, true, "", 50, 0},
      // As many 16-byte A records as fit in 65535 bytes after the header and question.
      {"big-tcp", Outcome::NoError, 0, true, "", (65535 - 12 - (20 + 2 + 4)) / 16, 0},
      {"servfail", Outcome::ServFail, 2, false, "", 0, 0},
      {"refused", Outcome::Refused, 5, false, "", 0, 0},
      {"formerr", Outcome::FormErr, 1, false, "", 0, 0},
      {"notimp", Outcome::OtherRcode, 4, false, "", 0, 0},
      {"noedns", Outcome::NoError, 0, false, "asked again without EDNS0", 1, 0},
      {"tcp-noedns", Outcome::NoError, 0, true, "asked again without EDNS0", 1, 0},
  };
  return all;
}

/// gtest prints a parameter by its case name.
inline void PrintTo(const Expected& expected, std::ostream* out) { *out << expected.behaviour; }

}  // namespace fluxwatch::crawler
