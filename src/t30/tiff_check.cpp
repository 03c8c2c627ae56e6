#include "t30/tiff_check.hpp"

#include <tiffio.h>

#include <memory>
#include <string>

namespace faxd::t30 {
namespace {

struct TiffCloser {
    void operator()(TIFF* tiff) const { TIFFClose(tiff); }
};

constexpr int kMaxPages = 10000;

}  // namespace

base::Result<int> CheckFaxTiff(const std::filesystem::path& path) {
    using base::ErrorCode;
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec))
        return base::MakeError(ErrorCode::kNotFound, "fax document not found: " + path.string());
    std::unique_ptr<TIFF, TiffCloser> tiff(TIFFOpen(path.c_str(), "r"));
    if (!tiff) return base::MakeError(ErrorCode::kMalformed, path.string() + " is not a readable TIFF file");
    int pages = 0;
    do {
        ++pages;
        if (pages > kMaxPages)
            return base::MakeError(ErrorCode::kLimitExceeded, path.string() + " has more than 10000 pages");
        const std::string where = path.string() + " page " + std::to_string(pages);
        std::uint32_t width = 0;
        std::uint16_t bits = 1;
        std::uint16_t samples = 1;
        float y_res = 0;
        TIFFGetField(tiff.get(), TIFFTAG_IMAGEWIDTH, &width);
        TIFFGetFieldDefaulted(tiff.get(), TIFFTAG_BITSPERSAMPLE, &bits);
        TIFFGetFieldDefaulted(tiff.get(), TIFFTAG_SAMPLESPERPIXEL, &samples);
        if (bits != 1 || samples != 1)
            return base::MakeError(ErrorCode::kUnsupported, where + " is not bilevel (fax pages are black and white)");
        if (width != 1728 && width != 2048 && width != 2432)
            return base::MakeError(ErrorCode::kUnsupported,
                                   where + " is " + std::to_string(width) + " pixels wide; fax needs 1728, 2048 or 2432");
        if (!TIFFGetField(tiff.get(), TIFFTAG_YRESOLUTION, &y_res) || y_res <= 0)
            return base::MakeError(ErrorCode::kUnsupported, where + " has no vertical resolution");
    } while (TIFFReadDirectory(tiff.get()));
    return pages;
}

}  // namespace faxd::t30
