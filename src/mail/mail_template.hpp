// Text templates for the mails faxd sends (issue 7): "{name}" placeholders an administrator may rewrite in
// the configuration, plus the escaping each destination needs.
//
// Decisions:
// - A placeholder is '{', a name of letters, digits and '_' (not starting with a digit), and '}'. Anything
// else
//   with a brace in it ("{ color: red }", "{", "}") is literal text, so CSS in an HTML template needs no
//   escaping; "{{" and "}}" are literal braces for the rare "{name}" that must not be replaced.
// - An unknown placeholder is kept as written: a typo shows in the mail instead of vanishing silently, and
//   CheckTemplate finds it at start-up before any mail goes out.
// - Values are inserted once, never expanded again, so a value holding "{reference}" stays that text.
// - Values often come from the network (calling number, remote ident) or from a sender's mail. Each
//   destination has its own expansion: ExpandHtmlTemplate escapes every value, ExpandHeaderTemplate makes the
//   result one line (no CR/LF header injection), SafeFileNameFromTemplate can never give a path.
#pragma once

#include <cstddef>
#include <map>
#include <set>
#include <string>
#include <string_view>

#include "base/result.hpp"

namespace faxd::mail {

using TemplateValues = std::map<std::string, std::string>;

// "{reference} from {calling}" with {reference: "2026.00000001", calling: "0301234"}
// -> "2026.00000001 from 0301234". Unknown placeholders stay as written; "{{" -> "{", "}}" -> "}".
std::string ExpandTemplate(std::string_view text, const TemplateValues& values);

// As ExpandTemplate, with every value HTML-escaped; the template itself is trusted HTML.
std::string ExpandHtmlTemplate(std::string_view text, const TemplateValues& values);

// As ExpandTemplate for a header such as Subject: the result goes through OneLine, so neither the template
// nor a value can add CR/LF (another header) or control characters.
std::string ExpandHeaderTemplate(std::string_view text, const TemplateValues& values);

// For configuration checks at start-up: every placeholder must be in `known`, else kInvalidArgument
// "unknown placeholder {foo}; known: {calling}, {reference}" (the first unknown one; known names sorted).
base::Result<void> CheckTemplate(std::string_view text, const std::set<std::string>& known);

// A file name (one path component) from a template such as "F{calling0}_T{called}_{id}": expands, then
// makes the whole result safe whatever the values held (see SafeFileName).
std::string SafeFileNameFromTemplate(std::string_view text, const TemplateValues& values);

// File names are at most this long; a longer one is cut at a UTF-8 character boundary.
inline constexpr std::size_t kMaxFileNameBytes = 200;

// One safe path component: '/', '\\', control characters (C0, DEL, C1), the characters Windows refuses
// (: * ? " < > |, as files may land on a share), the Unicode bidi controls (which can make "fdp.exe" read
// as "exe.pdf") and bytes that are not UTF-8 become '_'; leading dots become '_' (no hidden file, no "..");
// cut to kMaxFileNameBytes; an empty result is "unnamed".
std::string SafeFileName(std::string_view name);

// & < > " ' as entities, for HTML text and attribute values.
std::string HtmlEscape(std::string_view text);

// One line for a header or a table cell: every run of CR, LF, TAB and other control characters and blanks
// becomes a single space, and leading and trailing blanks go.
std::string OneLine(std::string_view text);

// At most max_bytes of text (max_bytes >= 3), cut at a UTF-8 character boundary with "..." at the end
// when anything was cut. For values a stranger controls (a mail subject, an error text).
std::string Abbreviate(std::string_view text, std::size_t max_bytes);

}  // namespace faxd::mail
