// IfpEncodedLength on IFPs written out by hand from the T.38 ASN.1 (aligned PER), as spandsp encodes them.
#include "t38/ifp_length.hpp"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace faxd::t38 {
namespace {

using Bytes = std::vector<std::uint8_t>;

struct IfpCase {
    const char* name;
    Bytes ifp;
    int version;
    std::size_t length;  // 0: does not parse
};

class IfpEncodedLengthTest : public testing::TestWithParam<IfpCase> {};

TEST_P(IfpEncodedLengthTest, MeasuresTheEncoding) {
    const auto& c = GetParam();
    EXPECT_EQ(IfpEncodedLength(c.ifp, c.version), c.length);
    if (c.length == 0) return;
    // Padding after the IFP (what FEC parity leaves) does not change the answer.
    Bytes padded = c.ifp;
    padded.insert(padded.end(), 7, 0x00);
    EXPECT_EQ(IfpEncodedLength(padded, c.version), c.length);
}

// First octet: data-field present (0x80), type-of-msg t30-data (0x40), enumeration extension (0x20), then the
// root value in bits 0x1E. Data fields: count, then per field (version 0) presence bit and 3 type bits in a
// nibble, or (version 1+) presence bit, extension bit and 3 type bits; field-data is two octets of length-1.
INSTANTIATE_TEST_SUITE_P(
    Ifps, IfpEncodedLengthTest,
    testing::Values(
        IfpCase{"no_signal", {0x00}, 0, 1}, IfpCase{"cng_v0", {0x02}, 0, 1}, IfpCase{"ced_v2", {0x04}, 2, 1},
        IfpCase{"v21_preamble", {0x06}, 0, 1}, IfpCase{"v17_14400_long_training", {0x1E}, 0, 1},
        // v8-ansam and v33-14400-training: extension values 0 and 6 as a normally small number.
        IfpCase{"v8_ansam_v3", {0x20, 0x00}, 3, 2}, IfpCase{"v33_14400_training_v3", {0x21, 0x80}, 3, 2},
        IfpCase{"unknown_indicator_extension", {0x21, 0xC0}, 3, 0},
        IfpCase{"indicator_with_data_field", {0x80, 0x01}, 0, 0},
        // v21 HDLC data "FF 13 80": one field, hdlc-data (0) with 3 octets.
        IfpCase{"v0_one_field_with_data", {0xC0, 0x01, 0x80, 0x00, 0x02, 0xFF, 0x13, 0x80}, 0, 8},
        // Field data ending in zero octets: they belong to the IFP, not to padding.
        IfpCase{"v0_data_ending_in_zeros", {0xC0, 0x01, 0x80, 0x00, 0x02, 0xFF, 0x00, 0x00}, 0, 8},
        // hdlc-data with data, then hdlc-fcs-OK (2) without: the second field is half an octet, padded.
        IfpCase{"v0_two_fields", {0xC0, 0x02, 0x80, 0x00, 0x02, 0xFF, 0x13, 0x80, 0x20}, 0, 9},
        // hdlc-fcs-OK (2) and hdlc-sig-end (1), neither with data, share one octet in version 0.
        IfpCase{"v0_two_fields_one_octet", {0xC0, 0x02, 0x21}, 0, 3},
        IfpCase{"v0_fcs_ok_alone", {0xC0, 0x01, 0x20}, 0, 3},
        // v0: a field without data, then one with data starting in the low nibble.
        IfpCase{"v0_low_nibble_with_data", {0xC0, 0x02, 0x28, 0x00, 0x00, 0xAB}, 0, 6},
        // v17-14400 (8) t4-non-ecm-data (6) with 2 octets.
        IfpCase{"v0_t4_non_ecm", {0xD0, 0x01, 0xE0, 0x00, 0x01, 0x55, 0xAA}, 0, 7},
        IfpCase{"v2_one_field_with_data", {0xC0, 0x01, 0x80, 0x00, 0x02, 0xFF, 0x13, 0x80}, 2, 8},
        IfpCase{"v2_fcs_ok_alone", {0xC0, 0x01, 0x10}, 2, 3},
        IfpCase{"v2_two_fields", {0xC0, 0x02, 0x80, 0x00, 0x00, 0xFF, 0x10}, 2, 7},
        // cm-message (extension value 0) with 2 octets, version 3.
        IfpCase{"v3_cm_message", {0xC0, 0x01, 0xC0, 0x00, 0x00, 0x01, 0xE0, 0x12}, 3, 8},
        IfpCase{"v3_unknown_field_extension", {0xC0, 0x01, 0xC1, 0x00, 0x00, 0x01, 0xE0, 0x12}, 3, 0},
        // v8 data type (extension value 0).
        IfpCase{"v3_v8_data", {0xE0, 0x00, 0x01, 0x80, 0x00, 0x00, 0x42}, 3, 7},
        // A data message without its data field (spandsp accepts it).
        IfpCase{"data_without_field", {0x40}, 0, 1}, IfpCase{"unknown_data_type", {0xD2, 0x01, 0x20}, 0, 0},
        IfpCase{"truncated_field_data", {0xC0, 0x01, 0x80, 0x00, 0x05, 0xFF}, 0, 0},
        IfpCase{"truncated_field_length", {0xC0, 0x01, 0x80, 0x00}, 0, 0},
        IfpCase{"missing_count", {0xC0}, 0, 0}, IfpCase{"empty", {}, 0, 0},
        IfpCase{"bad_version", {0x00}, 4, 0}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(IfpEncodedLength, EveryTruncationOfAValidIfpFailsOrIsShorter) {
    const Bytes ifp = {0xC0, 0x02, 0x80, 0x00, 0x02, 0xFF, 0x13, 0x80, 0x20};
    for (std::size_t n = 0; n < ifp.size(); ++n) {
        EXPECT_EQ(IfpEncodedLength(std::span(ifp).first(n), 0), 0u) << n;
    }
}

}  // namespace
}  // namespace faxd::t38
