// Receiving side of UDPTL (T.38 Annex D): reordering, duplicate removal, recovery from redundancy and FEC.
#include <algorithm>
#include <array>
#include <bitset>
#include <utility>

#include "t38/ifp_length.hpp"
#include "t38/udptl.hpp"

namespace faxd::t38 {
namespace {

// Signed distance a - b on the 16-bit sequence circle: positive when a is ahead of b.
int Distance(std::uint16_t a, std::uint16_t b) {
    return static_cast<std::int16_t>(static_cast<std::uint16_t>(a - b));
}

// A jump this far ahead or behind is not loss or lateness but a peer that restarted its numbering (the same
// bound spandsp's t38_core uses, ACCEPTABLE_SEQ_NO_OFFSET).
constexpr int kRestartDistance = 2000;
// Slots for recent sequence numbers: the reorder span ahead of `expected`, plus the IFPs behind it that FEC
// parity may still need (span * entries <= 25). A power of two dividing 65536 keeps seq % size continuous.
constexpr int kRingSize = 64;
static_assert(kRingSize >= 32 && 65536 % kRingSize == 0);
static_assert(kRingSize > kMaxFecSpan * kMaxFecEntries + kMaxSecondaries);
// Whether each sequence number behind `expected` was delivered or given up, to tell duplicates from late
// packets; must cover kRestartDistance.
constexpr int kPassedBits = 2048;
static_assert(kPassedBits > kRestartDistance && 65536 % kPassedBits == 0);

}  // namespace

struct UdptlDecoder::Impl {
    enum class Source : std::uint8_t { kPrimary, kRedundancy, kFec };

    struct Slot {
        std::uint16_t seq = 0;
        bool used = false;          // holds the state of `seq`
        bool have_ifp = false;      // the IFP is known (received or recovered)
        bool got_datagram = false;  // the datagram `seq` itself arrived
        Source source = Source::kPrimary;
        Bytes ifp;
        int fec_span = 0;
        std::vector<Bytes> fec;  // parity entries carried by datagram `seq`
    };

    explicit Impl(UdptlDecoderConfig config) : config_(config) {
        config_.reorder_window = std::max(config_.reorder_window, 0);
    }

    Slot* Find(std::uint16_t seq) {
        Slot& slot = ring_[seq % kRingSize];
        return slot.used && slot.seq == seq ? &slot : nullptr;
    }

    // The slot of `seq`, reclaimed from the sequence number it held before (always one behind `expected_`).
    Slot& Claim(std::uint16_t seq) {
        Slot& slot = ring_[seq % kRingSize];
        if (!slot.used || slot.seq != seq) {
            slot.used = true;
            slot.seq = seq;
            slot.have_ifp = false;
            slot.got_datagram = false;
            slot.ifp.clear();
            slot.fec_span = 0;
            slot.fec.clear();
        }
        return slot;
    }

    void Restart(std::uint16_t seq) {
        started_ = true;
        expected_ = seq;
        newest_ = seq;
        for (Slot& slot : ring_) slot.used = false;
        passed_delivered_.reset();
    }

    // Moves `expected_` one on: delivers its IFP, or counts it lost.
    void Pass(const Deliver& deliver, UdptlStats& stats) {
        Slot* slot = Find(expected_);
        const bool have = slot != nullptr && slot->have_ifp;
        if (have) {
            ++stats.delivered;
            if (slot->source == Source::kRedundancy) ++stats.recovered_redundancy;
            if (slot->source == Source::kFec) ++stats.recovered_fec;
            // The slot keeps its bytes: later parity groups may still include this IFP.
            deliver(expected_, slot->ifp);
        } else {
            ++stats.lost;
        }
        passed_delivered_[expected_ % kPassedBits] = have;
        ++expected_;
    }

    void DeliverInOrder(const Deliver& deliver, UdptlStats& stats) {
        for (Slot* slot = Find(expected_); slot != nullptr && slot->have_ifp; slot = Find(expected_)) {
            Pass(deliver, stats);
        }
    }

    bool GapOpen() const { return Distance(newest_, expected_) > 0; }

    // Datagrams that arrived with a sequence number above `seq`: the measure of how long a gap has waited.
    int DatagramsAfter(std::uint16_t seq) {
        int count = 0;
        for (int d = Distance(newest_, seq); d > 0; --d) {
            const Slot* slot = Find(static_cast<std::uint16_t>(seq + d));
            if (slot != nullptr && slot->got_datagram) ++count;
        }
        return count;
    }

    void Store(const UdptlPacket& packet) {
        Slot& slot = Claim(packet.seq);
        slot.got_datagram = true;
        slot.have_ifp = true;
        slot.source =
            Source::kPrimary;  // a primary that follows its own recovery replaces it: it is the original
        slot.ifp = packet.primary;
        if (packet.recovery == ErrorRecovery::kFec) {
            slot.fec_span = packet.fec_span;
            slot.fec = packet.fec_entries;
            return;
        }
        // Secondaries are newest_ first (seq-1, seq-2, ...); fill the gap oldest first.
        for (std::size_t i = packet.secondaries.size(); i-- > 0;) {
            const auto seq = static_cast<std::uint16_t>(packet.seq - 1 - i);
            const Bytes& secondary = packet.secondaries[i];
            // Behind `expected_` it is already settled; an empty one is a placeholder some peers send.
            if (Distance(seq, expected_) < 0 || secondary.empty()) continue;
            Slot& target = Claim(seq);
            if (target.have_ifp) continue;
            target.have_ifp = true;
            target.source = Source::kRedundancy;
            target.ifp = secondary;
        }
    }

