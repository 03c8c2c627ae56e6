#include "sip/call_types.hpp"

#include <gtest/gtest.h>

namespace faxd::sip {
namespace {

TEST(CallTypesTest, ClassifiesSipFinalResponses) {
    const struct {
        int status;
        CallFailure expected;
    } cases[] = {
        {486, CallFailure::kBusy},        {600, CallFailure::kBusy},        {408, CallFailure::kNoAnswer},
        {480, CallFailure::kNoAnswer},    {404, CallFailure::kBadNumber},   {484, CallFailure::kBadNumber},
        {403, CallFailure::kRejected},    {603, CallFailure::kRejected},    {503, CallFailure::kUnavailable},
        {500, CallFailure::kUnavailable}, {488, CallFailure::kT38NegotiationFailed},
        {415, CallFailure::kT38NegotiationFailed}, {606, CallFailure::kT38NegotiationFailed},
    };
    for (const auto& c : cases) EXPECT_EQ(ClassifySipStatus(c.status), c.expected) << c.status;
}

TEST(CallTypesTest, ClassifiesFaxFailures) {
    EXPECT_EQ(ClassifyFaxFailure(t30::FailureClass::kNone), CallFailure::kNone);
    EXPECT_EQ(ClassifyFaxFailure(t30::FailureClass::kNoFax), CallFailure::kNotAFax);
    EXPECT_EQ(ClassifyFaxFailure(t30::FailureClass::kTrainingFailed), CallFailure::kFaxProtocol);
    EXPECT_EQ(ClassifyFaxFailure(t30::FailureClass::kCallDropped), CallFailure::kCallDropped);
    EXPECT_EQ(CallFailureName(CallFailure::kT38NegotiationFailed), "t38_negotiation_failed");
}

}  // namespace
}  // namespace faxd::sip
