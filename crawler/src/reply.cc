#include "fluxwatch/crawler/reply.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <ldns/ldns.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <memory>
#include <optional>
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

constexpr std::uint8_t kAaBit = 0x04;      // in header byte 2
constexpr std::size_t kMaxLabel = 63;      // RFC 1035 2.3.4
constexpr std::size_t kMaxName = 255;      // RFC 1035 2.3.4, in wire form
constexpr int kMaxPointerHops = 127;       // a name has at most 127 labels
constexpr std::size_t kRecordFixed = 10;   // type, class, TTL, RDLENGTH
constexpr std::size_t kQuestionFixed = 4;  // type, class

/// Owns one record from ldns_wire2rr.
struct LdnsRrDeleter {
  void operator()(ldns_rr* rr) const noexcept { ldns_rr_free(rr); }
};
using LdnsRr = std::unique_ptr<ldns_rr, LdnsRrDeleter>;

std::uint16_t read_u16(std::span<const std::uint8_t> wire, std::size_t offset) {
  return static_cast<std::uint16_t>((wire[offset] << 8) | wire[offset + 1]);
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

/// Appends one label's octets as presentation text (RFC 1035 5.1), lower case, escaping
/// the characters that are special there as ldns does.
void append_label_text(std::span<const std::uint8_t> label, std::string& out) {
  const auto plain = [](std::uint8_t c) {
    return c > 0x20 && c < 0x7f && c != '.' && c != ';' && c != '(' && c != ')' && c != '\\' &&
           c != '"';
  };
  if (std::all_of(label.begin(), label.end(), plain)) {  // the usual case: one append
    const std::size_t at = out.size();
    out.append(reinterpret_cast<const char*>(label.data()), label.size());
    std::transform(out.begin() + static_cast<std::ptrdiff_t>(at), out.end(),
                   out.begin() + static_cast<std::ptrdiff_t>(at), to_lower_ascii);
    return;
  }
  for (const std::uint8_t c : label) {
    if (c == '.' || c == ';' || c == '(' || c == ')' || c == '\\' || c == '"') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (c <= 0x20 || c >= 0x7f) {
      out.push_back('\\');
      out.push_back(static_cast<char>('0' + c / 100));
      out.push_back(static_cast<char>('0' + c / 10 % 10));
      out.push_back(static_cast<char>('0' + c % 10));
    } else {
      out.push_back(to_lower_ascii(static_cast<char>(c)));
    }
  }
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
  const std::span<const std::uint8_t> data(ldns_rdf_data(rdf), ldns_rdf_size(rdf));
  out.reserve(data.size());
  std::size_t pos = 0;
  while (pos < data.size()) {
    const std::size_t length = data[pos];
    if (length == 0 || pos + 1 + length > data.size()) {
      break;
    }
    if (!out.empty()) {
      out.push_back('.');
    }
    append_label_text(data.subspan(pos + 1, length), out);
    pos += 1 + length;
  }
  return out;
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

/// The `data` (and `address`) of a ResourceRecord: see their documentation in types.h.
void rdata_text(const ldns_rr* rr, ResourceRecord& record) {
  const std::size_t count = ldns_rr_rd_count(rr);
  switch (ldns_rr_get_type(rr)) {
    case LDNS_RR_TYPE_A:
    case LDNS_RR_TYPE_AAAA: {
      const bool v4 = ldns_rr_get_type(rr) == LDNS_RR_TYPE_A;
      if (count == 1 && rdf_is(rr, 0, v4 ? LDNS_RDF_TYPE_A : LDNS_RDF_TYPE_AAAA, v4 ? 4 : 16)) {
        const ldns_rdf* rdf = ldns_rr_rdf(rr, 0);
        record.address = IpAddress::from_bytes({ldns_rdf_data(rdf), ldns_rdf_size(rdf)});
        record.data = record.address->to_string();
        return;
      }
      break;
    }
    case LDNS_RR_TYPE_NS:
    case LDNS_RR_TYPE_CNAME:
      if (count == 1 && rdf_is(rr, 0, LDNS_RDF_TYPE_DNAME)) {
        record.data = dname_text(ldns_rr_rdf(rr, 0));
        return;
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
            record.data = generic_rdata_text(rr);
            return;
          }
          out += fmt::format(" {}", ldns_rdf2native_int32(field));
        }
        record.data = std::move(out);
        return;
      }
      break;
    default:
      break;
  }
  record.data = generic_rdata_text(rr);
}

/**
 * Reads the (possibly compressed) name at `pos` in `wire` as presentation text into `out`
 * and returns the offset just past it in the record; nullopt when the name is not
 * well-formed. scan_message has already checked every name, so this only re-checks what
 * it needs to stay inside the buffer.
 */