    // Rebuilds one missing IFP from parity entry `m` of the datagram in `slot`, if exactly one member of the
    // parity group is missing. Returns whether it did.
    bool RepairGroup(const Slot& slot, std::size_t m) {
        const int span = slot.fec_span;
        const int entries = static_cast<int>(slot.fec.size());
        std::array<const Slot*, kMaxFecSpan> members{};
        int missing_count = 0;
        std::uint16_t missing = 0;
        for (int k = 0; k < span; ++k) {
            // Members seq+m-span*entries, ..., seq+m-entries (the encoder's scheme, see udptl.cpp).
            const auto seq =
                static_cast<std::uint16_t>(slot.seq + static_cast<int>(m) - span * entries + k * entries);
            const Slot* member = Find(seq);
            if (member == nullptr || !member->have_ifp) {
                if (++missing_count > 1) return false;
                missing = seq;
            }
            members[static_cast<std::size_t>(k)] = member;
        }
        if (missing_count != 1 || Distance(missing, expected_) < 0) return false;
        Bytes rebuilt = slot.fec[m];
        if (rebuilt.empty()) return false;
        for (int k = 0; k < span; ++k) {
            const Slot* member = members[static_cast<std::size_t>(k)];
            if (member == nullptr || !member->have_ifp) continue;
            const std::size_t n = std::min(rebuilt.size(), member->ifp.size());
            for (std::size_t j = 0; j < n; ++j) rebuilt[j] ^= member->ifp[j];
        }
        // Parity is as long as the longest member, so the rebuilt IFP may end in padding. Trim it to the
        // length its own encoding states, but only over zeros: anything else means the parse is not to be
        // trusted.
        const std::size_t length = IfpEncodedLength(rebuilt, config_.t38_version);
        if (length > 0 && length < rebuilt.size() &&
            std::all_of(rebuilt.begin() + static_cast<std::ptrdiff_t>(length), rebuilt.end(),
                        [](std::uint8_t b) { return b == 0; })) {
            rebuilt.resize(length);
        }
        Slot& target = Claim(missing);
        target.have_ifp = true;
        target.source = Source::kFec;
        target.ifp = std::move(rebuilt);
        return true;
    }

    // Repairs may chain (a rebuilt IFP completes another group), so run to a fixed point. Each round fills at
    // least one slot, so there are at most kRingSize rounds.
    void RepairFromFec() {
        for (bool changed = true; changed;) {
            changed = false;
            for (const Slot& slot : ring_) {
                // Parity of datagram s covers only IFPs before s: nothing to do unless s is ahead of
                // `expected_`.
                if (!slot.used || !slot.got_datagram || slot.fec_span == 0 ||
                    Distance(slot.seq, expected_) <= 0) {
                    continue;
                }
                for (std::size_t m = 0; m < slot.fec.size(); ++m) changed = RepairGroup(slot, m) || changed;
            }
        }
    }

    void Accept(const UdptlPacket& packet, const Deliver& deliver, UdptlStats& stats) {
        if (!started_) Restart(packet.seq);
        int distance = Distance(packet.seq, expected_);
        if (distance > kRestartDistance || distance < -kRestartDistance) {
            // The peer restarted its numbering: hand over what waited, then follow the new numbers.
            Flush(deliver, stats);
            Restart(packet.seq);
            distance = 0;
        }
        if (distance < 0) {
            if (passed_delivered_[packet.seq % kPassedBits]) {
                ++stats.duplicates;
            } else {
                ++stats.late;
            }
            return;
        }
        // Keep [expected_, packet.seq] inside the ring_: a jump past it gives up on the oldest gaps now.
        while (Distance(packet.seq, expected_) >= kRingSize) Pass(deliver, stats);
        if (const Slot* slot = Find(packet.seq); slot != nullptr && slot->got_datagram) {
            ++stats.duplicates;  // a repeat (spandsp sends indicators several times with the same seq)
            return;
        }
        if (Distance(packet.seq, newest_) > 0) newest_ = packet.seq;
        Store(packet);
        DeliverInOrder(deliver, stats);
        if (GapOpen()) {
            RepairFromFec();
            DeliverInOrder(deliver, stats);
        }
        // A gap nothing filled is given up once enough newer datagrams show it is loss, not reordering.
        while (GapOpen() && DatagramsAfter(expected_) >= config_.reorder_window) {
            Pass(deliver, stats);
            DeliverInOrder(deliver, stats);
        }
    }

    void Flush(const Deliver& deliver, UdptlStats& stats) {
        if (!started_) return;
        while (Distance(newest_, expected_) >= 0) Pass(deliver, stats);
    }

    UdptlDecoderConfig config_;
    bool started_ = false;
    std::uint16_t expected_ = 0;  // next sequence number to deliver
    std::uint16_t newest_ = 0;    // highest sequence number whose datagram arrived
    std::array<Slot, kRingSize> ring_;
    std::bitset<kPassedBits> passed_delivered_;
};

UdptlDecoder::UdptlDecoder(UdptlDecoderConfig config)
    : config_(config), impl_(std::make_shared<Impl>(config)) {}

bool UdptlDecoder::Receive(std::span<const std::uint8_t> datagram, const Deliver& deliver) {
    ++stats_.datagrams;
    auto packet = DecodeUdptlPacket(datagram);
    if (!packet) {
        ++stats_.malformed;
        return false;
    }
    impl_->Accept(*packet, deliver, stats_);
    return true;
}

void UdptlDecoder::Flush(const Deliver& deliver) { impl_->Flush(deliver, stats_); }

}  // namespace faxd::t38
