#pragma once
/// The one place where text from the database (domain names, DNS targets, RDATA: untrusted,
/// written by whoever runs the name servers) becomes part of a page, an SVG file or a URL.
/// Each function makes any text safe for exactly one context; the pages and the SVG writer
/// use nothing else.

#include <string>
#include <string_view>

namespace fluxwatch::web {

/// Text between HTML (or SVG/XML) tags: & < > " ' become character references.
[[nodiscard]] std::string html_text(std::string_view text);

/// A quoted HTML/XML attribute value (always written between double quotes). The same
/// references as html_text(); control characters other than tab and newline are dropped, as
/// XML 1.0 forbids them.
[[nodiscard]] std::string html_attr(std::string_view text);

/// One component of a URL path or query (RFC 3986): everything but unreserved characters
/// (A-Z a-z 0-9 - . _ ~) is percent-encoded, so a name can never end a path segment, start a
/// query or change the scheme. The result still goes through html_attr() in an href.
[[nodiscard]] std::string url_component(std::string_view text);

/// Serialised JSON made safe inside <script type="application/json">: '<', '>', '&' and the
/// line separators U+2028/U+2029 become \u escapes, so no "</script>" or "<!--" can appear.
/// JSON.parse() reads the result back to the same value.
[[nodiscard]] std::string json_for_script(std::string_view json);

/// CSV field (RFC 4180): quoted when it holds a comma, quote, CR or LF; quotes doubled. A
/// leading = + - @ is prefixed with ' so spreadsheets do not run it as a formula.
[[nodiscard]] std::string csv_field(std::string_view text);

}  // namespace fluxwatch::web
