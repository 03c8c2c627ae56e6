#include "render/header_line.hpp"

#include <ft2build.h>
#include FT_FREETYPE_H

#include <algorithm>
#include <cmath>

namespace faxd::render {
namespace {

// Decodes one UTF-8 code point; malformed bytes become U+FFFD, so any input draws something.
char32_t NextCodePoint(std::string_view text, std::size_t& i) {
    const auto byte = static_cast<unsigned char>(text[i++]);
    if (byte < 0x80) return byte;
    int extra = byte >= 0xF0 ? 3 : byte >= 0xE0 ? 2 : byte >= 0xC0 ? 1 : -1;
    if (extra < 0) return 0xFFFD;
    char32_t cp = byte & (0x3F >> extra);
    for (; extra > 0; --extra) {
        if (i >= text.size() || (static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) return 0xFFFD;
        cp = (cp << 6) | (static_cast<unsigned char>(text[i++]) & 0x3F);
    }
    return cp;
}

void SetBlack(BilevelPage& page, int x, int y) {
    if (x < 0 || y < 0 || x >= page.width || y >= page.height) return;
    page.bits[static_cast<std::size_t>(y) * page.Stride() + x / 8] |= static_cast<std::uint8_t>(0x80 >> (x % 8));
}

}  // namespace

struct TextRasterizer::Face {
    FT_Library library = nullptr;
    FT_Face face = nullptr;
    ~Face() {
        if (face) FT_Done_Face(face);
        if (library) FT_Done_FreeType(library);
    }
};

TextRasterizer::TextRasterizer(std::unique_ptr<Face> face) : face_(std::move(face)) {}
TextRasterizer::TextRasterizer(TextRasterizer&&) noexcept = default;
TextRasterizer& TextRasterizer::operator=(TextRasterizer&&) noexcept = default;
TextRasterizer::~TextRasterizer() = default;

base::Result<TextRasterizer> TextRasterizer::Open(const std::filesystem::path& font, double point_size, int x_dpi,
                                                  int y_dpi) {
    auto face = std::make_unique<Face>();
    if (FT_Init_FreeType(&face->library) != 0)
        return base::MakeError(base::ErrorCode::kInternal, "FreeType could not start");
    if (FT_New_Face(face->library, font.c_str(), 0, &face->face) != 0)
        return base::MakeError(base::ErrorCode::kNotFound, "cannot load font " + font.string());
    // FreeType scales glyphs for unequal resolutions itself (fax pixels are not square).
    if (FT_Set_Char_Size(face->face, 0, static_cast<FT_F26Dot6>(point_size * 64), static_cast<FT_UInt>(x_dpi),
                         static_cast<FT_UInt>(y_dpi)) != 0)
        return base::MakeError(base::ErrorCode::kInvalidArgument, "font " + font.string() + " cannot be scaled");
    return TextRasterizer(std::move(face));
}

int TextRasterizer::LineHeight() const { return static_cast<int>(face_->face->size->metrics.height >> 6); }
int TextRasterizer::Ascent() const { return static_cast<int>(face_->face->size->metrics.ascender >> 6); }

int TextRasterizer::Measure(std::string_view utf8) const {
    int x = 0;
    for (std::size_t i = 0; i < utf8.size();) {
        const char32_t cp = NextCodePoint(utf8, i);
        if (FT_Load_Char(face_->face, cp, FT_LOAD_DEFAULT) == 0) x += static_cast<int>(face_->face->glyph->advance.x >> 6);
    }
    return x;
}

int TextRasterizer::Draw(BilevelPage& page, int x, int baseline, std::string_view utf8) const {
    for (std::size_t i = 0; i < utf8.size();) {
        const char32_t cp = NextCodePoint(utf8, i);
        // Monochrome rendering: fax is black and white, and anti-aliased edges would only be thresholded.
        if (FT_Load_Char(face_->face, cp, FT_LOAD_RENDER | FT_LOAD_TARGET_MONO) != 0) continue;
        const FT_GlyphSlot glyph = face_->face->glyph;
        const FT_Bitmap& bitmap = glyph->bitmap;
        for (unsigned row = 0; row < bitmap.rows; ++row) {
            const unsigned char* line = bitmap.buffer + static_cast<std::ptrdiff_t>(row) * bitmap.pitch;
            for (unsigned col = 0; col < bitmap.width; ++col)
                if (line[col / 8] & (0x80 >> (col % 8)))
                    SetBlack(page, x + glyph->bitmap_left + static_cast<int>(col),
                             baseline - glyph->bitmap_top + static_cast<int>(row));
        }
        x += static_cast<int>(glyph->advance.x >> 6);
    }
    return x;
}

std::string PageText(int page, int pages) { return "Page " + std::to_string(page) + "/" + std::to_string(pages); }

std::string HeaderText(const HeaderLine& header) {
    std::string text = header.sender;
    if (header.format == HeaderFormat::kLong) {
        if (!header.date_time.empty()) text += "   " + header.date_time;
        if (!header.reference.empty()) text += "   Ref. " + header.reference;
    }
    return text;
}

base::Result<void> StampHeaderLine(BilevelPage& page, const HeaderLine& header, int page_number, int pages,
                                   Resolution resolution, const TextRasterizer& font) {
    if (page.width <= 0 || page.height <= 0 || page.bits.size() < page.Stride() * page.height)
        return base::MakeError(base::ErrorCode::kInvalidArgument, "header line: empty or inconsistent page");
    const int band = std::min(page.height, static_cast<int>(std::lround(4.0 / 25.4 * YDpi(resolution))));
    std::fill(page.bits.begin(), page.bits.begin() + static_cast<std::ptrdiff_t>(page.Stride()) * band, 0);
    const int margin = static_cast<int>(std::lround(5.0 / 25.4 * kFaxXDpi));  // 5 mm from the left and right
    const int baseline = std::min(band - 1, (band + font.Ascent()) / 2);
    const int text_end = font.Draw(page, margin, baseline, HeaderText(header));
    if (header.format != HeaderFormat::kShort) {
        const std::string number = PageText(page_number, pages);
        const int x = std::max(text_end + margin, page.width - margin - font.Measure(number));
        font.Draw(page, x, baseline, number);
    }
    return {};
}

}  // namespace faxd::render
