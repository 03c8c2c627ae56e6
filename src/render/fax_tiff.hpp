// Reading received fax TIFFs (TIFF Class F and the plain bilevel TIFFs other fax software writes): page
// properties, the raw coded strip for pass-through, and the decoded bitmap. Shared by the PDF writer and the
// thumbnailer; internal to render/.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "base/result.hpp"

namespace faxd::render {

// Bounds for untrusted input: a fax page is 1728 (up to 4864 for A3 at 400 dpi) pixels wide; 100000 rows is
// about 6.5 m at superfine, longer than any real page.
inline constexpr std::uint32_t kMaxPageWidth = 10000;
inline constexpr std::uint32_t kMaxPageHeight = 100000;
inline constexpr int kMaxPages = 1000;

struct FaxPageInfo {
    std::uint32_t width = 0;
    std::uint32_t height = 0;
    std::uint16_t compression = 1;  // TIFF COMPRESSION_* value
    bool min_is_black = false;      // PhotometricInterpretation 1; fax TIFFs are normally 0 (MINISWHITE)
    bool lsb_first = false;         // FillOrder 2: bits of each byte stored in reverse
    std::uint32_t t4_options = 0;   // TIFF 6.0 §11 T4Options (Group3Options)
    std::uint32_t t6_options = 0;   // TIFF 6.0 §11 T6Options (Group4Options)
    double x_dpi = 204;
    double y_dpi = 196;
    std::uint32_t strips = 0;
    bool tiled = false;
};

// A decoded page: 1 = black, rows packed MSB first, `stride` bytes per row.
struct FaxBitmap {
    std::uint32_t width = 0;
    std::uint32_t height = 0;
    std::size_t stride = 0;
    std::vector<std::uint8_t> bits;
};

class FaxTiff {
public:
    // Fails (kNotFound / kMalformed) with a message that names the file.
    static base::Result<FaxTiff> Open(const std::filesystem::path& path);
    FaxTiff(FaxTiff&&) noexcept;
    FaxTiff& operator=(FaxTiff&&) noexcept;
    ~FaxTiff();

    // The current page (directory); checks it is a bilevel image within the limits above.
    base::Result<FaxPageInfo> PageInfo();
    // Moves to the next page; false at the end (or when the next directory does not read).
    bool NextPage();
    // The raw, still coded bytes of a single-strip page, exactly as stored (no bit reversal).
    base::Result<std::vector<std::uint8_t>> ReadRawStrip(const FaxPageInfo& info);
    base::Result<FaxBitmap> Decode(const FaxPageInfo& info);

    const std::filesystem::path& path() const { return path_; }
    // "<path>: <reason>[ (libtiff: ...)]"
    base::Error MakeFileError(base::ErrorCode code, const std::string& reason) const;

private:
    struct State;
    FaxTiff(std::filesystem::path path, std::unique_ptr<State> state);
    std::filesystem::path path_;
    std::unique_ptr<State> state_;
};

}  // namespace faxd::render
