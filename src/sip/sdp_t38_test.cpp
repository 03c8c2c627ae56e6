// T.38 in SDP: each attribute and interop quirk, T38FaxMaxDatagram sanity, and the offer/answer rules.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "sip/sdp.hpp"
#include "sip/sdp_test_support.hpp"

namespace faxd::sip {
namespace {

using namespace sdp_test;

// ---- T.38 attributes: each quirk

struct T38Case {
    const char* name;
    std::vector<std::string_view> attributes;
    T38Params expected;
};

T38Params With(void (*edit)(T38Params&)) {
    T38Params params = ParsedDefaults();
    edit(params);
    return params;
}

class T38AttributeTest : public testing::TestWithParam<T38Case> {};

TEST_P(T38AttributeTest, Parses) {
    std::string text(kHead);
    text += "m=image 5000 udptl t38\r\n";
    for (const auto attribute : GetParam().attributes) text += "a=" + std::string(attribute) + "\r\n";
    const auto sdp = MustParse(text);
    ASSERT_EQ(sdp.media.size(), 1u);
    ASSERT_TRUE(sdp.media[0].t38);
    EXPECT_EQ(*sdp.media[0].t38, GetParam().expected);
    EXPECT_TRUE(sdp.media[0].other_attributes.empty()) << "T.38 attributes must not be kept as unknown";
}

INSTANTIATE_TEST_SUITE_P(
    Quirks, T38AttributeTest,
    testing::Values(
        T38Case{"NoAttributes", {}, ParsedDefaults()},
        T38Case{"Version2", {"T38FaxVersion:2"}, With([](T38Params& p) { p.version = 2; })},
        T38Case{"VersionAbove3Capped", {"T38FaxVersion:4"}, With([](T38Params& p) { p.version = 3; })},
        T38Case{"VersionHugeCapped", {"T38FaxVersion:99999999999999999999999"}, With([](T38Params& p) {
                    p.version = 3;
                })},
        T38Case{"VersionNegativeIgnored", {"T38FaxVersion:-1"}, ParsedDefaults()},
        T38Case{"VersionTextIgnored", {"T38FaxVersion:two"}, ParsedDefaults()},
        T38Case{"MaxBitRate9600", {"T38MaxBitRate:9600"}, With([](T38Params& p) { p.max_bit_rate = 9600; })},
        T38Case{"AliasFaxMaxRate", {"T38FaxMaxRate:9600"}, With([](T38Params& p) { p.max_bit_rate = 9600; })},
        T38Case{"BitRateV34", {"T38MaxBitRate:33600"}, With([](T38Params& p) { p.max_bit_rate = 33600; })},
        T38Case{"BitRateTooLowIgnored", {"T38MaxBitRate:2399"}, ParsedDefaults()},
        T38Case{"BitRateTooHighIgnored", {"T38MaxBitRate:64000"}, ParsedDefaults()},
        T38Case{"LocalTcf", {"T38FaxRateManagement:localTCF"}, With([](T38Params& p) {
                    p.rate_management = T38RateManagement::kLocalTcf;
                })},
        T38Case{"RateManagementCaseInsensitive", {"T38FaxRateManagement:LOCALtcf"}, With([](T38Params& p) {
                    p.rate_management = T38RateManagement::kLocalTcf;
                })},
        T38Case{"RateManagementUnknownIgnored", {"T38FaxRateManagement:remoteTCF"}, ParsedDefaults()},
        T38Case{"MaxBuffer", {"T38FaxMaxBuffer:2000"}, With([](T38Params& p) { p.max_buffer = 2000; })},
        T38Case{"MaxBufferZeroIgnored", {"T38FaxMaxBuffer:0"}, ParsedDefaults()},
        T38Case{"MaxDatagram", {"T38FaxMaxDatagram:1400"}, With([](T38Params& p) { p.max_datagram = 1400; })},
        T38Case{"AliasMaxDatagram", {"T38MaxDatagram:272"}, With([](T38Params& p) { p.max_datagram = 272; })},
        T38Case{"MaxDatagramTiny", {"T38FaxMaxDatagram:72"}, With([](T38Params& p) { p.max_datagram = 72; })},
        T38Case{"MaxDatagramTooBigIgnored", {"T38FaxMaxDatagram:65536"}, ParsedDefaults()},
        T38Case{"MaxDatagramEmptyIgnored", {"T38FaxMaxDatagram:"}, ParsedDefaults()},
        T38Case{"EcRedundancy", {"T38FaxUdpEC:t38UDPRedundancy"}, With([](T38Params& p) {
                    p.error_correction = T38ErrorCorrection::kRedundancy;
                })},
        T38Case{"EcFec", {"T38FaxUdpEC:t38UDPFEC"}, With([](T38Params& p) {
                    p.error_correction = T38ErrorCorrection::kFec;
                })},
        T38Case{"EcNoEc", {"T38FaxUdpEC:t38UDPRedundancy", "T38FaxUdpEC:t38UDPNoEC"}, ParsedDefaults()},
        T38Case{"EcCaseInsensitive", {"t38faxudpec:T38UDPREDUNDANCY"}, With([](T38Params& p) {
                    p.error_correction = T38ErrorCorrection::kRedundancy;
                })},
        T38Case{"EcUnknownIgnored", {"T38FaxUdpEC:t38UDPParity"}, ParsedDefaults()},
        T38Case{"BareBooleansTrue",
                {"T38FaxFillBitRemoval", "T38FaxTranscodingMMR", "T38FaxTranscodingJBIG"},
                With([](T38Params& p) {
                    p.fill_bit_removal = true;
                    p.transcoding_mmr = true;
                    p.transcoding_jbig = true;
                })},
        T38Case{"OneBooleansTrue",
                {"T38FaxFillBitRemoval:1", "T38FaxTranscodingMMR:1", "T38FaxTranscodingJBIG:1"},
                With([](T38Params& p) {
                    p.fill_bit_removal = true;
                    p.transcoding_mmr = true;
                    p.transcoding_jbig = true;
                })},
        T38Case{"ZeroBooleansFalse",
                {"T38FaxFillBitRemoval:0", "T38FaxTranscodingMMR:0", "T38FaxTranscodingJBIG:0"},
                ParsedDefaults()},
        T38Case{"LaterZeroWins", {"T38FaxFillBitRemoval", "T38FaxFillBitRemoval:0"}, ParsedDefaults()},
        T38Case{"WordBooleans",
                {"T38FaxFillBitRemoval:true", "T38FaxTranscodingMMR:FALSE"},
                With([](T38Params& p) { p.fill_bit_removal = true; })},
        T38Case{"GarbageBooleanIgnored", {"T38FaxFillBitRemoval:yes"}, ParsedDefaults()},
        T38Case{"EmptyValueBooleanTrue", {"T38FaxTranscodingJBIG:"}, With([](T38Params& p) {
                    p.transcoding_jbig = true;
                })},
        T38Case{"VendorInfo", {"T38VendorInfo:0 0 0"}, With([](T38Params& p) { p.vendor_info = "0 0 0"; })},
        T38Case{"NamesCaseInsensitive",
                {"t38faxversion:1", "T38MAXBITRATE:9600", "t38faxmaxdatagram:300"},
                With([](T38Params& p) {
                    p.version = 1;
                    p.max_bit_rate = 9600;
                    p.max_datagram = 300;
                })},
        T38Case{
            "BlanksAroundValues", {"T38FaxVersion: 1 ", "T38FaxMaxBuffer :\t1024"}, With([](T38Params& p) {
                p.version = 1;
                p.max_buffer = 1024;
            })},
        T38Case{"LaterValueWins", {"T38FaxMaxDatagram:200", "T38FaxMaxDatagram:300"}, With([](T38Params& p) {
                    p.max_datagram = 300;
                })},
        T38Case{"InvalidLaterValueKeepsEarlier",
                {"T38FaxMaxDatagram:200", "T38FaxMaxDatagram:0"},
                With([](T38Params& p) { p.max_datagram = 200; })}),
    [](const testing::TestParamInfo<T38Case>& info) { return std::string(info.param.name); });

// 3CX-like: ":0" boolean, alias names for max datagram and max rate.
TEST(SdpT38, ThreeCxAliases) {
    const auto t38 = ParseT38({"T38FaxVersion:0", "T38FaxMaxRate:14400", "T38FaxFillBitRemoval:0",
                               "T38FaxRateManagement:transferredTCF", "T38MaxDatagram:200",
                               "T38FaxUdpEC:t38UDPRedundancy"});
    EXPECT_EQ(t38.max_bit_rate, 14400);
    EXPECT_FALSE(t38.fill_bit_removal);
    EXPECT_EQ(t38.max_datagram, 200);
    EXPECT_EQ(t38.error_correction, T38ErrorCorrection::kRedundancy);
}

TEST(SdpT38, UnknownT38AttributesAreKept) {
    const auto sdp =
        MustParse(T38Sdp({"T38FaxVersion:3", "T38FaxUdpECDepth:1 3", "T38ModemType:t38G3FaxOnly"}));
    ASSERT_TRUE(sdp.media[0].t38);
    EXPECT_EQ(sdp.media[0].t38->version, 3);
    EXPECT_EQ(sdp.media[0].other_attributes,
              (std::vector<std::pair<std::string, std::string>>{{"T38FaxUdpECDepth", "1 3"},
                                                                {"T38ModemType", "t38G3FaxOnly"}}));
}

TEST(SdpT38, ProtocolAndFormatCaseInsensitive) {
    for (const auto m_line : {"image 5000 UDPTL t38", "image 5000 udptl T38", "IMAGE 5000 Udptl t38"}) {
        const auto sdp = MustParse(T38Sdp({"T38FaxVersion:1"}, m_line));
        ASSERT_TRUE(sdp.media[0].t38) << m_line;
        EXPECT_EQ(sdp.media[0].t38->version, 1) << m_line;
    }
}

TEST(SdpT38, OnlyUdptlImageT38GetsParams) {
    for (const auto m_line : {"image 5000 tcptl t38", "audio 5000 RTP/AVP 0", "image 5000 udptl jpeg"}) {
        const auto sdp = MustParse(T38Sdp({"T38FaxVersion:1"}, m_line));
        EXPECT_FALSE(sdp.media[0].t38) << m_line;
        EXPECT_EQ(sdp.media[0].other_attributes,
                  (std::vector<std::pair<std::string, std::string>>{{"T38FaxVersion", "1"}}))
            << m_line;
    }
}

// ---- EffectiveFarMaxDatagram

struct DatagramCase {
    std::optional<int> advertised;
    std::size_t floor;
    std::size_t expected;
};

class EffectiveFarMaxDatagramTest : public testing::TestWithParam<DatagramCase> {};

TEST_P(EffectiveFarMaxDatagramTest, AppliesQuirks) {
    T38Params peer;
    peer.max_datagram = GetParam().advertised;
    EXPECT_EQ(EffectiveFarMaxDatagram(peer, GetParam().floor), GetParam().expected);
}

INSTANTIATE_TEST_SUITE_P(Quirks, EffectiveFarMaxDatagramTest,
                         testing::Values(DatagramCase{std::nullopt, 160, 400},  // absent: Asterisk's 400
                                         DatagramCase{1401, 160, 400},          // above 1400: bogus
                                         DatagramCase{65535, 160, 400}, DatagramCase{1400, 160, 1400},
                                         DatagramCase{400, 160, 400}, DatagramCase{272, 160, 272},
                                         DatagramCase{160, 160, 160}, DatagramCase{159, 160, 160},
                                         DatagramCase{72, 160, 160},  // tiny: the floor
                                         DatagramCase{1, 160, 160}, DatagramCase{72, 0, 72},
                                         DatagramCase{72, 100, 100}, DatagramCase{std::nullopt, 500, 500},
                                         DatagramCase{1200, 500, 1200}));

TEST(SdpT38, EffectiveFarMaxDatagramDefaultFloor) {
    T38Params peer;
    peer.max_datagram = 72;
    EXPECT_EQ(EffectiveFarMaxDatagram(peer), 160u);
    peer.max_datagram.reset();
    EXPECT_EQ(EffectiveFarMaxDatagram(peer), 400u);
}

// ---- AnswerT38

struct EcCase {
    T38ErrorCorrection offered;
    T38ErrorCorrection ours;
    bool allow_fec;
    T38ErrorCorrection expected;
};

class AnswerT38EcTest : public testing::TestWithParam<EcCase> {};

TEST_P(AnswerT38EcTest, ChoosesErrorCorrection) {
    T38Params offer;
    offer.error_correction = GetParam().offered;
    T38Params ours;
    ours.error_correction = GetParam().ours;
    EXPECT_EQ(AnswerT38(offer, ours, GetParam().allow_fec).error_correction, GetParam().expected);
}

constexpr auto kNoEc = T38ErrorCorrection::kNone;
constexpr auto kRed = T38ErrorCorrection::kRedundancy;
constexpr auto kFec = T38ErrorCorrection::kFec;

INSTANTIATE_TEST_SUITE_P(EveryCombination, AnswerT38EcTest,
                         testing::Values(
                             // offered none: always none
                             EcCase{kNoEc, kNoEc, false, kNoEc}, EcCase{kNoEc, kNoEc, true, kNoEc},
                             EcCase{kNoEc, kRed, false, kNoEc}, EcCase{kNoEc, kRed, true, kNoEc},
                             EcCase{kNoEc, kFec, false, kNoEc}, EcCase{kNoEc, kFec, true, kNoEc},
                             // offered redundancy: redundancy if we allow it
                             EcCase{kRed, kNoEc, false, kNoEc}, EcCase{kRed, kNoEc, true, kNoEc},
                             EcCase{kRed, kRed, false, kRed}, EcCase{kRed, kRed, true, kRed},
                             EcCase{kRed, kFec, false, kRed}, EcCase{kRed, kFec, true, kRed},
                             // offered FEC: FEC if allowed, else redundancy if allowed, else none
                             EcCase{kFec, kNoEc, false, kNoEc}, EcCase{kFec, kNoEc, true, kFec},
                             EcCase{kFec, kRed, false, kRed}, EcCase{kFec, kRed, true, kFec},
                             EcCase{kFec, kFec, false, kRed}, EcCase{kFec, kFec, true, kFec}));

TEST(SdpAnswerT38, VersionAndRateAreTheMinimum) {
    struct Case {
        int offer_version, our_version, expected_version;
        int offer_rate, our_rate, expected_rate;
    };
    for (const auto& c : {Case{0, 3, 0, 14400, 14400, 14400}, Case{3, 0, 0, 9600, 14400, 9600},
                          Case{2, 3, 2, 33600, 14400, 14400}, Case{3, 3, 3, 2400, 33600, 2400}}) {
        T38Params offer;
        offer.version = c.offer_version;
        offer.max_bit_rate = c.offer_rate;
        T38Params ours;
        ours.version = c.our_version;
        ours.max_bit_rate = c.our_rate;
        const auto answer = AnswerT38(offer, ours, false);
        EXPECT_EQ(answer.version, c.expected_version);
        EXPECT_EQ(answer.max_bit_rate, c.expected_rate);
    }
}

TEST(SdpAnswerT38, VersionOfferAbove3IsCappedByParserThenAnswered) {
    const auto offer = ParseT38({"T38FaxVersion:7"});
    T38Params ours;
    ours.version = 3;
    EXPECT_EQ(AnswerT38(offer, ours, true).version, 3);
}

TEST(SdpAnswerT38, EchoesRateManagementDeclinesOptionsUsesOurBuffers) {
    T38Params offer;
    offer.rate_management = T38RateManagement::kLocalTcf;
    offer.fill_bit_removal = true;
    offer.transcoding_mmr = true;
    offer.transcoding_jbig = true;
    offer.max_buffer = 200;
    offer.max_datagram = 72;
    offer.vendor_info = "Cisco";
    T38Params ours;
    ours.max_buffer = 2000;
    ours.max_datagram = 400;
    ours.vendor_info = "faxd";
    const auto answer = AnswerT38(offer, ours, false);
    EXPECT_EQ(answer.rate_management, T38RateManagement::kLocalTcf);
    EXPECT_FALSE(answer.fill_bit_removal);
    EXPECT_FALSE(answer.transcoding_mmr);
    EXPECT_FALSE(answer.transcoding_jbig);
    EXPECT_EQ(answer.max_buffer, 2000);
    EXPECT_EQ(answer.max_datagram, 400);
    EXPECT_EQ(answer.vendor_info, "faxd");

    offer.rate_management = T38RateManagement::kTransferredTcf;
    ours.rate_management = T38RateManagement::kLocalTcf;
    EXPECT_EQ(AnswerT38(offer, ours, false).rate_management, T38RateManagement::kTransferredTcf);
}

TEST(SdpAnswerT38, AnswerToFreeSwitchOfferFormatsAsExpected) {
    const auto offer = MustParse(kFreeSwitchT38ReInvite);
    T38Params ours;
    ours.max_buffer = 2000;
    ours.max_datagram = 400;
    SessionDescription answer;
    answer.origin_user = "faxd";
    answer.session_id = 42;
    answer.session_version = 1;
    answer.origin_address = "192.0.2.9";
    answer.session_name = "faxd";
    answer.connection_address = "192.0.2.9";
    MediaDescription audio;
    audio.media = "audio";
    audio.port = 0;
    audio.protocol = "RTP/AVP";
    audio.formats = {"19"};
    answer.media.push_back(audio);
    MediaDescription image;
    image.media = "image";
    image.port = 40000;
    image.protocol = "udptl";
    image.formats = {"t38"};
    image.t38 = AnswerT38(*offer.media[1].t38, ours, false);
    answer.media.push_back(image);
    EXPECT_EQ(FormatSdp(answer),
              "v=0\r\n"
              "o=faxd 42 1 IN IP4 192.0.2.9\r\n"
              "s=faxd\r\n"
              "c=IN IP4 192.0.2.9\r\n"
              "t=0 0\r\n"
              "m=audio 0 RTP/AVP 19\r\n"
              "m=image 40000 udptl t38\r\n"
              "a=T38FaxVersion:0\r\n"
              "a=T38MaxBitRate:14400\r\n"
              "a=T38FaxRateManagement:transferredTCF\r\n"
              "a=T38FaxMaxBuffer:2000\r\n"
              "a=T38FaxMaxDatagram:400\r\n"
              "a=T38FaxUdpEC:t38UDPRedundancy\r\n");
}

}  // namespace
}  // namespace faxd::sip
