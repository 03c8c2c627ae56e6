#include "render/fax_page.hpp"

#include <fcntl.h>
#include <tiffio.h>

#include <bit>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <memory>
#include <string>

#include "render/fax_tiff.hpp"
#include "render/mmr_encoder.hpp"

namespace faxd::render {
namespace {

using base::ErrorCode;
using base::MakeError;

// A TIFF handle whose libtiff errors land in this object instead of on stderr (no global handlers).
class Tiff {
public:
    static base::Result<Tiff> Open(const std::filesystem::path& path, const char* mode) {
        auto message = std::make_unique<std::string>();
        TIFFOpenOptions* opts = TIFFOpenOptionsAlloc();
        TIFFOpenOptionsSetErrorHandlerExtR(opts, &Tiff::OnError, message.get());
        TIFFOpenOptionsSetWarningHandlerExtR(opts, &Tiff::OnWarning, nullptr);
        TIFF* handle = TIFFOpenExt(path.c_str(), mode, opts);
        TIFFOpenOptionsFree(opts);
        if (handle == nullptr) {
            return MakeError(ErrorCode::kMalformed, "cannot open TIFF " + path.string() + ": " + *message);
        }
        return Tiff(handle, std::move(message));
    }

    TIFF* Get() const { return handle_.get(); }
    const std::string& LastError() const { return *message_; }
    // Closing flushes; a failed flush on a written file is an error.
    bool Close() {
        TIFF* handle = handle_.release();
        if (handle == nullptr) return true;
        const bool ok = TIFFGetMode(handle) == O_RDONLY || TIFFFlush(handle) == 1;
        TIFFClose(handle);
        return ok;
    }

private:
    struct Closer {
        void operator()(TIFF* t) const { TIFFClose(t); }
    };
    Tiff(TIFF* handle, std::unique_ptr<std::string> message)
        : handle_(handle), message_(std::move(message)) {}

    static int OnError(TIFF*, void* user_data, const char* module, const char* fmt, va_list args) {
        char text[512];
        std::vsnprintf(text, sizeof text, fmt, args);
        auto* message = static_cast<std::string*>(user_data);
        *message = std::string(module ? module : "libtiff") + ": " + text;
        return 1;
    }
    static int OnWarning(TIFF*, void*, const char*, const char*, va_list) { return 1; }  // unknown tags etc.

