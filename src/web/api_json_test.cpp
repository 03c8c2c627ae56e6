#include "web/api_json.hpp"

#include <gtest/gtest.h>

#include "web/api_context.hpp"

namespace faxd::web {
namespace {

TEST(ApiJsonTest, TimesRoundTripInRfc3339) {
    const base::WallTime time{std::chrono::milliseconds(1'796'000'123'456)};
    EXPECT_EQ(FormatTime(time), "2026-11-30T00:55:23.456Z");
    EXPECT_EQ(ParseTime("2026-11-30T00:55:23.456Z"), time);
    EXPECT_EQ(ParseTime("2026-11-30T01:55:23.456+01:00"), time);
    EXPECT_EQ(ParseTime("2026-11-29T19:55:23.456-05:00"), time);
    EXPECT_EQ(ParseTime("2026-01-01T00:00:00Z"), base::WallTime(std::chrono::seconds(1'767'225'600)));
    for (const char* bad : {"", "2026-01-01", "2026-01-01T00:00:00", "2026-13-01T00:00:00Z",
                            "2026-02-30T00:00:00Z", "2026-01-01T00:00:00.Z", "2026-01-01T00:00:00Zjunk",
                            "2026-01-01T25:00:00Z", "x026-01-01T00:00:00Z", "2026-01-01T00:00:00+0100"}) {
        EXPECT_FALSE(ParseTime(bad).has_value()) << bad;
    }
}

TEST(ApiJsonTest, FaxIdsSayTheirDirection) {
    EXPECT_EQ(JobFaxId(12), "out-12");
    EXPECT_EQ(InboundFaxId(5), "in-5");
    auto out = ParseFaxId("out-12");
    ASSERT_TRUE(out);
    EXPECT_TRUE(out->outbound);
    EXPECT_EQ(out->id, 12);
    auto in = ParseFaxId("in-5");
    ASSERT_TRUE(in);
    EXPECT_FALSE(in->outbound);
    for (const char* bad :
         {"", "12", "out-", "out-0", "out--1", "in-1x", "out-99999999999999999999", "../x"}) {
        EXPECT_FALSE(ParseFaxId(bad).has_value()) << bad;
    }
}

TEST(ApiJsonTest, NumbersAreNormalisedOrRefused) {
    EXPECT_EQ(api::NormalizeNumber("+49 (30) 123-45"), "+493012345");
    EXPECT_EQ(api::NormalizeNumber("999"), "999");
    EXPECT_FALSE(api::NormalizeNumber("").has_value());
    EXPECT_FALSE(api::NormalizeNumber("+").has_value());
    EXPECT_FALSE(api::NormalizeNumber("12+3").has_value());
    EXPECT_FALSE(api::NormalizeNumber("12;rm -rf").has_value());
    EXPECT_FALSE(api::NormalizeNumber(std::string(40, '1')).has_value());
}

TEST(ApiJsonTest, FailuresHaveTypedClasses) {
    EXPECT_EQ(ErrorType(core::FailureClass::kBusy), "line_error");
    EXPECT_EQ(ErrorType(core::FailureClass::kProtocolError), "fax_error");
    EXPECT_EQ(ErrorType(core::FailureClass::kDocumentError), "document_error");
    EXPECT_EQ(ErrorType(core::FailureClass::kInterrupted), "general_error");
    core::Job job;
    job.id = 3;
    job.state = core::JobState::kRetryWait;
    job.last_failure = core::FailureClass::kBusy;
    job.last_reason = "486 Busy Here";
    core::Directory directory;
    const auto json = JobJson(job, directory);
    EXPECT_EQ(json["id"], "out-3");
    EXPECT_EQ(json["state"], "retry_wait");
    EXPECT_EQ(json["error"]["type"], "line_error");
    EXPECT_EQ(json["error"]["class"], "busy");
}

}  // namespace
}  // namespace faxd::web
