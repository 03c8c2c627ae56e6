#include "t30/g711.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <vector>

namespace faxd::t30 {
namespace {

class G711Test : public ::testing::TestWithParam<G711Law> {};

TEST_P(G711Test, RoundTripStaysWithinQuantisationStep) {
    std::vector<std::int16_t> in;
    for (int i = -32768; i <= 32767; i += 7) in.push_back(static_cast<std::int16_t>(i));
    std::vector<std::uint8_t> wire(in.size());
    std::vector<std::int16_t> out(in.size());
    G711Encode(GetParam(), in, wire);
    G711Decode(GetParam(), wire, out);
    for (std::size_t i = 0; i < in.size(); ++i) {
        const int error = std::abs(in[i] - out[i]);
        // G.711 is logarithmic: the step grows with the magnitude, up to 1/16 of it (plus the smallest steps).
        EXPECT_LE(error, std::abs(in[i]) / 16 + 16) << "sample " << in[i];
    }
}

TEST_P(G711Test, EncodingIsStableAfterOneRoundTrip) {
    // Codewords decode to values that re-encode to the same codeword: tandem G.711 links do not drift.
    std::vector<std::uint8_t> codes(256);
    for (int i = 0; i < 256; ++i) codes[i] = static_cast<std::uint8_t>(i);
    std::vector<std::int16_t> linear(256);
    std::vector<std::uint8_t> again(256);
    G711Decode(GetParam(), codes, linear);
    G711Encode(GetParam(), linear, again);
    for (int i = 0; i < 256; ++i) {
        std::vector<std::int16_t> twice(1);
        G711Decode(GetParam(), std::span<const std::uint8_t>(&again[i], 1), twice);
        EXPECT_EQ(twice[0], linear[i]) << "code " << i;
    }
}

INSTANTIATE_TEST_SUITE_P(Laws, G711Test, ::testing::Values(G711Law::kMuLaw, G711Law::kALaw));

TEST(G711Test, KnownCodewords) {
    // µ-law 0xFF and A-law 0xD5 are the codewords of silence (G.711 tables 2a/1a).
    std::vector<std::int16_t> zero{0};
    std::vector<std::uint8_t> code(1);
    G711Encode(G711Law::kMuLaw, zero, code);
    EXPECT_EQ(code[0], 0xFF);
    G711Encode(G711Law::kALaw, zero, code);
    EXPECT_EQ(code[0], 0xD5);
}

}  // namespace
}  // namespace faxd::t30
