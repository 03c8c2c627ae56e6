#include "base/result.hpp"

#include <gtest/gtest.h>

namespace faxd::base {
namespace {

Result<int> ParsePositive(int value) {
    if (value <= 0) return MakeError(ErrorCode::kInvalidArgument, "value must be positive");
    return value;
}

TEST(ResultTest, CarriesValueOrError) {
    auto good = ParsePositive(3);
    ASSERT_TRUE(good);
    EXPECT_EQ(*good, 3);

    auto bad = ParsePositive(-1);
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
    EXPECT_EQ(bad.error().ToString(), "invalid_argument: value must be positive");
}

TEST(ResultTest, ToStringNamesSipAndT30Causes) {
    Error error{ErrorCode::kFaxFailure, "far end hung up", 486, 47};
    EXPECT_EQ(error.ToString(), "fax_failure: far end hung up (SIP 486) (T.30 code 47)");
}

TEST(ResultTest, ErrnoErrorIncludesSystemText) {
    auto error = ErrnoError("cannot open /nowhere", ENOENT);
    EXPECT_EQ(error.value().code, ErrorCode::kIo);
    EXPECT_NE(error.value().message.find("No such file"), std::string::npos);
}

}  // namespace
}  // namespace faxd::base
