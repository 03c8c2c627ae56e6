// G.711 µ-law and A-law (ITU-T G.711) between RTP payloads and the 16-bit linear samples the fax modems use.
#pragma once

#include <cstdint>
#include <span>

namespace faxd::t30 {

enum class G711Law { kMuLaw, kALaw };

// `out` must be as long as `in`.
void G711Encode(G711Law law, std::span<const std::int16_t> in, std::span<std::uint8_t> out);
void G711Decode(G711Law law, std::span<const std::uint8_t> in, std::span<std::int16_t> out);

}  // namespace faxd::t30
