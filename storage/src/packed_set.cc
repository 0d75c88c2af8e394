#include "packed_set.h"

#include <fmt/format.h>

#include <algorithm>

#include "copy_text.h"

namespace fluxwatch::storage::detail {
namespace {

bool is_address_type(std::uint16_t type) {
  return type == static_cast<std::uint16_t>(RrType::A) ||
         type == static_cast<std::uint16_t>(RrType::AAAA);
}

/// What an address record's type is when rtypes is NULL: A for IPv4, AAAA for IPv6.
std::uint16_t type_of_address(std::string_view address) {
  return static_cast<std::uint16_t>(address.find(':') == std::string_view::npos ? RrType::A
                                                                                : RrType::AAAA);
}

}  // namespace

void append_array_text(std::string& literal, std::string_view element) {
  literal += '"';
  for (const char c : element) {
    if (c == '"' || c == '\\') {
      literal += '\\';
    }
    literal += c;
  }
  literal += '"';
}

PackedAnswer pack_answer(const std::vector<ResourceRecord>& records, const CanonicalAnswer& answer,
                         std::string_view domain_name) {
  PackedAnswer packed;
  std::uint32_t shared_min = 0;
  bool any_shared = false;
  for (const std::uint32_t index : answer.order) {
    const ResourceRecord& record = records[index];
    if (record.section != Section::Answer) {
      shared_min = any_shared ? std::min(shared_min, record.ttl) : record.ttl;
      any_shared = true;
    }
  }
  for (const std::uint32_t index : answer.order) {
    const ResourceRecord& record = records[index];
    const bool own = record.section == Section::Answer;
    PackedRecord packed_record;
    packed_record.section = record.section;
    packed_record.type = record.type;
    if (!own || domain_name.empty() || record.owner != domain_name) {
      packed_record.owner = record.owner;
    }
    packed_record.ttl_offset = static_cast<std::int64_t>(record.ttl) -
                               static_cast<std::int64_t>(own ? answer.min_ttl : shared_min);
    if (is_address_type(record.type) && is_ip_address(record.data)) {
      packed_record.address = record.data;
    } else {
      // Keep whatever arrived rather than fail the batch on an unparsable address.
      packed.bad_addresses += is_address_type(record.type) ? 1 : 0;
      if (!record.data.empty()) {
        packed_record.target = record.data;
      }
    }
    (own ? packed.own : packed.shared).push_back(packed_record);
  }
  if (any_shared) {
    packed.shared_ttl_offset =
        static_cast<std::int64_t>(shared_min) - static_cast<std::int64_t>(answer.min_ttl);
    const auto digest = sha256(shared_text(packed.shared));
    packed.shared_id = digest_prefix(digest);
    packed.shared_digest_check = digest_check(digest);
  }
  return packed;
}

std::string shared_text(const std::vector<PackedRecord>& shared) {
  std::string text;
  for (const PackedRecord& record : shared) {
    text.append(section_name(record.section));
    text += '\t';
    text.append(rrtype_name(record.type));
    text += '\t';
    text.append(record.owner.value_or(std::string_view()));
    text += '\t';
    text.append(record.address.value_or(record.target.value_or(std::string_view())));
    fmt::format_to(std::back_inserter(text), "\t{}\n", record.ttl_offset);
  }
  return text;
}

PackedLayout packed_layout(const std::vector<PackedRecord>& part) {
  const auto any = [&](auto&& predicate) {
    return std::any_of(part.begin(), part.end(), predicate);
  };
  PackedLayout layout;
  layout.rtypes = any(
      [](const PackedRecord& r) { return !r.address || r.type != type_of_address(*r.address); });
  layout.owners = any([](const PackedRecord& r) { return r.owner.has_value(); });
  layout.ttl_offsets = any([](const PackedRecord& r) { return r.ttl_offset != 0; });
  layout.address_ids = any([](const PackedRecord& r) { return r.address.has_value(); });
  layout.targets = any([](const PackedRecord& r) { return r.target.has_value(); });
  return layout;
}

void write_packed_fields_with_ids(CopyBinaryBuffer& row, const std::vector<PackedRecord>& part,
                                  bool with_sections, const std::vector<std::int64_t>& ids) {
  const PackedLayout layout = packed_layout(part);
  // One array column: NULL when `present` is false, else `element(record index)` per record.
  const auto column = [&](bool present, std::uint32_t oid, auto&& element) {
    if (!present) {
      row.null();
      return;
    }
    row.begin_array(oid);
    for (std::size_t i = 0; i < part.size(); ++i) {
      element(i);
    }
    row.end_array();
  };
  // An element that may be NULL.
  const auto text_or_null = [&](const std::optional<std::string_view>& text) {
    text ? row.element_text(*text) : row.element_null();
  };
  if (with_sections) {
    column(!part.empty(), CopyBinaryBuffer::kCharOid, [&](std::size_t i) {
      row.element_char(part[i].section == Section::Authority ? 'u' : 'd');
    });
  }
  column(layout.rtypes, CopyBinaryBuffer::kTextOid,
         [&](std::size_t i) { row.element_text(rrtype_name(part[i].type)); });
  column(layout.owners, CopyBinaryBuffer::kTextOid,
         [&](std::size_t i) { text_or_null(part[i].owner); });
  column(layout.ttl_offsets, CopyBinaryBuffer::kInt8Oid,
         [&](std::size_t i) { row.element_int8(part[i].ttl_offset); });
  column(layout.address_ids, CopyBinaryBuffer::kInt4Oid, [&](std::size_t i) {
    ids[i] < 0 ? row.element_null() : row.element_int4(static_cast<std::int32_t>(ids[i]));
  });
  column(layout.targets, CopyBinaryBuffer::kTextOid,
         [&](std::size_t i) { text_or_null(part[i].target); });
}

}  // namespace fluxwatch::storage::detail
