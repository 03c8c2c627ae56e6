// Fax over audio: the modems run in faxd; samples pass through G.711 both ways.
#include <tuple>

#include "engine_fixture.hpp"

namespace faxd::testing {
namespace {

using AudioCase = std::tuple<loopback::AudioCoding, t30::Modem>;

class AudioTest : public ::testing::TestWithParam<AudioCase> {};

TEST_P(AudioTest, DocumentArrivesIntact) {
    const auto [coding, modem] = GetParam();
    TempDir dir("audio");
    auto options = DefaultOptions(dir);
    options.transport = t30::Transport::kAudio;
    options.coding = coding;
    options.sender.modems = modem;
    options.receiver.modems = modem;
    const auto pages = ThreePageDocument(FaxResolution::kFine);
    ASSERT_TRUE(WriteFaxTiff(options.send_tiff, pages));
    auto report = loopback::RunLoopback(options);
    ASSERT_TRUE(report) << report.error().ToString();
    ASSERT_TRUE(report->sender.success) << report->sender.t30_text;
    ASSERT_TRUE(report->receiver.success) << report->receiver.t30_text;
    const int expected_rate = modem == t30::kV17 ? 14400 : modem == t30::kV29 ? 9600 : 4800;
    EXPECT_EQ(report->sender.bit_rate, expected_rate);
    EXPECT_EQ(report->sender.pages_confirmed, 3);
    ExpectSamePages(pages, options.receive_tiff);
}

std::string Name(const ::testing::TestParamInfo<AudioCase>& info) {
    const auto coding = std::get<0>(info.param);
    const auto modem = std::get<1>(info.param);
    return std::string(coding == loopback::AudioCoding::kMuLaw ? "MuLaw_" : "ALaw_") +
           (modem == t30::kV17 ? "V17" : modem == t30::kV29 ? "V29" : "V27ter");
}

INSTANTIATE_TEST_SUITE_P(Modems, AudioTest,
                         ::testing::Combine(::testing::Values(loopback::AudioCoding::kMuLaw, loopback::AudioCoding::kALaw),
                                            ::testing::Values(t30::kV17, t30::kV29, t30::kV27ter)),
                         Name);

}  // namespace
}  // namespace faxd::testing
