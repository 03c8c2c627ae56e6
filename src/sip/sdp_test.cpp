// SDP parser and writer tests: real peers' bodies field by field, round trips, the bounds, and malformed
// input with the error it must give. T.38 attributes and offer/answer are in sdp_t38_test.cpp.
#include "sip/sdp.hpp"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "sip/sdp_test_support.hpp"

namespace faxd::sip {
namespace {

using namespace sdp_test;

// ---- real peers, field by field

// Asterisk 18 (chan_pjsip) initial INVITE offering G.711 and RFC 4733 events.
constexpr std::string_view kAsteriskAudioOffer =
    "v=0\r\n"
    "o=- 1876424512 1876424512 IN IP4 198.51.100.10\r\n"
    "s=Asterisk\r\n"
    "c=IN IP4 198.51.100.10\r\n"
    "t=0 0\r\n"
    "m=audio 18062 RTP/AVP 0 8 101\r\n"
    "a=rtpmap:0 PCMU/8000\r\n"
    "a=rtpmap:8 PCMA/8000\r\n"
    "a=rtpmap:101 telephone-event/8000\r\n"
    "a=fmtp:101 0-16\r\n"
    "a=ptime:20\r\n"
    "a=maxptime:150\r\n"
    "a=sendrecv\r\n";

TEST(SdpRealPeers, AsteriskAudioOffer) {
    const auto sdp = MustParse(kAsteriskAudioOffer);
    EXPECT_EQ(sdp.origin_user, "-");
    EXPECT_EQ(sdp.session_id, 1876424512u);
    EXPECT_EQ(sdp.session_version, 1876424512u);
    EXPECT_EQ(sdp.origin_address, "198.51.100.10");
    EXPECT_EQ(sdp.session_name, "Asterisk");
    EXPECT_EQ(sdp.connection_address, "198.51.100.10");
    EXPECT_TRUE(sdp.other_attributes.empty());
    ASSERT_EQ(sdp.media.size(), 1u);
    const auto& audio = sdp.media[0];
    EXPECT_EQ(audio.media, "audio");
    EXPECT_EQ(audio.port, 18062);
    EXPECT_EQ(audio.protocol, "RTP/AVP");
    EXPECT_EQ(audio.formats, (std::vector<std::string>{"0", "8", "101"}));
    EXPECT_EQ(audio.connection_address, "");
    EXPECT_EQ(MediaAddress(sdp, audio), "198.51.100.10");
    EXPECT_EQ(
        audio.rtp_maps,
        (std::vector<RtpMap>{{0, "PCMU", 8000, 1}, {8, "PCMA", 8000, 1}, {101, "telephone-event", 8000, 1}}));
    EXPECT_EQ(audio.direction, MediaDirection::kSendRecv);
    EXPECT_EQ(audio.ptime, 20);
    EXPECT_FALSE(audio.t38);
    EXPECT_EQ(audio.other_attributes,
              (std::vector<std::pair<std::string, std::string>>{{"fmtp", "101 0-16"}, {"maxptime", "150"}}));
}

TEST(SdpRealPeers, FreeSwitchT38ReInvite) {
    const auto sdp = MustParse(kFreeSwitchT38ReInvite);
    EXPECT_EQ(sdp.origin_user, "FreeSWITCH");
    EXPECT_EQ(sdp.session_id, 1718090212u);
    EXPECT_EQ(sdp.session_version, 1718090214u);
    EXPECT_EQ(sdp.session_name, "FreeSWITCH");
    ASSERT_EQ(sdp.media.size(), 2u);
    const auto& audio = sdp.media[0];
    EXPECT_EQ(audio.media, "audio");
    EXPECT_EQ(audio.port, 0);  // rejected, but kept so an answer can mirror the m= lines (RFC 3264 §6)
    EXPECT_EQ(audio.formats, std::vector<std::string>{"19"});
    EXPECT_FALSE(audio.t38);
    const auto& image = sdp.media[1];
    EXPECT_EQ(image.media, "image");
    EXPECT_EQ(image.port, 4002);
    EXPECT_EQ(image.protocol, "udptl");
    EXPECT_EQ(image.formats, std::vector<std::string>{"t38"});
    EXPECT_EQ(MediaAddress(sdp, image), "203.0.113.5");
    EXPECT_TRUE(image.other_attributes.empty());
    ASSERT_TRUE(image.t38);
    T38Params expected;
    expected.version = 0;
    expected.max_bit_rate = 14400;
    expected.fill_bit_removal = true;
    expected.rate_management = T38RateManagement::kTransferredTcf;
    expected.max_buffer = 2000;
    expected.max_datagram = 400;
    expected.error_correction = T38ErrorCorrection::kRedundancy;
    expected.vendor_info = "0 0 0";
    EXPECT_EQ(*image.t38, expected);
}

// Cisco CUBE style: explicit ":0" booleans, large datagram, attributes in Cisco's order, session name blank.
TEST(SdpRealPeers, CiscoT38) {
    const auto sdp = MustParse(Join(
        {"v=0", "o=CiscoSystemsSIP-GW-UserAgent 2511 6788 IN IP4 192.0.2.77", "s=SIP Call",
         "c=IN IP4 192.0.2.77", "t=0 0", "m=image 17606 udptl t38", "c=IN IP4 192.0.2.78",
         "a=T38FaxVersion:0", "a=T38MaxBitRate:14400", "a=T38FaxFillBitRemoval:0", "a=T38FaxTranscodingMMR:0",
         "a=T38FaxTranscodingJBIG:0", "a=T38FaxRateManagement:transferredTCF", "a=T38FaxMaxBuffer:200",
         "a=T38FaxMaxDatagram:1400", "a=T38FaxUdpEC:t38UDPRedundancy"}));
    ASSERT_EQ(sdp.media.size(), 1u);
    EXPECT_EQ(sdp.session_name, "SIP Call");
    EXPECT_EQ(MediaAddress(sdp, sdp.media[0]), "192.0.2.78");
    ASSERT_TRUE(sdp.media[0].t38);
    const auto& t38 = *sdp.media[0].t38;
    EXPECT_FALSE(t38.fill_bit_removal);
    EXPECT_FALSE(t38.transcoding_mmr);
    EXPECT_FALSE(t38.transcoding_jbig);
    EXPECT_EQ(t38.max_buffer, 200);
    EXPECT_EQ(t38.max_datagram, 1400);
    EXPECT_EQ(EffectiveFarMaxDatagram(t38), 1400u);
    EXPECT_EQ(t38.error_correction, T38ErrorCorrection::kRedundancy);
}

// ---- writer

TEST(SdpFormat, WritesBooleansBareAndNoEcAsAbsent) {
    SessionDescription sdp;
    sdp.origin_address = "2001:db8::1";
    MediaDescription image;
    image.media = "image";
    image.port = 5000;
    image.protocol = "udptl";
    image.formats = {"t38"};
    image.connection_address = "2001:db8::2";
    T38Params t38;
    t38.version = 3;
    t38.fill_bit_removal = true;
    t38.transcoding_mmr = true;
    t38.transcoding_jbig = true;
    t38.error_correction = T38ErrorCorrection::kNone;
    t38.vendor_info = "faxd 1";
    image.t38 = t38;
    image.direction = MediaDirection::kSendOnly;
    sdp.media.push_back(image);
    EXPECT_EQ(FormatSdp(sdp),
              "v=0\r\n"
              "o=- 0 0 IN IP6 2001:db8::1\r\n"
              "s=-\r\n"
              "t=0 0\r\n"
              "m=image 5000 udptl t38\r\n"
              "c=IN IP6 2001:db8::2\r\n"
              "a=T38FaxVersion:3\r\n"
              "a=T38MaxBitRate:14400\r\n"
              "a=T38FaxFillBitRemoval\r\n"
              "a=T38FaxTranscodingMMR\r\n"
              "a=T38FaxTranscodingJBIG\r\n"
              "a=T38FaxRateManagement:transferredTCF\r\n"
              "a=T38VendorInfo:faxd 1\r\n"
              "a=sendonly\r\n");
    auto reparsed = ParseSdp(FormatSdp(sdp));
    ASSERT_TRUE(reparsed) << reparsed.error().ToString();
    EXPECT_EQ(*reparsed, sdp);
}

TEST(SdpFormat, WritesAudioWithRtpMapsPtimeAndDirection) {
    SessionDescription sdp;
    sdp.origin_user = "faxd";
    sdp.session_id = 7;
    sdp.session_version = 8;
    sdp.origin_address = "192.0.2.9";
    sdp.connection_address = "192.0.2.9";
    MediaDescription audio;
    audio.media = "audio";
    audio.port = 30000;
    audio.protocol = "RTP/AVP";
    audio.formats = {"8", "0", "101"};
    audio.rtp_maps = {{8, "PCMA", 8000, 1}, {0, "PCMU", 8000, 1}, {101, "telephone-event", 8000, 1}};
    audio.ptime = 20;
    audio.other_attributes = {{"fmtp", "101 0-15"}};
    audio.direction = MediaDirection::kInactive;
    sdp.media.push_back(audio);
    EXPECT_EQ(FormatSdp(sdp),
              "v=0\r\n"
              "o=faxd 7 8 IN IP4 192.0.2.9\r\n"
              "s=-\r\n"
              "c=IN IP4 192.0.2.9\r\n"
              "t=0 0\r\n"
              "m=audio 30000 RTP/AVP 8 0 101\r\n"
              "a=rtpmap:8 PCMA/8000\r\n"
              "a=rtpmap:0 PCMU/8000\r\n"
              "a=rtpmap:101 telephone-event/8000\r\n"
              "a=ptime:20\r\n"
              "a=fmtp:101 0-15\r\n"
              "a=inactive\r\n");
}

// ---- round trips

class SdpRoundTripTest : public testing::TestWithParam<std::string> {};

TEST_P(SdpRoundTripTest, ParseFormatParseIsStable) {
    const auto first = MustParse(GetParam());
    const std::string text = FormatSdp(first);
    const auto second = MustParse(text);
    EXPECT_EQ(first, second) << text;
    EXPECT_EQ(FormatSdp(second), text);  // the writer's output is a fixed point
}

INSTANTIATE_TEST_SUITE_P(
    Bodies, SdpRoundTripTest,
    testing::Values(
        std::string(kAsteriskAudioOffer), std::string(kFreeSwitchT38ReInvite),
        T38Sdp({"T38FaxVersion:0", "T38FaxMaxRate:9600", "T38FaxFillBitRemoval:0", "T38MaxDatagram:72",
                "T38FaxUdpEC:t38UDPFEC", "T38FaxRateManagement:localTCF", "x-unknown"}),
        Join({"v=0", "o=u 18446744073709551615 0 IN IP6 ::1", "s= ", "a=recvonly", "a=group:BUNDLE 0",
              "m=audio 4000/2 RTP/SAVP 0 00 127", "c=IN IP6 ::2", "a=rtpmap:0 PCMU/8000/1",
              "a=rtpmap:127 L16/16000/2", "a=rtpmap:bad", "a=ptime:0", "a=", "a=:x",
              "a=key:", "m=video 0 RTP/AVP 31", "a=sendonly", "m=application 9 TCP/BFCP *"},
             "\n")));

TEST(SdpParse, LfAndCrlfGiveTheSameDescription) {
    std::string lf(kFreeSwitchT38ReInvite);
    for (std::size_t pos; (pos = lf.find("\r\n")) != std::string::npos;) lf.erase(pos, 1);
    EXPECT_EQ(MustParse(lf), MustParse(kFreeSwitchT38ReInvite));
    // No final line end, and blank lines (some stacks end the body with an extra CRLF).
    std::string ragged = "\r\n" + std::string(kAsteriskAudioOffer) + "\r\n\r\n";
    EXPECT_EQ(MustParse(ragged), MustParse(kAsteriskAudioOffer));
    ragged = std::string(kAsteriskAudioOffer.substr(0, kAsteriskAudioOffer.size() - 2));
    EXPECT_EQ(MustParse(ragged), MustParse(kAsteriskAudioOffer));
}

// ---- session and media level

TEST(SdpParse, SessionAndMediaConnection) {
    const auto sdp =
        MustParse(Join({"v=0", "o=- 1 1 IN IP4 192.0.2.1", "s=-", "c=IN IP4 192.0.2.1", "t=0 0",
                        "m=audio 4000 RTP/AVP 0", "m=image 5000 udptl t38", "c=IN IP4 198.51.100.7"}));
    ASSERT_EQ(sdp.media.size(), 2u);
    EXPECT_EQ(sdp.media[0].connection_address, "");
    EXPECT_EQ(MediaAddress(sdp, sdp.media[0]), "192.0.2.1");
    EXPECT_EQ(sdp.media[1].connection_address, "198.51.100.7");
    EXPECT_EQ(MediaAddress(sdp, sdp.media[1]), "198.51.100.7");
}

TEST(SdpParse, NoConnectionAnywhereGivesEmptyAddress) {
    const auto sdp = MustParse(Join({"v=0", "o=- 1 1 IN IP4 192.0.2.1", "s=-", "m=audio 4000 RTP/AVP 0"}));
    EXPECT_EQ(MediaAddress(sdp, sdp.media[0]), "");
}

TEST(SdpParse, PortZeroIsKept) {
    const auto sdp =
        MustParse(Join({"v=0", "o=- 1 1 IN IP4 192.0.2.1", "s=-", "c=IN IP4 192.0.2.1",
                        "m=audio 0 RTP/AVP 0 8", "m=image 6000 udptl t38", "m=audio 0 RTP/AVP"}));
    ASSERT_EQ(sdp.media.size(), 3u);
    EXPECT_EQ(sdp.media[0].port, 0);
    EXPECT_EQ(sdp.media[0].formats, (std::vector<std::string>{"0", "8"}));
    EXPECT_EQ(sdp.media[1].port, 6000);
    EXPECT_EQ(sdp.media[2].port, 0);
    EXPECT_TRUE(sdp.media[2].formats.empty());
}

TEST(SdpParse, PortBounds) {
    EXPECT_EQ(MustParse(T38Sdp({}, "image 65535 udptl t38")).media[0].port, 65535);
    EXPECT_EQ(MustParse(T38Sdp({}, "image 00080 udptl t38")).media[0].port, 80);
    EXPECT_EQ(MustParse(T38Sdp({}, "image 5000/2 udptl t38")).media[0].port, 5000);
}

TEST(SdpParse, Direction) {
    struct Case {
        std::vector<std::string_view> session;
        std::vector<std::string_view> media;
        MediaDirection expected;
    };
    for (const auto& c :
         {Case{{}, {}, MediaDirection::kSendRecv}, Case{{}, {"a=sendonly"}, MediaDirection::kSendOnly},
          Case{{}, {"a=recvonly"}, MediaDirection::kRecvOnly},
          Case{{}, {"a=inactive"}, MediaDirection::kInactive},
          Case{{}, {"a=inactive", "a=sendrecv"}, MediaDirection::kSendRecv},
          Case{{"a=sendonly"}, {}, MediaDirection::kSendOnly},  // RFC 4566 §6: inherited
          Case{{"a=inactive"}, {"a=recvonly"}, MediaDirection::kRecvOnly},
          Case{{"a=inactive"}, {"a=sendrecv"}, MediaDirection::kSendRecv},
          Case{{}, {"a=SENDONLY"}, MediaDirection::kSendOnly}}) {
        std::string text = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\n";
        for (const auto line : c.session) text += std::string(line) + "\r\n";
        text += "m=audio 4000 RTP/AVP 0\r\n";
        for (const auto line : c.media) text += std::string(line) + "\r\n";
        const auto sdp = MustParse(text);
        ASSERT_EQ(sdp.media.size(), 1u);
        EXPECT_EQ(sdp.media[0].direction, c.expected) << text;
        EXPECT_TRUE(sdp.other_attributes.empty());
        EXPECT_TRUE(sdp.media[0].other_attributes.empty());
    }
}

TEST(SdpParse, UnknownLinesIgnoredUnknownAttributesKept) {
    const auto sdp =
        MustParse(Join({"v=0", "o=- 1 1 IN IP4 192.0.2.1", "s=x", "i=info", "u=http://example.com",
                        "e=a@example.com", "b=AS:64", "t=0 0", "r=7d 1h 0 25h", "z=0 0", "k=clear:x",
                        "y=unknown type", "a=tool:faxd", "m=audio 4000 RTP/AVP 0", "i=media info",
                        "b=TIAS:64000", "a=rtcp:4001", "a=X-vendor", "a=fmtp:0 ann:1"}));
    EXPECT_EQ(sdp.session_name, "x");
    EXPECT_EQ(sdp.other_attributes, (std::vector<std::pair<std::string, std::string>>{{"tool", "faxd"}}));
    EXPECT_EQ(sdp.media[0].other_attributes, (std::vector<std::pair<std::string, std::string>>{
                                                 {"rtcp", "4001"}, {"X-vendor", ""}, {"fmtp", "0 ann:1"}}));
}

TEST(SdpParse, BlankSessionNameReadsAsDash) {
    EXPECT_EQ(MustParse("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns= \r\n").session_name, "-");
    EXPECT_EQ(MustParse("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=\r\n").session_name, "-");
    EXPECT_EQ(MustParse("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\n").session_name, "-");
}

TEST(SdpParse, ExtraBlanksBetweenFields) {
    const auto sdp = MustParse(Join({"v=0", "o=-  1\t2 IN IP4 192.0.2.1", "s=-", "c=IN  IP4   192.0.2.5 ",
                                     "m=audio  4000\tRTP/AVP 0  8 "}));
    EXPECT_EQ(sdp.session_version, 2u);
    EXPECT_EQ(sdp.connection_address, "192.0.2.5");
    EXPECT_EQ(sdp.media[0].formats, (std::vector<std::string>{"0", "8"}));
}

TEST(SdpParse, RtpMaps) {
    const auto sdp =
        MustParse(Join({"v=0", "o=- 1 1 IN IP4 192.0.2.1", "s=-", "m=audio 4000 RTP/AVP 0 8 96 97 98",
                        "a=rtpmap:96 opus/48000/2", "a=rtpmap:97 telephone-event/8000", "a=rtpmap:98 broken",
                        "a=rtpmap:200 X/8000", "a=rtpmap:99 X/0", "a=RTPMAP:98 L16/8000/1"}));
    const auto& audio = sdp.media[0];
    EXPECT_EQ(audio.rtp_maps,
              (std::vector<RtpMap>{
                  {96, "opus", 48000, 2}, {97, "telephone-event", 8000, 1}, {98, "L16", 8000, 1}}));
    EXPECT_TRUE(audio.other_attributes.empty());  // malformed rtpmaps are dropped, not kept
    EXPECT_EQ(FindRtpMap(audio, 96), (RtpMap{96, "opus", 48000, 2}));
    EXPECT_EQ(FindRtpMap(audio, 0), (RtpMap{0, "PCMU", 8000, 1}));  // RFC 3551 static
    EXPECT_EQ(FindRtpMap(audio, 8), (RtpMap{8, "PCMA", 8000, 1}));
    EXPECT_EQ(FindRtpMap(audio, 100), std::nullopt);
}

TEST(SdpParse, RtpMapOverridesStaticTable) {
    const auto sdp = MustParse(
        Join({"v=0", "o=- 1 1 IN IP4 192.0.2.1", "s=-", "m=audio 4000 RTP/AVP 0", "a=rtpmap:0 PCMA/8000"}));
    EXPECT_EQ(FindRtpMap(sdp.media[0], 0), (RtpMap{0, "PCMA", 8000, 1}));
}

TEST(SdpParse, Ptime) {
    struct Case {
        const char* line;
        std::optional<int> expected;
    };
    for (const auto& c : {Case{"a=ptime:20", 20}, Case{"a=ptime:30", 30}, Case{"a=ptime:0", std::nullopt},
                          Case{"a=ptime:20.5", std::nullopt}, Case{"a=ptime:1001", std::nullopt},
                          Case{"a=ptime", std::nullopt}}) {
        const auto sdp =
            MustParse(Join({"v=0", "o=- 1 1 IN IP4 192.0.2.1", "s=-", "m=audio 4000 RTP/AVP 0", c.line}));
        EXPECT_EQ(sdp.media[0].ptime, c.expected) << c.line;
    }
}

TEST(SdpParse, OriginIdsUpToUint64) {
    const auto sdp = MustParse("v=0\r\no=alice 18446744073709551615 0 IN IP4 192.0.2.1\r\n");
    EXPECT_EQ(sdp.origin_user, "alice");
    EXPECT_EQ(sdp.session_id, 18446744073709551615u);
}

// ---- errors

struct BadCase {
    const char* name;
    std::string text;
    ErrorCode code;
    std::string message;  // expected substring
};

class SdpErrorTest : public testing::TestWithParam<BadCase> {};

TEST_P(SdpErrorTest, Rejects) {
    const auto sdp = ParseSdp(GetParam().text);
    ASSERT_FALSE(sdp.has_value()) << FormatSdp(*sdp);
    EXPECT_EQ(sdp.error().code, GetParam().code) << sdp.error().ToString();
    EXPECT_NE(sdp.error().message.find(GetParam().message), std::string::npos) << sdp.error().message;
}

std::string Origin() { return "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\n"; }

std::string Repeat(std::string_view line, std::size_t n) {
    std::string text;
    for (std::size_t i = 0; i < n; ++i) text += line;
    return text;
}

INSTANTIATE_TEST_SUITE_P(
    Malformed, SdpErrorTest,
    testing::Values(
        BadCase{"Empty", "", ErrorCode::kMalformed, "no v=0"},
        BadCase{"OnlyBlankLines", "\r\n\r\n", ErrorCode::kMalformed, "no v=0"},
        BadCase{"NoVersion", "o=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\n", ErrorCode::kMalformed,
                "line 1: SDP must start with a v=0"},
        BadCase{"VersionOne", "v=1\r\no=- 1 1 IN IP4 192.0.2.1\r\n", ErrorCode::kMalformed,
                "unsupported SDP version"},
        BadCase{"NoOrigin", "v=0\r\ns=-\r\nc=IN IP4 192.0.2.1\r\n", ErrorCode::kMalformed, "no o= line"},
        BadCase{"OriginShort", "v=0\r\no=- 1 1 IN IP4\r\n", ErrorCode::kMalformed, "line 2: bad o= line"},
        BadCase{"OriginNonNumericId", "v=0\r\no=- abc 1 IN IP4 192.0.2.1\r\n", ErrorCode::kMalformed,
                "must be numbers"},
        BadCase{"OriginIdOverflow", "v=0\r\no=- 18446744073709551616 1 IN IP4 192.0.2.1\r\n",
                ErrorCode::kMalformed, "must be numbers"},
        BadCase{"OriginBadNetType", "v=0\r\no=- 1 1 ATM NSAP x\r\n", ErrorCode::kMalformed, "bad o= line"},
        BadCase{"LineWithoutEquals", Origin() + "m audio 4000 RTP/AVP 0\r\n", ErrorCode::kMalformed,
                "line 4: \"m audio 4000 RTP/AVP 0\" is not a \"<type>=<value>\" line"},
        BadCase{"LongType", Origin() + "ab=c\r\n", ErrorCode::kMalformed, "is not a \"<type>=<value>\""},
        BadCase{"LeadingSpace", Origin() + " c=IN IP4 192.0.2.1\r\n", ErrorCode::kMalformed,
                "is not a \"<type>=<value>\""},
        BadCase{"MediaTooFewFields", Origin() + "m=audio 4000\r\n", ErrorCode::kMalformed,
                "line 4: bad m= line"},
        BadCase{"PortTooBig", Origin() + "m=audio 70000 RTP/AVP 0\r\n", ErrorCode::kMalformed,
                "port \"70000\" is not a number 0-65535"},
        BadCase{"PortNegative", Origin() + "m=audio -1 RTP/AVP 0\r\n", ErrorCode::kMalformed, "port \"-1\""},
        BadCase{"PortText", Origin() + "m=audio abc RTP/AVP 0\r\n", ErrorCode::kMalformed, "port \"abc\""},
        BadCase{"PortHuge", Origin() + "m=image 99999999999999999999999 udptl t38\r\n", ErrorCode::kMalformed,
                "is not a number 0-65535"},
        BadCase{"PortCountZero", Origin() + "m=audio 4000/0 RTP/AVP 0\r\n", ErrorCode::kMalformed,
                "bad number of ports"},
        BadCase{"PayloadTypeText", Origin() + "m=audio 4000 RTP/AVP 0 PCMA\r\n", ErrorCode::kMalformed,
                "RTP payload type \"PCMA\" is not a number"},
        BadCase{"PayloadTypeTooBig", Origin() + "m=audio 4000 RTP/SAVP 128\r\n", ErrorCode::kMalformed,
                "RTP payload type \"128\""},
        BadCase{"ConnectionNoAddress", Origin() + "c=IN IP4\r\n", ErrorCode::kMalformed,
                "line 4: bad c= line"},
        BadCase{"ConnectionBadAddrType", Origin() + "c=IN IPX 192.0.2.1\r\n", ErrorCode::kMalformed,
                "bad c= line"},
        BadCase{"ConnectionBadNetType", Origin() + "m=audio 4000 RTP/AVP 0\r\nc=TN IP4 192.0.2.1\r\n",
                ErrorCode::kMalformed, "line 5: bad c= line"},
        BadCase{"QuotedPeerTextIsShortAndPrintable",
                Origin() + "m=audio 4\x01" + std::string(100, '9') + " RTP/AVP 0\r\n", ErrorCode::kMalformed,
                "port \"4?99999"},
        BadCase{"LongBadLineQuotedShort", Origin() + std::string(300, 'x') + "\r\n", ErrorCode::kMalformed,
                "line 4: \"" + std::string(60, 'x') + "...\" is not"},
        BadCase{"Nul", Origin() + std::string("s=a\0b\r\n", 7), ErrorCode::kMalformed, "NUL or stray CR"},
        BadCase{"StrayCr", Origin() + "s=a\rb\r\n", ErrorCode::kMalformed, "NUL or stray CR"},
        BadCase{"HugeInput", Origin() + Repeat("b=AS:64\r\n", kMaxSdpBytes / 9), ErrorCode::kLimitExceeded,
                "over the limit of 65536"},
        BadCase{"LongLine", Origin() + "a=x:" + std::string(kMaxSdpLineBytes, 'y') + "\r\n",
                ErrorCode::kLimitExceeded, "line 4: longer than 2048 bytes"},
        BadCase{"TooManyMedia", Origin() + Repeat("m=audio 0 RTP/AVP 0\r\n", kMaxSdpMedia + 1),
                ErrorCode::kLimitExceeded, "line 20: more than 16 m= sections"},
        BadCase{"TooManyMediaAttributes",
                Origin() + "m=audio 4000 RTP/AVP 0\r\n" + Repeat("a=x\r\n", kMaxSdpAttributes + 1),
                ErrorCode::kLimitExceeded, "more than 128 attributes"},
        BadCase{"TooManyRtpMaps",
                Origin() + "m=audio 4000 RTP/AVP 0\r\n" +
                    Repeat("a=rtpmap:0 PCMU/8000\r\n", kMaxSdpAttributes + 1),
                ErrorCode::kLimitExceeded, "more than 128 attributes"},
        BadCase{"TooManySessionAttributes", Origin() + Repeat("a=x\r\n", kMaxSdpAttributes + 1),
                ErrorCode::kLimitExceeded, "more than 128 attributes"}),
    [](const testing::TestParamInfo<BadCase>& info) { return std::string(info.param.name); });

TEST(SdpLimits, AtTheBoundsIsAccepted) {
    // Exactly kMaxSdpBytes.
    std::string text = Origin();
    while (text.size() + 9 <= kMaxSdpBytes) text += "b=AS:64\r\n";
    text += std::string(kMaxSdpBytes - text.size(), '\n');
    ASSERT_EQ(text.size(), kMaxSdpBytes);
    EXPECT_TRUE(ParseSdp(text).has_value());
    // A line of exactly kMaxSdpLineBytes, 16 m= sections, 128 kept attributes in one of them.
    text = Origin() + "a=x:" + std::string(kMaxSdpLineBytes - 4, 'y') + "\r\n" +
           Repeat("m=audio 0 RTP/AVP 0\r\n", kMaxSdpMedia) + Repeat("a=x\r\n", kMaxSdpAttributes - 1) +
           "a=rtpmap:0 PCMU/8000\r\n";
    auto sdp = ParseSdp(text);
    ASSERT_TRUE(sdp.has_value()) << sdp.error().ToString();
    EXPECT_EQ(sdp->media.size(), kMaxSdpMedia);
    EXPECT_EQ(sdp->media.back().other_attributes.size(), kMaxSdpAttributes - 1);
}

TEST(SdpLimits, FoldedAttributesDoNotCount) {
    // Direction, ptime and T.38 attributes fill single fields; many of them store nothing new.
    const auto sdp = MustParse(T38Sdp({}) + Repeat("a=T38FaxVersion:0\r\na=sendrecv\r\na=ptime:20\r\n", 200));
    EXPECT_EQ(sdp.media[0].t38->version, 0);
}

}  // namespace
}  // namespace faxd::sip
