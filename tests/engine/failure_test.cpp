// Failures end with the right class, and a receive that breaks off keeps every page it confirmed.
#include "engine_fixture.hpp"

namespace faxd::testing {
namespace {

using t30::FailureClass;

class FailureTest : public ::testing::TestWithParam<t30::Transport> {
protected:
    void SetUp() override {
        options_ = DefaultOptions(dir_);
        options_.transport = GetParam();
        pages_ = ThreePageDocument(FaxResolution::kFine);
        ASSERT_TRUE(WriteFaxTiff(options_.send_tiff, pages_));
    }
    TempDir dir_{"failure"};
    loopback::LoopbackOptions options_;
    std::vector<Bitmap> pages_;
};

TEST_P(FailureTest, ReceiverRefusingCallerInPhaseBIsRejectedOnBothSides) {
    options_.receiver_refuses_sender = true;
    auto report = loopback::RunLoopback(options_);
    ASSERT_TRUE(report) << report.error().ToString();
    EXPECT_FALSE(report->sender.success);
    EXPECT_EQ(report->receiver.failure, FailureClass::kRejected) << report->receiver.t30_text;
    if (GetParam() == t30::Transport::kT38) {
        EXPECT_EQ(report->sender.failure, FailureClass::kRejected) << report->sender.t30_text;
    } else {
        // Over audio the receiver's DCN goes out while the caller is still sending its training (TCF), so the
        // caller may never hear it; it then only sees the call end before any page.
        EXPECT_TRUE(report->sender.failure == FailureClass::kRejected ||
                    report->sender.failure == FailureClass::kCallDropped)
            << report->sender.t30_text;
    }
    EXPECT_EQ(report->sender.pages_confirmed, 0);
    EXPECT_FALSE(std::filesystem::exists(options_.receive_tiff)) << "nothing received, nothing kept";
}

TEST_P(FailureTest, FarEndVanishingMidPageKeepsConfirmedPages) {
    options_.vanish_after_pages = 1;
    options_.vanish_delay_seconds = 10;  // well inside page 2
    auto report = loopback::RunLoopback(options_);
    ASSERT_TRUE(report) << report.error().ToString();
    EXPECT_FALSE(report->sender.success);
    EXPECT_FALSE(report->receiver.success);
    EXPECT_EQ(report->sender.failure, FailureClass::kCallDropped) << report->sender.t30_text;
    EXPECT_EQ(report->receiver.failure, FailureClass::kCallDropped) << report->receiver.t30_text;
    EXPECT_EQ(report->sender.pages_confirmed, 1);
    EXPECT_EQ(report->receiver.pages_confirmed, 1);
    EXPECT_LT(report->simulated_seconds, 600.0);
    ExpectSamePages({pages_[0]}, options_.receive_tiff);
}

TEST_P(FailureTest, SilentLineIsNotAFax) {
    options_.vanish_after_pages = 0;
    options_.vanish_delay_seconds = 0;  // nothing ever passes
    auto report = loopback::RunLoopback(options_);
    ASSERT_TRUE(report) << report.error().ToString();
    EXPECT_EQ(report->sender.failure, FailureClass::kNoFax) << report->sender.t30_text;
    EXPECT_EQ(report->receiver.failure, FailureClass::kNoFax) << report->receiver.t30_text;
    EXPECT_LT(report->simulated_seconds, 120.0);
}

TEST_P(FailureTest, RetryResumesFromFirstUnconfirmedPage) {
    options_.first_page = 1;
    auto report = loopback::RunLoopback(options_);
    ASSERT_TRUE(report) << report.error().ToString();
    ASSERT_TRUE(report->sender.success) << report->sender.t30_text;
    EXPECT_EQ(report->sender.pages_confirmed, 2);
    ExpectSamePages({pages_[1], pages_[2]}, options_.receive_tiff);
}

TEST_P(FailureTest, MaximumDurationWatchdogEndsSession) {
    options_.sender.max_duration = std::chrono::seconds(30);
    auto report = loopback::RunLoopback(options_);
    ASSERT_TRUE(report) << report.error().ToString();
    EXPECT_EQ(report->sender.failure, FailureClass::kTimeout) << report->sender.t30_text;
    EXPECT_NE(report->sender.t30_text.find("maximum duration"), std::string::npos);
    EXPECT_FALSE(report->receiver.success);
}

TEST_P(FailureTest, PageCallbackReportsProgress) {
    std::vector<int> seen;
    int total_seen = 0;
    options_.on_sender_page = [&](const t30::PageStats& page, int total) {
        seen.push_back(page.page);
        total_seen = total;
        EXPECT_GT(page.bit_rate, 0);
        EXPECT_GT(page.encoded_bytes, 0);
    };
    auto report = loopback::RunLoopback(options_);
    ASSERT_TRUE(report) << report.error().ToString();
    EXPECT_EQ(seen, (std::vector<int>{1, 2, 3}));
    EXPECT_EQ(total_seen, 3);
}

INSTANTIATE_TEST_SUITE_P(Transports, FailureTest, ::testing::Values(t30::Transport::kT38, t30::Transport::kAudio),
                         [](const ::testing::TestParamInfo<t30::Transport>& info) {
                             return info.param == t30::Transport::kT38 ? "T38" : "Audio";
                         });

TEST(SessionSetupTest, MissingDocumentIsAClearError) {
    TempDir dir("setup");
    auto options = DefaultOptions(dir);
    auto report = loopback::RunLoopback(options);
    ASSERT_FALSE(report);
    EXPECT_EQ(report.error().code, base::ErrorCode::kNotFound);
    EXPECT_NE(report.error().message.find("send.tif"), std::string::npos);
}

TEST(SessionSetupTest, HeaderLineIsStampedAboveUnchangedPage) {
    TempDir dir("header");
    auto options = DefaultOptions(dir);
    options.sender.header_info = "ACME Corp  Ref 2026.00000001";
    const auto pages = ThreePageDocument(FaxResolution::kFine);
    ASSERT_TRUE(WriteFaxTiff(options.send_tiff, pages));
    auto report = loopback::RunLoopback(options);
    ASSERT_TRUE(report) << report.error().ToString();
    ASSERT_TRUE(report->sender.success) << report->sender.t30_text;
    auto received = ReadTiffPages(options.receive_tiff);
    ASSERT_TRUE(received);
    ASSERT_EQ(received->size(), 3u);
    for (std::size_t i = 0; i < 3; ++i) {
        const Bitmap& sent = pages[i];
        const Bitmap& got = (*received)[i];
        ASSERT_GT(got.height, sent.height) << "spandsp 0.0.6 adds the header rows above the page";
        const int extra = got.height - sent.height;
        const std::vector<std::uint8_t> header(got.bits.begin(), got.bits.begin() + extra * got.stride);
        EXPECT_TRUE(std::any_of(header.begin(), header.end(), [](std::uint8_t b) { return b != 0; }))
            << "the header rows carry text";
        const std::vector<std::uint8_t> body(got.bits.begin() + extra * got.stride, got.bits.end());
        EXPECT_TRUE(body == sent.bits) << "page " << i + 1 << " below the header differs";
    }
}

}  // namespace
}  // namespace faxd::testing
