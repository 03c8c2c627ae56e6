#include "render/thumbnail.hpp"

#include <png.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "base/atomic_file.hpp"
#include "render/fax_tiff.hpp"

namespace faxd::render {
namespace {

constexpr int kMaxThumbnailWidth = 4096;

// Box filter: each output pixel is the share of white in the source rectangle it covers. Source rectangles
// tile the page exactly (integer bounds), so every source pixel counts once.
std::vector<std::uint8_t> Downscale(const FaxBitmap& page, int out_width, int out_height) {
    std::vector<std::uint32_t> x_to_out(page.width);
    std::vector<std::uint32_t> column_width(static_cast<std::size_t>(out_width), 0);
    for (std::uint32_t x = 0; x < page.width; ++x) {
        x_to_out[x] =
            static_cast<std::uint32_t>(std::uint64_t{x} * static_cast<std::uint64_t>(out_width) / page.width);
        ++column_width[x_to_out[x]];
    }
    std::vector<std::uint8_t> gray(static_cast<std::size_t>(out_width) *
                                   static_cast<std::size_t>(out_height));
    std::vector<std::uint32_t> black(static_cast<std::size_t>(out_width));
    for (int oy = 0; oy < out_height; ++oy) {
        auto y0 = static_cast<std::uint32_t>(std::uint64_t{static_cast<std::uint32_t>(oy)} * page.height /
                                             static_cast<std::uint64_t>(out_height));
        auto y1 = static_cast<std::uint32_t>(std::uint64_t{static_cast<std::uint32_t>(oy) + 1} * page.height /
                                             static_cast<std::uint64_t>(out_height));
        // More output rows than source rows (a tiny page): repeat the nearest source row.
        y1 = std::max(y1, std::min(y0 + 1, page.height));
        y0 = std::min(y0, y1 - 1);
        std::fill(black.begin(), black.end(), 0);
        for (std::uint32_t y = y0; y < y1; ++y) {
            const std::uint8_t* row = page.bits.data() + static_cast<std::size_t>(y) * page.stride;
            for (std::uint32_t x = 0; x < page.width; ++x)
                if (row[x / 8] & (0x80 >> (x % 8))) ++black[x_to_out[x]];
        }
        for (int ox = 0; ox < out_width; ++ox) {
            const std::uint64_t area = std::uint64_t{column_width[static_cast<std::size_t>(ox)]} * (y1 - y0);
            const std::uint64_t white = area == 0 ? 1 : area - black[static_cast<std::size_t>(ox)];
            const std::uint64_t level = area == 0 ? 255 : (white * 255 + area / 2) / area;
            gray[static_cast<std::size_t>(oy) * static_cast<std::size_t>(out_width) +
                 static_cast<std::size_t>(ox)] = static_cast<std::uint8_t>(level);
        }
    }
    return gray;
}

}  // namespace

base::Result<void> WriteThumbnailPng(const std::filesystem::path& tiff, const std::filesystem::path& png,
                                     int max_width) {
    if (max_width < 1 || max_width > kMaxThumbnailWidth)
        return base::MakeError(base::ErrorCode::kInvalidArgument,
                               "thumbnail width " + std::to_string(max_width) + " is outside 1.." +
                                   std::to_string(kMaxThumbnailWidth));
    auto file = FaxTiff::Open(tiff);
    if (!file) return tl::unexpected(file.error());
    auto info = file->PageInfo();
    if (!info) return tl::unexpected(info.error());
    auto page = file->Decode(*info);
    if (!page) return tl::unexpected(page.error());

    const int out_width =
        static_cast<int>(std::min<std::uint32_t>(page->width, static_cast<std::uint32_t>(max_width)));
    // Physical height over physical width, in output pixels.
    const double aspect = (page->height / info->y_dpi) / (page->width / info->x_dpi);
    const double rows = std::round(out_width * aspect);
    const int out_height = static_cast<int>(std::clamp(rows, 1.0, static_cast<double>(kMaxPageHeight)));
    const std::vector<std::uint8_t> gray = Downscale(*page, out_width, out_height);

    // libpng's simplified API (1.6): no setjmp/longjmp across our C++ frames.
    png_image image{};
    image.version = PNG_IMAGE_VERSION;
    image.width = static_cast<png_uint_32>(out_width);
    image.height = static_cast<png_uint_32>(out_height);
    image.format = PNG_FORMAT_GRAY;
    png_alloc_size_t size = 0;
    if (!png_image_write_to_memory(&image, nullptr, &size, 0, gray.data(), out_width, nullptr)) {
        const std::string reason = image.message;
        png_image_free(&image);
        return base::MakeError(base::ErrorCode::kInternal,
                               "cannot encode the thumbnail of " + tiff.string() + ": " + reason);
    }
    std::vector<std::byte> encoded(size);
    if (!png_image_write_to_memory(&image, encoded.data(), &size, 0, gray.data(), out_width, nullptr)) {
        const std::string reason = image.message;
        png_image_free(&image);
        return base::MakeError(base::ErrorCode::kInternal,
                               "cannot encode the thumbnail of " + tiff.string() + ": " + reason);
    }
    encoded.resize(size);
    if (auto written = base::WriteFileAtomically(png, encoded); !written) {
        return base::MakeError(written.error().code, "cannot write the thumbnail of " + tiff.string() + ": " +
                                                         written.error().message);
    }
    return {};
}

}  // namespace faxd::render
