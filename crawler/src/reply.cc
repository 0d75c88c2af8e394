#include "fluxwatch/crawler/reply.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <ldns/ldns.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fluxwatch::crawler {
namespace {

constexpr std::size_t kHeaderSize = 12;  // RFC 1035 4.1.1
constexpr std::uint8_t kQrBit = 0x80;    // in header byte 2
constexpr std::uint8_t kTcBit = 0x02;    // in header byte 2
constexpr std::uint16_t kTypeOpt = 41;   // RFC 6891: a pseudo-record, not data
constexpr int kMaxCnameHops = 16;        // longer chains are treated as broken

constexpr std::uint8_t kAaBit = 0x04;  // in header byte 2

/// Owns one record from ldns_wire2rr.
struct LdnsRrDeleter {
  void operator()(ldns_rr* rr) const noexcept { ldns_rr_free(rr); }
};
using LdnsRr = std::unique_ptr<ldns_rr, LdnsRrDeleter>;

/// The records of one message section, in wire order.
using RecordList = std::vector<LdnsRr>;

/// The four sections of a reply, each parsed by ldns record by record.
struct ParsedSections {
  RecordList question;
  RecordList answer;
  RecordList authority;
  RecordList additional;
};

std::uint16_t read_u16(std::span<const std::uint8_t> wire, std::size_t offset) {
  return static_cast<std::uint16_t>((wire[offset] << 8) | wire[offset + 1]);
}

/**
 * Parses the sections after the header with ldns_wire2rr, one record at a time, each owned
 * by an LdnsRr. (ldns_wire2pkt is not used: in ldns 1.8.3 it leaks a TSIG record of the
 * additional section when a later record is broken, which a hostile server could repeat on
 * every reply; found by fuzz/fuzz_dns_reply.) Returns an error text, empty on success.
 */
std::string parse_sections(std::span<const std::uint8_t> wire, ParsedSections& out) {
  struct Part {
    const char* name;
    std::uint16_t count;
    ldns_pkt_section section;
    RecordList* records;
  };
  const std::array<Part, 4> parts{{
      {"question", read_u16(wire, 4), LDNS_SECTION_QUESTION, &out.question},
      {"answer", read_u16(wire, 6), LDNS_SECTION_ANSWER, &out.answer},
      {"authority", read_u16(wire, 8), LDNS_SECTION_AUTHORITY, &out.authority},
      {"additional", read_u16(wire, 10), LDNS_SECTION_ADDITIONAL, &out.additional},
  }};
  std::size_t pos = kHeaderSize;
  for (const auto& part : parts) {
    part.records->reserve(std::min<std::size_t>(part.count, wire.size() / 11));
    for (std::uint16_t i = 0; i < part.count; ++i) {
      ldns_rr* raw = nullptr;
      const ldns_status status = ldns_wire2rr(&raw, wire.data(), wire.size(), &pos, part.section);
      LdnsRr record(raw);
      if (status != LDNS_STATUS_OK || !record) {
        return fmt::format("{} section, record {} of {}: {}", part.name, i + 1, part.count,
                           ldns_get_errorstr_by_id(status));
      }
      part.records->push_back(std::move(record));
    }
  }
  return {};
}

/// Owns a string from ldns_rdf2str (malloc'ed by ldns).
struct MallocDeleter {
  void operator()(char* text) const noexcept {
    std::free(text);  // NOLINT(cppcoreguidelines-no-malloc): ldns allocates with malloc
  }
};
using LdnsString = std::unique_ptr<char, MallocDeleter>;

char to_lower_ascii(char c) noexcept {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c;
}

std::string lower_no_dot(std::string_view name) {
  if (!name.empty() && name.back() == '.') {
    name.remove_suffix(1);
  }
  std::string out(name);
  std::transform(out.begin(), out.end(), out.begin(), to_lower_ascii);
  return out;
}

/**
 * A wire-format domain name (as ldns keeps it: uncompressed labels ending in the root
 * label) as lower-case text without the trailing dot; the root is "". Characters that
 * are special in presentation format (RFC 1035 5.1) are escaped as ldns does.
 */
std::string dname_text(const ldns_rdf* rdf) {
  std::string out;
  if (rdf == nullptr) {
    return out;
  }
  const std::uint8_t* data = ldns_rdf_data(rdf);
  const std::size_t size = ldns_rdf_size(rdf);
  out.reserve(size);
  std::size_t pos = 0;
  while (pos < size) {
    const std::size_t length = data[pos];
    if (length == 0 || pos + 1 + length > size) {
      break;
    }
    if (!out.empty()) {
      out.push_back('.');
    }
    for (std::size_t i = pos + 1; i <= pos + length; ++i) {
      const auto c = static_cast<unsigned char>(data[i]);
      if (c == '.' || c == ';' || c == '(' || c == ')' || c == '\\' || c == '"') {
        out.push_back('\\');
        out.push_back(static_cast<char>(c));
      } else if (c <= 0x20 || c >= 0x7f) {
        out += fmt::format("\\{:03d}", c);
      } else {
        out.push_back(to_lower_ascii(static_cast<char>(c)));
      }
    }
    pos += 1 + length;
  }
  return out;
}

std::string address_text(const ldns_rdf* rdf, int family) {
  std::array<char, INET6_ADDRSTRLEN> buffer{};
  if (inet_ntop(family, ldns_rdf_data(rdf), buffer.data(), buffer.size()) == nullptr) {
    return {};
  }
  return {buffer.data()};
}

bool rdf_is(const ldns_rr* rr, std::size_t index, ldns_rdf_type type, std::size_t size = 0) {
  const ldns_rdf* rdf = ldns_rr_rdf(rr, index);
  return rdf != nullptr && ldns_rdf_get_type(rdf) == type &&
         (size == 0 || ldns_rdf_size(rdf) == size);
}

/// RDATA in presentation format, every field as ldns prints it, joined by spaces.
std::string generic_rdata_text(const ldns_rr* rr) {
  std::string out;
  const std::size_t count = ldns_rr_rd_count(rr);
  for (std::size_t i = 0; i < count; ++i) {
    const LdnsString text(ldns_rdf2str(ldns_rr_rdf(rr, i)));
    if (i > 0) {
      out.push_back(' ');
    }
    if (text) {
      out += text.get();
    }
  }
  return out;
}

/// The `data` of a ResourceRecord: see its documentation in types.h.
std::string rdata_text(const ldns_rr* rr) {
  const std::size_t count = ldns_rr_rd_count(rr);
  switch (ldns_rr_get_type(rr)) {
    case LDNS_RR_TYPE_A:
      if (count == 1 && rdf_is(rr, 0, LDNS_RDF_TYPE_A, 4)) {
        return address_text(ldns_rr_rdf(rr, 0), AF_INET);
      }
      break;
    case LDNS_RR_TYPE_AAAA:
      if (count == 1 && rdf_is(rr, 0, LDNS_RDF_TYPE_AAAA, 16)) {
        return address_text(ldns_rr_rdf(rr, 0), AF_INET6);
      }
      break;
    case LDNS_RR_TYPE_NS:
    case LDNS_RR_TYPE_CNAME:
      if (count == 1 && rdf_is(rr, 0, LDNS_RDF_TYPE_DNAME)) {
        return dname_text(ldns_rr_rdf(rr, 0));
      }
      break;
    case LDNS_RR_TYPE_SOA:
      if (count == 7 && rdf_is(rr, 0, LDNS_RDF_TYPE_DNAME) && rdf_is(rr, 1, LDNS_RDF_TYPE_DNAME)) {
        std::string out = dname_text(ldns_rr_rdf(rr, 0));
        out.push_back(' ');
        out += dname_text(ldns_rr_rdf(rr, 1));
        for (std::size_t i = 2; i < 7; ++i) {
          const ldns_rdf* field = ldns_rr_rdf(rr, i);
          if (ldns_rdf_size(field) != 4) {
            return generic_rdata_text(rr);
          }
          out += fmt::format(" {}", ldns_rdf2native_int32(field));
        }
        return out;
      }
      break;
    default:
      break;
  }
  return generic_rdata_text(rr);
}

void append_section(const RecordList& list, Section section, std::vector<ResourceRecord>& records) {
  for (const auto& owned : list) {
    const ldns_rr* rr = owned.get();
    const auto type = static_cast<std::uint16_t>(ldns_rr_get_type(rr));
    if (type == kTypeOpt) {
      continue;
    }
    records.push_back(ResourceRecord{.section = section,
                                     .owner = dname_text(ldns_rr_owner(rr)),
                                     .type = type,
                                     .ttl = ldns_rr_ttl(rr),
                                     .data = rdata_text(rr)});
  }
}

/**
 * True when the answer section holds a record of `qtype` for `qname` or at the end of
 * the CNAME chain starting at `qname` (RFC 1034 3.6.2, 4.3.2). A chain longer than
 * kMaxCnameHops or one that loops has no end, so it gives false.
 */
bool chain_ends_in_data(const std::vector<ResourceRecord>& records, const std::string& qname,
                        std::uint16_t qtype) {
  const auto cname = static_cast<std::uint16_t>(RrType::CNAME);
  std::vector<const std::string*> visited;
  const std::string* current = &qname;
  for (int hop = 0; hop <= kMaxCnameHops; ++hop) {
    const std::string* next = nullptr;
    for (const ResourceRecord& record : records) {
      if (record.section != Section::Answer || record.owner != *current) {
        continue;
      }
      if (record.type == qtype) {
        return true;
      }
      if (record.type == cname && next == nullptr) {
        next = &record.data;
      }
    }
    if (next == nullptr) {
      return false;
    }
    visited.push_back(current);
    const bool loops = std::any_of(visited.begin(), visited.end(),
                                   [next](const std::string* seen) { return *seen == *next; });
    if (loops) {
      return false;
    }
    current = next;
  }
  return false;
}

constexpr std::size_t kMaxLabel = 63;      // RFC 1035 2.3.4
constexpr std::size_t kMaxName = 255;      // RFC 1035 2.3.4, in wire form
constexpr int kMaxPointerHops = 127;       // a name has at most 127 labels
constexpr std::size_t kRecordFixed = 10;   // type, class, TTL, RDLENGTH
constexpr std::size_t kQuestionFixed = 4;  // type, class

/**
 * Checks the name at `pos` and moves `pos` past it. Pointers must point before
 * themselves, which with the length limit makes every name end (no loops).
 */
std::string check_name(std::span<const std::uint8_t> wire, std::size_t& pos) {
  const std::size_t start = pos;
  std::size_t cursor = pos;
  std::size_t length = 0;  // in wire form, the root label included
  bool jumped = false;
  for (int hops = 0;;) {
    if (cursor >= wire.size()) {
      return fmt::format("name at offset {} runs past the end", start);
    }
    const std::uint8_t byte = wire[cursor];
    if ((byte & 0xC0U) == 0xC0U) {
      if (cursor + 1 >= wire.size()) {
        return fmt::format("compression pointer at offset {} runs past the end", cursor);
      }
      const std::size_t target = ((byte & 0x3FU) << 8U) | wire[cursor + 1];
      if (target >= cursor) {
        return fmt::format("compression pointer at offset {} points {} (to offset {})", cursor,
                           target == cursor ? "to itself" : "forward", target);
      }
      if (++hops > kMaxPointerHops) {
        return fmt::format("compression pointers of the name at offset {} loop", start);
      }
      if (!jumped) {
        pos = cursor + 2;
        jumped = true;
      }
      cursor = target;
      continue;
    }
    if (byte > kMaxLabel) {
      return fmt::format("label of {} bytes at offset {} (at most 63, RFC 1035 2.3.4)",
                         static_cast<unsigned>(byte), cursor);
    }
    length += byte + 1U;
    if (length > kMaxName) {
      return fmt::format("name at offset {} is longer than 255 bytes", start);
    }
    if (byte == 0) {
      if (!jumped) {
        pos = cursor + 1;
      }
      return {};
    }
    cursor += 1U + byte;
  }
}

/// Checks the names in the RDATA of the types whose RDATA holds names (RFC 1035 3.3).
std::string check_rdata_names(std::span<const std::uint8_t> wire, std::uint16_t type,
                              std::size_t start, std::size_t end) {
  std::size_t pos = start;
  int names = 0;
  switch (type) {
    case 2:   // NS
    case 5:   // CNAME
    case 12:  // PTR
    case 39:  // DNAME
      names = 1;
      break;
    case 6:  // SOA
      names = 2;
      break;
    case 15:  // MX: preference, exchange
      pos += 2;
      names = 1;
      break;
    default:
      return {};
  }
  const auto rdata = wire.first(end);  // a name in RDATA must not run past it
  for (int i = 0; i < names; ++i) {
    if (auto error = check_name(rdata, pos); !error.empty()) {
      return "RDATA: " + error;
    }
  }
  return {};
}

}  // namespace

