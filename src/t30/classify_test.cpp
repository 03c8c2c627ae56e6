#include "t30/classify.hpp"

#include <gtest/gtest.h>

#include "t30/spandsp.hpp"

namespace faxd::t30 {
namespace {

TEST(ClassifyTest, MapsT30CodesToFailureClasses) {
    struct Case {
        int code;
        bool contact;
        FailureClass expected;
    };
    const Case cases[] = {
        {T30_ERR_OK, true, FailureClass::kNone},
        {T30_ERR_T1_EXPIRED, false, FailureClass::kNoFax},
        {T30_ERR_T1_EXPIRED, true, FailureClass::kCallDropped},
        {T30_ERR_T0_EXPIRED, false, FailureClass::kNoFax},
        {T30_ERR_CANNOT_TRAIN, true, FailureClass::kTrainingFailed},
        {T30_ERR_INCOMPATIBLE, true, FailureClass::kIncompatible},
        {T30_ERR_NORESSUPPORT, true, FailureClass::kIncompatible},
        {T30_ERR_TX_PHDDEAD, true, FailureClass::kCallDropped},
        {T30_ERR_RX_DCNDATA, true, FailureClass::kCallDropped},
        {T30_ERR_CALLDROPPED, true, FailureClass::kCallDropped},
        {T30_ERR_IDENT_UNACCEPTABLE, true, FailureClass::kRejected},
        {T30_ERR_TX_GOTDCN, true, FailureClass::kRejected},
        {T30_ERR_FILEERROR, false, FailureClass::kDocumentError},
        {T30_ERR_BADTIFF, false, FailureClass::kDocumentError},
        {T30_ERR_UNEXPECTED, true, FailureClass::kProtocolError},
        {T30_ERR_RX_ECMPHD, true, FailureClass::kProtocolError},
        {T30_ERR_NOMEM, true, FailureClass::kInternal},
        {T30_ERR_RETRYDCN, false, FailureClass::kNoFax},
        {T30_ERR_RETRYDCN, true, FailureClass::kCallDropped},
    };
    for (const auto& c : cases) {
        EXPECT_EQ(ClassifyCompletion(c.code, c.contact), c.expected)
            << "code " << c.code << " (" << t30_completion_code_to_str(c.code) << ")";
    }
}

TEST(ClassifyTest, NamesAreStable) {
    EXPECT_EQ(FailureClassName(FailureClass::kNone), "none");
    EXPECT_EQ(FailureClassName(FailureClass::kNoFax), "no_fax");
    EXPECT_EQ(FailureClassName(FailureClass::kCallDropped), "call_dropped");
    EXPECT_EQ(FailureClassName(FailureClass::kRejected), "rejected");
    EXPECT_EQ(CompressionName(kT6), "t6");
    Compression parsed = kT4OneD;
    EXPECT_TRUE(ParseCompression("t4-2d", &parsed));
    EXPECT_EQ(parsed, kT4TwoD);
    EXPECT_FALSE(ParseCompression("jbig", &parsed));
}

}  // namespace
}  // namespace faxd::t30
