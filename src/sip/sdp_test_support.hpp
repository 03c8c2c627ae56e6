// Shared by the SDP tests: building bodies and parsing them with a failure that shows the text.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "sip/sdp.hpp"

namespace faxd::sip::sdp_test {

using base::ErrorCode;

inline std::string Join(std::initializer_list<std::string_view> lines, std::string_view eol = "\r\n") {
    std::string text;
    for (const auto line : lines) {
        text += line;
        text += eol;
    }
    return text;
}

inline constexpr std::string_view kHead =
    "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n";

// A session with one m=image udptl t38 section carrying `attributes` (one a= line each, without "a=").
inline std::string T38Sdp(std::initializer_list<std::string_view> attributes,
                          std::string_view m_line = "image 5000 udptl t38") {
    std::string text(kHead);
    text += "m=" + std::string(m_line) + "\r\n";
    for (const auto attribute : attributes) text += "a=" + std::string(attribute) + "\r\n";
    return text;
}

inline SessionDescription MustParse(std::string_view text) {
    auto sdp = ParseSdp(text);
    EXPECT_TRUE(sdp.has_value()) << (sdp ? "" : sdp.error().ToString()) << "\n" << text;
    return sdp ? *sdp : SessionDescription{};
}

// What a parsed T.38 section holds when the peer sent no attributes at all.
inline T38Params ParsedDefaults() {
    T38Params params;
    params.error_correction = T38ErrorCorrection::kNone;
    return params;
}

inline T38Params ParseT38(std::initializer_list<std::string_view> attributes) {
    const auto sdp = MustParse(T38Sdp(attributes));
    if (sdp.media.size() != 1 || !sdp.media[0].t38) {
        ADD_FAILURE() << "no T.38 media";
        return {};
    }
    return *sdp.media[0].t38;
}

// FreeSWITCH mod_spandsp T.38 re-INVITE with fax_enable_t38_insist: audio rejected with port 0.
inline constexpr std::string_view kFreeSwitchT38ReInvite =
    "v=0\r\n"
    "o=FreeSWITCH 1718090212 1718090214 IN IP4 203.0.113.5\r\n"
    "s=FreeSWITCH\r\n"
    "c=IN IP4 203.0.113.5\r\n"
    "t=0 0\r\n"
    "m=audio 0 RTP/AVP 19\r\n"
    "m=image 4002 udptl t38\r\n"
    "a=T38FaxVersion:0\r\n"
    "a=T38MaxBitRate:14400\r\n"
    "a=T38FaxFillBitRemoval\r\n"
    "a=T38FaxRateManagement:transferredTCF\r\n"
    "a=T38FaxMaxBuffer:2000\r\n"
    "a=T38FaxMaxDatagram:400\r\n"
    "a=T38FaxUdpEC:t38UDPRedundancy\r\n"
    "a=T38VendorInfo:0 0 0\r\n";

}  // namespace faxd::sip::sdp_test
