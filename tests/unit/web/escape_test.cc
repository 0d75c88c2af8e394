// The one escaping module (web/src/escape.cc): every context a database value is shown in.
#include "fluxwatch/web/escape.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace fluxwatch::web {
namespace {

constexpr std::string_view kHostile = R"(<script>alert("x")</script>&'"><img src=x onerror=1>)";

TEST(HtmlText, EscapesEveryMarkupCharacter) {
  EXPECT_EQ(html_text("a<b>&\"'c"), "a&lt;b&gt;&amp;&quot;&#39;c");
  const auto escaped = html_text(kHostile);
  EXPECT_EQ(escaped.find('<'), std::string::npos);
  EXPECT_EQ(escaped.find('>'), std::string::npos);
  EXPECT_EQ(escaped.find('"'), std::string::npos);
  EXPECT_EQ(escaped.find('\''), std::string::npos);
}

TEST(HtmlText, KeepsPlainTextAndUtf8) {
  EXPECT_EQ(html_text("flux-alpha.test"), "flux-alpha.test");
  EXPECT_EQ(html_text("M\xC3\xBCnchen"), "M\xC3\xBCnchen");
  EXPECT_EQ(html_text(""), "");
}

TEST(HtmlAttr, CannotCloseTheQuoteOrAddAttributes) {
  const auto escaped = html_attr(R"(x" onmouseover="alert(1))");
  EXPECT_EQ(escaped.find('"'), std::string::npos);
  EXPECT_EQ(escaped, "x&quot; onmouseover=&quot;alert(1)");
}

TEST(HtmlAttr, DropsControlCharactersXmlForbids) {
  EXPECT_EQ(html_attr(std::string("a\x01"
                                  "b\x1f"
                                  "c\td",
                                  7)),
            "abc\td");
  EXPECT_EQ(html_text(std::string("a\x00"
                                  "b",
                                  3)),
            "ab");
}

TEST(UrlComponent, EncodesAllButUnreserved) {
  EXPECT_EQ(url_component("flux-alpha.test"), "flux-alpha.test");
  EXPECT_EQ(url_component("2001:db8::1"), "2001%3Adb8%3A%3A1");
  EXPECT_EQ(url_component("a b/c?d=e&f#g"), "a%20b%2Fc%3Fd%3De%26f%23g");
  EXPECT_EQ(url_component("javascript:alert(1)"), "javascript%3Aalert%281%29");
  EXPECT_EQ(url_component("\xC3\xBC"), "%C3%BC");
  EXPECT_EQ(url_component("~_."), "~_.");
}

TEST(JsonForScript, NoScriptEndOrCommentCanAppearAndItParsesBack) {
  const nlohmann::json value{{"target", "</script><script>alert(1)</script><!--"},
                             {"separator", "a\u2028b\u2029c"},
                             {"amp", "&amp;"}};
  const auto safe = json_for_script(value.dump());
  EXPECT_EQ(safe.find('<'), std::string::npos);
  EXPECT_EQ(safe.find('>'), std::string::npos);
  EXPECT_EQ(safe.find('&'), std::string::npos);
  EXPECT_EQ(safe.find("\xE2\x80\xA8"), std::string::npos);
  EXPECT_NE(safe.find("\\u2028"), std::string::npos);
  EXPECT_EQ(nlohmann::json::parse(safe), value);
}

TEST(CsvField, QuotesWhatNeedsItAndDefusesFormulas) {
  EXPECT_EQ(csv_field("plain"), "plain");
  EXPECT_EQ(csv_field("a,b"), "\"a,b\"");
  EXPECT_EQ(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(csv_field("line\nbreak"), "\"line\nbreak\"");
  EXPECT_EQ(csv_field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
  EXPECT_EQ(csv_field("+1"), "'+1");
}

}  // namespace
}  // namespace fluxwatch::web
