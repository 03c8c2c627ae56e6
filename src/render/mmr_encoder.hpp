// T.6 (MMR, "Group 4") coding of bilevel pages, written for speed: rows are scanned a 64-bit word at a time
// for colour changes and coded from the change positions, so a text page codes in a fraction of the time
// libtiff's pixel-by-pixel coder takes (bench/render). Internal to render/.
#pragma once

#include <cstdint>
#include <vector>

#include "render/fax_page.hpp"

namespace faxd::render {

// The whole page as one T.6 strip, ending with EOFB (T.6 §2.4) and padded to a byte; bits are stored most
// significant first (TIFF FillOrder 1).
std::vector<std::uint8_t> EncodeMmr(const BilevelPage& page);

// Positions where the colour changes in a row of `width` pixels (1 = black, MSB first), starting from an
// imaginary white pixel before the row: the first entry is where black begins. Appended to `changes`
// (cleared first). Exposed for tests.
void FindChanges(const std::uint8_t* row, int width, std::vector<int>& changes);

}  // namespace faxd::render
