#include "render/header_line.hpp"

#include <gtest/gtest.h>

#include <cmath>

namespace faxd::render {
namespace {

BilevelPage BlackPage(Resolution resolution) {
    BilevelPage page;
    page.width = kFaxWidth;
    page.height = PageLines(resolution, PaperSize::kA4);
    page.bits.assign(page.Stride() * page.height, 0xFF);
    return page;
}

int BlackPixels(const BilevelPage& page, int from_row, int to_row, int from_x = 0, int to_x = kFaxWidth) {
    int count = 0;
    for (int y = from_row; y < to_row; ++y)
        for (int x = from_x; x < to_x; ++x)
            if (page.bits[static_cast<std::size_t>(y) * page.Stride() + x / 8] & (0x80 >> (x % 8))) ++count;
    return count;
}

TEST(HeaderLineTest, TextPerFormat) {
    HeaderLine header{"ACME Corp +49 30 1234", "2026-11-22 10:15", "2026.00000042", HeaderFormat::kLong};
    EXPECT_EQ(HeaderText(header), "ACME Corp +49 30 1234   2026-11-22 10:15   Ref. 2026.00000042");
    header.format = HeaderFormat::kShort;
    EXPECT_EQ(HeaderText(header), "ACME Corp +49 30 1234");
    header.format = HeaderFormat::kHeadlinePage;
    EXPECT_EQ(HeaderText(header), "ACME Corp +49 30 1234");
    EXPECT_EQ(PageText(2, 5), "Page 2/5");
}

TEST(HeaderLineTest, StampsABandAndLeavesTheRestOfThePage) {
    for (Resolution resolution : {Resolution::kStandard, Resolution::kFine, Resolution::kSuperfine}) {
        auto font = TextRasterizer::Open(kDefaultFont, 9, kFaxXDpi, YDpi(resolution));
        ASSERT_TRUE(font) << font.error().ToString();
        auto page = BlackPage(resolution);
        HeaderLine header{"ACME Corp", "2026-11-22 10:15", "2026.00000042", HeaderFormat::kLong};
        ASSERT_TRUE(StampHeaderLine(page, header, 3, 7, resolution, *font));
        const int band = static_cast<int>(std::lround(4.0 / 25.4 * YDpi(resolution)));
        const int band_black = BlackPixels(page, 0, band);
        // Text is a few percent of the band: cleared to white, then letters drawn.
        EXPECT_GT(band_black, 100);
        EXPECT_LT(band_black, kFaxWidth * band / 4);
        // Below the band nothing changed.
        EXPECT_EQ(BlackPixels(page, band, band + 50), kFaxWidth * 50);
        // The page number sits on the right.
        EXPECT_GT(BlackPixels(page, 0, band, kFaxWidth - 400, kFaxWidth), 20);
    }
}

TEST(HeaderLineTest, LettersKeepTheirShapeAtEveryResolution) {
    // The same text is about as wide at all resolutions and twice as tall at fine as at standard.
    auto standard = TextRasterizer::Open(kDefaultFont, 9, kFaxXDpi, 98);
    auto fine = TextRasterizer::Open(kDefaultFont, 9, kFaxXDpi, 196);
    ASSERT_TRUE(standard && fine);
    EXPECT_NEAR(standard->Measure("Fax 2026"), fine->Measure("Fax 2026"), 2);
    EXPECT_NEAR(fine->LineHeight(), 2 * standard->LineHeight(), 2);
}

TEST(HeaderLineTest, MissingFontAndBadTextAreHandled) {
    auto missing = TextRasterizer::Open("/nonexistent/font.ttf", 9, kFaxXDpi, 196);
    ASSERT_FALSE(missing);
    EXPECT_NE(missing.error().message.find("/nonexistent/font.ttf"), std::string::npos);
    auto font = TextRasterizer::Open(kDefaultFont, 9, kFaxXDpi, 196);
    ASSERT_TRUE(font);
    auto page = BlackPage(Resolution::kFine);
    HeaderLine header{std::string("bad \xC3\x28 utf8 \xFF and \xE2\x82\xAC"), "", "", HeaderFormat::kHeadlinePage};
    EXPECT_TRUE(StampHeaderLine(page, header, 1, 1, Resolution::kFine, *font));
    BilevelPage empty;
    EXPECT_FALSE(StampHeaderLine(empty, header, 1, 1, Resolution::kFine, *font));
}

}  // namespace
}  // namespace faxd::render
