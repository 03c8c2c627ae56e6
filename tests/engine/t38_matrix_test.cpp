// Every ECM x compression x resolution combination over T.38: the pages arrive bit-exact.
#include <tuple>

#include "engine_fixture.hpp"

namespace faxd::testing {
namespace {

using Combination = std::tuple<bool, t30::Compression, FaxResolution>;

class T38MatrixTest : public ::testing::TestWithParam<Combination> {};

TEST_P(T38MatrixTest, ThreePagesArriveExactly) {
    const auto [ecm, compression, resolution] = GetParam();
    TempDir dir("t38_matrix");
    auto options = DefaultOptions(dir);
    const auto pages = ThreePageDocument(resolution);
    ASSERT_TRUE(WriteFaxTiff(options.send_tiff, pages));
    for (auto* settings : {&options.sender, &options.receiver}) {
        settings->ecm = ecm;
        settings->compressions = compression;
    }
    auto report = loopback::RunLoopback(options);
    ASSERT_TRUE(report) << report.error().ToString();
    ASSERT_TRUE(report->sender.success) << report->sender.t30_text;
    ASSERT_TRUE(report->receiver.success) << report->receiver.t30_text;
    EXPECT_EQ(report->sender.pages_confirmed, 3);
    EXPECT_EQ(report->receiver.pages_confirmed, 3);
    EXPECT_EQ(report->sender.ecm_used, ecm);
    // T.6 needs ECM (T.30 Annex A); without it T.30 falls back to the mandatory T.4 1-D.
    const auto expected = (compression == t30::kT6 && !ecm) ? t30::kT4OneD : compression;
    EXPECT_EQ(report->sender.compression, expected);
    EXPECT_EQ(report->sender.bit_rate, 14400);
    EXPECT_EQ(report->sender.remote_ident, "+1 555 0199");
    EXPECT_EQ(report->receiver.remote_ident, "+1 555 0100");
    ASSERT_EQ(report->sender.pages.size(), 3u);
    for (const auto& page : report->sender.pages) {
        EXPECT_EQ(page.y_resolution_dpi, YDpi(resolution) == 391 ? 391 : YDpi(resolution));
        EXPECT_GT(page.encoded_bytes, 0);
        EXPECT_GT(page.seconds, 0);
    }
    ExpectSamePages(pages, options.receive_tiff);
}

std::string Name(const ::testing::TestParamInfo<Combination>& info) {
    const auto [ecm, compression, resolution] = info.param;
    std::string name = ecm ? "Ecm_" : "NoEcm_";
    name += compression == t30::kT4OneD ? "T4OneD_" : compression == t30::kT4TwoD ? "T4TwoD_" : "T6_";
    name += resolution == FaxResolution::kStandard ? "Standard" : resolution == FaxResolution::kFine ? "Fine" : "Superfine";
    return name;
}

INSTANTIATE_TEST_SUITE_P(AllModes, T38MatrixTest,
                         ::testing::Combine(::testing::Bool(), ::testing::Values(t30::kT4OneD, t30::kT4TwoD, t30::kT6),
                                            ::testing::Values(FaxResolution::kStandard, FaxResolution::kFine,
                                                              FaxResolution::kSuperfine)),
                         Name);

}  // namespace
}  // namespace faxd::testing
