// A small preview of a received fax for mails and the web inbox.
#pragma once

#include <filesystem>

#include "base/result.hpp"

namespace faxd::render {

// Page 1 of `tiff` as an 8-bit grayscale PNG at most `max_width` pixels wide (1..4096; never enlarged),
// area-averaged so thin strokes turn gray instead of vanishing, with the page's physical aspect ratio (a
// standard-resolution page has half as many rows per inch as columns). Written atomically.
base::Result<void> WriteThumbnailPng(const std::filesystem::path& tiff, const std::filesystem::path& png,
                                     int max_width = 200);

}  // namespace faxd::render
