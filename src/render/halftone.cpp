#include "render/halftone.hpp"

#include <algorithm>
#include <cmath>

namespace faxd::render {
namespace {

// Block size for the photo/text decision, in fax pixels across (about 3 mm at 204 dpi); rows are scaled
// by the resolution so blocks cover the same area at every resolution.
constexpr int kBlockWidth = 24;
// A block is part of a photo when at least this share of its pixels is mid-gray. Coloured text (red is
// about 30% gray) stays under it; photos, even light ones, are far above.
constexpr int kPhotoSharePercent = 40;
constexpr std::uint8_t kMidGrayLow = 40;
constexpr std::uint8_t kMidGrayHigh = 215;
constexpr std::uint8_t kThreshold = 128;

}  // namespace

DotScreen::DotScreen(Resolution resolution)
    : width_(8), height_(std::max(2, static_cast<int>(std::lround(8.0 * YDpi(resolution) / kFaxXDpi)))) {
    struct Cell {
        double distance, angle;
        int index;
    };
    std::vector<Cell> cells;
    for (int y = 0; y < height_; ++y) {
        for (int x = 0; x < width_; ++x) {
            const double dx = (x + 0.5) / width_ - 0.5;
            const double dy = (y + 0.5) / height_ - 0.5;
            cells.push_back({dx * dx + dy * dy, std::atan2(dy, dx), y * width_ + x});
        }
    }
    std::sort(cells.begin(), cells.end(), [](const Cell& a, const Cell& b) {
        return a.distance != b.distance ? a.distance < b.distance : a.angle < b.angle;
    });
    thresholds_.resize(cells.size());
    for (std::size_t rank = 0; rank < cells.size(); ++rank) {
        thresholds_[static_cast<std::size_t>(cells[rank].index)] =
            static_cast<std::uint8_t>((rank + 0.5) * 256.0 / static_cast<double>(cells.size()));
    }
}

void DotScreen::RowThresholds(int y, int width, std::vector<std::uint8_t>& out) const {
    out.resize(static_cast<std::size_t>(width));
    const std::uint8_t* row = &thresholds_[static_cast<std::size_t>((y % height_) * width_)];
    for (int x = 0; x < width; ++x) out[static_cast<std::size_t>(x)] = row[x % width_];
}

BilevelPage BinarizeMixedPage(const GrayImage& gray, Resolution resolution) {
    const int block_w = kBlockWidth;
    const int block_h = std::max(4, static_cast<int>(std::lround(kBlockWidth * YDpi(resolution) / 204.0)));
    const int blocks_x = (gray.width + block_w - 1) / block_w;
    const int blocks_y = (gray.height + block_h - 1) / block_h;

    // Pass 1: mid-gray pixels per block.
    std::vector<int> mid(static_cast<std::size_t>(blocks_x) * blocks_y, 0);
    for (int y = 0; y < gray.height; ++y) {
        const std::uint8_t* row = &gray.pixels[static_cast<std::size_t>(y) * gray.width];
        int* counts = &mid[static_cast<std::size_t>(y / block_h) * blocks_x];
        for (int bx = 0, x = 0; bx < blocks_x; ++bx) {
            const int end = std::min(gray.width, x + block_w);
            int count = 0;
            for (; x < end; ++x)
                count += static_cast<std::uint8_t>(row[x] - kMidGrayLow) <= kMidGrayHigh - kMidGrayLow;
            counts[bx] += count;
        }
    }
    // Photo blocks, grown by one block so a photo's soft edges are screened like its middle.
    std::vector<std::uint8_t> photo(mid.size(), 0);
    for (int by = 0; by < blocks_y; ++by) {
        for (int bx = 0; bx < blocks_x; ++bx) {
            const int area =
                std::min(block_w, gray.width - bx * block_w) * std::min(block_h, gray.height - by * block_h);
            if (mid[static_cast<std::size_t>(by) * blocks_x + bx] * 100 < area * kPhotoSharePercent) continue;
            for (int ny = std::max(0, by - 1); ny <= std::min(blocks_y - 1, by + 1); ++ny) {
                for (int nx = std::max(0, bx - 1); nx <= std::min(blocks_x - 1, bx + 1); ++nx) {
                    photo[static_cast<std::size_t>(ny) * blocks_x + nx] = 1;
                }
            }
        }
    }

    // Pass 2: per row, a threshold for every pixel (screen in photo blocks, fixed elsewhere), then eight
    // comparisons per output byte, which the compiler turns into vector code.
    const DotScreen screen(resolution);
    BilevelPage page{gray.width, gray.height, {}};
    page.bits.assign(page.Stride() * static_cast<std::size_t>(gray.height), 0);
    const int padded = static_cast<int>(page.Stride()) * 8;
    std::vector<std::vector<std::uint8_t>> screen_rows(static_cast<std::size_t>(screen.Height()));
    for (int y = 0; y < screen.Height(); ++y)
        screen.RowThresholds(y, gray.width, screen_rows[static_cast<std::size_t>(y)]);
    std::vector<std::uint8_t> limits(static_cast<std::size_t>(padded), 0), pixels(limits.size(), 255);
    for (int y = 0; y < gray.height; ++y) {
        const std::uint8_t* flags = &photo[static_cast<std::size_t>(y / block_h) * blocks_x];
        const std::vector<std::uint8_t>& screen_row =
            screen_rows[static_cast<std::size_t>(y % screen.Height())];
        for (int bx = 0; bx < blocks_x; ++bx) {
            const int x = bx * block_w, n = std::min(block_w, gray.width - x);
            if (flags[bx]) {
                std::copy_n(&screen_row[static_cast<std::size_t>(x)], n,
                            &limits[static_cast<std::size_t>(x)]);
            } else {
                std::fill_n(&limits[static_cast<std::size_t>(x)], n, kThreshold);
            }
        }
        std::copy_n(&gray.pixels[static_cast<std::size_t>(y) * gray.width], gray.width, pixels.begin());
        std::uint8_t* out = &page.bits[static_cast<std::size_t>(y) * page.Stride()];
        for (std::size_t byte = 0; byte < page.Stride(); ++byte) {
            const std::uint8_t* in = &pixels[byte * 8];
            const std::uint8_t* limit = &limits[byte * 8];
            std::uint8_t bits = 0;
            for (int i = 0; i < 8; ++i) bits |= static_cast<std::uint8_t>((in[i] < limit[i]) << (7 - i));
            out[byte] = bits;
        }
    }
    return page;
}

}  // namespace faxd::render