MessageScan scan_message(std::span<const std::uint8_t> wire) {
  MessageScan scan;
  if (wire.size() < kHeaderSize) {
    scan.error = fmt::format("{} bytes is shorter than a DNS header", wire.size());
    return scan;
  }
  std::size_t pos = kHeaderSize;
  const std::array<const char*, 4> names{"question", "answer", "authority", "additional"};
  for (std::size_t section = 0; section < names.size(); ++section) {
    const std::uint16_t count = read_u16(wire, 4 + 2 * section);
    for (std::uint16_t i = 0; i < count; ++i) {
      const auto fail = [&](const std::string& why) {
        scan.error =
            fmt::format("{} section, record {} of {}: {}", names[section], i + 1, count, why);
        return scan;
      };
      if (auto error = check_name(wire, pos); !error.empty()) {
        return fail(error);
      }
      const std::size_t fixed = section == 0 ? kQuestionFixed : kRecordFixed;
      if (pos + fixed > wire.size()) {
        return fail(fmt::format("runs past the end of the {}-byte message", wire.size()));
      }
      if (section == 0) {
        pos += fixed;
        continue;
      }
      const std::uint16_t type = read_u16(wire, pos);
      const std::size_t rdlength = read_u16(wire, pos + 8);
      pos += fixed;
      if (pos + rdlength > wire.size()) {
        return fail(fmt::format("RDATA runs past the end of the {}-byte message", wire.size()));
      }
      if (auto error = check_rdata_names(wire, type, pos, pos + rdlength); !error.empty()) {
        return fail(error);
      }
      if (section == 3 && type == kTypeOpt) {
        scan.has_opt = true;
      }
      pos += rdlength;
    }
  }
  scan.end = pos;
  return scan;
}

