#pragma once
// Hand-built wire-format DNS messages (RFC 1035 4.1) for the reply tests, and map_reply
// checked against the all-ldns reference decoder. Shared by reply_test.cc,
// scan_message_test.cc and fast_decoder_test.cc.

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "fluxwatch/crawler/reply.h"

namespace fluxwatch::crawler::wire {

using Bytes = std::vector<std::uint8_t>;

constexpr std::uint16_t kA = 1;
constexpr std::uint16_t kNs = 2;
constexpr std::uint16_t kCname = 5;
constexpr std::uint16_t kSoa = 6;
constexpr std::uint16_t kMx = 15;
constexpr std::uint16_t kTxt = 16;
constexpr std::uint16_t kAaaa = 28;
constexpr std::uint16_t kOpt = 41;

inline void put16(Bytes& out, std::uint16_t value) {
  out.push_back(static_cast<std::uint8_t>(value >> 8U));
  out.push_back(static_cast<std::uint8_t>(value & 0xffU));
}

inline void put32(Bytes& out, std::uint32_t value) {
  put16(out, static_cast<std::uint16_t>(value >> 16U));
  put16(out, static_cast<std::uint16_t>(value & 0xffffU));
}

/// Uncompressed wire form of a dotted name ("" or "." is the root).
inline Bytes name_wire(std::string_view name) {
  Bytes out;
  while (!name.empty() && name != ".") {
    const auto dot = name.find('.');
    const auto label = name.substr(0, dot);
    out.push_back(static_cast<std::uint8_t>(label.size()));
    out.insert(out.end(), label.begin(), label.end());
    name = dot == std::string_view::npos ? std::string_view{} : name.substr(dot + 1);
  }
  out.push_back(0);
  return out;
}

inline Bytes a_rdata(const char* text) {
  Bytes out(4);
  EXPECT_EQ(inet_pton(AF_INET, text, out.data()), 1);
  return out;
}

inline Bytes aaaa_rdata(const char* text) {
  Bytes out(16);
  EXPECT_EQ(inet_pton(AF_INET6, text, out.data()), 1);
  return out;
}

inline Bytes soa_rdata(std::string_view mname, std::string_view rname, std::uint32_t serial) {
  Bytes out = name_wire(mname);
  const Bytes r = name_wire(rname);
  out.insert(out.end(), r.begin(), r.end());
  for (std::uint32_t value : {serial, 3600U, 600U, 604800U, 60U}) {
    put32(out, value);
  }
  return out;
}

inline Bytes mx_rdata(std::uint16_t preference, std::string_view exchange) {
  Bytes out;
  put16(out, preference);
  const Bytes name = name_wire(exchange);
  out.insert(out.end(), name.begin(), name.end());
  return out;
}

inline Bytes txt_rdata(std::string_view text) {
  Bytes out{static_cast<std::uint8_t>(text.size())};
  out.insert(out.end(), text.begin(), text.end());
  return out;
}

struct Rr {
  std::string owner;
  std::uint16_t type = kA;
  std::uint32_t ttl = 300;
  Bytes rdata;
  std::uint16_t klass = 1;  // IN; for OPT: the UDP payload size
};

/// A DNS message to encode; defaults describe a plain authoritative NOERROR reply.
struct Message {
  std::uint16_t id = 0x4242;
  bool qr = true;
  bool aa = true;
  bool tc = false;
  int rcode = 0;
  std::vector<std::pair<std::string, std::uint16_t>> questions{{"www.example.test", kA}};
  std::vector<Rr> answer;
  std::vector<Rr> authority;
  std::vector<Rr> additional;

  [[nodiscard]] Bytes wire() const {
    Bytes out;
    put16(out, id);
    std::uint16_t flags = 0;
    flags |= qr ? 0x8000U : 0U;
    flags |= aa ? 0x0400U : 0U;
    flags |= tc ? 0x0200U : 0U;
    flags |= static_cast<std::uint16_t>(rcode & 0xf);
    put16(out, flags);
    put16(out, static_cast<std::uint16_t>(questions.size()));
    put16(out, static_cast<std::uint16_t>(answer.size()));
    put16(out, static_cast<std::uint16_t>(authority.size()));
    put16(out, static_cast<std::uint16_t>(additional.size()));
    for (const auto& [name, type] : questions) {
      const Bytes encoded = name_wire(name);
      out.insert(out.end(), encoded.begin(), encoded.end());
      put16(out, type);
      put16(out, 1);
    }
    for (const auto* section : {&answer, &authority, &additional}) {
      for (const Rr& rr : *section) {
        const Bytes owner = name_wire(rr.owner);
        out.insert(out.end(), owner.begin(), owner.end());
        put16(out, rr.type);
        put16(out, rr.klass);
        put32(out, rr.ttl);
        put16(out, static_cast<std::uint16_t>(rr.rdata.size()));
        out.insert(out.end(), rr.rdata.begin(), rr.rdata.end());
      }
    }
    return out;
  }
};

/**
 * map_reply with the crawler's fast decoder, checked against the all-ldns reference on a
 * copy of the same question: every test below is also a test that the two agree.
 */
inline bool map_reply_checked(std::span<const std::uint8_t> wire, ProbeResult& result) {
  ProbeResult reference = result;
  const bool reference_tc = map_reply(wire, reference, ReplyDecoder::LdnsOnly);
  const bool tc = map_reply(wire, result);
  EXPECT_EQ(tc, reference_tc);
  EXPECT_EQ(result.outcome, reference.outcome);
  EXPECT_EQ(result.rcode, reference.rcode);
  EXPECT_EQ(result.authoritative, reference.authoritative);
  EXPECT_EQ(result.records, reference.records);
  EXPECT_EQ(result.detail, reference.detail);
  return tc;
}

inline ProbeResult asked(std::string name, RrType type = RrType::A) {
  ProbeResult result;
  result.name = std::move(name);
  result.qtype = type;
  return result;
}

/// Maps `message` as the answer to `result`'s question; returns the TC flag.
inline bool map(const Message& message, ProbeResult& result) {
  const Bytes wire = message.wire();
  return map_reply_checked(wire, result);
}

inline Rr soa_record() {
  return Rr{"errors.test", kSoa, 60,
            soa_rdata("ns1.errors.test", "hostmaster.errors.test", 2024010101)};
}

}  // namespace fluxwatch::crawler::wire
