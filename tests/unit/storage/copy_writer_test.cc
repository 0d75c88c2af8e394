// The COPY text format of store()'s bulk path (CopyTextBuffer) and the fast address check,
// without a database. tests/integration/storage reads the same rows back from PostgreSQL.
#include "copy_writer.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>

#include "copy_text.h"
#include "fluxwatch/common/time_text.h"
#include "fluxwatch/common/types.h"

namespace fluxwatch::storage::detail {
namespace {

using namespace std::chrono;

/// One field written through `write`, as the row's text without its newline.
template <typename Write>
std::string field(Write write) {
  CopyTextBuffer buffer(1);
  write(buffer);
  buffer.end_row();
  std::string text(buffer.data());
  EXPECT_EQ(text.back(), '\n');
  text.pop_back();
  return text;
}

TEST(StorageCopyFormat, EscapesBackslashTabNewlineAndCarriageReturn) {
  EXPECT_EQ(field([](auto& b) { b.text("plain.example"); }), "plain.example");
  EXPECT_EQ(field([](auto& b) { b.text("a\tb\nc\rd\\e"); }), "a\\tb\\nc\\rd\\\\e");
  EXPECT_EQ(field([](auto& b) { b.text("\\N"); }), "\\\\N");  // the text \N, not NULL
  EXPECT_EQ(field([](auto& b) { b.text("\\."); }), "\\\\.");  // not the end-of-data marker
  EXPECT_EQ(field([](auto& b) { b.text("\t\t"); }), "\\t\\t");
  EXPECT_EQ(field([](auto& b) { b.text("end\\"); }), "end\\\\");
  // Bytes beyond ASCII and other control characters go as they are.
  EXPECT_EQ(field([](auto& b) { b.text("M\xc3\xbcnchen \x01\x7f"); }), "M\xc3\xbcnchen \x01\x7f");
}

TEST(StorageCopyFormat, EmptyTextIsEmptyOrNull) {
  EXPECT_EQ(field([](auto& b) { b.text(""); }), "");
  EXPECT_EQ(field([](auto& b) { b.text_or_null(""); }), "\\N");
  EXPECT_EQ(field([](auto& b) { b.text_or_null("x\ty"); }), "x\\ty");
  EXPECT_EQ(field([](auto& b) { b.null(); }), "\\N");
}

TEST(StorageCopyFormat, IntegersBooleansAndTypeNames) {
  EXPECT_EQ(field([](auto& b) { b.integer(0); }), "0");
  EXPECT_EQ(field([](auto& b) { b.integer(-42); }), "-42");
  EXPECT_EQ(field([](auto& b) { b.integer(std::numeric_limits<std::int64_t>::min()); }),
            "-9223372036854775808");
  EXPECT_EQ(field([](auto& b) { b.integer(4294967295); }), "4294967295");
  EXPECT_EQ(field([](auto& b) { b.integer_or_null(0); }), "\\N");
  EXPECT_EQ(field([](auto& b) { b.integer_or_null(7); }), "7");
  EXPECT_EQ(field([](auto& b) { b.boolean(true); }), "t");
  EXPECT_EQ(field([](auto& b) { b.boolean(false); }), "f");
  // Every type number is spelt as rrtype_name() spells it.
  for (std::uint32_t type = 0; type <= 0xffff; ++type) {
    const auto t = static_cast<std::uint16_t>(type);
    ASSERT_EQ(field([t](auto& b) { b.rrtype(t); }), rrtype_name(t)) << type;
  }
}

TEST(StorageCopyFormat, TimestampsMatchFormatTimestampUtc) {
  const system_clock::time_point t0 = sys_days{year{2026} / November / 22} + 10h + 123456789ns;
  EXPECT_EQ(field([&](auto& b) { b.timestamp(t0); }), "2026-11-22 10:00:00.123456+00");
  // Around midnight, the epoch, leap days, far dates, and at random: the cached date must
  // follow the day, and the text must be format_timestamp_utc()'s.
  std::vector<system_clock::time_point> points = {
      system_clock::time_point{},
      system_clock::time_point{} - 1ns,
      sys_days{year{2024} / February / 29} + 23h + 59min + 59s + 999999us,
      sys_days{year{2024} / March / 1},
      sys_days{year{1} / January / 1},
      sys_days{year{9999} / December / 31} + 23h + 59min + 59s + 999999us,
      sys_days{year{10000} / January / 1} + 1us,
      sys_days{year{-1} / June / 1},
  };
  std::mt19937_64 random(6);
  std::uniform_int_distribution<std::int64_t> micros(-100'000'000'000'000'000,
                                                     100'000'000'000'000'000);
  for (int i = 0; i < 20000; ++i) {
    const auto tp = system_clock::time_point{microseconds(micros(random))};
    points.push_back(tp);
    points.push_back(tp + 1h);  // usually the same day: the cached date
  }
  CopyTextBuffer buffer(1);  // one buffer for all: the cache carries over between rows
  std::string expected;
  for (const auto& tp : points) {
    buffer.timestamp(tp).end_row();
    expected += format_timestamp_utc(tp) + "\n";
  }
  EXPECT_EQ(buffer.data(), expected);
}

TEST(StorageCopyFormat, RowsAreTabSeparatedAndChecked) {
  CopyTextBuffer buffer(3);
  buffer.integer(1).text("a b").null().end_row();
  buffer.integer(2).text_or_null("").boolean(true).end_row();
  EXPECT_EQ(buffer.data(), "1\ta b\t\\N\n2\t\\N\tt\n");
  EXPECT_FALSE(buffer.in_row());
  buffer.integer(3);
  EXPECT_TRUE(buffer.in_row());
  EXPECT_THROW(buffer.end_row(), std::logic_error);  // 1 field for 3 columns
  buffer.clear();
  EXPECT_EQ(buffer.data(), "");
}

/// The reference: glibc's inet_pton for both families, on a NUL-terminated copy.
bool inet_pton_accepts(const std::string& text) {
  std::array<unsigned char, 16> address{};
  return inet_pton(AF_INET, text.c_str(), address.data()) == 1 ||
         inet_pton(AF_INET6, text.c_str(), address.data()) == 1;
}

TEST(StorageCopyBinaryFormat, FieldsAreBigEndianWithTheirLengthsAfterTheRowsFieldCount) {
  using namespace std::string_literals;
  CopyBinaryBuffer buffer(5);
  const std::array<std::int64_t, 1> ttls{0x0102};
  // 2000-01-01 00:00:00.000001 UTC: PostgreSQL's epoch plus one microsecond.
  const auto epoch_plus_one = sys_days{year{2000} / 1 / 1} + microseconds(1);
  buffer.int4(-2).null().timestamp(epoch_plus_one).text("a\tb").int8_array(ttls);
  EXPECT_TRUE(buffer.in_row());
  buffer.end_row();
  EXPECT_FALSE(buffer.in_row());
  EXPECT_EQ(std::string(buffer.data()),
            "\0\5"s                                                  // 5 fields
            "\0\0\0\4\xff\xff\xff\xfe"s                              // int4 -2
            "\xff\xff\xff\xff"s                                      // NULL
            "\0\0\0\x08\0\0\0\0\0\0\0\1"s                            // timestamptz 1
            "\0\0\0\3a\tb"s                                          // text
            "\0\0\0\x20\0\0\0\1\0\0\0\0\0\0\0\x14\0\0\0\1\0\0\0\1"s  // bigint[1]
            "\0\0\0\x08\0\0\0\0\0\0\1\2"s);
  EXPECT_THROW(buffer.int8(1).end_row(), std::logic_error);  // 1 field for 5 columns
  EXPECT_EQ(CopyBinaryBuffer::kHeader, "PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0"s);
  EXPECT_EQ(CopyBinaryBuffer::kTrailer, "\xff\xff"s);
}

TEST(StorageCopyFormat, IpAddressCheckAgreesWithInetPton) {
  std::vector<std::string> cases = {"",
                                    "0.0.0.0",
                                    "255.255.255.255",
                                    "256.0.0.1",
                                    "1.2.3",
                                    "1.2.3.4.",
                                    ".1.2.3.4",
                                    "1..2.3",
                                    "01.2.3.4",
                                    "1.2.3.04",
                                    "1.2.3.0",
                                    "1.2.3.4 ",
                                    " 1.2.3.4",
                                    "1.2.3.4\n",
                                    "1.2.3.4/32",
                                    "1.2.3.-4",
                                    "1.2.3.999",
                                    "4294967296.0.0.0",
                                    "::",
                                    "::1",
                                    "2001:db8::1",
                                    "::ffff:1.2.3.4",
                                    "2001:db8:::1",
                                    "1:2",
                                    "fe80::1%eth0",
                                    "example.com",
                                    "127.64.1.1",
                                    "0x7f.0.0.1"};
  // Random strings over the characters addresses are made of.
  std::mt19937 random(6);
  const std::string alphabet = "0123456789.:abcdef";
  std::uniform_int_distribution<std::size_t> length(0, 16);
  std::uniform_int_distribution<std::size_t> pick(0, alphabet.size() - 1);
  std::uniform_int_distribution<int> octet(0, 300);
  for (int i = 0; i < 100000; ++i) {
    std::string text;
    if (i % 2 == 0) {  // near-addresses: four numbers, sometimes out of range
      text = std::to_string(octet(random)) + "." + std::to_string(octet(random)) + "." +
             std::to_string(octet(random)) + "." + std::to_string(octet(random));
      if (i % 8 == 0) {
        text[pick(random) % text.size()] = alphabet[pick(random)];
      }
    } else {
      for (std::size_t n = length(random); n > 0; --n) {
        text += alphabet[pick(random)];
      }
    }
    cases.push_back(std::move(text));
  }
  for (const std::string& text : cases) {
    ASSERT_EQ(is_ip_address(text), inet_pton_accepts(text)) << '"' << text << '"';
  }
  // inet_pton stops at a NUL; is_ip_address sees the whole text, which is no address.
  EXPECT_FALSE(is_ip_address(std::string_view("1.2.3.4\0", 8)));
  EXPECT_FALSE(is_ip_address(std::string_view("::1\0", 4)));
}

}  // namespace
}  // namespace fluxwatch::storage::detail