std::optional<std::size_t> read_name_text(std::span<const std::uint8_t> wire, std::size_t pos,
                                          std::string& out) {
  std::optional<std::size_t> end;
  std::size_t length = 0;
  for (int hops = 0; pos < wire.size();) {
    const std::uint8_t byte = wire[pos];
    if ((byte & 0xC0U) == 0xC0U) {
      if (pos + 1 >= wire.size() || ++hops > kMaxPointerHops) {
        return std::nullopt;
      }
      const std::size_t target = ((byte & 0x3FU) << 8U) | wire[pos + 1];
      if (target >= pos || target < kHeaderSize) {
        return std::nullopt;
      }
      if (!end) {
        end = pos + 2;
      }
      pos = target;
      continue;
    }
    length += byte + 1U;
    if (byte > kMaxLabel || length > kMaxName || pos + 1 + byte > wire.size()) {
      return std::nullopt;
    }
    if (byte == 0) {
      return end ? end : pos + 1;
    }
    if (length > byte + 1U) {
      out.push_back('.');
    }
    append_label_text(wire.subspan(pos + 1, byte), out);
    pos += 1U + byte;
  }
  return std::nullopt;
}

std::uint32_t read_u32(std::span<const std::uint8_t> wire, std::size_t offset) {
  return (static_cast<std::uint32_t>(read_u16(wire, offset)) << 16U) | read_u16(wire, offset + 2);
}

/**
 * The RDATA of the types almost every reply is made of (A, AAAA, NS, CNAME, SOA) as the
 * `data` of a ResourceRecord, straight from the wire. False when the RDATA is not in the
 * exact shape of its type (wrong length, trailing bytes): ldns then renders it, as it does
 * every other type.
 */
bool fast_rdata_text(std::span<const std::uint8_t> wire, std::size_t start, std::size_t size,
                     ResourceRecord& record) {
  const auto rdata = wire.first(start + size);  // names in RDATA must not run past it
  std::string& out = record.data;
  switch (record.type) {
    case static_cast<std::uint16_t>(RrType::A):
    case static_cast<std::uint16_t>(RrType::AAAA):
      if (size != (record.type == static_cast<std::uint16_t>(RrType::A) ? 4U : 16U)) {
        return false;
      }
      record.address = IpAddress::from_bytes(wire.subspan(start, size));
      record.address->append_to(out);
      return true;
    case static_cast<std::uint16_t>(RrType::NS):
    case static_cast<std::uint16_t>(RrType::CNAME): {
      const auto end = read_name_text(rdata, start, out);
      return end && *end == start + size;
    }
    case static_cast<std::uint16_t>(RrType::SOA): {
      auto end = read_name_text(rdata, start, out);
      if (!end) {
        return false;
      }
      out.push_back(' ');
      end = read_name_text(rdata, *end, out);
      if (!end || *end + 20 != start + size) {
        return false;
      }
      for (std::size_t field = *end; field < start + size; field += 4) {
        out.push_back(' ');
        out += std::to_string(read_u32(wire, field));
      }
      return true;
    }
    default:
      return false;
  }
}

/// What decode_message found in a reply's sections.
struct DecodedMessage {
  std::size_t question_count = 0;
  std::string question_owner;  ///< of the first question
  std::uint16_t question_type = 0;
  std::uint16_t question_class = 0;
  std::optional<std::uint32_t> opt_ttl;  ///< TTL field of the first OPT in additional
  std::vector<ResourceRecord> records;   ///< answer, authority, additional; OPT left out
};

/**
 * Decodes every section of a message scan_message has accepted, in wire order. The common
 * records are read straight from the wire (the crawler's hot path: no ldns objects, no
 * temporary strings); any other record is handed to ldns_wire2rr, and so is every record
 * when `use_ldns_only` is set, the reference the tests and the fuzzer compare the fast
 * path with. (ldns_wire2pkt is not used: in ldns 1.8.3 it leaks a TSIG record of the
 * additional section when a later record is broken; found by fuzz/fuzz_dns_reply.)
 * Returns an error text, empty on success.
 */
