// The header line at the top of every sent page (sender, date and time, reference number, page n/m), drawn by
// faxd itself: spandsp 0.0.6's own header has no page count and extends the page instead of overlaying it.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "base/result.hpp"
#include "render/fax_page.hpp"

namespace faxd::render {

enum class HeaderFormat {
    kLong,          // sender, date and time, reference, page n/m
    kShort,         // sender only (the headline)
    kHeadlinePage,  // sender and page n/m
};

struct HeaderLine {
    std::string sender;     // ident or company
    std::string date_time;  // already formatted for the sender's locale
    std::string reference;  // YYYY.NNNNNNNN
    HeaderFormat format = HeaderFormat::kLong;
};

// The left part of the line (what the format shows besides the page number), and the right part.
std::string HeaderText(const HeaderLine& header);
std::string PageText(int page, int pages);  // "Page 2/5"

// Draws UTF-8 text with a TrueType font (FreeType) into bilevel pages, with the fax's unequal horizontal and
// vertical resolutions, so letters keep their shape at standard resolution too.
class TextRasterizer {
public:
    static base::Result<TextRasterizer> Open(const std::filesystem::path& font, double point_size, int x_dpi,
                                             int y_dpi);
    TextRasterizer(TextRasterizer&&) noexcept;
    TextRasterizer& operator=(TextRasterizer&&) noexcept;
    ~TextRasterizer();

    int LineHeight() const;  // rows from one baseline to the next
    int Ascent() const;      // rows above the baseline
    int Measure(std::string_view utf8) const;
    // Draws from (x, baseline); returns the x after the text. Pixels outside the page are clipped.
    int Draw(BilevelPage& page, int x, int baseline, std::string_view utf8) const;

private:
    struct Face;
    explicit TextRasterizer(std::unique_ptr<Face> face);
    std::unique_ptr<Face> face_;
};

// The font faxd draws with unless configured otherwise (Debian fonts-dejavu-core).
inline constexpr const char* kDefaultFont = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";

// Clears a band at the top of `page` and writes the header line in it: the text on the left, the page number
// on the right. The band is about 4 mm tall, inside T.4's unprintable top margin convention.
base::Result<void> StampHeaderLine(BilevelPage& page, const HeaderLine& header, int page_number, int pages,
                                   Resolution resolution, const TextRasterizer& font);

}  // namespace faxd::render
