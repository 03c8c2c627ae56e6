// Fax page geometry and the bilevel TIFF files spandsp sends: 1728 pixels wide, one page per directory,
// resolution tags that say standard, fine or superfine.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <vector>

#include "base/result.hpp"

namespace faxd::render {

// T.30 Table 2 / T.4 §2: 8 lines/mm (~196 dpi) fine, 3.85 (~98) standard, 15.4 (~391) superfine; 204 dpi
// across.
enum class Resolution { kStandard, kFine, kSuperfine };
enum class PaperSize { kA4, kLetter };
// T.6 (MMR) by default: smallest pages. T.4 1-D (MH) and 2-D (MR) for receivers or tools that ask for them.
enum class FaxCompression { kT6, kT4OneD, kT4TwoD };

// T.4 §2.2: 1728 picture elements along a 215 mm scan line, for A4 and Letter alike.
inline constexpr int kFaxWidth = 1728;
inline constexpr int kFaxXDpi = 204;

int YDpi(Resolution resolution);  // 98, 196, 391
// Page length in lines: A4 297 mm (1146 / 2292 / 4572), Letter 11 in (1078 / 2156 / 4301).
int PageLines(Resolution resolution, PaperSize paper);

// One page of 8-bit gray (0 black, 255 white), row by row.
struct GrayImage {
    int width = 0;
    int height = 0;
    std::vector<std::uint8_t> pixels;
};

// One bilevel page, 1 bit per pixel, rows padded to whole bytes, 1 = black (TIFF PhotometricInterpretation
// WhiteIsZero, as fax data is).
struct BilevelPage {
    int width = 0;
    int height = 0;
    std::vector<std::uint8_t> bits;
    std::size_t Stride() const { return static_cast<std::size_t>(width + 7) / 8; }
};

// Writes pages as one multi-page TIFF (TIFF 6.0 §11 CCITT, Class F style tags) at `path`.
base::Result<void> WriteFaxTiff(const std::filesystem::path& path, std::span<const BilevelPage> pages,
                                Resolution resolution, FaxCompression compression);

// Appends every page of `inputs`, in order, to a new TIFF at `output` without decoding: the compressed strips
// are copied. Page numbers are rewritten (n of total). Returns the page count. Every page must be kFaxWidth
// wide.
base::Result<int> JoinFaxTiffs(std::span<const std::filesystem::path> inputs,
                               const std::filesystem::path& output);

// What a fax page file holds, for checks and tests.
struct FaxPageSummary {
    int width = 0;
    int height = 0;
    // Rounded dots per inch as FaxTiff reads them (fax_tiff.hpp): centimetre units converted, missing or
    // absurd values taken as 204 x 196.
    int x_dpi = 0;
    int y_dpi = 0;
    int compression = 0;  // TIFF Compression tag value (4 = T.6, 3 = T.4)
    double black_ratio = 0;
};
// Every page of a bilevel TIFF, decoded with FaxTiff and so under its size limits. Fails on the first page
// that is not a readable bilevel image.
base::Result<std::vector<FaxPageSummary>> InspectFaxTiff(const std::filesystem::path& path);

}  // namespace faxd::render
