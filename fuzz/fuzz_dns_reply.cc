// Fuzzes the DNS reply mapper with arbitrary "replies" to a fixed question: every input
// ends as an outcome (never a crash, leak or hang), the records it keeps are sane, and the
// crawler's fast decoder tells the same story as the all-ldns reference.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "fluxwatch/crawler/reply.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) {
    return 0;
  }
  fluxwatch::ProbeResult result;
  result.name = "flux-alpha.test";
  // The first byte picks the question type, so every mapping path is reachable.
  constexpr fluxwatch::RrType kTypes[] = {fluxwatch::RrType::A, fluxwatch::RrType::AAAA,
                                          fluxwatch::RrType::NS, fluxwatch::RrType::CNAME,
                                          fluxwatch::RrType::SOA};
  result.qtype = kTypes[data[0] % 5];
  fluxwatch::ProbeResult reference = result;
  const std::span wire(data + 1, size - 1);
  const bool truncated = fluxwatch::crawler::map_reply(wire, result);
  const bool reference_truncated =
      fluxwatch::crawler::map_reply(wire, reference, fluxwatch::crawler::ReplyDecoder::LdnsOnly);
  if (truncated != reference_truncated || result.outcome != reference.outcome ||
      result.rcode != reference.rcode || result.records != reference.records ||
      result.detail != reference.detail) {
    std::abort();  // the fast decoder and ldns disagree
  }
  if (result.outcome == fluxwatch::Outcome::Malformed && result.detail.empty()) {
    std::abort();  // a malformed reply always says why
  }
  if (result.outcome == fluxwatch::Outcome::NoError && result.rcode != 0) {
    std::abort();
  }
  for (const auto& record : result.records) {
    // Owners are presentation text: a binary label byte is escaped as \DDD (4 characters),
    // so 255 wire octets are at most 4 x 255 characters.
    if (record.owner.size() > 4 * 255) {
      std::abort();
    }
  }
  return 0;
}
