#include "sip/rtp.hpp"

namespace faxd::sip {

base::Result<RtpPacketView> ParseRtp(std::span<const std::uint8_t> p) {
    using base::ErrorCode;
    if (p.size() < 12) return base::MakeError(ErrorCode::kMalformed, "RTP packet shorter than its 12-byte header");
    if ((p[0] >> 6) != 2) return base::MakeError(ErrorCode::kMalformed, "RTP version is not 2");
    const bool padding = p[0] & 0x20;
    const bool extension = p[0] & 0x10;
    const std::size_t csrc_count = p[0] & 0x0F;
    RtpPacketView view;
    view.header.marker = p[1] & 0x80;
    view.header.payload_type = p[1] & 0x7F;
    view.header.sequence = static_cast<std::uint16_t>(p[2] << 8 | p[3]);
    view.header.timestamp = static_cast<std::uint32_t>(p[4]) << 24 | static_cast<std::uint32_t>(p[5]) << 16 |
                            static_cast<std::uint32_t>(p[6]) << 8 | p[7];
    view.header.ssrc = static_cast<std::uint32_t>(p[8]) << 24 | static_cast<std::uint32_t>(p[9]) << 16 |
                       static_cast<std::uint32_t>(p[10]) << 8 | p[11];
    std::size_t offset = 12 + 4 * csrc_count;
    if (offset > p.size()) return base::MakeError(ErrorCode::kMalformed, "RTP CSRC list runs past the packet");
    if (extension) {  // RFC 3550 §5.3.1: 16-bit profile, 16-bit length in 32-bit words
        if (offset + 4 > p.size()) return base::MakeError(ErrorCode::kMalformed, "RTP extension header truncated");
        const std::size_t words = static_cast<std::size_t>(p[offset + 2] << 8 | p[offset + 3]);
        offset += 4 + 4 * words;
        if (offset > p.size()) return base::MakeError(ErrorCode::kMalformed, "RTP extension runs past the packet");
    }
    std::size_t end = p.size();
    if (padding) {
        const std::size_t pad = p[p.size() - 1];
        if (pad == 0 || pad > end - offset) return base::MakeError(ErrorCode::kMalformed, "RTP padding is invalid");
        end -= pad;
    }
    view.payload = p.subspan(offset, end - offset);
    return view;
}

void BuildRtp(const RtpHeader& h, std::span<const std::uint8_t> payload, std::vector<std::uint8_t>& out) {
    out.resize(12 + payload.size());
    out[0] = 0x80;
    out[1] = static_cast<std::uint8_t>((h.marker ? 0x80 : 0) | (h.payload_type & 0x7F));
    out[2] = static_cast<std::uint8_t>(h.sequence >> 8);
    out[3] = static_cast<std::uint8_t>(h.sequence);
    for (int i = 0; i < 4; ++i) {
        out[4 + i] = static_cast<std::uint8_t>(h.timestamp >> (24 - 8 * i));
        out[8 + i] = static_cast<std::uint8_t>(h.ssrc >> (24 - 8 * i));
    }
    std::copy(payload.begin(), payload.end(), out.begin() + 12);
}

}  // namespace faxd::sip