std::string decode_message(std::span<const std::uint8_t> wire, bool use_ldns_only,
                           DecodedMessage& out) {
  constexpr std::array<const char*, 4> kNames{"question", "answer", "authority", "additional"};
  constexpr std::array<ldns_pkt_section, 4> kLdnsSections{
      LDNS_SECTION_QUESTION, LDNS_SECTION_ANSWER, LDNS_SECTION_AUTHORITY, LDNS_SECTION_ADDITIONAL};
  constexpr std::array<Section, 4> kSections{Section::Answer, Section::Answer, Section::Authority,
                                             Section::Additional};
  const std::size_t record_count =
      std::size_t{read_u16(wire, 6)} + read_u16(wire, 8) + read_u16(wire, 10);
  out.records.reserve(std::min(record_count, wire.size() / 11));
  std::size_t pos = kHeaderSize;
  for (std::size_t section = 0; section < kNames.size(); ++section) {
    const std::uint16_t count = read_u16(wire, 4 + 2 * section);
    for (std::uint16_t i = 0; i < count; ++i) {
      const std::size_t record_start = pos;
      ResourceRecord record;
      record.section = kSections[section];
      const auto owner_end = read_name_text(wire, pos, record.owner);
      const std::size_t fixed = section == 0 ? kQuestionFixed : kRecordFixed;
      if (!owner_end || *owner_end + fixed > wire.size()) {
        return fmt::format("{} section, record {} of {}: not well-formed", kNames[section], i + 1,
                           count);
      }
      pos = *owner_end;
      record.type = read_u16(wire, pos);
      const std::uint16_t klass = read_u16(wire, pos + 2);
      if (section == 0) {
        if (use_ldns_only) {  // the reference reads the question with ldns too
          ldns_rr* raw = nullptr;
          std::size_t ldns_pos = record_start;
          const ldns_status status =
              ldns_wire2rr(&raw, wire.data(), wire.size(), &ldns_pos, LDNS_SECTION_QUESTION);
          const LdnsRr parsed(raw);
          if (status != LDNS_STATUS_OK || !parsed) {
            return fmt::format("question section, record {} of {}: {}", i + 1, count,
                               ldns_get_errorstr_by_id(status));
          }
          record.owner = dname_text(ldns_rr_owner(parsed.get()));
        }
        if (++out.question_count == 1) {
          out.question_owner = std::move(record.owner);
          out.question_type = record.type;
          out.question_class = klass;
        }
        pos += kQuestionFixed;
        continue;
      }
      record.ttl = read_u32(wire, pos + 4);
      const std::size_t rdata_start = pos + kRecordFixed;
      const std::size_t rdata_size = read_u16(wire, pos + 8);
      if (rdata_start + rdata_size > wire.size()) {
        return fmt::format("{} section, record {} of {}: RDATA runs past the end", kNames[section],
                           i + 1, count);
      }
      pos = rdata_start + rdata_size;
      if (record.type == kTypeOpt) {
        if (section == 3 && !out.opt_ttl) {
          out.opt_ttl = record.ttl;
        }
        continue;  // a pseudo-record (RFC 6891 6.1.1), not data
      }
      if (use_ldns_only || !fast_rdata_text(wire, rdata_start, rdata_size, record)) {
        ldns_rr* raw = nullptr;
        std::size_t ldns_pos = record_start;
        const ldns_status status =
            ldns_wire2rr(&raw, wire.data(), wire.size(), &ldns_pos, kLdnsSections[section]);
        const LdnsRr parsed(raw);
        if (status != LDNS_STATUS_OK || !parsed) {
          return fmt::format("{} section, record {} of {}: {}", kNames[section], i + 1, count,
                             ldns_get_errorstr_by_id(status));
        }
        if (use_ldns_only) {  // the reference takes owner and TTL from ldns as well
          record.owner = dname_text(ldns_rr_owner(parsed.get()));
          record.ttl = ldns_rr_ttl(parsed.get());
        }
        record.data.clear();  // the fast path may have written part of it
        record.address.reset();
        rdata_text(parsed.get(), record);
      }
      out.records.push_back(std::move(record));
    }
  }
  return {};
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
      if (target < kHeaderSize) {  // no name lives there (ldns rejects offset 0 as well)
        return fmt::format("compression pointer at offset {} points into the header (to offset {})",
                           cursor, target);
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

bool map_reply(std::span<const std::uint8_t> wire, ProbeResult& result, ReplyDecoder decoder) {
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
  DecodedMessage message;
  if (auto error = decode_message(wire, decoder == ReplyDecoder::LdnsOnly, message);
      !error.empty()) {
    set_malformed(result, fmt::format("unparsable reply ({} bytes): {}", wire.size(), error));
    // A UDP reply cut short (TC=1) may end mid-record; the full one comes over TCP.
    return header_qr && header_tc;
  }
  // RFC 6891 6.1.3: the OPT record's TTL field carries the upper 8 bits of a 12-bit RCODE.
  if (message.opt_ttl) {
    result.rcode |= static_cast<int>(*message.opt_ttl >> 24) << 4;
  }
  const bool truncated = header_tc;
  result.authoritative = (wire[2] & kAaBit) != 0;
  if (!header_qr) {
    set_malformed(result, "not a response (QR bit clear)");
    return false;
  }

  const std::string qname = lower_no_dot(result.name);
  const auto qtype = static_cast<std::uint16_t>(result.qtype);
  const std::size_t qdcount = message.question_count;
  if (qdcount == 1) {
    if (message.question_owner != qname || message.question_type != qtype ||
        message.question_class != LDNS_RR_CLASS_IN) {
      set_malformed(result, fmt::format("reply is for {} {} class {}, asked {} {}",
                                        message.question_owner, rrtype_name(message.question_type),
                                        message.question_class, qname, rrtype_name(qtype)));
      return false;
    }
  } else if (!(qdcount == 0 && result.rcode != 0)) {
    // RFC 1035 4.1.2 echoes the one question. Error replies (FORMERR, NOTIMP, ...) may
    // come without it; a NOERROR reply without it cannot be tied to the query.
    set_malformed(result, fmt::format("reply has {} questions, expected 1", qdcount));
    return false;
  }

  result.records = std::move(message.records);
  const std::vector<ResourceRecord>& records = result.records;
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
