#include "render/text_pages.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <fstream>
#include <optional>
#include <unordered_map>
#include <utility>

#include "base/atomic_file.hpp"
#include "render/file_error.hpp"
#include "render/subprocess.hpp"

namespace faxd::render {
namespace {

using base::ErrorCode;
using base::MakeError;

// --- UTF-8 ---

// Decodes the code point at text[i] and advances i. RFC 3629 §4: overlongs, surrogates, values above U+10FFFF
// and cut sequences are malformed; they give U+FFFD and advance one byte, so decoding always makes progress.
char32_t DecodeUtf8(std::string_view text, std::size_t& i, bool& malformed) {
    const auto lead = static_cast<unsigned char>(text[i]);
    if (lead < 0x80) {
        ++i;
        return lead;
    }
    int more = 0;
    char32_t cp = 0;
    unsigned char low = 0x80, high = 0xBF;
    if (lead >= 0xC2 && lead <= 0xDF) {
        more = 1;
        cp = lead & 0x1F;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
        more = 2;
        cp = lead & 0x0F;
        if (lead == 0xE0) low = 0xA0;
        if (lead == 0xED) high = 0x9F;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
        more = 3;
        cp = lead & 0x07;
        if (lead == 0xF0) low = 0x90;
        if (lead == 0xF4) high = 0x8F;
    } else {
        ++i;
        malformed = true;
        return 0xFFFD;
    }
    for (int k = 1; k <= more; ++k) {
        const std::size_t at = i + static_cast<std::size_t>(k);
        if (at >= text.size()) {
            ++i;
            malformed = true;
            return 0xFFFD;
        }
        const auto next = static_cast<unsigned char>(text[at]);
        if (next < (k == 1 ? low : 0x80) || next > (k == 1 ? high : 0xBF)) {
            ++i;
            malformed = true;
            return 0xFFFD;
        }
        cp = (cp << 6) | (next & 0x3F);
    }
    i += static_cast<std::size_t>(more) + 1;
    return cp;
}

void AppendUtf8(std::string& out, char32_t cp) {
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

// C0 and C1 controls and DEL draw nothing useful (or a missing-glyph box); the byte order mark is not text.
bool IsDropped(char32_t cp) { return cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp < 0xA0) || cp == 0xFEFF; }

bool IsBlank(char32_t cp) { return cp == U' ' || cp == 0xA0; }

// --- layout ---

int MmToPixels(double mm, int dpi) { return static_cast<int>(std::lround(mm / 25.4 * dpi)); }

base::Result<void> CheckLayout(const TextLayout& layout, const TextBox& box, const TextRasterizer& font) {
    if (layout.left_mm < 0 || layout.right_mm < 0 || layout.top_mm < 0 || layout.bottom_mm < 0 ||
        layout.header_band_mm < 0)
        return MakeError(ErrorCode::kInvalidArgument, "text layout: margins must not be negative");
    if (layout.tab_stop < 1 || layout.tab_stop > 64)
        return MakeError(ErrorCode::kInvalidArgument, "text layout: tab stops must be 1 to 64 columns apart");
    if (layout.max_pages < 1)
        return MakeError(ErrorCode::kInvalidArgument, "text layout: the page limit must be at least 1");
    if (font.LineHeight() <= 0 || box.right - box.left < font.LineHeight() ||
        box.bottom - box.top < font.LineHeight())
        return MakeError(ErrorCode::kInvalidArgument, "text layout: the margins leave no room for a line");
    return {};
}

// Collects wrapped lines into pages. Blank lines and page breaks are held back until text follows them, so
// trailing line breaks and form feeds never make a page of their own, and the page limit counts only pages
// that will be sent.
class Paginator {
public:
    Paginator(const TextLayout& layout, int width, int lines_per_page, const TextRasterizer& font)
        : layout_(layout), width_(width), lines_per_page_(lines_per_page), font_(font), pages_(1) {}