    std::unique_ptr<TIFF, Closer> handle_;
    std::unique_ptr<std::string> message_;
};

std::uint16_t CompressionTag(FaxCompression compression) {
    return compression == FaxCompression::kT6 ? COMPRESSION_CCITTFAX4 : COMPRESSION_CCITTFAX3;
}

// Black pixels of a decoded page. The bits after `width` in the last byte of a row are padding: Decode
// inverts MinIsBlack pages byte by byte, which turns them black, so they are masked off.
std::uint64_t CountBlackPixels(const FaxBitmap& page) {
    const std::size_t whole_bytes = page.width / 8;
    const unsigned tail_bits = page.width % 8;
    const auto tail_mask = static_cast<std::uint8_t>(0xFF00u >> tail_bits);  // the first tail_bits bits
    std::uint64_t black = 0;
    for (std::size_t row = 0; row < page.height; ++row) {
        const std::uint8_t* bytes = page.bits.data() + row * page.stride;
        for (std::size_t i = 0; i < whole_bytes; ++i) black += std::popcount(bytes[i]);
        if (tail_bits != 0) black += std::popcount(static_cast<std::uint8_t>(bytes[whole_bytes] & tail_mask));
    }
    return black;
}

}  // namespace

int YDpi(Resolution resolution) {
    switch (resolution) {
        case Resolution::kStandard:
            return 98;
        case Resolution::kFine:
            return 196;
        case Resolution::kSuperfine:
            return 391;
    }
    return 196;
}

int PageLines(Resolution resolution, PaperSize paper) {
    const double inches = paper == PaperSize::kA4 ? 297.0 / 25.4 : 11.0;
    return static_cast<int>(std::lround(inches * YDpi(resolution)));
}

base::Result<void> WriteFaxTiff(const std::filesystem::path& path, std::span<const BilevelPage> pages,
                                Resolution resolution, FaxCompression compression) {
    auto tiff = Tiff::Open(path, "w");
    if (!tiff) return tl::unexpected(tiff.error());
    TIFF* t = tiff->Get();
    const auto total = static_cast<std::uint16_t>(pages.size());
    for (std::size_t n = 0; n < pages.size(); ++n) {
        const BilevelPage& page = pages[n];
        TIFFSetField(t, TIFFTAG_SUBFILETYPE, FILETYPE_PAGE);
        TIFFSetField(t, TIFFTAG_IMAGEWIDTH, static_cast<std::uint32_t>(page.width));
        TIFFSetField(t, TIFFTAG_IMAGELENGTH, static_cast<std::uint32_t>(page.height));
        TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 1);
        TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, 1);
        TIFFSetField(t, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
        TIFFSetField(t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISWHITE);
        TIFFSetField(t, TIFFTAG_FILLORDER, FILLORDER_MSB2LSB);
        TIFFSetField(t, TIFFTAG_COMPRESSION, CompressionTag(compression));
        if (compression == FaxCompression::kT4TwoD)
            TIFFSetField(t, TIFFTAG_GROUP3OPTIONS, GROUP3OPT_2DENCODING);
        if (compression == FaxCompression::kT4OneD) TIFFSetField(t, TIFFTAG_GROUP3OPTIONS, 0);
        TIFFSetField(t, TIFFTAG_XRESOLUTION, static_cast<float>(kFaxXDpi));
        TIFFSetField(t, TIFFTAG_YRESOLUTION, static_cast<float>(YDpi(resolution)));
        TIFFSetField(t, TIFFTAG_RESOLUTIONUNIT, RESUNIT_INCH);
        TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, static_cast<std::uint32_t>(page.height));
        TIFFSetField(t, TIFFTAG_PAGENUMBER, static_cast<std::uint16_t>(n), total);
        TIFFSetField(t, TIFFTAG_SOFTWARE, "faxd");
        if (compression == FaxCompression::kT6) {
            // Our coder is about twice as fast as libtiff's (bench/render); the strip is stored as coded.
            auto coded = EncodeMmr(page);
            if (TIFFWriteRawStrip(t, 0, coded.data(), static_cast<tmsize_t>(coded.size())) < 0) {
                return MakeError(ErrorCode::kIo, "writing " + path.string() + ": " + tiff->LastError());
            }
            if (TIFFWriteDirectory(t) != 1) {
                return MakeError(ErrorCode::kIo, "writing " + path.string() + ": " + tiff->LastError());
            }
            continue;
        }
        std::vector<std::uint8_t> row(page.Stride());
        for (int y = 0; y < page.height; ++y) {
            std::copy_n(page.bits.begin() + static_cast<std::ptrdiff_t>(y * page.Stride()), page.Stride(),
                        row.begin());
            if (TIFFWriteScanline(t, row.data(), static_cast<std::uint32_t>(y), 0) != 1) {
                return MakeError(ErrorCode::kIo, "writing " + path.string() + ": " + tiff->LastError());
            }
        }
        if (TIFFWriteDirectory(t) != 1) {
            return MakeError(ErrorCode::kIo, "writing " + path.string() + ": " + tiff->LastError());
        }
    }
    if (!tiff->Close()) return MakeError(ErrorCode::kIo, "writing " + path.string() + ": flush failed");
    return {};
}

