// Checks a TIFF before a call is placed, so a bad document fails at once with a clear reason instead of
// after dialling (spandsp would only report "TIFF/F format is not compatible" in phase B).
#pragma once

#include <filesystem>

#include "base/result.hpp"

namespace faxd::t30 {

// Returns the number of pages. Every page must be bilevel, 1728, 2048 or 2432 pixels wide (T.4 §2.2) with a
// resolution spandsp can send.
base::Result<int> CheckFaxTiff(const std::filesystem::path& path);

}  // namespace faxd::t30
