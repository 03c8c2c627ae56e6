#include "render/mmr_encoder.hpp"

#include <algorithm>
#include <bit>
#include <cstring>

namespace faxd::render {
namespace {

struct Code {
    std::uint16_t bits;
    std::uint8_t length;
};

// T.4 Tables 2 and 3 (terminating codes for runs 0-63, make-up codes for multiples of 64 up to 1728) and the
// extended make-up codes 1792-2560 shared by both colours. Index n of a make-up table is the run 64 * (n+1);
// of the extended table, 1792 + 64 * n.
constexpr Code kWhiteTerminating[] = {
    {0x35, 8}, {0x7, 6},  {0x7, 4},  {0x8, 4},  {0xb, 4},  {0xc, 4},  {0xe, 4},  {0xf, 4},
    {0x13, 5}, {0x14, 5}, {0x7, 5},  {0x8, 5},  {0x8, 6},  {0x3, 6},  {0x34, 6}, {0x35, 6},
    {0x2a, 6}, {0x2b, 6}, {0x27, 7}, {0xc, 7},  {0x8, 7},  {0x17, 7}, {0x3, 7},  {0x4, 7},
    {0x28, 7}, {0x2b, 7}, {0x13, 7}, {0x24, 7}, {0x18, 7}, {0x2, 8},  {0x3, 8},  {0x1a, 8},
    {0x1b, 8}, {0x12, 8}, {0x13, 8}, {0x14, 8}, {0x15, 8}, {0x16, 8}, {0x17, 8}, {0x28, 8},
    {0x29, 8}, {0x2a, 8}, {0x2b, 8}, {0x2c, 8}, {0x2d, 8}, {0x4, 8},  {0x5, 8},  {0xa, 8},
    {0xb, 8},  {0x52, 8}, {0x53, 8}, {0x54, 8}, {0x55, 8}, {0x24, 8}, {0x25, 8}, {0x58, 8},
    {0x59, 8}, {0x5a, 8}, {0x5b, 8}, {0x4a, 8}, {0x4b, 8}, {0x32, 8}, {0x33, 8}, {0x34, 8}};
constexpr Code kWhiteMakeup[] = {{0x1b, 5}, {0x12, 5}, {0x17, 6}, {0x37, 7}, {0x36, 8}, {0x37, 8}, {0x64, 8},
                                 {0x65, 8}, {0x68, 8}, {0x67, 8}, {0xcc, 9}, {0xcd, 9}, {0xd2, 9}, {0xd3, 9},
                                 {0xd4, 9}, {0xd5, 9}, {0xd6, 9}, {0xd7, 9}, {0xd8, 9}, {0xd9, 9}, {0xda, 9},
                                 {0xdb, 9}, {0x98, 9}, {0x99, 9}, {0x9a, 9}, {0x18, 6}, {0x9b, 9}};
constexpr Code kBlackTerminating[] = {
    {0x37, 10}, {0x2, 3},   {0x3, 2},   {0x2, 2},   {0x3, 3},   {0x3, 4},   {0x2, 4},   {0x3, 5},
    {0x5, 6},   {0x4, 6},   {0x4, 7},   {0x5, 7},   {0x7, 7},   {0x4, 8},   {0x7, 8},   {0x18, 9},
    {0x17, 10}, {0x18, 10}, {0x8, 10},  {0x67, 11}, {0x68, 11}, {0x6c, 11}, {0x37, 11}, {0x28, 11},
    {0x17, 11}, {0x18, 11}, {0xca, 12}, {0xcb, 12}, {0xcc, 12}, {0xcd, 12}, {0x68, 12}, {0x69, 12},
    {0x6a, 12}, {0x6b, 12}, {0xd2, 12}, {0xd3, 12}, {0xd4, 12}, {0xd5, 12}, {0xd6, 12}, {0xd7, 12},
    {0x6c, 12}, {0x6d, 12}, {0xda, 12}, {0xdb, 12}, {0x54, 12}, {0x55, 12}, {0x56, 12}, {0x57, 12},
    {0x64, 12}, {0x65, 12}, {0x52, 12}, {0x53, 12}, {0x24, 12}, {0x37, 12}, {0x38, 12}, {0x27, 12},
    {0x28, 12}, {0x58, 12}, {0x59, 12}, {0x2b, 12}, {0x2c, 12}, {0x5a, 12}, {0x66, 12}, {0x67, 12}};
constexpr Code kBlackMakeup[] = {{0xf, 10},  {0xc8, 12}, {0xc9, 12}, {0x5b, 12}, {0x33, 12}, {0x34, 12},
                                 {0x35, 12}, {0x6c, 13}, {0x6d, 13}, {0x4a, 13}, {0x4b, 13}, {0x4c, 13},
                                 {0x4d, 13}, {0x72, 13}, {0x73, 13}, {0x74, 13}, {0x75, 13}, {0x76, 13},
                                 {0x77, 13}, {0x52, 13}, {0x53, 13}, {0x54, 13}, {0x55, 13}, {0x5a, 13},
                                 {0x5b, 13}, {0x64, 13}, {0x65, 13}};
constexpr Code kExtendedMakeup[] = {{0x8, 11},  {0xc, 11},  {0xd, 11},  {0x12, 12}, {0x13, 12},
                                    {0x14, 12}, {0x15, 12}, {0x16, 12}, {0x17, 12}, {0x1c, 12},
                                    {0x1d, 12}, {0x1e, 12}, {0x1f, 12}};

// T.4 Table 4 / T.6 Table 1: two-dimensional mode codes.
constexpr Code kPass{0b0001, 4};
constexpr Code kHorizontal{0b001, 3};
// Vertical modes by a1 - b1 + 3: VL3, VL2, VL1, V0, VR1, VR2, VR3.
constexpr Code kVertical[] = {{0b0000010, 7}, {0b000010, 6}, {0b010, 3},    {0b1, 1},
                              {0b011, 3},     {0b000011, 6}, {0b0000011, 7}};
constexpr Code kEol{0b000000000001, 12};

class BitWriter {
public:
    explicit BitWriter(std::vector<std::uint8_t>& out) : out_(out) {}
    void Put(Code code) {
        pending_ = (pending_ << code.length) | code.bits;
        count_ += code.length;
        if (count_ >= 32) {
            count_ -= 32;
            const auto word = static_cast<std::uint32_t>(pending_ >> count_);
            const std::uint8_t bytes[4] = {
                static_cast<std::uint8_t>(word >> 24), static_cast<std::uint8_t>(word >> 16),
                static_cast<std::uint8_t>(word >> 8), static_cast<std::uint8_t>(word)};
            out_.insert(out_.end(), bytes, bytes + 4);
        }
    }
    void Flush() {
        while (count_ >= 8) {
            count_ -= 8;
            out_.push_back(static_cast<std::uint8_t>(pending_ >> count_));
        }
        if (count_ > 0) out_.push_back(static_cast<std::uint8_t>(pending_ << (8 - count_)));
        count_ = 0;
    }

private:
    std::vector<std::uint8_t>& out_;
    std::uint64_t pending_ = 0;
    int count_ = 0;
};

// A run: extended make-ups of 2560 while longer, then one make-up (64-multiple) and a terminating code.
void PutRun(BitWriter& writer, int run, bool black) {
    const Code* terminating = black ? kBlackTerminating : kWhiteTerminating;
    const Code* makeup = black ? kBlackMakeup : kWhiteMakeup;
    while (run > 2560) {
        writer.Put(kExtendedMakeup[std::size(kExtendedMakeup) - 1]);
        run -= 2560;
    }
    if (run >= 64) {
        const int multiple = run / 64;
        writer.Put(multiple <= 27 ? makeup[multiple - 1] : kExtendedMakeup[multiple - 28]);
        run -= multiple * 64;
    }
    writer.Put(terminating[run]);
}

}  // namespace

void FindChanges(const std::uint8_t* row, int width, std::vector<int>& changes) {
    changes.clear();
    const std::size_t row_bytes = static_cast<std::size_t>(width + 7) / 8;
    // Whole 64-bit words, most significant bit first: a change is a bit that differs from the one before
    // it (the first pixel's predecessor is white), found with one XOR per word and one count per change.
    std::uint64_t previous_last = 0;
    for (std::size_t byte = 0; byte < row_bytes; byte += 8) {
        std::uint8_t buffer[8] = {};
        std::memcpy(buffer, row + byte, std::min<std::size_t>(8, row_bytes - byte));
        std::uint64_t word = 0;
        std::memcpy(&word, buffer, 8);
        if constexpr (std::endian::native == std::endian::little) word = __builtin_bswap64(word);
        const int base = static_cast<int>(byte * 8);
        if (width - base < 64) word &= ~(~std::uint64_t{0} >> (width - base));  // padding bits are white
        std::uint64_t flips = word ^ ((word >> 1) | (previous_last << 63));
        previous_last = word & 1;
        while (flips != 0) {
            const int offset = std::countl_zero(flips);
            changes.push_back(base + offset);
            flips &= ~(std::uint64_t{1} << (63 - offset));
        }
    }
    // A row ending black changes back to white after its last pixel (padding or the next word): not a change.
    while (!changes.empty() && changes.back() >= width) changes.pop_back();
}

std::vector<std::uint8_t> EncodeMmr(const BilevelPage& page) {
    std::vector<std::uint8_t> out;
    out.reserve(page.Stride() * static_cast<std::size_t>(page.height) / 8 + 64);
    BitWriter writer(out);
    const int width = page.width;
    // Change positions of the reference and coding lines, each ending in sentinels at `width` so b1, b2 and
    // a2 always exist. The first reference line is all white (T.6 §2.2.1).
    std::vector<int> reference{width, width}, coding;
    for (int y = 0; y < page.height; ++y) {
        FindChanges(&page.bits[static_cast<std::size_t>(y) * page.Stride()], width, coding);
        coding.push_back(width);
        coding.push_back(width);
        int a0 = -1;
        bool black = false;  // colour of the run starting at a0
        std::size_t a_index = 0, b_index = 0;
        while (a0 < width) {
            // a1: the next change on the coding line after a0.
            while (coding[a_index] <= a0 && coding[a_index] < width) ++a_index;
            const int a1 = coding[a_index];
            // b1: the next change on the reference line after a0 to the colour opposite a0's. Changes at even
            // indices turn black, at odd ones white. After a vertical-left step the new b1 can be the change
            // just before the old one, never earlier (that one lies at or before the old a0).
            if (b_index > 0) --b_index;
            while (reference[b_index] < width && (reference[b_index] <= a0 || (b_index % 2 == 0) == black)) {
                ++b_index;
            }
            const int b1 = reference[b_index];
            const int b2 = reference[std::min(b_index + 1, reference.size() - 1)];
            if (b2 < a1) {
                writer.Put(kPass);
                a0 = b2;
            } else if (a1 - b1 >= -3 && a1 - b1 <= 3) {
                writer.Put(kVertical[a1 - b1 + 3]);
                a0 = a1;
                black = !black;
            } else {
                const int a2 = coding[std::min(a_index + 1, coding.size() - 1)];
                writer.Put(kHorizontal);
                PutRun(writer, a1 - std::max(a0, 0), black);
                PutRun(writer, a2 - a1, !black);
                a0 = a2;
            }
        }
        std::swap(reference, coding);
    }
    writer.Put(kEol);
    writer.Put(kEol);
    writer.Flush();
    return out;
}

}  // namespace faxd::render