base::Result<int> JoinFaxTiffs(std::span<const std::filesystem::path> inputs,
                               const std::filesystem::path& output) {
    // First pass: count pages, so every page can carry "n of total" (TIFF 6.0 PageNumber).
    int total = 0;
    for (const auto& input : inputs) {
        auto in = Tiff::Open(input, "r");
        if (!in) return tl::unexpected(in.error());
        total += TIFFNumberOfDirectories(in->Get());
    }
    auto out = Tiff::Open(output, "w");
    if (!out) return tl::unexpected(out.error());
    TIFF* o = out->Get();
    int page = 0;
    std::vector<std::uint8_t> strip;
    for (const auto& input : inputs) {
        auto in = Tiff::Open(input, "r");
        if (!in) return tl::unexpected(in.error());
        TIFF* i = in->Get();
        do {
            std::uint32_t width = 0, height = 0, rows_per_strip = 0, t4_options = 0, t6_options = 0;
            std::uint16_t compression = 0, photometric = PHOTOMETRIC_MINISWHITE,
                          fill_order = FILLORDER_MSB2LSB;
            std::uint16_t bits = 1, samples = 1, unit = RESUNIT_INCH;
            float x_res = 0, y_res = 0;
            TIFFGetField(i, TIFFTAG_IMAGEWIDTH, &width);
            TIFFGetField(i, TIFFTAG_IMAGELENGTH, &height);
            TIFFGetFieldDefaulted(i, TIFFTAG_BITSPERSAMPLE, &bits);
            TIFFGetFieldDefaulted(i, TIFFTAG_SAMPLESPERPIXEL, &samples);
            TIFFGetField(i, TIFFTAG_COMPRESSION, &compression);
            TIFFGetField(i, TIFFTAG_PHOTOMETRIC, &photometric);
            TIFFGetFieldDefaulted(i, TIFFTAG_FILLORDER, &fill_order);
            TIFFGetFieldDefaulted(i, TIFFTAG_ROWSPERSTRIP, &rows_per_strip);
            TIFFGetField(i, TIFFTAG_XRESOLUTION, &x_res);
            TIFFGetField(i, TIFFTAG_YRESOLUTION, &y_res);
            TIFFGetFieldDefaulted(i, TIFFTAG_RESOLUTIONUNIT, &unit);
            if (static_cast<int>(width) != kFaxWidth || bits != 1 || samples != 1 || TIFFIsTiled(i)) {
                return MakeError(ErrorCode::kMalformed, input.string() + ": page " +
                                                            std::to_string(page + 1) +
                                                            " is not a 1728-pixel bilevel fax page");
            }
            TIFFSetField(o, TIFFTAG_SUBFILETYPE, FILETYPE_PAGE);
            TIFFSetField(o, TIFFTAG_IMAGEWIDTH, width);
            TIFFSetField(o, TIFFTAG_IMAGELENGTH, height);
            TIFFSetField(o, TIFFTAG_BITSPERSAMPLE, bits);
            TIFFSetField(o, TIFFTAG_SAMPLESPERPIXEL, samples);
            TIFFSetField(o, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
            TIFFSetField(o, TIFFTAG_COMPRESSION, compression);
            TIFFSetField(o, TIFFTAG_PHOTOMETRIC, photometric);
            TIFFSetField(o, TIFFTAG_FILLORDER, fill_order);
            TIFFSetField(o, TIFFTAG_ROWSPERSTRIP, rows_per_strip);
            TIFFSetField(o, TIFFTAG_XRESOLUTION, x_res);
            TIFFSetField(o, TIFFTAG_YRESOLUTION, y_res);
            TIFFSetField(o, TIFFTAG_RESOLUTIONUNIT, unit);
            if (compression == COMPRESSION_CCITTFAX3 && TIFFGetField(i, TIFFTAG_GROUP3OPTIONS, &t4_options)) {
                TIFFSetField(o, TIFFTAG_GROUP3OPTIONS, t4_options);
            }
            if (compression == COMPRESSION_CCITTFAX4 && TIFFGetField(i, TIFFTAG_GROUP4OPTIONS, &t6_options)) {
                TIFFSetField(o, TIFFTAG_GROUP4OPTIONS, t6_options);
            }
            TIFFSetField(o, TIFFTAG_PAGENUMBER, static_cast<std::uint16_t>(page),
                         static_cast<std::uint16_t>(total));
            TIFFSetField(o, TIFFTAG_SOFTWARE, "faxd");
            // The strips are copied as they are: no decode and re-encode, so joining costs only I/O.
            const tstrip_t strips = TIFFNumberOfStrips(i);
            for (tstrip_t s = 0; s < strips; ++s) {
                const tmsize_t size = TIFFRawStripSize(i, s);
                if (size < 0) return MakeError(ErrorCode::kMalformed, input.string() + ": bad strip size");
                strip.resize(static_cast<std::size_t>(size));
                if (TIFFReadRawStrip(i, s, strip.data(), size) != size ||
                    TIFFWriteRawStrip(o, s, strip.data(), size) != size) {
                    return MakeError(ErrorCode::kIo, "joining " + input.string() + " into " +
                                                         output.string() + ": " + in->LastError() +
                                                         out->LastError());
                }
            }
            if (TIFFWriteDirectory(o) != 1) {
                return MakeError(ErrorCode::kIo, "writing " + output.string() + ": " + out->LastError());
            }
            ++page;
        } while (TIFFReadDirectory(i) == 1);
    }
    if (!out->Close()) return MakeError(ErrorCode::kIo, "writing " + output.string() + ": flush failed");
    return page;
}

base::Result<std::vector<FaxPageSummary>> InspectFaxTiff(const std::filesystem::path& path) {
    auto tiff = FaxTiff::Open(path);
    if (!tiff) return tl::unexpected(tiff.error());
    std::vector<FaxPageSummary> pages;
    do {
        auto info = tiff->PageInfo();
        if (!info) return tl::unexpected(info.error());
        auto bitmap = tiff->Decode(*info);
        if (!bitmap) return tl::unexpected(bitmap.error());
        const double pixels = static_cast<double>(bitmap->width) * bitmap->height;
        pages.push_back(FaxPageSummary{
            .width = static_cast<int>(info->width),
            .height = static_cast<int>(info->height),
            .x_dpi = static_cast<int>(std::lround(info->x_dpi)),
            .y_dpi = static_cast<int>(std::lround(info->y_dpi)),
            .compression = info->compression,
            .black_ratio = static_cast<double>(CountBlackPixels(*bitmap)) / pixels,
        });
    } while (tiff->NextPage());
    return pages;
}

}  // namespace faxd::render
