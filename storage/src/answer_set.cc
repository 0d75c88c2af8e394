#include "answer_set.h"

#include <openssl/evp.h>

#include <algorithm>
#include <charconv>
#include <memory>
#include <numeric>
#include <string_view>
#include <tuple>

#include "fluxwatch/common/error.h"

namespace fluxwatch::storage::detail {

namespace {

struct MdFree {
  void operator()(EVP_MD* md) const noexcept { EVP_MD_free(md); }
};
struct MdContextFree {
  void operator()(EVP_MD_CTX* context) const noexcept { EVP_MD_CTX_free(context); }
};

/// SHA-256 fetched from the provider once per process: EVP_Digest(EVP_sha256()) fetches it
/// again on every call (OpenSSL 3), which took most of the hash's time, ~1 us a probe
/// (docs/performance.md, "fluxwatch's own CPU per stored name").
const EVP_MD* sha256_method() {
  static const std::unique_ptr<EVP_MD, MdFree> method(EVP_MD_fetch(nullptr, "SHA256", nullptr));
  if (!method) {
    throw Error("OpenSSL: SHA-256 is not available");
  }
  return method.get();
}

}  // namespace

std::array<unsigned char, 32> sha256(std::string_view text) {
  // One context per thread, reset by each EVP_DigestInit_ex2 (the writers hash in parallel).
  thread_local const std::unique_ptr<EVP_MD_CTX, MdContextFree> context(EVP_MD_CTX_new());
  std::array<unsigned char, 32> digest{};
  unsigned int length = 0;
  if (!context || EVP_DigestInit_ex2(context.get(), sha256_method(), nullptr) != 1 ||
      EVP_DigestUpdate(context.get(), text.data(), text.size()) != 1 ||
      EVP_DigestFinal_ex(context.get(), digest.data(), &length) != 1 || length != digest.size()) {
    throw Error("OpenSSL: SHA-256 failed");
  }
  return digest;
}

std::int64_t digest_prefix(const std::array<unsigned char, 32>& digest) noexcept {
  std::uint64_t value = 0;
  for (std::size_t i = 0; i < 8; ++i) {
    value = (value << 8U) | digest[i];
  }
  return static_cast<std::int64_t>(value);  // two's complement, as bit(64)::bigint
}

std::int64_t digest_check(const std::array<unsigned char, 32>& digest) noexcept {
  std::uint64_t value = 0;
  for (std::size_t i = 8; i < 16; ++i) {
    value = (value << 8U) | digest[i];
  }
  return static_cast<std::int64_t>(value);
}

std::string bytea_hex(const std::array<unsigned char, 32>& digest) {
  static constexpr std::string_view kHex = "0123456789abcdef";
  std::string text = "\\x";
  for (const unsigned char byte : digest) {
    text += kHex[byte >> 4U];
    text += kHex[byte & 0xfU];
  }
  return text;
}

std::string canonical_text(const std::vector<ResourceRecord>& records,
                           std::vector<std::uint32_t>& order) {
  std::vector<std::string> types;
  types.reserve(records.size());
  for (const ResourceRecord& record : records) {
    types.push_back(rrtype_name(record.type));
  }
  order.resize(records.size());
  std::iota(order.begin(), order.end(), 0U);
  // std::string compares bytes as unsigned char: the order of COLLATE "C".
  std::sort(order.begin(), order.end(), [&](std::uint32_t x, std::uint32_t y) {
    const ResourceRecord& a = records[x];
    const ResourceRecord& b = records[y];
    return std::tie(a.section, types[x], a.owner, a.data, a.ttl) <
           std::tie(b.section, types[y], b.owner, b.data, b.ttl);
  });
  std::string text;
  for (const std::uint32_t i : order) {
    const ResourceRecord& record = records[i];
    text.append(section_name(record.section));
    text += '\t';
    text.append(types[i]);
    text += '\t';
    text.append(record.owner);
    text += '\t';
    text.append(record.data);
    text += '\n';
  }
  return text;
}

CanonicalAnswer canonical_answer(const std::vector<ResourceRecord>& records) {
  CanonicalAnswer answer;
  answer.digest = sha256(canonical_text(records, answer.order));
  answer.id = digest_prefix(answer.digest);
  answer.digest_check = digest_check(answer.digest);
  answer.min_ttl =
      std::min_element(records.begin(), records.end(), [](const auto& a, const auto& b) {
        return a.ttl < b.ttl;
      })->ttl;
  std::string offsets;
  std::array<char, 16> digits{};
  for (std::size_t k = 0; k < answer.order.size(); ++k) {
    if (k != 0) {
      offsets += ',';
    }
    const auto [end, error] = std::to_chars(digits.data(), digits.data() + digits.size(),
                                            records[answer.order[k]].ttl - answer.min_ttl);
    offsets.append(digits.data(), end);
  }
  answer.ttl_shape = digest_prefix(sha256(offsets));
  return answer;
}

}  // namespace fluxwatch::storage::detail
