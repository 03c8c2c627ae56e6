// RTP (RFC 3550) packets for G.711 fax audio: just the fixed header, CSRCs, extension and padding rules.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "base/result.hpp"

namespace faxd::sip {

struct RtpHeader {
    bool marker = false;
    std::uint8_t payload_type = 0;
    std::uint16_t sequence = 0;
    std::uint32_t timestamp = 0;
    std::uint32_t ssrc = 0;
};

struct RtpPacketView {
    RtpHeader header;
    std::span<const std::uint8_t> payload;
};

// Validates the version, lengths, CSRC count, extension and padding; the payload view points into `packet`.
base::Result<RtpPacketView> ParseRtp(std::span<const std::uint8_t> packet);

// Writes a 12-byte header followed by `payload` into `out` (resized).
void BuildRtp(const RtpHeader& header, std::span<const std::uint8_t> payload, std::vector<std::uint8_t>& out);

inline constexpr std::uint8_t kPayloadPcmu = 0;  // RFC 3551 table 4
inline constexpr std::uint8_t kPayloadPcma = 8;

}  // namespace faxd::sip
