// Netpbm raster files (PBM "P4", PGM "P5"), the uncompressed pages Ghostscript and GraphicsMagick hand us.
// Internal to render/.
#pragma once

#include <cstdint>
#include <filesystem>

#include "base/result.hpp"
#include "render/fax_page.hpp"

namespace faxd::render {

// 8-bit gray ("P5", maxval 255). kLimitExceeded beyond max_pixels, kMalformed for anything else odd.
base::Result<GrayImage> ReadPgm(const std::filesystem::path& path, std::uint64_t max_pixels);
// Bilevel ("P4"): 1 = black, rows padded to whole bytes, exactly BilevelPage's layout.
base::Result<BilevelPage> ReadPbm(const std::filesystem::path& path, std::uint64_t max_pixels);

}  // namespace faxd::render
