#include "render/fax_tiff.hpp"

#include <tiffio.h>

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <system_error>

namespace faxd::render {

struct FaxTiff::State {
    TIFF* tiff = nullptr;
    std::string last_message;  // the latest libtiff error, for our error text
    std::uintmax_t file_size = 0;

    ~State() {
        if (tiff != nullptr) TIFFClose(tiff);
    }
};

namespace {

// Errors go into the State of the file they concern instead of stderr: the process-wide handlers of libtiff
// are globals and would mix messages of files converted in parallel.
int CaptureError(TIFF*, void* user_data, const char* module, const char* format, va_list args) {
    auto* message = static_cast<std::string*>(user_data);
    char text[512];
    std::vsnprintf(text, sizeof text, format, args);
    *message = (module != nullptr && *module != '\0') ? std::string(module) + ": " + text : std::string(text);
    return 1;
}

int IgnoreWarning(TIFF*, void*, const char*, const char*, va_list) { return 1; }

// One allocation inside libtiff never needs more than a page's worth of strips: bounds a lying header.
constexpr tmsize_t kMaxLibtiffAlloc = tmsize_t{256} << 20;

double ToDpi(float value, std::uint16_t unit) {
    if (unit == RESUNIT_CENTIMETER) return value * 2.54;
    return value;
}

}  // namespace

FaxTiff::FaxTiff(std::filesystem::path path, std::unique_ptr<State> state)
    : path_(std::move(path)), state_(std::move(state)) {}
FaxTiff::FaxTiff(FaxTiff&&) noexcept = default;
FaxTiff& FaxTiff::operator=(FaxTiff&&) noexcept = default;
FaxTiff::~FaxTiff() = default;

base::Error FaxTiff::MakeFileError(base::ErrorCode code, const std::string& reason) const {
    std::string message = path_.string() + ": " + reason;
    if (state_ && !state_->last_message.empty()) message += " (libtiff: " + state_->last_message + ")";
    return base::Error{code, std::move(message), std::nullopt, std::nullopt};
}

base::Result<FaxTiff> FaxTiff::Open(const std::filesystem::path& path) {
    std::error_code ec;
    const std::uintmax_t size = std::filesystem::file_size(path, ec);
    if (ec)
        return base::MakeError(base::ErrorCode::kNotFound, path.string() + ": cannot read: " + ec.message());
    auto state = std::make_unique<State>();
    state->file_size = size;
    std::unique_ptr<TIFFOpenOptions, decltype(&TIFFOpenOptionsFree)> options(TIFFOpenOptionsAlloc(),
                                                                             &TIFFOpenOptionsFree);
    if (!options) return base::MakeError(base::ErrorCode::kInternal, "out of memory");
    TIFFOpenOptionsSetErrorHandlerExtR(options.get(), &CaptureError, &state->last_message);
    TIFFOpenOptionsSetWarningHandlerExtR(options.get(), &IgnoreWarning, nullptr);
    TIFFOpenOptionsSetMaxSingleMemAlloc(options.get(), kMaxLibtiffAlloc);
    // "m": no memory mapping, so a file truncated under us gives read errors rather than SIGBUS.
    state->tiff = TIFFOpenExt(path.c_str(), "rm", options.get());
    FaxTiff file(path, std::move(state));
    if (file.state_->tiff == nullptr) {
        return tl::unexpected(file.MakeFileError(base::ErrorCode::kMalformed, "not a readable TIFF file"));
    }
    return file;
}

base::Result<FaxPageInfo> FaxTiff::PageInfo() {
    TIFF* t = state_->tiff;
    FaxPageInfo info;
    std::uint16_t bits = 1, samples = 1, photometric = PHOTOMETRIC_MINISWHITE, fill = FILLORDER_MSB2LSB;
    std::uint16_t unit = RESUNIT_INCH;
    float x_res = 0, y_res = 0;
    if (!TIFFGetField(t, TIFFTAG_IMAGEWIDTH, &info.width) ||
        !TIFFGetField(t, TIFFTAG_IMAGELENGTH, &info.height))
        return tl::unexpected(MakeFileError(base::ErrorCode::kMalformed, "page without width or length"));
    TIFFGetFieldDefaulted(t, TIFFTAG_BITSPERSAMPLE, &bits);
    TIFFGetFieldDefaulted(t, TIFFTAG_SAMPLESPERPIXEL, &samples);
    TIFFGetFieldDefaulted(t, TIFFTAG_COMPRESSION, &info.compression);
    TIFFGetFieldDefaulted(t, TIFFTAG_FILLORDER, &fill);
    // TIFF Class F requires PhotometricInterpretation, but fax software that omits it means white-is-zero.
    TIFFGetField(t, TIFFTAG_PHOTOMETRIC, &photometric);
    if (bits != 1 || samples != 1)
        return tl::unexpected(
            MakeFileError(base::ErrorCode::kUnsupported, "not a bilevel image (" + std::to_string(bits) +
                                                             " bits per sample, " + std::to_string(samples) +
                                                             " samples per pixel)"));
    if (photometric != PHOTOMETRIC_MINISWHITE && photometric != PHOTOMETRIC_MINISBLACK)
        return tl::unexpected(
            MakeFileError(base::ErrorCode::kUnsupported,
                          "not a bilevel image (photometric " + std::to_string(photometric) + ")"));
    if (info.width == 0 || info.height == 0)
        return tl::unexpected(MakeFileError(base::ErrorCode::kMalformed, "empty page (0 pixels)"));
    if (info.width > kMaxPageWidth || info.height > kMaxPageHeight)
        return tl::unexpected(
            MakeFileError(base::ErrorCode::kLimitExceeded,
                          "page of " + std::to_string(info.width) + " x " + std::to_string(info.height) +
                              " pixels exceeds the limit of " + std::to_string(kMaxPageWidth) + " x " +
                              std::to_string(kMaxPageHeight)));
    info.min_is_black = photometric == PHOTOMETRIC_MINISBLACK;
    info.lsb_first = fill == FILLORDER_LSB2MSB;
    if (info.compression == COMPRESSION_CCITTFAX3) TIFFGetField(t, TIFFTAG_GROUP3OPTIONS, &info.t4_options);
    if (info.compression == COMPRESSION_CCITTFAX4) TIFFGetField(t, TIFFTAG_GROUP4OPTIONS, &info.t6_options);
    info.tiled = TIFFIsTiled(t) != 0;
    info.strips = info.tiled ? TIFFNumberOfTiles(t) : TIFFNumberOfStrips(t);

    // Resolution: missing or absurd values fall back to fax fine resolution (T.4 §2.2: 8 pels/mm across,
    // 7.7 lines/mm); a unitless pair still gives the aspect ratio.
    TIFFGetFieldDefaulted(t, TIFFTAG_RESOLUTIONUNIT, &unit);
    const bool have_x = TIFFGetField(t, TIFFTAG_XRESOLUTION, &x_res) != 0;
    const bool have_y = TIFFGetField(t, TIFFTAG_YRESOLUTION, &y_res) != 0;
    const auto sane = [](double dpi) { return dpi >= 10 && dpi <= 4800; };
    if (have_x && have_y && unit == RESUNIT_NONE && x_res > 0 && y_res > 0) {
        info.x_dpi = 204;
        info.y_dpi = 204.0 * y_res / x_res;
    } else {
        if (have_x) info.x_dpi = ToDpi(x_res, unit);
        if (have_y) info.y_dpi = ToDpi(y_res, unit);
    }
    if (!sane(info.x_dpi)) info.x_dpi = 204;
    if (!sane(info.y_dpi)) info.y_dpi = 196;
    return info;
}

bool FaxTiff::NextPage() { return TIFFReadDirectory(state_->tiff) != 0; }

base::Result<std::vector<std::uint8_t>> FaxTiff::ReadRawStrip(const FaxPageInfo& info) {
    if (info.tiled || info.strips != 1)
        return tl::unexpected(MakeFileError(base::ErrorCode::kInternal, "raw strip of a multi-strip page"));
    const std::uint64_t size = TIFFGetStrileByteCount(state_->tiff, 0);
    // A byte count larger than the file is a lie; refuse before allocating it.
    if (size == 0 || size > state_->file_size)
        return tl::unexpected(MakeFileError(base::ErrorCode::kMalformed, "bad strip byte count"));
    std::vector<std::uint8_t> data(static_cast<std::size_t>(size));
    const tmsize_t got = TIFFReadRawStrip(state_->tiff, 0, data.data(), static_cast<tmsize_t>(size));
    if (got < 0 || static_cast<std::uint64_t>(got) != size)
        return tl::unexpected(MakeFileError(base::ErrorCode::kMalformed, "truncated strip"));
    return data;
}

base::Result<FaxBitmap> FaxTiff::Decode(const FaxPageInfo& info) {
    TIFF* t = state_->tiff;
    if (info.tiled)
        return tl::unexpected(MakeFileError(base::ErrorCode::kUnsupported, "tiled pages are not supported"));
    FaxBitmap page;
    page.width = info.width;
    page.height = info.height;
    page.stride = (info.width + 7) / 8;
    if (static_cast<std::uint64_t>(TIFFScanlineSize64(t)) != page.stride)
        return tl::unexpected(MakeFileError(base::ErrorCode::kMalformed, "unexpected scanline size"));
    page.bits.assign(page.stride * info.height, 0);
    std::uint32_t rows_per_strip = info.height;
    TIFFGetFieldDefaulted(t, TIFFTAG_ROWSPERSTRIP, &rows_per_strip);
    rows_per_strip = std::clamp<std::uint32_t>(rows_per_strip, 1, info.height);
    std::size_t offset = 0;
    for (std::uint32_t strip = 0; strip < info.strips && offset < page.bits.size(); ++strip) {
        const std::size_t want = std::min(page.bits.size() - offset, page.stride * rows_per_strip);
        const tmsize_t got =
            TIFFReadEncodedStrip(t, strip, page.bits.data() + offset, static_cast<tmsize_t>(want));
        if (got < 0) return tl::unexpected(MakeFileError(base::ErrorCode::kMalformed, "corrupt image data"));
        offset += want;
    }
    if (offset < page.bits.size())
        return tl::unexpected(MakeFileError(base::ErrorCode::kMalformed, "image data ends before the page"));
    if (!info.min_is_black) return page;
    for (auto& byte : page.bits) byte = static_cast<std::uint8_t>(~byte);
    return page;
}

}  // namespace faxd::render