    // One line of the source (tabs already expanded), wrapped to the text width.
    base::Result<void> AddLine(std::u32string_view line) {
        if (line.empty()) return Place(line);
        std::size_t pos = 0;
        while (pos < line.size()) {
            int width = 0;
            std::size_t end = pos;
            std::size_t last_space = std::u32string_view::npos;
            bool seen_text = false;
            while (end < line.size()) {
                const int advance = Advance(line[end]);
                if (width + advance > width_) break;
                // A break only after some text: breaking inside the indentation would leave an empty line.
                if (line[end] == U' ') {
                    if (seen_text) last_space = end;
                } else {
                    seen_text = true;
                }
                width += advance;
                ++end;
            }
            std::size_t cut = end;
            if (end < line.size() && line[end] != U' ') {
                // The word at `end` does not fit: break before it, or cut a word longer than the line.
                cut = last_space != std::u32string_view::npos ? last_space : std::max(end, pos + 1);
            }
            if (auto placed = Place(line.substr(pos, cut - pos)); !placed) return placed;
            pos = cut;
            // The spaces at a wrap are the break itself, not indentation of the next line.
            while (pos < line.size() && line[pos] == U' ') ++pos;
        }
        return {};
    }

    void PageBreak() {
        ++pending_breaks_;
        pending_blank_lines_ = 0;  // blank lines at the end of a page draw nothing
    }

    base::Result<std::vector<std::vector<std::string>>> Finish() {
        if (!visible_) return MakeError(ErrorCode::kMalformed, "the text has nothing to print");
        return std::move(pages_);
    }

private:
    // The width Draw advances for one character: measured by drawing on an empty page, so wrapping uses
    // exactly the advances (with the monochrome hinting) that drawing will use.
    int Advance(char32_t cp) {
        if (auto it = advances_.find(cp); it != advances_.end()) return it->second;
        std::string utf8;
        AppendUtf8(utf8, cp);
        BilevelPage nowhere;  // 0 x 0: Draw clips every pixel
        const int advance = std::max(0, font_.Draw(nowhere, 0, 0, utf8));
        advances_.emplace(cp, advance);
        return advance;
    }

    base::Result<void> Place(std::u32string_view line) {
        while (!line.empty() && line.back() == U' ') line.remove_suffix(1);
        if (std::all_of(line.begin(), line.end(), IsBlank)) {
            ++pending_blank_lines_;
            return {};
        }
        visible_ = true;
        for (; pending_breaks_ > 0; --pending_breaks_)
            if (auto added = NewPage(); !added) return added;
        for (; pending_blank_lines_ > 0; --pending_blank_lines_)
            if (auto added = Append({}); !added) return added;
        std::string utf8;
        for (char32_t cp : line) AppendUtf8(utf8, cp);
        return Append(std::move(utf8));
    }

    base::Result<void> Append(std::string line) {
        if (static_cast<int>(pages_.back().size()) == lines_per_page_) {
            if (auto added = NewPage(); !added) return added;
        }
        pages_.back().push_back(std::move(line));
        return {};
    }

    base::Result<void> NewPage() {
        if (static_cast<int>(pages_.size()) >= layout_.max_pages) {
            return MakeError(ErrorCode::kLimitExceeded, "the text needs more pages than the limit of " +
                                                            std::to_string(layout_.max_pages));
        }
        pages_.emplace_back();
        return {};
    }