namespace {

Outcome outcome_of(int rcode) noexcept {
  switch (rcode) {
    case 0:
      return Outcome::NoError;
    case 1:
      return Outcome::FormErr;
    case 2:
      return Outcome::ServFail;
    case 3:
      return Outcome::NxDomain;
    case 5:
      return Outcome::Refused;
    default:
      return Outcome::OtherRcode;
  }
}

void set_malformed(ProbeResult& result, std::string detail) {
  result.outcome = Outcome::Malformed;
  result.records.clear();
  result.detail = std::move(detail);
}

}  // namespace

bool map_reply(std::span<const std::uint8_t> wire, ProbeResult& result) {
  result.records.clear();
  result.detail.clear();
  result.rcode = -1;
  if (wire.size() < kHeaderSize) {
    set_malformed(result,
                  fmt::format("reply of {} bytes is shorter than a DNS header", wire.size()));
    return false;
  }
  // The header is readable even when the rest is not: keep its RCODE.
  result.rcode = wire[3] & 0x0f;
  const bool header_qr = (wire[2] & kQrBit) != 0;
  const bool header_tc = (wire[2] & kTcBit) != 0;

  // The structure first: ldns follows forward compression pointers, which RFC 1035 4.1.4
  // does not allow and which a hostile server uses to build loops.
  const MessageScan scan = scan_message(wire);
  if (!scan.error.empty()) {
    set_malformed(result, fmt::format("unparsable reply ({} bytes): {}", wire.size(), scan.error));
    return header_qr && header_tc;
  }
  ParsedSections sections;
  if (auto error = parse_sections(wire, sections); !error.empty()) {
    set_malformed(result, fmt::format("unparsable reply ({} bytes): {}", wire.size(), error));
    // A UDP reply cut short (TC=1) may end mid-record; the full one comes over TCP.
    return header_qr && header_tc;
  }
  // RFC 6891 6.1.3: the OPT record's TTL field carries the upper 8 bits of a 12-bit RCODE.
  for (const auto& record : sections.additional) {
    if (static_cast<std::uint16_t>(ldns_rr_get_type(record.get())) == kTypeOpt) {
      result.rcode |= static_cast<int>(ldns_rr_ttl(record.get()) >> 24) << 4;
      break;
    }
  }
  const bool truncated = header_tc;
  result.authoritative = (wire[2] & kAaBit) != 0;
  if (!header_qr) {
    set_malformed(result, "not a response (QR bit clear)");
    return false;
  }

  const std::string qname = lower_no_dot(result.name);
  const auto qtype = static_cast<std::uint16_t>(result.qtype);
  const std::size_t qdcount = sections.question.size();
  if (qdcount == 1) {
    const ldns_rr* asked = sections.question.front().get();
    const std::string owner = dname_text(ldns_rr_owner(asked));
    const auto type = static_cast<std::uint16_t>(ldns_rr_get_type(asked));
    const auto klass = static_cast<int>(ldns_rr_get_class(asked));
    if (owner != qname || type != qtype || klass != LDNS_RR_CLASS_IN) {
      set_malformed(result, fmt::format("reply is for {} {} class {}, asked {} {}", owner,
                                        rrtype_name(type), klass, qname, rrtype_name(qtype)));
      return false;
    }
  } else if (!(qdcount == 0 && result.rcode != 0)) {
    // RFC 1035 4.1.2 echoes the one question. Error replies (FORMERR, NOTIMP, ...) may
    // come without it; a NOERROR reply without it cannot be tied to the query.
    set_malformed(result, fmt::format("reply has {} questions, expected 1", qdcount));
    return false;
  }

  std::vector<ResourceRecord>& records = result.records;
  records.reserve(sections.answer.size() + sections.authority.size() + sections.additional.size());
  append_section(sections.answer, Section::Answer, records);
  append_section(sections.authority, Section::Authority, records);
  append_section(sections.additional, Section::Additional, records);

  result.outcome = outcome_of(result.rcode);
  if (result.outcome == Outcome::NoError && !chain_ends_in_data(records, qname, qtype)) {
    result.outcome = Outcome::NoData;  // RFC 2308 2.2
  }
  if (scan.end < wire.size()) {
    // Counts smaller than the content: the records the header counts are used.
    result.detail = fmt::format("{} bytes after the last of the records the header counts",
                                wire.size() - scan.end);
  }
  return truncated;
}

}  // namespace fluxwatch::crawler
