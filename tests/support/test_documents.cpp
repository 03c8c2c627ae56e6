#include "test_documents.hpp"

#include <tiffio.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <memory>
#include <random>

namespace faxd::testing {
namespace {

constexpr int kWidth = 1728;

struct TiffCloser {
    void operator()(TIFF* tiff) const { TIFFClose(tiff); }
};

void SetPixel(Bitmap& page, int x, int y) {
    if (x < 0 || y < 0 || x >= page.width || y >= page.height) return;
    page.bits[static_cast<std::size_t>(y) * page.stride + x / 8] |= static_cast<std::uint8_t>(0x80 >> (x % 8));
}

// Lines of "words" made of random 5x7 glyphs, scaled to the resolution: like printed text to a coder.
void DrawText(Bitmap& page, std::mt19937& rng, int scale_y) {
    const int glyph_w = 10, glyph_h = 7 * scale_y, line_h = 12 * scale_y;
    const int margin = 100;
    std::uniform_int_distribution<int> word_len(2, 9), bits(0, (1 << 5) - 1);
    for (int top = 80 * scale_y / 2; top + line_h < page.height - 60; top += line_h) {
        int x = margin;
        while (x < page.width - margin - 12 * glyph_w) {
            const int letters = word_len(rng);
            for (int l = 0; l < letters; ++l, x += glyph_w + 2) {
                for (int gy = 0; gy < 7; ++gy) {
                    const int row_bits = bits(rng);
                    for (int gx = 0; gx < 5; ++gx) {
                        if (!(row_bits & (1 << gx))) continue;
                        for (int dy = 0; dy < scale_y; ++dy)
                            for (int dx = 0; dx < 2; ++dx) SetPixel(page, x + gx * 2 + dx, top + gy * scale_y + dy);
                    }
                }
            }
            x += glyph_w;  // space between words
        }
        (void)glyph_h;
    }
}

// A clustered-dot halftone of a shaded disc over a gradient: the kind of page a scanned photo makes.
void DrawHalftone(Bitmap& page, int top, int rows) {
    static const int kCluster[4][4] = {{12, 5, 6, 13}, {4, 0, 1, 7}, {11, 3, 2, 8}, {15, 10, 9, 14}};
    const double cx = page.width / 2.0, cy = top + rows / 2.0, radius = std::min(page.width, rows) / 2.5;
    for (int y = top; y < top + rows && y < page.height; ++y) {
        for (int x = 0; x < page.width; ++x) {
            const double dist = std::hypot(x - cx, (y - cy)) / radius;
            double gray = 0.2 + 0.6 * x / page.width;  // background gradient
            if (dist < 1.0) gray = 0.15 + 0.7 * dist;  // shaded disc
            const double threshold = (kCluster[y % 4][x % 4] + 0.5) / 16.0;
            if (gray < threshold) SetPixel(page, x, y);
        }
    }
}

}  // namespace

int RowsPerA4(FaxResolution resolution) {
    switch (resolution) {
        case FaxResolution::kStandard: return 1143;
        case FaxResolution::kFine: return 2286;
        case FaxResolution::kSuperfine: return 4572;
    }
    return 2286;
}

int YDpi(FaxResolution resolution) {
    switch (resolution) {
        case FaxResolution::kStandard: return 98;
        case FaxResolution::kFine: return 196;
        case FaxResolution::kSuperfine: return 391;
    }
    return 196;
}

Bitmap MakePage(PageKind kind, FaxResolution resolution, std::uint32_t seed, int rows) {
    Bitmap page;
    page.width = kWidth;
    page.height = rows > 0 ? rows : RowsPerA4(resolution);
    page.stride = kWidth / 8;
    page.y_dpi = static_cast<float>(YDpi(resolution));
    page.bits.assign(static_cast<std::size_t>(page.stride) * page.height, 0);
    const int scale_y = resolution == FaxResolution::kStandard ? 1 : resolution == FaxResolution::kFine ? 2 : 4;
    std::mt19937 rng(seed);
    switch (kind) {
        case PageKind::kText:
            DrawText(page, rng, scale_y);
            break;
        case PageKind::kHalftone:
            DrawText(page, rng, scale_y);
            // A photo in the middle third, text above and below.
            std::fill(page.bits.begin() + static_cast<std::ptrdiff_t>(page.stride) * (page.height / 3),
                      page.bits.begin() + static_cast<std::ptrdiff_t>(page.stride) * (2 * page.height / 3), 0);
            DrawHalftone(page, page.height / 3, page.height / 3);
            break;
        case PageKind::kBlank:
            break;
    }
    return page;
}

std::vector<Bitmap> ThreePageDocument(FaxResolution resolution) {
    return {MakePage(PageKind::kText, resolution, 1), MakePage(PageKind::kHalftone, resolution, 2),
            MakePage(PageKind::kText, resolution, 3)};
}

base::Result<void> WriteFaxTiff(const std::filesystem::path& path, const std::vector<Bitmap>& pages,
                                TiffCompression compression) {
    std::unique_ptr<TIFF, TiffCloser> tiff(TIFFOpen(path.c_str(), "w"));
    if (!tiff) return base::MakeError(base::ErrorCode::kIo, "cannot create " + path.string());
    const int count = static_cast<int>(pages.size());
    for (int p = 0; p < count; ++p) {
        const Bitmap& page = pages[p];
        TIFF* t = tiff.get();
        TIFFSetField(t, TIFFTAG_SUBFILETYPE, FILETYPE_PAGE);
        TIFFSetField(t, TIFFTAG_IMAGEWIDTH, page.width);
        TIFFSetField(t, TIFFTAG_IMAGELENGTH, page.height);
        TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 1);
        TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, 1);
        TIFFSetField(t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISWHITE);
        TIFFSetField(t, TIFFTAG_FILLORDER, FILLORDER_LSB2MSB);
        TIFFSetField(t, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
        TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, page.height);
        TIFFSetField(t, TIFFTAG_RESOLUTIONUNIT, RESUNIT_INCH);
        TIFFSetField(t, TIFFTAG_XRESOLUTION, 204.0f);
        TIFFSetField(t, TIFFTAG_YRESOLUTION, page.y_dpi);
        TIFFSetField(t, TIFFTAG_PAGENUMBER, p, count);
        switch (compression) {
            case TiffCompression::kG4:
                TIFFSetField(t, TIFFTAG_COMPRESSION, COMPRESSION_CCITTFAX4);
                break;
            case TiffCompression::kG3OneD:
                TIFFSetField(t, TIFFTAG_COMPRESSION, COMPRESSION_CCITTFAX3);
                TIFFSetField(t, TIFFTAG_GROUP3OPTIONS, GROUP3OPT_FILLBITS);
                break;
            case TiffCompression::kG3TwoD:
                TIFFSetField(t, TIFFTAG_COMPRESSION, COMPRESSION_CCITTFAX3);
                TIFFSetField(t, TIFFTAG_GROUP3OPTIONS, GROUP3OPT_FILLBITS | GROUP3OPT_2DENCODING);
                break;
        }
        std::vector<std::uint8_t> row(page.stride);
        for (int y = 0; y < page.height; ++y) {
            std::copy_n(page.bits.begin() + static_cast<std::ptrdiff_t>(y) * page.stride, page.stride, row.begin());
            if (TIFFWriteScanline(t, row.data(), y, 0) < 0)
                return base::MakeError(base::ErrorCode::kIo, "cannot write " + path.string());
        }
        if (!TIFFWriteDirectory(t)) return base::MakeError(base::ErrorCode::kIo, "cannot write " + path.string());
    }
    return {};
}

