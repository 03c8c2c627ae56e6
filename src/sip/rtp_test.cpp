#include "sip/rtp.hpp"

#include <gtest/gtest.h>

namespace faxd::sip {
namespace {

TEST(RtpTest, BuildsAndParsesRoundTrip) {
    RtpHeader header{true, kPayloadPcma, 0xBEEF, 0x01020304, 0xCAFEBABE};
    const std::vector<std::uint8_t> payload(160, 0xD5);
    std::vector<std::uint8_t> packet;
    BuildRtp(header, payload, packet);
    ASSERT_EQ(packet.size(), 172u);
    EXPECT_EQ(packet[0], 0x80);
    EXPECT_EQ(packet[1], 0x88);
    auto view = ParseRtp(packet);
    ASSERT_TRUE(view) << view.error().ToString();
    EXPECT_TRUE(view->header.marker);
    EXPECT_EQ(view->header.payload_type, kPayloadPcma);
    EXPECT_EQ(view->header.sequence, 0xBEEF);
    EXPECT_EQ(view->header.timestamp, 0x01020304u);
    EXPECT_EQ(view->header.ssrc, 0xCAFEBABEu);
    EXPECT_EQ(view->payload.size(), 160u);
}

TEST(RtpTest, SkipsCsrcsExtensionAndPadding) {
    // V=2 P=1 X=1 CC=1, PT 0; one CSRC; extension of 1 word; 4 payload bytes; 2 padding bytes.
    const std::vector<std::uint8_t> packet = {0xB1, 0x00, 0, 1, 0, 0, 0, 160, 0, 0, 0, 7,   // header
                                              0, 0, 0, 9,                                   // CSRC
                                              0xBE, 0xDE, 0, 1, 1, 2, 3, 4,                 // extension
                                              0xAA, 0xBB, 0xCC, 0xDD,                       // payload
                                              0x00, 0x02};                                  // padding
    auto view = ParseRtp(packet);
    ASSERT_TRUE(view) << view.error().ToString();
    ASSERT_EQ(view->payload.size(), 4u);
    EXPECT_EQ(view->payload[0], 0xAA);
    EXPECT_EQ(view->payload[3], 0xDD);
}

TEST(RtpTest, RejectsMalformedPackets) {
    const struct {
        std::vector<std::uint8_t> bytes;
        const char* why;
    } cases[] = {
        {{0x80, 0, 0}, "shorter"},
        {{0x40, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, "version"},
        {{0x8F, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, "CSRC"},
        {{0x90, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xBE, 0xDE}, "extension header"},
        {{0x90, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xBE, 0xDE, 0, 9}, "extension runs"},
        {{0xA0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0}, "padding"},
        {{0xA0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 9}, "padding"},
    };
    for (const auto& c : cases) {
        auto view = ParseRtp(c.bytes);
        ASSERT_FALSE(view) << c.why;
        EXPECT_NE(view.error().message.find(c.why), std::string::npos) << view.error().message;
    }
}

}  // namespace
}  // namespace faxd::sip
