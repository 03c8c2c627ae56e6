#include "t30/g711.hpp"

#include <array>
#include <cassert>

#include "t30/spandsp.hpp"

namespace faxd::t30 {
namespace {

// Decoding is a table lookup; the tables are built once from spandsp's reference conversions.
struct DecodeTables {
    std::array<std::int16_t, 256> mu{};
    std::array<std::int16_t, 256> a{};
    DecodeTables() {
        for (int i = 0; i < 256; ++i) {
            mu[i] = ulaw_to_linear(static_cast<std::uint8_t>(i));
            a[i] = alaw_to_linear(static_cast<std::uint8_t>(i));
        }
    }
};

const DecodeTables& Tables() {
    static const DecodeTables tables;
    return tables;
}

}  // namespace

void G711Encode(G711Law law, std::span<const std::int16_t> in, std::span<std::uint8_t> out) {
    assert(out.size() >= in.size());
    if (law == G711Law::kMuLaw) {
        for (std::size_t i = 0; i < in.size(); ++i) out[i] = linear_to_ulaw(in[i]);
    } else {
        for (std::size_t i = 0; i < in.size(); ++i) out[i] = linear_to_alaw(in[i]);
    }
}

void G711Decode(G711Law law, std::span<const std::uint8_t> in, std::span<std::int16_t> out) {
    assert(out.size() >= in.size());
    const auto& table = law == G711Law::kMuLaw ? Tables().mu : Tables().a;
    for (std::size_t i = 0; i < in.size(); ++i) out[i] = table[in[i]];
}

}  // namespace faxd::t30
