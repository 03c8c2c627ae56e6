// Our MMR coder against libtiff's decoder (an independent implementation of T.6): every page must come back
// bit for bit, over run lengths from 1 to beyond the 2560 make-up code and every two-dimensional mode.
#include "render/mmr_encoder.hpp"

#include <gtest/gtest.h>
#include <tiffio.h>
#include <unistd.h>

#include <filesystem>
#include <random>

namespace faxd::render {
namespace {

BilevelPage Blank(int width, int height) {
    BilevelPage page{width, height, {}};
    page.bits.assign(page.Stride() * static_cast<std::size_t>(height), 0);
    return page;
}

void Set(BilevelPage& page, int x, int y) {
    page.bits[static_cast<std::size_t>(y) * page.Stride() + static_cast<std::size_t>(x / 8)] |=
        static_cast<std::uint8_t>(0x80 >> (x % 8));
}

// Writes the coded strip with libtiff as a raw strip and decodes it again with libtiff's G4 decoder.
BilevelPage RoundTrip(const BilevelPage& page) {
    const auto path = std::filesystem::temp_directory_path() /
                      ("faxd-mmr-" + std::to_string(::getpid()) + ".tif");
    const auto coded = EncodeMmr(page);
    TIFF* out = TIFFOpen(path.c_str(), "w");
    TIFFSetField(out, TIFFTAG_IMAGEWIDTH, static_cast<std::uint32_t>(page.width));
    TIFFSetField(out, TIFFTAG_IMAGELENGTH, static_cast<std::uint32_t>(page.height));
    TIFFSetField(out, TIFFTAG_BITSPERSAMPLE, 1);
    TIFFSetField(out, TIFFTAG_SAMPLESPERPIXEL, 1);
    TIFFSetField(out, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISWHITE);
    TIFFSetField(out, TIFFTAG_COMPRESSION, COMPRESSION_CCITTFAX4);
    TIFFSetField(out, TIFFTAG_ROWSPERSTRIP, static_cast<std::uint32_t>(page.height));
    TIFFWriteRawStrip(out, 0, const_cast<std::uint8_t*>(coded.data()), static_cast<tmsize_t>(coded.size()));
    TIFFClose(out);

    TIFF* in = TIFFOpen(path.c_str(), "r");
    BilevelPage decoded = Blank(page.width, page.height);
    for (int y = 0; y < page.height; ++y) {
        EXPECT_EQ(TIFFReadScanline(in, &decoded.bits[static_cast<std::size_t>(y) * decoded.Stride()],
                                   static_cast<std::uint32_t>(y), 0),
                  1)
            << "row " << y;
    }
    TIFFClose(in);
    std::filesystem::remove(path);
    return decoded;
}

// Padding bits past the width are not image data; clear them before comparing.
void ClearPadding(BilevelPage& page) {
    if (page.width % 8 == 0) return;
    const auto mask = static_cast<std::uint8_t>(0xFF << (8 - page.width % 8));
    for (int y = 0; y < page.height; ++y) page.bits[(y + 1) * page.Stride() - 1] &= mask;
}

void ExpectRoundTrip(BilevelPage page) {
    ClearPadding(page);
    BilevelPage decoded = RoundTrip(page);
    ClearPadding(decoded);
    for (int y = 0; y < page.height; ++y) {
        ASSERT_TRUE(std::equal(page.bits.begin() + y * page.Stride(), page.bits.begin() + (y + 1) * page.Stride(),
                               decoded.bits.begin() + y * page.Stride()))
            << "row " << y << " of a " << page.width << "-wide page differs";
    }
}

TEST(FindChanges, ListsEveryColourChangeFromAnImaginaryWhiteStart) {
    BilevelPage page = Blank(200, 1);
    for (int x : {0, 1, 2, 63, 64, 65, 130, 199}) Set(page, x, 0);
    std::vector<int> changes;
    FindChanges(page.bits.data(), 200, changes);
    EXPECT_EQ(changes, (std::vector<int>{0, 3, 63, 66, 130, 131, 199}));
}

TEST(EncodeMmr, WhiteAndBlackPagesRoundTrip) {
    ExpectRoundTrip(Blank(kFaxWidth, 50));
    BilevelPage black = Blank(kFaxWidth, 50);
    std::fill(black.bits.begin(), black.bits.end(), 0xFF);
    ExpectRoundTrip(black);
}

TEST(EncodeMmr, AllRunLengthsRoundTrip) {
    // Row n alternates runs of length n and n+1, so every terminating and make-up code of both colours
    // appears, and the rows differ enough to force horizontal mode.
    const int width = 5200;  // beyond 2560: extended make-up codes, repeated
    BilevelPage page = Blank(width, 2700);
    for (int y = 0; y < page.height; ++y) {
        const int run = y + 1;
        bool black = y % 2 == 1;
        for (int x = 0; x < width;) {
            const int length = black ? run + 1 : run;
            for (int i = x; i < std::min(width, x + length); ++i) {
                if (black) Set(page, i, y);
            }
            x += length;
            black = !black;
        }
    }
    ExpectRoundTrip(page);
}

TEST(EncodeMmr, RandomPagesOfEveryDensityRoundTrip) {
    std::mt19937 random(20261122);
    for (int density : {1, 5, 30, 50, 90}) {
        for (int width : {1728, 1731, 8, 1}) {
            BilevelPage page = Blank(width, 120);
            std::bernoulli_distribution pixel(density / 100.0);
            for (int y = 0; y < page.height; ++y) {
                for (int x = 0; x < width; ++x) {
                    if (pixel(random)) Set(page, x, y);
                }
            }
            SCOPED_TRACE("density " + std::to_string(density) + "% width " + std::to_string(width));
            ExpectRoundTrip(page);
        }
    }
}

TEST(EncodeMmr, SlowlyShiftingEdgesUseVerticalAndPassModes) {
    // Diagonal strokes and blobs that appear and vanish between rows: vertical modes -3..3, pass mode.
    BilevelPage page = Blank(kFaxWidth, 400);
    std::mt19937 random(7);
    for (int stroke = 0; stroke < 60; ++stroke) {
        const int x0 = static_cast<int>(random() % 1600), y0 = static_cast<int>(random() % 300);
        const int slope = static_cast<int>(random() % 7) - 3, thickness = 1 + static_cast<int>(random() % 6);
        for (int y = y0; y < y0 + 90 && y < page.height; ++y) {
            for (int t = 0; t < thickness; ++t) {
                const int x = x0 + (y - y0) * slope + t;
                if (x >= 0 && x < kFaxWidth) Set(page, x, y);
            }
        }
    }
    ExpectRoundTrip(page);
}

}  // namespace
}  // namespace faxd::render
