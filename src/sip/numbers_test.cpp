#include "sip/numbers.hpp"

#include <gtest/gtest.h>

namespace faxd::sip {
namespace {

TEST(NumbersTest, NormalizesToE164WithTheSitesCountryAndAreaCode) {
    NumberPlan berlin{"DE", "30", "0", 5};
    const struct {
        const char* dialled;
        const char* expected;
    } cases[] = {
        {"+49 30 1234567", "+49301234567"}, {"0049 30 1234567", "+49301234567"}, {"030/1234567", "+49301234567"},
        {"1234567", "+49301234567"},        {"089 123456", "+4989123456"},       {"+1 (212) 555-0100", "+12125550100"},
        {"11001", "11001"},  // an extension
    };
    for (const auto& c : cases) {
        auto number = NormalizeNumber(berlin, c.dialled);
        ASSERT_TRUE(number) << c.dialled << ": " << number.error().message;
        EXPECT_EQ(*number, c.expected) << c.dialled;
    }
}

TEST(NumbersTest, RejectsWhatIsNotANumber) {
    NumberPlan plan{"DE", "30", "", 5};
    for (const char* bad : {"", "+", "030-CALL-NOW", "sip:evil@example.com", "+1 212 555"}) {
        auto number = NormalizeNumber(plan, bad);
        EXPECT_FALSE(number) << bad;
    }
    EXPECT_FALSE(NormalizeNumber(plan, std::string(100, '1')));
}

TEST(NumbersTest, FormatsPerRoute) {
    NumberPlan berlin{"DE", "30", "0", 5};
    EXPECT_EQ(FormatForRoute(berlin, "+49301234567", NumberFormat::kE164, false), "+49301234567");
    EXPECT_EQ(FormatForRoute(berlin, "+49301234567", NumberFormat::kNational, false), "0301234567");
    EXPECT_EQ(FormatForRoute(berlin, "+49301234567", NumberFormat::kNational, true), "00301234567");
    EXPECT_EQ(FormatForRoute(berlin, "+12125550100", NumberFormat::kInternational, false), "0012125550100");
    EXPECT_EQ(FormatForRoute(berlin, "11001", NumberFormat::kNational, true), "11001");
}

}  // namespace
}  // namespace faxd::sip
