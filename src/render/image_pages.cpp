// Images to fax pages: GraphicsMagick only decodes (to 8-bit gray PGM, in a sandboxed child); scaling and
// binarisation are ours, so a photo gets a halftone that compresses under MMR and text stays crisp.
#include <algorithm>
#include <array>
#include <cmath>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "base/atomic_file.hpp"
#include "render/file_error.hpp"
#include "render/halftone.hpp"
#include "render/netpbm.hpp"
#include "render/pdf_pages.hpp"

namespace faxd::render {
namespace {

using base::ErrorCode;
using base::MakeError;

// Forces GraphicsMagick's decoder to the type we detected, so content never picks a coder we did not mean to
// run (ImageMagick's "ImageTragick" CVE-2016-3714 came from coders chosen by content).
const char* CoderPrefix(DocumentType type) {
    switch (type) {
        case DocumentType::kPng:
            return "png:";
        case DocumentType::kJpeg:
            return "jpeg:";
        case DocumentType::kGif:
            return "gif:";
        case DocumentType::kBmp:
            return "bmp:";
        case DocumentType::kTiff:
            return "tiff:";
        default:
            return nullptr;
    }
}

// Area-weighted resampling of one axis: each output sample averages the source interval it covers, with
// fractional weights at both ends. Downscaling loses no thin line entirely; upscaling is near-neighbour-like,
// which a binarised page does not mind.
template <typename Get>
float AreaSample(int out_index, double scale, int src_size, Get get) {
    const double from = out_index / scale;
    const double to = std::min<double>((out_index + 1) / scale, src_size);
    double sum = 0, weight = 0;
    for (int s = static_cast<int>(from); s < src_size && s < to; ++s) {
        const double w = std::min<double>(s + 1, to) - std::max<double>(s, from);
        if (w <= 0) continue;
        sum += w * get(s);
        weight += w;
    }
    return weight > 0 ? static_cast<float>(sum / weight) : 255.0f;
}

GrayImage Resample(const GrayImage& src, int out_w, int out_h) {
    const double sx = static_cast<double>(out_w) / src.width;
    const double sy = static_cast<double>(out_h) / src.height;
    std::vector<float> rows(static_cast<std::size_t>(out_w) * src.height);
    for (int y = 0; y < src.height; ++y) {
        const std::uint8_t* line = &src.pixels[static_cast<std::size_t>(y) * src.width];
        for (int x = 0; x < out_w; ++x) {
            rows[static_cast<std::size_t>(y) * out_w + x] =
                AreaSample(x, sx, src.width, [&](int s) { return line[s]; });
        }
    }
    GrayImage out{out_w, out_h, std::vector<std::uint8_t>(static_cast<std::size_t>(out_w) * out_h)};
    for (int x = 0; x < out_w; ++x) {
        for (int y = 0; y < out_h; ++y) {
            const float v = AreaSample(y, sy, src.height,
                                       [&](int s) { return rows[static_cast<std::size_t>(s) * out_w + x]; });
            out.pixels[static_cast<std::size_t>(y) * out_w + x] = static_cast<std::uint8_t>(std::lround(v));
        }
    }
    return out;
}

// Line art: a fixed threshold a little above mid-gray, because area averaging lightens thin strokes.
constexpr std::uint8_t kLineArtThreshold = 150;

}  // namespace

bool LooksLikePhoto(const GrayImage& gray) {
    if (gray.pixels.empty()) return false;
    std::size_t mid = 0;
    for (std::uint8_t v : gray.pixels) mid += (v >= 40 && v <= 215) ? 1 : 0;
    // Anti-aliased or scanned text has mid-gray only along edges (a few percent); photos have it everywhere.
    return mid * 100 > gray.pixels.size() * 20;
}

BilevelPage BinarizeForFax(const GrayImage& gray, Resolution resolution, PaperSize paper) {
    // Fit inside kFaxWidth x PageLines on a grid whose pixels are 1/204 in wide and 1/YDpi in tall.
    const double aspect = static_cast<double>(YDpi(resolution)) / kFaxXDpi;
    const int max_lines = PageLines(resolution, paper);
    double sx = static_cast<double>(kFaxWidth) / gray.width;
    if (gray.height * sx * aspect > max_lines) sx = max_lines / (gray.height * aspect);
    const int out_w = std::clamp(static_cast<int>(std::lround(gray.width * sx)), 1, kFaxWidth);
    const int out_h = std::clamp(static_cast<int>(std::lround(gray.height * sx * aspect)), 1, max_lines);
    const GrayImage scaled = Resample(gray, out_w, out_h);
    const bool photo = LooksLikePhoto(scaled);
    const DotScreen screen(resolution);

    // The page is only as long as the picture: fewer lines cost less line time, and receivers print short
    // pages.
    BilevelPage page{kFaxWidth, out_h, {}};
    page.bits.assign(page.Stride() * static_cast<std::size_t>(out_h), 0);
    const int left = (kFaxWidth - out_w) / 2;
    for (int y = 0; y < out_h; ++y) {
        std::uint8_t* row = &page.bits[static_cast<std::size_t>(y) * page.Stride()];
        for (int x = 0; x < out_w; ++x) {
            const std::uint8_t v = scaled.pixels[static_cast<std::size_t>(y) * out_w + x];
            const int px = left + x;
            const bool black = photo ? screen.Black(px, y, v) : v < kLineArtThreshold;
            if (black) row[px / 8] |= static_cast<std::uint8_t>(0x80 >> (px % 8));
        }
    }
    return page;
}

base::Result<RenderedDocument> RenderImageToFax(const std::filesystem::path& input,
                                                const std::filesystem::path& output,
                                                const RenderOptions& options) {
    auto detected = DetectFileType(input);
    if (!detected) return tl::unexpected(detected.error());
    const DocumentType type = *detected;
    const char* coder = CoderPrefix(type);
    if (coder == nullptr) return FileError(input, ErrorCode::kUnsupported, "not an image type we render");
    auto dir = TempDir::Create(options.temp_parent, "faxd-img-");
    if (!dir) return tl::unexpected(dir.error());
    const std::string source = coder + std::filesystem::absolute(input).string();
    auto run_options = [&](std::vector<std::string> argv) {
        SubprocessOptions run;
        run.argv = std::move(argv);
        run.work_dir = dir->Path();
        run.limits = options.limits;
        run.limits.wall = options.timeout;
        return run;
    };

    // Header only (-ping): sizes of every frame before anything is decoded, to refuse image bombs.
    auto identify = RunSubprocess(
        run_options({options.graphicsmagick.string(), "identify", "-ping", "-format", "%w %h\n", source}));
    if (!identify) return tl::unexpected(identify.error());
    if (!identify->Succeeded()) {
        return FileError(input, ErrorCode::kMalformed,
                         "the image cannot be read: " + identify->std_err.substr(0, 300));
    }
    std::istringstream sizes(identify->std_out);
    std::uint64_t w = 0, h = 0;
    int frames = 0;
    while (sizes >> w >> h) {
        ++frames;
        if (w == 0 || h == 0) return FileError(input, ErrorCode::kMalformed, "the image has no pixels");
        if (w * h > options.max_image_pixels) {
            return FileError(input, ErrorCode::kLimitExceeded,
                             std::to_string(w) + " x " + std::to_string(h) +
                                 " pixels, more than the limit of " +
                                 std::to_string(options.max_image_pixels));
        }
    }
    if (frames == 0) return FileError(input, ErrorCode::kMalformed, "the image has no frames");
    if (frames > options.max_pages) {
        return FileError(
            input, ErrorCode::kLimitExceeded,
            std::to_string(frames) + " pages, more than the limit of " + std::to_string(options.max_pages));
    }

    // Decode to gray. Transparent areas of a single picture become white paper; multi-page files keep frames.
    std::vector<std::string> convert = {options.graphicsmagick.string(),
                                        "convert",
                                        "-limit",
                                        "Pixels",
                                        std::to_string(options.max_image_pixels),
                                        "-limit",
                                        "Memory",
                                        "512MB",
                                        "-limit",
                                        "Disk",
                                        "1GB",
                                        source};
    if (frames == 1) convert.insert(convert.end(), {"-background", "white", "-flatten"});
    convert.insert(convert.end(), {"-colorspace", "Gray", "-depth", "8", "+adjoin", "pgm:frame%04d.pgm"});
    auto decoded = RunSubprocess(run_options(convert));
    if (!decoded)
        return tl::unexpected(base::Error{decoded.error().code,
                                          input.filename().string() + ": " + decoded.error().message,
                                          std::nullopt, std::nullopt});
    if (!decoded->Succeeded()) {
        return FileError(input, ErrorCode::kMalformed,
                         "the image cannot be decoded: " + decoded->std_err.substr(0, 300));
    }
    std::vector<BilevelPage> pages;
    for (int f = 0; f < frames; ++f) {
        char name[32];
        std::snprintf(name, sizeof name, "frame%04d.pgm", f);
        auto gray = ReadPgm(dir->Path() / name, options.max_image_pixels);
        if (!gray) return FileError(input, gray.error().code, gray.error().message);
        pages.push_back(BinarizeForFax(*gray, options.resolution, options.paper));
    }
    auto file = base::AtomicFile::Create(output);
    if (!file) return tl::unexpected(file.error());
    if (auto written = WriteFaxTiff(file->TempPath(), pages, options.resolution, options.compression);
        !written) {
        return FileError(input, written.error().code, written.error().message);
    }
    std::error_code ec;
    const auto bytes = std::filesystem::file_size(file->TempPath(), ec);
    if (auto committed = file->Commit(); !committed) return tl::unexpected(committed.error());
    return RenderedDocument{type, static_cast<int>(pages.size()), ec ? 0 : bytes};
}

}  // namespace faxd::render
