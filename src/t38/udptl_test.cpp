// Codec and encoder tests: packets written out byte by byte (T.38 Annex D, ASN.1 aligned PER).
#include "t38/udptl.hpp"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "t38/per.hpp"

namespace faxd::t38 {
namespace {

using base::ErrorCode;

Bytes Concat(std::initializer_list<Bytes> parts) {
    Bytes out;
    for (const auto& part : parts) out.insert(out.end(), part.begin(), part.end());
    return out;
}

Bytes Filler(std::size_t n, std::uint8_t first = 0x40) {
    Bytes out(n);
    for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<std::uint8_t>(first + i);
    return out;
}

UdptlPacket Redundancy(std::uint16_t seq, Bytes primary, std::vector<Bytes> secondaries) {
    UdptlPacket p;
    p.seq = seq;
    p.primary = std::move(primary);
    p.recovery = ErrorRecovery::kRedundancy;
    p.secondaries = std::move(secondaries);
    return p;
}

UdptlPacket Fec(std::uint16_t seq, Bytes primary, int span, std::vector<Bytes> entries) {
    UdptlPacket p;
    p.seq = seq;
    p.primary = std::move(primary);
    p.recovery = ErrorRecovery::kFec;
    p.fec_span = span;
    p.fec_entries = std::move(entries);
    return p;
}

void ExpectSamePacket(const UdptlPacket& got, const UdptlPacket& want) {
    EXPECT_EQ(got.seq, want.seq);
    EXPECT_EQ(got.primary, want.primary);
    EXPECT_EQ(got.recovery, want.recovery);
    EXPECT_EQ(got.secondaries, want.secondaries);
    EXPECT_EQ(got.fec_span, want.fec_span);
    EXPECT_EQ(got.fec_entries, want.fec_entries);
}

// ---- length determinants
// -------------------------------------------------------------------------------------

struct LengthCase {
    const char* name;
    Bytes wire;
    std::size_t length;
};

class LengthDeterminantTest : public testing::TestWithParam<LengthCase> {};

TEST_P(LengthDeterminantTest, ReadsAndWrites) {
    const auto& c = GetParam();
    per::Reader reader(c.wire);
    auto length = reader.ReadLengthDeterminant();
    ASSERT_TRUE(length.has_value()) << length.error().ToString();
    EXPECT_EQ(*length, c.length);
    EXPECT_EQ(reader.remaining(), 0u);
    Bytes out;
    ASSERT_TRUE(per::AppendLengthDeterminant(out, c.length).has_value());
    EXPECT_EQ(out, c.wire);
    EXPECT_EQ(per::LengthDeterminantSize(c.length), c.wire.size());
}

INSTANTIATE_TEST_SUITE_P(Forms, LengthDeterminantTest,
                         testing::Values(LengthCase{"zero", {0x00}, 0}, LengthCase{"one", {0x01}, 1},
                                         LengthCase{"short_max", {0x7F}, 127},
                                         LengthCase{"long_min", {0x80, 0x80}, 128},
                                         LengthCase{"long_300", {0x81, 0x2C}, 300},
                                         LengthCase{"long_max", {0xBF, 0xFF}, 16383}),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(LengthDeterminant, FragmentFormIsUnsupported) {
    for (std::uint8_t first : {0xC0, 0xC1, 0xC4, 0xFF}) {
        const Bytes wire = {first, 0x00};
        per::Reader reader(wire);
        auto length = reader.ReadLengthDeterminant();
        ASSERT_FALSE(length.has_value());
        EXPECT_EQ(length.error().code, ErrorCode::kUnsupported);
    }
    Bytes out;
    auto r = per::AppendLengthDeterminant(out, 16384);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, ErrorCode::kUnsupported);
}

TEST(LengthDeterminant, LongFormNeedsItsSecondOctet) {
    const Bytes wire = {0x81};
    per::Reader reader(wire);
    auto length = reader.ReadLengthDeterminant();
    ASSERT_FALSE(length.has_value());
    EXPECT_EQ(length.error().code, ErrorCode::kMalformed);
}

// ---- decoding valid packets
// ----------------------------------------------------------------------------------

struct DecodeCase {
    const char* name;
    Bytes wire;
    UdptlPacket packet;
    bool canonical;  // re-encoding gives the same bytes
};

class DecodeValidTest : public testing::TestWithParam<DecodeCase> {};

TEST_P(DecodeValidTest, DecodesAndReencodes) {
    const auto& c = GetParam();
    auto packet = DecodeUdptlPacket(c.wire);
    ASSERT_TRUE(packet.has_value()) << packet.error().ToString();
    ExpectSamePacket(*packet, c.packet);
    if (c.canonical) {
        auto wire = EncodeUdptlPacket(*packet);
        ASSERT_TRUE(wire.has_value()) << wire.error().ToString();
        EXPECT_EQ(*wire, c.wire);
    }
}

const Bytes kLongIfp = Filler(200);

INSTANTIATE_TEST_SUITE_P(
    Packets, DecodeValidTest,
    testing::Values(
        // seq 0x1234, primary no-signal indicator, secondary-ifp-packets with count 0.
        DecodeCase{
            "no_secondaries", {0x12, 0x34, 0x01, 0x00, 0x00, 0x00}, Redundancy(0x1234, {0x00}, {}), true},
        DecodeCase{"one_secondary",
                   {0x00, 0x0A, 0x01, 0x02, 0x00, 0x01, 0x01, 0x04},
                   Redundancy(10, {0x02}, {{0x04}}),
                   true},
        DecodeCase{"two_secondaries",
                   {0x00, 0x0A, 0x01, 0x02, 0x00, 0x02, 0x01, 0x04, 0x02, 0x20, 0x00},
                   Redundancy(10, {0x02}, {{0x04}, {0x20, 0x00}}),
                   true},
        DecodeCase{"three_secondaries",
                   {0xFF, 0xFF, 0x02, 0xAA, 0xBB, 0x00, 0x03, 0x01, 0x11, 0x01, 0x22, 0x01, 0x33},
                   Redundancy(65535, {0xAA, 0xBB}, {{0x11}, {0x22}, {0x33}}),
                   true},
        DecodeCase{"four_secondaries",
                   {0x00, 0x05, 0x01, 0x05, 0x00, 0x04, 0x01, 0x04, 0x01, 0x03, 0x01, 0x02, 0x01, 0x01},
                   Redundancy(5, {0x05}, {{0x04}, {0x03}, {0x02}, {0x01}}),
                   true},
        DecodeCase{
            "five_secondaries",
            {0x00, 0x06, 0x01, 0x06, 0x00, 0x05, 0x01, 0x05, 0x01, 0x04, 0x01, 0x03, 0x01, 0x02, 0x01, 0x01},
            Redundancy(6, {0x06}, {{0x05}, {0x04}, {0x03}, {0x02}, {0x01}}),
            true},
        // fec-info: choice 0x80, fec-npackets = INTEGER length 1 value 3, two entries.
        DecodeCase{"fec_two_entries",
                   {0x00, 0x07, 0x01, 0x02, 0x80, 0x01, 0x03, 0x02, 0x01, 0xAA, 0x02, 0xBB, 0xCC},
                   Fec(7, {0x02}, 3, {{0xAA}, {0xBB, 0xCC}}),
                   true},
        DecodeCase{"fec_wind_up_no_entries",
                   {0x00, 0x00, 0x01, 0x02, 0x80, 0x01, 0x00, 0x00},
                   Fec(0, {0x02}, 0, {}),
                   true},
        // A zero-length open type on the wire (length 0) decodes as empty; we send it as 0x01 0x00 instead.
        DecodeCase{"zero_length_primary", {0x00, 0x01, 0x00, 0x00, 0x00}, Redundancy(1, {}, {}), false},
        DecodeCase{"zero_length_secondary",
                   {0x00, 0x02, 0x01, 0x02, 0x00, 0x02, 0x00, 0x01, 0x02},
                   Redundancy(2, {0x02}, {{}, {0x02}}),
                   false},
        // Non-minimal long forms are tolerated.
        DecodeCase{"long_form_small_values",
                   {0x00, 0x03, 0x80, 0x01, 0x02, 0x00, 0x80, 0x01, 0x80, 0x01, 0x04},
                   Redundancy(3, {0x02}, {{0x04}}),
                   false},
        DecodeCase{"long_form_primary", Concat({{0x01, 0x00, 0x80, 0xC8}, kLongIfp, {0x00, 0x00}}),
                   Redundancy(256, kLongIfp, {}), true},
        DecodeCase{"long_form_secondary",
                   Concat({{0x01, 0x01, 0x01, 0x02, 0x00, 0x01, 0x80, 0xC8}, kLongIfp}),
                   Redundancy(257, {0x02}, {kLongIfp}), true}),
    [](const auto& info) { return std::string(info.param.name); });

// ---- rejecting bad packets
// -----------------------------------------------------------------------------------

struct RejectCase {
    const char* name;
    Bytes wire;
    ErrorCode code;
};

class DecodeRejectTest : public testing::TestWithParam<RejectCase> {};

TEST_P(DecodeRejectTest, GivesAnError) {
    const auto& c = GetParam();
    auto packet = DecodeUdptlPacket(c.wire);
    ASSERT_FALSE(packet.has_value());
    EXPECT_EQ(packet.error().code, c.code) << packet.error().ToString();
}

Bytes SecondaryCount(std::uint8_t count) {
    Bytes out = {0x00, 0x01, 0x01, 0x02, 0x00, count};
    for (int i = 0; i < count; ++i) out.insert(out.end(), {0x01, 0x02});
    return out;
}

INSTANTIATE_TEST_SUITE_P(
    Packets, DecodeRejectTest,
    testing::Values(
        RejectCase{"empty", {}, ErrorCode::kMalformed},
        RejectCase{"seq_only", {0x00, 0x01}, ErrorCode::kMalformed},
        RejectCase{"fragment_primary", {0x00, 0x01, 0xC1, 0x00}, ErrorCode::kUnsupported},
        RejectCase{"primary_past_end", {0x00, 0x01, 0x05, 0x02, 0x00, 0x00}, ErrorCode::kMalformed},
        RejectCase{"choice_padding_set", {0x00, 0x01, 0x01, 0x02, 0x01, 0x00}, ErrorCode::kMalformed},
        RejectCase{"choice_unknown", {0x00, 0x01, 0x01, 0x02, 0x40, 0x00}, ErrorCode::kMalformed},
        RejectCase{"trailing_garbage", {0x00, 0x01, 0x01, 0x02, 0x00, 0x00, 0xEE}, ErrorCode::kMalformed},
        RejectCase{"trailing_after_fec",
                   {0x00, 0x01, 0x01, 0x02, 0x80, 0x01, 0x03, 0x00, 0x00},
                   ErrorCode::kMalformed},
        RejectCase{"seventeen_secondaries", SecondaryCount(17), ErrorCode::kLimitExceeded},
        RejectCase{
            "count_beyond_datagram", {0x00, 0x01, 0x01, 0x02, 0x00, 0x0A, 0x01, 0x02}, ErrorCode::kMalformed},
        RejectCase{"secondary_fragment", {0x00, 0x01, 0x01, 0x02, 0x00, 0x01, 0xC1}, ErrorCode::kUnsupported},
        RejectCase{"six_fec_entries",
                   {0x00, 0x01, 0x01, 0x02, 0x80, 0x01, 0x03, 0x06, 1, 1, 1, 2, 1, 3, 1, 4, 1, 5, 1, 6},
                   ErrorCode::kLimitExceeded},
        RejectCase{
            "fec_span_six", {0x00, 0x01, 0x01, 0x02, 0x80, 0x01, 0x06, 0x00}, ErrorCode::kLimitExceeded},
        RejectCase{
            "fec_span_negative", {0x00, 0x01, 0x01, 0x02, 0x80, 0x01, 0x83, 0x00}, ErrorCode::kMalformed},
        RejectCase{"fec_npackets_two_octets",
                   {0x00, 0x01, 0x01, 0x02, 0x80, 0x02, 0x00, 0x03, 0x00},
                   ErrorCode::kLimitExceeded},
        RejectCase{"fec_npackets_empty", {0x00, 0x01, 0x01, 0x02, 0x80, 0x00, 0x00}, ErrorCode::kMalformed},
        RejectCase{"fec_entry_past_end",
                   {0x00, 0x01, 0x01, 0x02, 0x80, 0x01, 0x03, 0x01, 0x03, 0xAA},
                   ErrorCode::kMalformed},
        RejectCase{"too_big", Concat({{0x00, 0x01, 0x85, 0xD7}, Filler(1495), {0x00, 0x00}}),
                   ErrorCode::kLimitExceeded}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(DecodeUdptlPacket, TruncationAtEveryPositionIsAnError) {
    const std::vector<Bytes> packets = {
        {0xFF, 0xFF, 0x02, 0xAA, 0xBB, 0x00, 0x03, 0x01, 0x11, 0x01, 0x22, 0x01, 0x33},
        {0x00, 0x07, 0x01, 0x02, 0x80, 0x01, 0x03, 0x02, 0x01, 0xAA, 0x02, 0xBB, 0xCC},
        Concat({{0x01, 0x00, 0x80, 0xC8}, kLongIfp, {0x00, 0x01, 0x80, 0xC8}, kLongIfp}),
    };
    for (const auto& packet : packets) {
        ASSERT_TRUE(DecodeUdptlPacket(packet).has_value());
        for (std::size_t n = 0; n < packet.size(); ++n) {
            auto prefix = std::span<const std::uint8_t>(packet).first(n);
            EXPECT_FALSE(DecodeUdptlPacket(prefix).has_value()) << "prefix of " << n << " octets";
        }
    }
}

// ---- encoding
// ------------------------------------------------------------------------------------------------

TEST(EncodeUdptlPacket, ZeroLengthOpenTypeIsOneZeroOctet) {
    auto wire = EncodeUdptlPacket(Redundancy(0x0102, {}, {{}}));
    ASSERT_TRUE(wire.has_value());
    // X.691 §10.1: length 1, content 0x00; both for the primary and the secondary.
    EXPECT_EQ(*wire, (Bytes{0x01, 0x02, 0x01, 0x00, 0x00, 0x01, 0x01, 0x00}));
}

TEST(EncodeUdptlPacket, NoneIsRedundancyWithNoSecondaries) {
    UdptlPacket p = Redundancy(9, {0x02}, {{0x55}});
    p.recovery = ErrorRecovery::kNone;
    auto wire = EncodeUdptlPacket(p);
    ASSERT_TRUE(wire.has_value());
    EXPECT_EQ(*wire, (Bytes{0x00, 0x09, 0x01, 0x02, 0x00, 0x00}));
    auto back = DecodeUdptlPacket(*wire);
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(back->recovery, ErrorRecovery::kRedundancy);
    EXPECT_TRUE(back->secondaries.empty());
}

TEST(EncodeUdptlPacket, RefusesWhatTheDecoderWouldRefuse) {
    EXPECT_EQ(EncodeUdptlPacket(Redundancy(1, {0x02}, std::vector<Bytes>(17, Bytes{0x02}))).error().code,
              ErrorCode::kLimitExceeded);
    EXPECT_EQ(EncodeUdptlPacket(Fec(1, {0x02}, 3, std::vector<Bytes>(6, Bytes{0x02}))).error().code,
              ErrorCode::kLimitExceeded);
    EXPECT_EQ(EncodeUdptlPacket(Fec(1, {0x02}, 6, {})).error().code, ErrorCode::kInvalidArgument);
    EXPECT_EQ(EncodeUdptlPacket(Redundancy(1, Filler(1600), {})).error().code, ErrorCode::kLimitExceeded);
    EXPECT_EQ(EncodeUdptlPacket(Redundancy(1, Bytes(20000, 1), {})).error().code, ErrorCode::kUnsupported);
}

// ---- UdptlEncoder
// --------------------------------------------------------------------------------------------

UdptlPacket MustDecode(const base::Result<Bytes>& wire) {
    EXPECT_TRUE(wire.has_value()) << wire.error().ToString();
    auto packet = DecodeUdptlPacket(*wire);
    EXPECT_TRUE(packet.has_value()) << packet.error().ToString();
    return *packet;
}

TEST(UdptlEncoder, RedundancyWindsUpThenCarriesDepthNewestFirst) {
    UdptlEncoder encoder({.recovery = ErrorRecovery::kRedundancy, .redundancy_depth = 3, .first_seq = 100});
    const std::vector<Bytes> ifps = {{0x01}, {0x02, 0x02}, {0x03}, {0x04}, {0x05}};
    std::vector<UdptlPacket> packets;
    for (const auto& ifp : ifps) packets.push_back(MustDecode(encoder.Encode(ifp)));
    ExpectSamePacket(packets[0], Redundancy(100, {0x01}, {}));
    ExpectSamePacket(packets[1], Redundancy(101, {0x02, 0x02}, {{0x01}}));
    ExpectSamePacket(packets[2], Redundancy(102, {0x03}, {{0x02, 0x02}, {0x01}}));
    ExpectSamePacket(packets[3], Redundancy(103, {0x04}, {{0x03}, {0x02, 0x02}, {0x01}}));
    ExpectSamePacket(packets[4], Redundancy(104, {0x05}, {{0x04}, {0x03}, {0x02, 0x02}}));
    EXPECT_EQ(encoder.next_seq(), 105);
}

TEST(UdptlEncoder, RedundancyDepthIsClampedToFive) {
    UdptlEncoder encoder({.recovery = ErrorRecovery::kRedundancy, .redundancy_depth = 9});
    UdptlPacket last;
    for (std::uint8_t i = 0; i < 8; ++i) last = MustDecode(encoder.Encode(Bytes{i}));
    EXPECT_EQ(last.secondaries, (std::vector<Bytes>{{6}, {5}, {4}, {3}, {2}}));
}

TEST(UdptlEncoder, SequenceWraps) {
    UdptlEncoder encoder({.recovery = ErrorRecovery::kRedundancy, .redundancy_depth = 2, .first_seq = 65535});
    ExpectSamePacket(MustDecode(encoder.Encode(Bytes{0x01})), Redundancy(65535, {0x01}, {}));
    ExpectSamePacket(MustDecode(encoder.Encode(Bytes{0x02})), Redundancy(0, {0x02}, {{0x01}}));
    ExpectSamePacket(MustDecode(encoder.Encode(Bytes{0x03})), Redundancy(1, {0x03}, {{0x02}, {0x01}}));
}

TEST(UdptlEncoder, NoneSendsOnlyThePrimary) {
    UdptlEncoder encoder({.recovery = ErrorRecovery::kNone, .first_seq = 7});
    ASSERT_TRUE(encoder.Encode(Bytes{0x02}).has_value());
    auto wire = encoder.Encode(Bytes{0x04});
    ASSERT_TRUE(wire.has_value());
    EXPECT_EQ(*wire, (Bytes{0x00, 0x08, 0x01, 0x04, 0x00, 0x00}));
}

TEST(UdptlEncoder, DropsOldestSecondariesToFitMaxDatagram) {
    // Each 50-octet IFP takes 51 octets as an open type; the header is 2 + 51 + 1 + 1 = 55.
    UdptlEncoder encoder(
        {.recovery = ErrorRecovery::kRedundancy, .redundancy_depth = 3, .far_max_datagram = 160});
    for (std::uint8_t i = 0; i < 3; ++i) ASSERT_TRUE(encoder.Encode(Filler(50, i)).has_value());
    auto wire = encoder.Encode(Filler(50, 3));
    ASSERT_TRUE(wire.has_value());
    EXPECT_LE(wire->size(), 160u);
    const auto packet = MustDecode(wire);
    ASSERT_EQ(packet.secondaries.size(), 2u);  // 55 + 2 * 51 = 157; a third would make 208
    EXPECT_EQ(packet.secondaries[0], Filler(50, 2));
    EXPECT_EQ(packet.secondaries[1], Filler(50, 1));
}

TEST(UdptlEncoder, IfpThatCannotFitAloneIsLimitExceeded) {
    UdptlEncoder encoder({.recovery = ErrorRecovery::kRedundancy, .far_max_datagram = 60});
    ASSERT_TRUE(encoder.Encode(Filler(55)).has_value());  // 2 + 56 + 2 = 60
    auto wire = encoder.Encode(Filler(56));
    ASSERT_FALSE(wire.has_value());
    EXPECT_EQ(wire.error().code, ErrorCode::kLimitExceeded);
    EXPECT_EQ(encoder.next_seq(), 1);  // nothing was sent, so the number is not used up
    EXPECT_EQ(encoder.Encode(Bytes{}).error().code, ErrorCode::kInvalidArgument);
}

Bytes Xor(std::initializer_list<Bytes> members) {
    Bytes out;
    for (const auto& m : members) {
        if (m.size() > out.size()) out.resize(m.size(), 0);
        for (std::size_t i = 0; i < m.size(); ++i) out[i] ^= m[i];
    }
    return out;
}

TEST(UdptlEncoder, FecWindsUpAndCoversSpanPacketsEntriesApart) {
    UdptlEncoder encoder({.recovery = ErrorRecovery::kFec, .fec_span = 3, .fec_entries = 3});
    std::vector<Bytes> ifps;
    std::vector<UdptlPacket> packets;
    for (int i = 0; i < 24; ++i) {
        ifps.push_back(Filler(static_cast<std::size_t>(1 + i % 7), static_cast<std::uint8_t>(i * 11)));
        packets.push_back(MustDecode(encoder.Encode(ifps.back())));
    }
    // Fewer than span IFPs sent: span 0, no entries. Then entries = sent / span until span * entries are
    // sent.
    for (int s : {0, 1, 2}) ExpectSamePacket(packets[s], Fec(static_cast<std::uint16_t>(s), ifps[s], 0, {}));
    ExpectSamePacket(packets[3], Fec(3, ifps[3], 3, {Xor({ifps[0], ifps[1], ifps[2]})}));
    ExpectSamePacket(packets[5], Fec(5, ifps[5], 3, {Xor({ifps[2], ifps[3], ifps[4]})}));
    ExpectSamePacket(
        packets[6], Fec(6, ifps[6], 3, {Xor({ifps[0], ifps[2], ifps[4]}), Xor({ifps[1], ifps[3], ifps[5]})}));
    // Steady state: entry m of packet s covers s+m-9, s+m-6, s+m-3.
    for (int s = 9; s < 24; ++s) {
        std::vector<Bytes> entries;
        for (int m = 0; m < 3; ++m)
            entries.push_back(Xor({ifps[s + m - 9], ifps[s + m - 6], ifps[s + m - 3]}));
        ExpectSamePacket(packets[s], Fec(static_cast<std::uint16_t>(s), ifps[s], 3, entries));
    }
}

TEST(UdptlEncoder, FecRecomputesParityForFewerEntriesWhenTooBig) {
    // 40-octet IFPs: primary 2 + 41 + 1 + 2 + 1 = 47, each entry 41. Three entries make 170; two make 129.
    UdptlEncoder encoder(
        {.recovery = ErrorRecovery::kFec, .fec_span = 2, .fec_entries = 3, .far_max_datagram = 150});
    std::vector<Bytes> ifps;
    UdptlPacket last;
    for (int i = 0; i < 10; ++i) {
        ifps.push_back(Filler(40, static_cast<std::uint8_t>(i * 7)));
        auto wire = encoder.Encode(ifps.back());
        ASSERT_TRUE(wire.has_value());
        EXPECT_LE(wire->size(), 150u);
        last = MustDecode(wire);
    }
    // With 2 entries announced, entry m covers s+m-4 and s+m-2 (spacing 2, not 3).
    ExpectSamePacket(last, Fec(9, ifps[9], 2, {Xor({ifps[5], ifps[7]}), Xor({ifps[6], ifps[8]})}));
}

}  // namespace
}  // namespace faxd::t38
