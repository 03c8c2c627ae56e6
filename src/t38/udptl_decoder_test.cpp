// UdptlDecoder behaviour: ordering, duplicates, loss, recovery by redundancy and FEC, sequence wrap and
// restart.
#include <algorithm>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "t38/udptl.hpp"

namespace faxd::t38 {
namespace {

struct Got {
    std::uint16_t seq;
    Bytes ifp;
    bool operator==(const Got&) const = default;
};

// Collects what the decoder delivers.
class Sink {
  public:
    UdptlDecoder::Deliver Fn() {
        return [this](std::uint16_t seq, std::span<const std::uint8_t> ifp) {
            got.push_back({seq, Bytes(ifp.begin(), ifp.end())});
        };
    }
    std::vector<std::uint16_t> Seqs() const {
        std::vector<std::uint16_t> seqs;
        for (const auto& g : got) seqs.push_back(g.seq);
        return seqs;
    }
    std::vector<Got> got;
};

// A small valid IFP that names its sequence number (a v0 t4-non-ecm-data field), so tests can check content.
Bytes IfpFor(std::uint16_t seq, std::size_t extra = 0) {
    Bytes ifp = {0xD0,
                 0x01,
                 0xE0,
                 0x00,
                 static_cast<std::uint8_t>(1 + extra),
                 static_cast<std::uint8_t>(seq >> 8),
                 static_cast<std::uint8_t>(seq & 0xFF)};
    for (std::size_t i = 0; i < extra; ++i) ifp.push_back(static_cast<std::uint8_t>(0x30 + i));
    return ifp;
}

// A datagram carrying IfpFor(seq) and `depth` secondaries IfpFor(seq-1), IfpFor(seq-2), ...
Bytes Datagram(std::uint16_t seq, int depth = 0) {
    UdptlPacket p;
    p.seq = seq;
    p.primary = IfpFor(seq);
    for (int k = 1; k <= depth; ++k) p.secondaries.push_back(IfpFor(static_cast<std::uint16_t>(seq - k)));
    return *EncodeUdptlPacket(p);
}

std::vector<std::uint16_t> Range(std::uint16_t first, int count) {
    std::vector<std::uint16_t> seqs;
    for (int i = 0; i < count; ++i) seqs.push_back(static_cast<std::uint16_t>(first + i));
    return seqs;
}

TEST(UdptlDecoder, DeliversInOrder) {
    UdptlDecoder decoder;
    Sink sink;
    for (std::uint16_t s = 0; s < 10; ++s) EXPECT_TRUE(decoder.Receive(Datagram(s, 3), sink.Fn()));
    EXPECT_EQ(sink.Seqs(), Range(0, 10));
    for (const auto& g : sink.got) EXPECT_EQ(g.ifp, IfpFor(g.seq));
    EXPECT_EQ(decoder.stats().datagrams, 10u);
    EXPECT_EQ(decoder.stats().delivered, 10u);
    EXPECT_EQ(decoder.stats().lost, 0u);
    EXPECT_EQ(decoder.stats().recovered_redundancy, 0u);
}

class RedundancyLossTest : public testing::TestWithParam<int> {};

TEST_P(RedundancyLossTest, RecoversUpToDepthConsecutiveLosses) {
    const int lost = GetParam();
    UdptlDecoder decoder;
    Sink sink;
    for (int s = 0; s < 12; ++s) {
        if (s >= 5 && s < 5 + lost) continue;
        decoder.Receive(Datagram(static_cast<std::uint16_t>(s), 3), sink.Fn());
        // Recovery is immediate: nothing waits for the reorder window.
        if (s == 5 + lost) {
            EXPECT_EQ(sink.got.size(), static_cast<std::size_t>(s + 1));
        }
    }
    EXPECT_EQ(sink.Seqs(), Range(0, 12));
    for (const auto& g : sink.got) EXPECT_EQ(g.ifp, IfpFor(g.seq));
    EXPECT_EQ(decoder.stats().recovered_redundancy, static_cast<std::uint64_t>(lost));
    EXPECT_EQ(decoder.stats().lost, 0u);
}

INSTANTIATE_TEST_SUITE_P(Depth3, RedundancyLossTest, testing::Values(1, 2, 3));

TEST(UdptlDecoder, LossBeyondDepthIsDeclaredAfterReorderWindow) {
    UdptlDecoder decoder({.reorder_window = 4});
    Sink sink;
    for (std::uint16_t s = 0; s < 4; ++s) decoder.Receive(Datagram(s, 3), sink.Fn());
    // 4, 5, 6, 7 lost; 8 carries 7, 6, 5, so only 4 stays missing.
    decoder.Receive(Datagram(8, 3), sink.Fn());
    decoder.Receive(Datagram(9, 3), sink.Fn());
    decoder.Receive(Datagram(10, 3), sink.Fn());
    EXPECT_EQ(sink.Seqs(), Range(0, 4));
    EXPECT_EQ(decoder.stats().lost, 0u);
    decoder.Receive(Datagram(11, 3), sink.Fn());  // the fourth datagram after the gap
    std::vector<std::uint16_t> want = Range(0, 4);
    for (std::uint16_t s = 5; s <= 11; ++s) want.push_back(s);
    EXPECT_EQ(sink.Seqs(), want);
    EXPECT_EQ(decoder.stats().lost, 1u);
    EXPECT_EQ(decoder.stats().recovered_redundancy, 3u);
    // 4 arriving now is too late.
    decoder.Receive(Datagram(4, 3), sink.Fn());
    EXPECT_EQ(decoder.stats().late, 1u);
    EXPECT_EQ(sink.got.size(), want.size());
}

TEST(UdptlDecoder, ReorderedPacketIsDeliveredInOrderOnce) {
    UdptlDecoder decoder;
    Sink sink;
    for (std::uint16_t s : {0, 1, 3, 2, 4}) decoder.Receive(Datagram(s), sink.Fn());
    EXPECT_EQ(sink.Seqs(), Range(0, 5));
    EXPECT_EQ(decoder.stats().lost, 0u);
    EXPECT_EQ(decoder.stats().duplicates, 0u);
    EXPECT_EQ(decoder.stats().late, 0u);
}

TEST(UdptlDecoder, ReorderWindowZeroGivesUpAtOnce) {
    UdptlDecoder decoder({.reorder_window = 0});
    Sink sink;
    for (std::uint16_t s : {0, 1, 3, 2, 4}) decoder.Receive(Datagram(s), sink.Fn());
    EXPECT_EQ(sink.Seqs(), (std::vector<std::uint16_t>{0, 1, 3, 4}));
    EXPECT_EQ(decoder.stats().lost, 1u);
    EXPECT_EQ(decoder.stats().late, 1u);
}

TEST(UdptlDecoder, RepeatedDatagramsAreDeliveredOnceAndCounted) {
    UdptlDecoder decoder;
    Sink sink;
    // spandsp asks for indicators to be sent 3 times; FreeSWITCH sends the same datagram (same seq) 3 times.
    for (int i = 0; i < 3; ++i) decoder.Receive(Datagram(0), sink.Fn());
    decoder.Receive(Datagram(1), sink.Fn());
    // A repeat of a datagram that is still waiting behind a gap.
    decoder.Receive(Datagram(3), sink.Fn());
    decoder.Receive(Datagram(3), sink.Fn());
    decoder.Receive(Datagram(2), sink.Fn());
    EXPECT_EQ(sink.Seqs(), Range(0, 4));
    EXPECT_EQ(decoder.stats().duplicates, 3u);
    EXPECT_EQ(decoder.stats().delivered, 4u);
}

TEST(UdptlDecoder, SequenceWrapWithLossAcrossIt) {
    UdptlDecoder decoder;
    Sink sink;
    decoder.Receive(Datagram(65533, 3), sink.Fn());
    decoder.Receive(Datagram(65534, 3), sink.Fn());
    // 65535 and 0 lost; 1 carries both.
    decoder.Receive(Datagram(1, 3), sink.Fn());
    decoder.Receive(Datagram(2, 3), sink.Fn());
    EXPECT_EQ(sink.Seqs(), (std::vector<std::uint16_t>{65533, 65534, 65535, 0, 1, 2}));
    for (const auto& g : sink.got) EXPECT_EQ(g.ifp, IfpFor(g.seq));
    EXPECT_EQ(decoder.stats().recovered_redundancy, 2u);
}

class FirstSeqTest : public testing::TestWithParam<std::uint16_t> {};

TEST_P(FirstSeqTest, AnyStartIsAccepted) {
    const std::uint16_t first = GetParam();
    UdptlDecoder decoder;
    Sink sink;
    for (int i = 0; i < 6; ++i) {
        if (i == 2) continue;  // one loss, recovered
        decoder.Receive(Datagram(static_cast<std::uint16_t>(first + i), 2), sink.Fn());
    }
    EXPECT_EQ(sink.Seqs(), Range(first, 6));
    // Something from before the first datagram is late, not a reason to go back.
    decoder.Receive(Datagram(static_cast<std::uint16_t>(first - 1)), sink.Fn());
    EXPECT_EQ(decoder.stats().late, 1u);
    EXPECT_EQ(sink.got.size(), 6u);
}

// Cisco gateways start at 32768; others at any number, odd ones included.
INSTANTIATE_TEST_SUITE_P(Starts, FirstSeqTest, testing::Values(0, 1, 32768, 12345, 65535));

TEST(UdptlDecoder, BigJumpIsAPeerRestart) {
    UdptlDecoder decoder;
    Sink sink;
    decoder.Receive(Datagram(100), sink.Fn());
    decoder.Receive(Datagram(101), sink.Fn());
    decoder.Receive(Datagram(5000), sink.Fn());
    decoder.Receive(Datagram(5001), sink.Fn());
    decoder.Receive(Datagram(20), sink.Fn());  // far behind 5002 too: another restart
    EXPECT_EQ(sink.Seqs(), (std::vector<std::uint16_t>{100, 101, 5000, 5001, 20}));
    EXPECT_EQ(decoder.stats().lost, 0u);
    EXPECT_EQ(decoder.stats().late, 0u);
}

TEST(UdptlDecoder, JumpWithinRestartDistanceCountsTheGapAsLost) {
    UdptlDecoder decoder({.reorder_window = 2});
    Sink sink;
    decoder.Receive(Datagram(0), sink.Fn());
    decoder.Receive(Datagram(1000), sink.Fn());
    decoder.Receive(Datagram(1001), sink.Fn());
    EXPECT_EQ(sink.Seqs(), (std::vector<std::uint16_t>{0, 1000, 1001}));
    EXPECT_EQ(decoder.stats().lost, 999u);
}

TEST(UdptlDecoder, FlushGivesUpOpenGaps) {
    UdptlDecoder decoder({.reorder_window = 10});
    Sink sink;
    for (std::uint16_t s : {0, 2, 3, 5}) decoder.Receive(Datagram(s), sink.Fn());
    EXPECT_EQ(sink.Seqs(), (std::vector<std::uint16_t>{0}));
    decoder.Flush(sink.Fn());
    EXPECT_EQ(sink.Seqs(), (std::vector<std::uint16_t>{0, 2, 3, 5}));
    EXPECT_EQ(decoder.stats().lost, 2u);
    decoder.Receive(Datagram(6), sink.Fn());
    EXPECT_EQ(sink.Seqs().back(), 6);
    decoder.Flush(sink.Fn());  // nothing open: no effect
    EXPECT_EQ(decoder.stats().lost, 2u);
}

TEST(UdptlDecoder, EmptySecondaryIsIgnored) {
    UdptlDecoder decoder({.reorder_window = 1});
    Sink sink;
    decoder.Receive(Datagram(0), sink.Fn());
    // seq 2 whose secondary for 1 is a zero-length open type (length 0 on the wire).
    decoder.Receive(Bytes{0x00, 0x02, 0x01, 0x04, 0x00, 0x01, 0x00}, sink.Fn());
    EXPECT_EQ(sink.Seqs(), (std::vector<std::uint16_t>{0, 2}));
    EXPECT_EQ(decoder.stats().lost, 1u);
}

TEST(UdptlDecoder, MalformedIsCountedAndDropped) {
    UdptlDecoder decoder;
    Sink sink;
    EXPECT_FALSE(decoder.Receive(Bytes{0x00, 0x01, 0x05}, sink.Fn()));
    EXPECT_FALSE(decoder.Receive(Bytes(1600, 0), sink.Fn()));
    EXPECT_TRUE(decoder.Receive(Datagram(7), sink.Fn()));
    EXPECT_EQ(decoder.stats().malformed, 2u);
    EXPECT_EQ(decoder.stats().datagrams, 3u);
    EXPECT_EQ(sink.Seqs(), (std::vector<std::uint16_t>{7}));
}

// ---- FEC
// -----------------------------------------------------------------------------------------------------

// IFPs of different lengths, some ending in zero octets, so rebuilt IFPs must be trimmed exactly.
Bytes FecIfp(int i) {
    Bytes ifp = IfpFor(static_cast<std::uint16_t>(i), static_cast<std::size_t>((i * 5) % 11));
    if (i % 3 == 0) ifp.back() = 0x00;
    return ifp;
}

std::vector<Bytes> FecStream(int count, UdptlEncoderConfig config) {
    UdptlEncoder encoder(config);
    std::vector<Bytes> datagrams;
    for (int i = 0; i < count; ++i) datagrams.push_back(*encoder.Encode(FecIfp(i)));
    return datagrams;
}

class FecSingleLossTest : public testing::TestWithParam<int> {};

TEST_P(FecSingleLossTest, RebuildsTheExactIfp) {
    const int dropped = GetParam();
    const auto datagrams = FecStream(40, {.recovery = ErrorRecovery::kFec, .fec_span = 3, .fec_entries = 3});
    UdptlDecoder decoder({.reorder_window = 4, .t38_version = 0});
    Sink sink;
    for (int i = 0; i < 40; ++i) {
        if (i != dropped) decoder.Receive(datagrams[static_cast<std::size_t>(i)], sink.Fn());
    }
    ASSERT_EQ(sink.Seqs(), Range(0, 40));
    for (const auto& g : sink.got) EXPECT_EQ(g.ifp, FecIfp(g.seq)) << "seq " << g.seq;
    EXPECT_EQ(decoder.stats().recovered_fec, 1u);
    EXPECT_EQ(decoder.stats().lost, 0u);
}

INSTANTIATE_TEST_SUITE_P(Positions, FecSingleLossTest, testing::Values(3, 9, 10, 11, 12, 20, 21, 30));

TEST(UdptlDecoder, FecRebuildsTwoConsecutiveLossesFromDifferentGroups) {
    const auto datagrams = FecStream(40, {.recovery = ErrorRecovery::kFec, .fec_span = 3, .fec_entries = 3});
    UdptlDecoder decoder;
    Sink sink;
    for (int i = 0; i < 40; ++i) {
        if (i != 20 && i != 21) decoder.Receive(datagrams[static_cast<std::size_t>(i)], sink.Fn());
    }
    ASSERT_EQ(sink.Seqs(), Range(0, 40));
    for (const auto& g : sink.got) EXPECT_EQ(g.ifp, FecIfp(g.seq));
    EXPECT_EQ(decoder.stats().recovered_fec, 2u);
}

TEST(UdptlDecoder, FecRepairsChain) {
    // Span 2, entries 1: entry of packet s covers s-2 and s-1. Losing 10 and 11: packet 12 covers {10, 11}
    // (two missing), packet 13 covers {11, 12} and rebuilds 11, which completes {10, 11} for 10.
    const auto datagrams = FecStream(20, {.recovery = ErrorRecovery::kFec, .fec_span = 2, .fec_entries = 1});
    UdptlDecoder decoder;
    Sink sink;
    for (int i = 0; i < 20; ++i) {
        if (i != 10 && i != 11) decoder.Receive(datagrams[static_cast<std::size_t>(i)], sink.Fn());
    }
    ASSERT_EQ(sink.Seqs(), Range(0, 20));
    for (const auto& g : sink.got) EXPECT_EQ(g.ifp, FecIfp(g.seq));
    EXPECT_EQ(decoder.stats().recovered_fec, 2u);
}

TEST(UdptlDecoder, FecLossNoGroupCanRebuildIsCountedLost) {
    // Span 3, entries 1: packet s covers s-3, s-2, s-1. Losing 10..13, packet 16 rebuilds 13, then 15
    // rebuilds 12 and 14 rebuilds 11; but every group that holds 10 was in a lost packet (11, 12, 13).
    const auto datagrams = FecStream(30, {.recovery = ErrorRecovery::kFec, .fec_span = 3, .fec_entries = 1});
    UdptlDecoder decoder({.reorder_window = 4});
    Sink sink;
    for (int i = 0; i < 30; ++i) {
        if (i < 10 || i > 13) decoder.Receive(datagrams[static_cast<std::size_t>(i)], sink.Fn());
        if (i == 16) {
            EXPECT_EQ(sink.got.size(), 10u);  // 11..16 wait behind 10 for the reorder window
        }
    }
    EXPECT_EQ(decoder.stats().lost, 1u);
    EXPECT_EQ(decoder.stats().recovered_fec, 3u);
    std::vector<std::uint16_t> want = Range(0, 30);
    want.erase(want.begin() + 10);
    EXPECT_EQ(sink.Seqs(), want);
    for (const auto& g : sink.got) EXPECT_EQ(g.ifp, FecIfp(g.seq));
}

// ---- encoder to decoder through a lossy channel
// ----------------------------------------------------------------

TEST(UdptlRoundTrip, RedundancyUnderRandomLossMatchesModel) {
    constexpr int kCount = 3000;
    constexpr int kDepth = 3;
    UdptlEncoder encoder(
        {.recovery = ErrorRecovery::kRedundancy, .redundancy_depth = kDepth, .first_seq = 65000});
    UdptlDecoder decoder({.reorder_window = 4});
    Sink sink;
    std::mt19937 rng(20240611);
    std::bernoulli_distribution lose(0.10);
    std::vector<bool> received(kCount);
    for (int i = 0; i < kCount; ++i) {
        auto datagram =
            encoder.Encode(IfpFor(static_cast<std::uint16_t>(65000 + i), static_cast<std::size_t>(i % 40)));
        ASSERT_TRUE(datagram.has_value());
        received[static_cast<std::size_t>(i)] = !lose(rng);
        if (received[static_cast<std::size_t>(i)]) decoder.Receive(*datagram, sink.Fn());
    }
    decoder.Flush(sink.Fn());
    // Model: IFP i arrives if its own datagram or one of the next kDepth ones did; the decoder starts at the
    // first datagram it sees and knows nothing past the last one.
    const int first = static_cast<int>(std::find(received.begin(), received.end(), true) - received.begin());
    const int last =
        kCount - 1 -
        static_cast<int>(std::find(received.rbegin(), received.rend(), true) - received.rbegin());
    std::vector<std::uint16_t> want;
    std::uint64_t want_lost = 0;
    for (int i = first; i <= last; ++i) {
        bool ok = false;
        for (int k = 0; k <= kDepth && i + k < kCount; ++k)
            ok = ok || received[static_cast<std::size_t>(i + k)];
        if (ok) {
            want.push_back(static_cast<std::uint16_t>(65000 + i));
        } else {
            ++want_lost;
        }
    }
    EXPECT_EQ(sink.Seqs(), want);
    EXPECT_EQ(decoder.stats().lost, want_lost);
    EXPECT_GT(decoder.stats().recovered_redundancy, 200u);
    for (const auto& g : sink.got) {
        EXPECT_EQ(g.ifp,
                  IfpFor(g.seq, static_cast<std::size_t>(static_cast<std::uint16_t>(g.seq - 65000) % 40)));
    }
}

TEST(UdptlRoundTrip, FecUnderRandomLossNeverDeliversWrongBytes) {
    constexpr int kCount = 3000;
    UdptlEncoder encoder({.recovery = ErrorRecovery::kFec, .fec_span = 3, .fec_entries = 3});
    UdptlDecoder decoder({.reorder_window = 6, .t38_version = 0});
    Sink sink;
    std::mt19937 rng(7);
    std::bernoulli_distribution lose(0.05);
    int received = 0;
    for (int i = 0; i < kCount; ++i) {
        auto datagram = encoder.Encode(FecIfp(i));
        ASSERT_TRUE(datagram.has_value());
        if (i != 0 && i != kCount - 1 && lose(rng)) continue;
        ++received;
        decoder.Receive(*datagram, sink.Fn());
    }
    decoder.Flush(sink.Fn());
    for (std::size_t i = 1; i < sink.got.size(); ++i) ASSERT_LT(sink.got[i - 1].seq, sink.got[i].seq);
    for (const auto& g : sink.got) ASSERT_EQ(g.ifp, FecIfp(g.seq)) << "seq " << g.seq;
    EXPECT_EQ(sink.got.size() + decoder.stats().lost, static_cast<std::size_t>(kCount));
    EXPECT_GT(decoder.stats().recovered_fec, static_cast<std::uint64_t>((kCount - received) * 8 / 10));
}

}  // namespace
}  // namespace faxd::t38
