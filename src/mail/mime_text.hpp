// Text helpers of the MIME intake: any charset to UTF-8, HTML to plain text, and the cid: references
// by which an HTML body embeds images of its multipart/related.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace faxd::mail {

struct Utf8Text {
    std::string text;     // always valid UTF-8
    std::string warning;  // empty, or what was guessed or replaced ("unknown charset x-foo, read as Latin-1")
};

// Converts `bytes` declared as `charset` (empty when the part declared none) to UTF-8. Undeclared text
// that is valid UTF-8 (ASCII included) is kept; an unknown charset or undeclared 8-bit text is read as
// Latin-1, which maps every byte; bytes invalid in their charset become U+FFFD.
Utf8Text ToUtf8(std::string_view bytes, std::string_view charset);

std::string Latin1ToUtf8(std::string_view bytes);

// At most max_bytes of text, cut before a character boundary so UTF-8 stays valid (for messages and logs).
std::string Utf8Prefix(std::string_view text, std::size_t max_bytes);

// Plain text of an HTML body for the fax page and the PIN search: drops tags, comments, <head>, <script>
// and <style>; block elements (p, div, br, tr, li, h1-h6) become line breaks; decodes the common named
// entities and numeric ones; collapses runs of blanks and of empty lines. Not a renderer.
std::string HtmlToText(std::string_view html);

// The ids of every "cid:<id>" in the HTML (RFC 2392), percent-decoded, in order of appearance.
std::vector<std::string> ContentIdReferences(std::string_view html);

}  // namespace faxd::mail
