// Plain text and HTML mail bodies to fax pages, drawn by faxd itself with FreeType (header_line.hpp): text
// needs no converter process, and the layout rules (margins, tabs, form feeds, wrapping) are ours to
// guarantee.
//
// Decisions:
// - Text files use a monospace font (DejaVu Sans Mono, 10 pt): their authors align columns with spaces and
//   tabs (tables, numbers, signatures, ASCII art), which only a fixed pitch keeps. 10 pt gives 82 columns
//   between 20 mm margins, so 80-column text never wraps. HTML loses its alignment when whitespace collapses,
//   so it uses the proportional DejaVu Sans, which fits more words per line and reads like the mail did.
// - A text with nothing visible in it (empty, only whitespace, line breaks and form feeds) is an error
//   (kMalformed), not a blank page: a blank page costs line time and is almost always a mistake (an empty
//   mail body); the intake decides to skip such a body. Blank pages between text pages are kept.
// - Trailing line breaks and form feeds make no extra page: many spooled text files end with a form feed.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "render/detect.hpp"
#include "render/fax_page.hpp"
#include "render/header_line.hpp"
#include "render/pdf_pages.hpp"

namespace faxd::render {

inline constexpr const char* kTextFont = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf";
inline constexpr const char* kHtmlFont = kDefaultFont;
inline constexpr double kTextPointSize = 10;
// Larger text files are refused before reading: 10 MiB of text is thousands of pages, far over any page
// limit.
inline constexpr std::uint64_t kMaxTextBytes = 10ull << 20;

struct TextLayout {
    double left_mm = 20;
    double right_mm = 20;
    double top_mm = 15;
    double bottom_mm = 15;
    // The band StampHeaderLine overwrites; text never starts inside it, whatever top_mm says.
    double header_band_mm = 4;
    int tab_stop = 8;  // columns; exact with a monospace font, approximate (space widths) with another
    int max_pages = 500;
};

// Where text may put ink, in pixels; right and bottom are exclusive.
struct TextBox {
    int left = 0;
    int top = 0;
    int right = 0;
    int bottom = 0;
};
TextBox TextArea(const TextLayout& layout, Resolution resolution, PaperSize paper);

// ISO 8859-1 to UTF-8: every byte is the code point of the same value.
std::string Latin1ToUtf8(std::string_view latin1);
// RFC 3629 well-formed UTF-8 (no overlongs, surrogates or code points above U+10FFFF).
bool IsValidUtf8(std::string_view text);

// The lines of every page, as UTF-8, before drawing: line breaks (CRLF, CR, LF) and form feeds (page breaks)
// applied, tabs expanded, long lines wrapped at spaces (words longer than a line are cut), other control
// characters dropped, malformed UTF-8 shown as U+FFFD. kLimitExceeded beyond layout.max_pages, kMalformed
// when nothing is visible.
base::Result<std::vector<std::vector<std::string>>> PaginateText(std::string_view utf8,
                                                                 const TextLayout& layout,
                                                                 Resolution resolution, PaperSize paper,
                                                                 const TextRasterizer& font);

// One blank fax page (kFaxWidth wide, PageLines high) with `lines` drawn inside TextArea(); ink that glyphs
// would put outside it (overhangs) is clipped, so the margins and the header band stay white.
BilevelPage DrawTextPage(std::span<const std::string> lines, const TextLayout& layout, Resolution resolution,
                         PaperSize paper, const TextRasterizer& font);

// PaginateText and DrawTextPage for every page. `font` must be opened at kFaxXDpi and YDpi(resolution).
base::Result<std::vector<BilevelPage>> LayOutText(std::string_view utf8, const TextLayout& layout,
                                                  Resolution resolution, PaperSize paper,
                                                  const TextRasterizer& font);

// The text of an HTML mail body, as a reader would see it: <script>, <style>, <head>, <title> and <template>
// content and comments dropped; block tags become line breaks (paragraphs and headings blank lines), list
// items start with "- ", table cells are separated by a space; character references decoded; whitespace
// collapsed as HTML does except inside <pre>. Nothing is executed or fetched. Linear in the input, output no
// larger than about the input. Input is UTF-8; the result is UTF-8 without leading or trailing blank lines.
std::string HtmlToText(std::string_view html);

// Renders a text or HTML file (type kText, kTextLatin1 or kHtml, as DetectType said) to a multi-page fax TIFF
// at `output`, written atomically. HTML that is not valid UTF-8 is read as Latin-1 (<meta charset> is not
// read). Pages are drawn and written in small batches, so memory stays bounded at any page count. Honours
// max_pages (for the whole text), first_page/last_page, resolution, paper, compression and temp_parent.
base::Result<RenderedDocument> RenderTextToFax(const std::filesystem::path& input,
                                               const std::filesystem::path& output, DocumentType type,
                                               const RenderOptions& options);

}  // namespace faxd::render
