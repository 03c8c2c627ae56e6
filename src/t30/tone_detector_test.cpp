#include "t30/tone_detector.hpp"

#include <gtest/gtest.h>

#include <array>

#include "t30/fax_session.hpp"
#include "test_documents.hpp"

namespace faxd::t30 {
namespace {

using faxd::testing::TempDir;

// Runs `session`'s transmit side for up to `seconds` and reports when `detector` fired (-1: never).
double SecondsUntilDetected(FaxSession& session, ToneDetector& detector, double seconds) {
    std::array<std::int16_t, 160> block{};
    const std::array<std::int16_t, 160> silence{};
    for (int tick = 0; tick < seconds * 50; ++tick) {
        session.TransmitAudio(block);
        session.ReceiveAudio(silence);
        if (detector.Feed(block)) return tick / 50.0;
    }
    return -1;
}

TEST(ToneDetectorTest, HearsTheCallersCng) {
    TempDir dir("tones_cng");
    const auto doc = dir / "doc.tif";
    ASSERT_TRUE(faxd::testing::WriteFaxTiff(doc, {faxd::testing::MakePage(faxd::testing::PageKind::kText,
                                                                          faxd::testing::FaxResolution::kFine, 1, 200)}));
    SessionConfig config;
    config.transport = Transport::kAudio;
    config.role = Role::kSend;
    config.calling_party = true;
    config.tiff = doc;
    auto caller = FaxSession::Create(config);
    ASSERT_TRUE(caller) << caller.error().ToString();
    ToneDetector detector(FaxTone::kCng);
    const double when = SecondsUntilDetected(**caller, detector, 5.0);
    EXPECT_GE(when, 0.0) << "CNG (0.5 s of 1100 Hz every 3.5 s) must be heard within 5 s";
}

TEST(ToneDetectorTest, HearsTheAnswerersCed) {
    TempDir dir("tones_ced");
    SessionConfig config;
    config.transport = Transport::kAudio;
    config.role = Role::kReceive;
    config.calling_party = false;
    config.tiff = dir / "in.tif";
    auto answerer = FaxSession::Create(config);
    ASSERT_TRUE(answerer) << answerer.error().ToString();
    ToneDetector detector(FaxTone::kCedOrPreamble);
    EXPECT_GE(SecondsUntilDetected(**answerer, detector, 5.0), 0.0);
}

TEST(ToneDetectorTest, SilenceIsNoTone) {
    ToneDetector cng(FaxTone::kCng);
    ToneDetector ced(FaxTone::kCedOrPreamble);
    const std::array<std::int16_t, 160> silence{};
    for (int i = 0; i < 500; ++i) {
        cng.Feed(silence);
        ced.Feed(silence);
    }
    EXPECT_FALSE(cng.Detected());
    EXPECT_FALSE(ced.Detected());
}

}  // namespace
}  // namespace faxd::t30