    const TextLayout& layout_;
    const int width_;
    const int lines_per_page_;
    const TextRasterizer& font_;
    std::vector<std::vector<std::string>> pages_;
    std::unordered_map<char32_t, int> advances_;
    int pending_breaks_ = 0;
    int pending_blank_lines_ = 0;
    bool visible_ = false;
};

void ClearPixel(BilevelPage& page, int x, int y) {
    page.bits[static_cast<std::size_t>(y) * page.Stride() + static_cast<std::size_t>(x / 8)] &=
        static_cast<std::uint8_t>(~(0x80 >> (x % 8)));
}

// --- HTML ---

struct NamedReference {
    std::string_view name;
    char32_t cp;
};

// The references mail clients actually write; HTML's full table has over 2,000 (WHATWG HTML §13.5).
constexpr std::array<NamedReference, 52> kNamedReferences{{
    {"amp", U'&'},     {"lt", U'<'},       {"gt", U'>'},      {"quot", U'"'},     {"apos", U'\''},
    {"nbsp", 0xA0},    {"shy", 0xAD},      {"copy", 0xA9},    {"reg", 0xAE},      {"trade", 0x2122},
    {"euro", 0x20AC},  {"pound", 0xA3},    {"yen", 0xA5},     {"cent", 0xA2},     {"sect", 0xA7},
    {"deg", 0xB0},     {"middot", 0xB7},   {"bull", 0x2022},  {"hellip", 0x2026}, {"ndash", 0x2013},
    {"mdash", 0x2014}, {"lsquo", 0x2018},  {"rsquo", 0x2019}, {"sbquo", 0x201A},  {"ldquo", 0x201C},
    {"rdquo", 0x201D}, {"bdquo", 0x201E},  {"laquo", 0xAB},   {"raquo", 0xBB},    {"times", 0xD7},
    {"divide", 0xF7},  {"auml", 0xE4},     {"ouml", 0xF6},    {"uuml", 0xFC},     {"Auml", 0xC4},
    {"Ouml", 0xD6},    {"Uuml", 0xDC},     {"szlig", 0xDF},   {"eacute", 0xE9},   {"egrave", 0xE8},
    {"Eacute", 0xC9},  {"agrave", 0xE0},   {"aacute", 0xE1},  {"ccedil", 0xE7},   {"ntilde", 0xF1},
    {"iacute", 0xED},  {"oacute", 0xF3},   {"uacute", 0xFA},  {"ograve", 0xF2},   {"ugrave", 0xF9},
    {"ecirc", 0xEA},   {"thinsp", 0x2009},
}};

// A character reference at html[at] == '&' (WHATWG HTML §13.1.4): the code point and the bytes it spans.
// References must end with ';'; anything else stays literal text, as a lone '&' does.
std::optional<std::pair<char32_t, std::size_t>> DecodeReference(std::string_view html, std::size_t at) {
    constexpr std::size_t kLongest = 32;
    const std::size_t semi = html.substr(at + 1, kLongest).find(';');
    if (semi == std::string_view::npos || semi == 0) return std::nullopt;
    const std::string_view body = html.substr(at + 1, semi);
    const std::size_t length = semi + 2;
    if (body.front() != '#') {
        for (const auto& reference : kNamedReferences)
            if (reference.name == body) return std::pair{reference.cp, length};
        return std::nullopt;
    }
    const bool hex = body.size() > 1 && (body[1] == 'x' || body[1] == 'X');
    const std::string_view digits = body.substr(hex ? 2 : 1);
    if (digits.empty()) return std::nullopt;
    std::uint32_t value = 0;
    for (char c : digits) {
        int digit = -1;
        if (c >= '0' && c <= '9') digit = c - '0';
        if (hex && c >= 'a' && c <= 'f') digit = c - 'a' + 10;
        if (hex && c >= 'A' && c <= 'F') digit = c - 'A' + 10;
        if (digit < 0) return std::nullopt;
        value =
            std::min<std::uint32_t>(value * (hex ? 16 : 10) + static_cast<std::uint32_t>(digit), 0x110000);
    }
    // §13.2.5.80: NUL, surrogates and values beyond Unicode become U+FFFD.
    if (value == 0 || value > 0x10FFFF || (value >= 0xD800 && value <= 0xDFFF)) value = 0xFFFD;
    return std::pair{static_cast<char32_t>(value), length};
}

bool IsHtmlSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'; }
bool IsAsciiAlnum(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
char AsciiLower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

// Position of "</name" (any case, followed by '>', '/', whitespace or the end) at or after `from`, or npos.
std::size_t FindEndTag(std::string_view html, std::string_view name, std::size_t from) {
    for (std::size_t at = html.find("</", from); at != std::string_view::npos; at = html.find("</", at + 2)) {
        if (html.size() - at - 2 < name.size()) return std::string_view::npos;
        bool same = true;
        for (std::size_t k = 0; k < name.size() && same; ++k) same = AsciiLower(html[at + 2 + k]) == name[k];
        const std::size_t after = at + 2 + name.size();
        if (same &&
            (after == html.size() || html[after] == '>' || html[after] == '/' || IsHtmlSpace(html[after])))
            return at;
    }
    return std::string_view::npos;
}

std::size_t FindNoCase(std::string_view html, std::string_view lower_needle, std::size_t from) {
    for (std::size_t at = from; at + lower_needle.size() <= html.size(); ++at) {
        bool same = true;
        for (std::size_t k = 0; k < lower_needle.size() && same; ++k)
            same = AsciiLower(html[at + k]) == lower_needle[k];
        if (same) return at;
    }
    return std::string_view::npos;
}

// The text being built, with HTML's whitespace rules (CSS Text §4.1.1, white-space: normal): runs of spaces
// become one space, and none at the start or end of a line.
class TextSink {
public:
    void Put(std::string_view utf8) {
        if (pending_space_ && !AtLineStart()) out_ += ' ';
        pending_space_ = false;
        out_ += utf8;
    }
    void Space() {
        if (!AtLineStart() && out_.back() != ' ') pending_space_ = true;
    }
    void LineBreak() {
        while (!out_.empty() && out_.back() == ' ') out_.pop_back();
        out_ += '\n';
        pending_space_ = false;
    }
    void EnsureLineBreak() {
        if (!AtLineStart()) LineBreak();
        pending_space_ = false;
    }
    // Paragraphs and headings: one blank line around them, however many blocks close at once.
    void EnsureBlankLine() {
        EnsureLineBreak();
        if (!out_.empty() && !out_.ends_with("\n\n")) out_ += '\n';
    }
    std::string Finish() && {
        const std::size_t last = out_.find_last_not_of(" \n");
        if (last == std::string::npos) return {};
        const std::size_t first = out_.find_first_not_of('\n');  // at most `last`: out_[last] is no '\n'
        return out_.substr(first, last + 1 - first);
    }

private:
    bool AtLineStart() const { return out_.empty() || out_.back() == '\n'; }
    std::string out_;
    bool pending_space_ = false;
};

bool IsParagraphTag(std::string_view name) {
    return name == "p" || (name.size() == 2 && name[0] == 'h' && name[1] >= '1' && name[1] <= '6');
}

bool IsBlockTag(std::string_view name) {
    static constexpr std::array<std::string_view, 28> kBlocks{
        "div",    "tr",         "ul",    "ol",      "dl",      "dt",      "dd",
        "table",  "blockquote", "hr",    "body",    "section", "article", "header",
        "footer", "nav",        "aside", "address", "center",  "form",    "fieldset",
        "figure", "figcaption", "main",  "caption", "details", "summary", "html"};
    return std::find(kBlocks.begin(), kBlocks.end(), name) != kBlocks.end();
}

// Elements whose content is never shown as text.
bool IsHiddenContent(std::string_view name) {
    return name == "script" || name == "style" || name == "head" || name == "title" || name == "template";
}

}  // namespace

std::string Latin1ToUtf8(std::string_view latin1) {
    std::string out;
    out.reserve(latin1.size() + latin1.size() / 8);
    for (char c : latin1) AppendUtf8(out, static_cast<unsigned char>(c));
    return out;
}

bool IsValidUtf8(std::string_view text) {
    bool malformed = false;
    for (std::size_t i = 0; i < text.size() && !malformed;) DecodeUtf8(text, i, malformed);
    return !malformed;
}

TextBox TextArea(const TextLayout& layout, Resolution resolution, PaperSize paper) {
    const int y_dpi = YDpi(resolution);
    return TextBox{
        .left = MmToPixels(layout.left_mm, kFaxXDpi),
        .top = MmToPixels(std::max(layout.top_mm, layout.header_band_mm), y_dpi),
        .right = kFaxWidth - MmToPixels(layout.right_mm, kFaxXDpi),
        .bottom = PageLines(resolution, paper) - MmToPixels(layout.bottom_mm, y_dpi),
    };
}

base::Result<std::vector<std::vector<std::string>>> PaginateText(std::string_view utf8,
                                                                 const TextLayout& layout,
                                                                 Resolution resolution, PaperSize paper,
                                                                 const TextRasterizer& font) {
    const TextBox box = TextArea(layout, resolution, paper);
    if (auto checked = CheckLayout(layout, box, font); !checked) return tl::unexpected(checked.error());
    Paginator paginator(layout, box.right - box.left, (box.bottom - box.top) / font.LineHeight(), font);
    std::u32string line;
    bool malformed = false;
    for (std::size_t i = 0; i < utf8.size();) {
        const char32_t cp = DecodeUtf8(utf8, i, malformed);
        if (cp == U'\r' || cp == U'\n') {
            if (cp == U'\r' && i < utf8.size() && utf8[i] == '\n') ++i;  // CRLF is one break
            if (auto added = paginator.AddLine(line); !added) return tl::unexpected(added.error());
            line.clear();
        } else if (cp == U'\f') {
            if (!line.empty()) {
                if (auto added = paginator.AddLine(line); !added) return tl::unexpected(added.error());
                line.clear();
            }
            paginator.PageBreak();
        } else if (cp == U'\t') {
            const auto stop = static_cast<std::size_t>(layout.tab_stop);
            line.append(stop - line.size() % stop, U' ');
        } else if (!IsDropped(cp)) {
            line.push_back(cp);
        }
    }
    if (!line.empty()) {
        if (auto added = paginator.AddLine(line); !added) return tl::unexpected(added.error());
    }
    return paginator.Finish();
}

BilevelPage DrawTextPage(std::span<const std::string> lines, const TextLayout& layout, Resolution resolution,
                         PaperSize paper, const TextRasterizer& font) {
    BilevelPage page;
    page.width = kFaxWidth;
    page.height = PageLines(resolution, paper);
    page.bits.assign(page.Stride() * static_cast<std::size_t>(page.height), 0);
    const TextBox box = TextArea(layout, resolution, paper);
    int baseline = box.top + font.Ascent();
    for (const std::string& line : lines) {
        font.Draw(page, box.left, baseline, line);
        baseline += font.LineHeight();
    }
    // Glyphs may overhang their advance or the ascent (accents, 'j', italics); clipping keeps the margins,
    // which some receivers cut off, and the header band, which StampHeaderLine clears, free of text
    // fragments.
    const auto stride = static_cast<std::ptrdiff_t>(page.Stride());
    std::fill(page.bits.begin(), page.bits.begin() + stride * std::max(box.top, 0), 0);
    if (box.bottom < page.height) std::fill(page.bits.begin() + stride * box.bottom, page.bits.end(), 0);
    for (int y = std::max(box.top, 0); y < std::min(box.bottom, page.height); ++y) {
        for (int x = 0; x < box.left; ++x) ClearPixel(page, x, y);
        for (int x = std::max(box.right, 0); x < page.width; ++x) ClearPixel(page, x, y);
    }
    return page;
}

base::Result<std::vector<BilevelPage>> LayOutText(std::string_view utf8, const TextLayout& layout,
                                                  Resolution resolution, PaperSize paper,
                                                  const TextRasterizer& font) {
    auto lines = PaginateText(utf8, layout, resolution, paper, font);
    if (!lines) return tl::unexpected(lines.error());
    std::vector<BilevelPage> pages;
    pages.reserve(lines->size());
    for (const auto& page_lines : *lines)
        pages.push_back(DrawTextPage(page_lines, layout, resolution, paper, font));
    return pages;
}

std::string HtmlToText(std::string_view html) {
    TextSink sink;
    int pre_depth = 0;
    std::size_t i = 0;
    while (i < html.size()) {
        const char c = html[i];
        if (c == '&') {
            if (auto reference = DecodeReference(html, i)) {
                const char32_t cp = reference->first;
                i += reference->second;
                if (cp < 0x80 && IsHtmlSpace(static_cast<char>(cp))) {
                    // A referenced space is still whitespace to HTML's collapsing.
                    if (pre_depth > 0 && cp == U'\n') {
                        sink.LineBreak();
                    } else if (pre_depth > 0) {
                        sink.Put(" ");
                    } else {
                        sink.Space();
                    }
                } else if (cp != 0xAD && !IsDropped(cp)) {  // a soft hyphen is only a break hint
                    std::string utf8;
                    AppendUtf8(utf8, cp);
                    sink.Put(utf8);
                }
                continue;
            }
            sink.Put("&");
            ++i;
            continue;
        }
        if (c != '<') {
            if (!IsHtmlSpace(c)) {
                sink.Put(html.substr(i, 1));
            } else if (pre_depth == 0) {
                sink.Space();
            } else if (c == '\n') {
                sink.LineBreak();
            } else if (c != '\r') {
                sink.Put(c == '\t' ? "\t" : " ");
            }
            ++i;
            continue;
        }
        if (html.substr(i, 4) == "<!--") {
            const std::size_t end = html.find("-->", i + 4);
            i = end == std::string_view::npos ? html.size() : end + 3;
            continue;
        }
        std::size_t j = i + 1;
        const bool closing = j < html.size() && html[j] == '/';
        if (closing) ++j;
        if (j < html.size() && (html[j] == '!' || html[j] == '?')) {  // <!DOCTYPE>, <![CDATA[, <?xml
            const std::size_t end = html.find('>', j);
            i = end == std::string_view::npos ? html.size() : end + 1;
            continue;
        }
        std::string name;
        for (; j < html.size() && IsAsciiAlnum(html[j]); ++j)
            if (name.size() < 16) name += AsciiLower(html[j]);
        if (name.empty() || (name[0] >= '0' && name[0] <= '9')) {  // "a < b", "<3": text, not a tag
            sink.Put("<");
            ++i;
            continue;
        }
        // The tag ends at the first '>' outside a quoted attribute value; a quote only opens a value after
        // '=' (title=don't would otherwise swallow the rest of the mail).
        char quote = 0, last = 0;
        for (; j < html.size(); ++j) {
            const char t = html[j];
            if (quote != 0) {
                if (t == quote) quote = 0;
            } else if ((t == '"' || t == '\'') && last == '=') {
                quote = t;
            } else if (t == '>') {
                break;
            }
            if (!IsHtmlSpace(t)) last = t;
        }
        i = j < html.size() ? j + 1 : html.size();

        if (!closing && IsHiddenContent(name)) {
            std::size_t end = FindEndTag(html, name, i);
            // A <head> without </head> ends where <body> starts; without either it is not skipped (its
            // <title>, <style> and <script> still are): dropping a whole mail for a sloppy head would lose
            // its text.
            if (end == std::string_view::npos && name == "head") {
                end = FindNoCase(html, "<body", i);
                if (end != std::string_view::npos) {
                    i = end;
                    continue;
                }
            }
            if (end == std::string_view::npos && name != "head") {
                i = html.size();  // as a browser does: an unclosed <script> runs to the end
            } else if (end != std::string_view::npos) {
                const std::size_t gt = html.find('>', end);
                i = gt == std::string_view::npos ? html.size() : gt + 1;
            }
            continue;
        }
        if (name == "br") {
            sink.LineBreak();
        } else if (IsParagraphTag(name)) {
            sink.EnsureBlankLine();
        } else if (name == "li") {
            sink.EnsureLineBreak();
            if (!closing) sink.Put("- ");
        } else if (name == "pre") {
            sink.EnsureLineBreak();
            pre_depth = closing ? std::max(0, pre_depth - 1) : pre_depth + 1;
        } else if (IsBlockTag(name)) {
            sink.EnsureLineBreak();
        } else if ((name == "td" || name == "th") && !closing) {
            sink.Space();
        }
    }
    return std::move(sink).Finish();
}

base::Result<RenderedDocument> RenderTextToFax(const std::filesystem::path& input,
                                               const std::filesystem::path& output, DocumentType type,
                                               const RenderOptions& options) {
    if (type != DocumentType::kText && type != DocumentType::kTextLatin1 && type != DocumentType::kHtml) {
        return ForFile(
            input, {ErrorCode::kInvalidArgument, "not a text type: " + std::string(DocumentTypeName(type)),
                    std::nullopt, std::nullopt});
    }
    std::ifstream in(input, std::ios::binary);
    if (!in)
        return ForFile(input, {ErrorCode::kNotFound, "cannot open the file", std::nullopt, std::nullopt});
    // One byte more than the limit tells a file at the limit from a larger one, for pipes and growing files
    // too.
    std::string content(kMaxTextBytes + 1, '\0');
    in.read(content.data(), static_cast<std::streamsize>(content.size()));
    if (in.bad()) return ForFile(input, {ErrorCode::kIo, "cannot read the file", std::nullopt, std::nullopt});
    content.resize(static_cast<std::size_t>(in.gcount()));
    if (content.size() > kMaxTextBytes) {
        return ForFile(input, {ErrorCode::kLimitExceeded,
                               "text larger than the limit of " + std::to_string(kMaxTextBytes) + " bytes",
                               std::nullopt, std::nullopt});
    }
    std::string utf8;
    if (type == DocumentType::kText) {
        utf8 = std::move(content);
    } else if (type == DocumentType::kTextLatin1) {
        utf8 = Latin1ToUtf8(content);
    } else {
        utf8 = HtmlToText(IsValidUtf8(content) ? content : Latin1ToUtf8(content));
    }

    auto font = TextRasterizer::Open(type == DocumentType::kHtml ? kHtmlFont : kTextFont, kTextPointSize,
                                     kFaxXDpi, YDpi(options.resolution));
    if (!font) return ForFile(input, font.error());
    TextLayout layout;
    layout.max_pages = options.max_pages;
    auto pages = PaginateText(utf8, layout, options.resolution, options.paper, *font);
    if (!pages) return ForFile(input, pages.error());
    const int total = static_cast<int>(pages->size());
    const int first = std::max(1, options.first_page);
    const int last = options.last_page > 0 ? std::min(options.last_page, total) : total;
    if (first > last) {
        return ForFile(input, {ErrorCode::kInvalidArgument,
                               "pages " + std::to_string(first) + "-" + std::to_string(last) +
                                   " are not in a " + std::to_string(total) + "-page document",
                               std::nullopt, std::nullopt});
    }

    // Drawn pages are up to 1 MB each (superfine A4): a few at a time go to part files, which are then joined
    // without decoding, so a 500-page text never holds 500 bitmaps.
    constexpr int kPagesPerPart = 16;
    auto dir = TempDir::Create(options.temp_parent, "faxd-text-");
    if (!dir) return ForFile(input, dir.error());
    std::vector<std::filesystem::path> parts;
    for (int part_first = first; part_first <= last; part_first += kPagesPerPart) {
        const int part_last = std::min(last, part_first + kPagesPerPart - 1);
        std::vector<BilevelPage> drawn;
        for (int n = part_first; n <= part_last; ++n) {
            drawn.push_back(DrawTextPage((*pages)[static_cast<std::size_t>(n - 1)], layout,
                                         options.resolution, options.paper, *font));
        }
        parts.push_back(dir->Path() / ("part" + std::to_string(parts.size()) + ".tif"));
        if (auto written = WriteFaxTiff(parts.back(), drawn, options.resolution, options.compression);
            !written)
            return ForFile(input, written.error());
    }
    auto file = base::AtomicFile::Create(output);
    if (!file) return ForFile(input, file.error());
    auto joined = JoinFaxTiffs(parts, file->TempPath());
    if (!joined) return ForFile(input, joined.error());
    std::error_code ec;
    const auto bytes = std::filesystem::file_size(file->TempPath(), ec);
    if (auto committed = file->Commit(); !committed) return ForFile(input, committed.error());
    return RenderedDocument{type, *joined, ec ? 0 : bytes};
}

}  // namespace faxd::render
