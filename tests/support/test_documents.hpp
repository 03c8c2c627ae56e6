// Fax test documents made by the tests themselves (libtiff): text-like and halftone-like pages at the fax
// resolutions, and a reader that decodes any bilevel TIFF back to pixels for exact comparison.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "base/result.hpp"

namespace faxd::testing {

enum class PageKind { kText, kHalftone, kBlank };
enum class FaxResolution { kStandard, kFine, kSuperfine };

int RowsPerA4(FaxResolution resolution);  // 1143, 2286, 4572
int YDpi(FaxResolution resolution);       // 98, 196, 391

// A bilevel page: 1 = black, rows packed MSB first, `stride` bytes per row.
struct Bitmap {
    int width = 0;
    int height = 0;
    int stride = 0;
    float y_dpi = 0;
    std::vector<std::uint8_t> bits;
    bool operator==(const Bitmap& other) const {
        return width == other.width && height == other.height && bits == other.bits;
    }
};

Bitmap MakePage(PageKind kind, FaxResolution resolution, std::uint32_t seed, int rows = 0);

// Writes a multi-page TIFF/F: G4 by default, or T.4 1-D/2-D, MINISWHITE, 204 dpi across.
enum class TiffCompression { kG3OneD, kG3TwoD, kG4 };
base::Result<void> WriteFaxTiff(const std::filesystem::path& path, const std::vector<Bitmap>& pages,
                                TiffCompression compression = TiffCompression::kG4);

base::Result<std::vector<Bitmap>> ReadTiffPages(const std::filesystem::path& path);

// The standard three-page test document: text, a page with a halftone photo, text.
std::vector<Bitmap> ThreePageDocument(FaxResolution resolution);

// A fresh directory under the system temp dir, removed by the destructor.
class TempDir {
public:
    explicit TempDir(const std::string& name);
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::filesystem::path& path() const { return path_; }
    std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

private:
    std::filesystem::path path_;
};

}  // namespace faxd::testing
