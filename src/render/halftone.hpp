// Gray pages to bilevel fax pages: thresholding keeps text and line art crisp, a clustered-dot screen turns
// photos into dots that MMR codes cheaply. Never error diffusion: its scattered dots make pages many times
// larger and cost minutes of line time. Internal to render/.
#pragma once

#include <cstdint>
#include <vector>

#include "render/fax_page.hpp"

namespace faxd::render {

// Clustered-dot ordered dither (a classic "round dot" screen): threshold ranks grow outward from the centre
// of each cell, so black pixels clump into dots. Clumped dots give long runs that MMR codes cheaply and
// survive a fax printer; dispersed (Bayer) or error-diffused dots give short runs and pages many times
// larger. The cell is 8 pixels wide (about 25 lines per inch at 204 dpi) and as tall as 8 pixels are wide,
// measured in inches, so dots stay round at every vertical resolution.
class DotScreen {
public:
    explicit DotScreen(Resolution resolution);
    // Black when the pixel is darker than the cell's threshold at (x, y).
    bool Black(int x, int y, std::uint8_t gray) const {
        return gray < thresholds_[static_cast<std::size_t>((y % height_) * width_ + (x % width_))];
    }
    int Height() const { return height_; }
    // The thresholds of row `y`, repeated across `width` pixels: lets callers compare whole rows.
    void RowThresholds(int y, int width, std::vector<std::uint8_t>& out) const;

private:
    int width_;
    int height_;
    std::vector<std::uint8_t> thresholds_;
};

// A page Ghostscript rendered in gray at the fax grid (no scaling needed): each block that is mostly
// mid-gray (a photo or a tinted area) is screened, the rest thresholded at mid-gray, so text next to a
// photo stays as sharp as on a text-only page. Pure black and white pixels come out the same either way.
BilevelPage BinarizeMixedPage(const GrayImage& gray, Resolution resolution);

}  // namespace faxd::render