base::Result<std::vector<Bitmap>> ReadTiffPages(const std::filesystem::path& path) {
    std::unique_ptr<TIFF, TiffCloser> tiff(TIFFOpen(path.c_str(), "r"));
    if (!tiff) return base::MakeError(base::ErrorCode::kMalformed, "cannot read " + path.string());
    std::vector<Bitmap> pages;
    do {
        TIFF* t = tiff.get();
        Bitmap page;
        std::uint32_t width = 0, height = 0;
        std::uint16_t photometric = PHOTOMETRIC_MINISWHITE;
        TIFFGetField(t, TIFFTAG_IMAGEWIDTH, &width);
        TIFFGetField(t, TIFFTAG_IMAGELENGTH, &height);
        TIFFGetFieldDefaulted(t, TIFFTAG_PHOTOMETRIC, &photometric);
        TIFFGetField(t, TIFFTAG_YRESOLUTION, &page.y_dpi);
        page.width = static_cast<int>(width);
        page.height = static_cast<int>(height);
        page.stride = static_cast<int>((width + 7) / 8);
        page.bits.resize(static_cast<std::size_t>(page.stride) * height);
        for (std::uint32_t y = 0; y < height; ++y) {
            if (TIFFReadScanline(t, page.bits.data() + static_cast<std::size_t>(y) * page.stride, y, 0) < 0)
                return base::MakeError(base::ErrorCode::kMalformed, "cannot decode " + path.string());
        }
        if (photometric == PHOTOMETRIC_MINISBLACK)
            for (auto& byte : page.bits) byte = static_cast<std::uint8_t>(~byte);
        pages.push_back(std::move(page));
    } while (TIFFReadDirectory(tiff.get()));
    return pages;
}

TempDir::TempDir(const std::string& name) {
    static std::atomic<int> counter{0};
    path_ = std::filesystem::temp_directory_path() /
            ("faxd_" + name + "_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
}

TempDir::~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
}

}  // namespace faxd::testing
