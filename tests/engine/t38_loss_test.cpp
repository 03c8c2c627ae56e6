// T.38 under random packet loss: UDPTL redundancy and FEC carry the fax through; without them the session
// ends cleanly (success or a classified failure), never hangs.
#include "engine_fixture.hpp"

namespace faxd::testing {
namespace {

struct LossCase {
    double loss;
    t38::ErrorRecovery recovery;
    int redundancy;
    std::uint32_t seed;
};

class T38LossTest : public ::testing::TestWithParam<LossCase> {};

TEST_P(T38LossTest, FaxArrivesIntact) {
    const auto param = GetParam();
    TempDir dir("t38_loss");
    auto options = DefaultOptions(dir);
    const auto pages = ThreePageDocument(FaxResolution::kFine);
    ASSERT_TRUE(WriteFaxTiff(options.send_tiff, pages));
    options.loss = param.loss;
    options.recovery = param.recovery;
    options.redundancy = param.redundancy;
    options.seed = param.seed;
    auto report = loopback::RunLoopback(options);
    ASSERT_TRUE(report) << report.error().ToString();
    EXPECT_GT(report->datagrams_dropped, 0u);
    ASSERT_TRUE(report->sender.success) << report->sender.t30_text;
    ASSERT_TRUE(report->receiver.success) << report->receiver.t30_text;
    EXPECT_EQ(report->sender.pages_confirmed, 3);
    const auto recovered = report->to_receiver.recovered_redundancy + report->to_receiver.recovered_fec;
    EXPECT_GT(recovered, 0u) << "the loss must have been repaired by UDPTL, not by luck";
    ExpectSamePages(pages, options.receive_tiff);
}

INSTANTIATE_TEST_SUITE_P(
    Recovery, T38LossTest,
    ::testing::Values(LossCase{0.05, t38::ErrorRecovery::kRedundancy, 3, 1},
                      LossCase{0.10, t38::ErrorRecovery::kRedundancy, 3, 2},
                      LossCase{0.20, t38::ErrorRecovery::kRedundancy, 3, 3},
                      LossCase{0.05, t38::ErrorRecovery::kFec, 0, 4}),
    [](const ::testing::TestParamInfo<LossCase>& info) {
        return std::string(info.param.recovery == t38::ErrorRecovery::kFec ? "Fec" : "Redundancy") +
               std::to_string(info.param.redundancy) + "_Loss" +
               std::to_string(static_cast<int>(info.param.loss * 100));
    });

class T38UnprotectedLossTest : public ::testing::TestWithParam<std::uint32_t> {};

TEST_P(T38UnprotectedLossTest, EndsCleanlyNeverHangs) {
    TempDir dir("t38_unprotected");
    auto options = DefaultOptions(dir);
    const auto pages = ThreePageDocument(FaxResolution::kFine);
    ASSERT_TRUE(WriteFaxTiff(options.send_tiff, pages));
    options.loss = 0.05;
    options.recovery = t38::ErrorRecovery::kNone;
    options.redundancy = 0;
    options.seed = GetParam();
    auto report = loopback::RunLoopback(options);
    ASSERT_TRUE(report) << report.error().ToString();
    // Both sides ended on their own (T.30 timers or the watchdog), long before the simulation guard.
    EXPECT_LT(report->simulated_seconds, 3600.0);
    for (const auto* result : {&report->sender, &report->receiver}) {
        if (result->success) {
            EXPECT_EQ(result->failure, t30::FailureClass::kNone);
        } else {
            EXPECT_NE(result->failure, t30::FailureClass::kNone);
            EXPECT_NE(result->failure, t30::FailureClass::kInternal) << result->t30_text;
            EXPECT_FALSE(result->t30_text.empty());
        }
    }
    if (report->sender.success) ExpectSamePages(pages, options.receive_tiff);
    // Whatever the receiver kept decodes to the pages that were sent.
    if (report->receiver.pages_confirmed > 0) {
        auto received = ReadTiffPages(options.receive_tiff);
        ASSERT_TRUE(received) << received.error().ToString();
        ASSERT_EQ(static_cast<int>(received->size()), report->receiver.pages_confirmed);
    }
}

INSTANTIATE_TEST_SUITE_P(Seeds, T38UnprotectedLossTest, ::testing::Values(11u, 12u, 13u));

}  // namespace
}  // namespace faxd::testing
