// libFuzzer target for the UDPTL codec (src/t38): peers control every byte of these datagrams.
//
// 1. The input as one datagram: a packet that decodes must re-encode, and decode again to the same packet.
// 2. Input byte 0 picks a decoder setting, the rest is split into datagrams (each: one length octet, bytes)
// and
//    fed to a UdptlDecoder: it must deliver in sequence order, each IFP once, except across a peer restart.
// 3. The same chunks as IFPs through a UdptlEncoder and a loss-free channel: the decoder must give back
// exactly
//    the IFPs the encoder took.
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "t38/ifp_length.hpp"
#include "t38/udptl.hpp"

namespace {

using faxd::t38::Bytes;
using faxd::t38::UdptlPacket;

void Check(bool condition) {
    if (!condition) std::abort();
}

// An empty open type goes on the wire as one zero octet (X.691 §10.1), so it comes back as {0}.
Bytes AsSent(const Bytes& open_type) { return open_type.empty() ? Bytes{0} : open_type; }

void CheckRoundTrip(std::span<const std::uint8_t> datagram) {
    auto packet = faxd::t38::DecodeUdptlPacket(datagram);
    if (!packet) return;
    // Re-encoding can only grow by the zero octet each empty open type gains (non-minimal lengths shrink).
    const std::size_t bound = datagram.size() + 1 + packet->secondaries.size();
    auto wire = faxd::t38::EncodeUdptlPacket(*packet);
    if (!wire) {
        Check(wire.error().code == faxd::base::ErrorCode::kLimitExceeded &&
              bound > faxd::t38::kMaxDatagramBytes);
        return;
    }
    Check(wire->size() <= bound);
    auto again = faxd::t38::DecodeUdptlPacket(*wire);
    Check(again.has_value());
    Check(again->seq == packet->seq);
    Check(again->recovery == packet->recovery);
    Check(again->primary == AsSent(packet->primary));
    Check(again->secondaries.size() == packet->secondaries.size());
    for (std::size_t i = 0; i < packet->secondaries.size(); ++i) {
        Check(again->secondaries[i] == AsSent(packet->secondaries[i]));
    }
    Check(again->fec_span == packet->fec_span);
    Check(again->fec_entries == packet->fec_entries);
    // The IFP parser must stay inside the buffer it is given.
    for (int version = 0; version <= 3; ++version) {
        Check(faxd::t38::IfpEncodedLength(packet->primary, version) <= packet->primary.size());
    }
}

std::vector<std::span<const std::uint8_t>> Split(std::span<const std::uint8_t> rest) {
    std::vector<std::span<const std::uint8_t>> chunks;
    while (!rest.empty()) {
        const std::size_t length = std::min<std::size_t>(rest[0], rest.size() - 1);
        chunks.push_back(rest.subspan(1, length));
        rest = rest.subspan(1 + length);
    }
    return chunks;
}

int Distance(std::uint16_t a, std::uint16_t b) {
    return static_cast<std::int16_t>(static_cast<std::uint16_t>(a - b));
}

void FeedDecoder(std::uint8_t control, const std::vector<std::span<const std::uint8_t>>& datagrams) {
    faxd::t38::UdptlDecoder decoder({.reorder_window = control & 0x07, .t38_version = (control >> 3) & 0x03});
    bool have_previous = false;
    std::uint16_t previous = 0;
    std::uint64_t calls = 0;
    const auto deliver = [&](std::uint16_t seq, std::span<const std::uint8_t> ifp) {
        Check(ifp.size() <= faxd::t38::kMaxDatagramBytes);
        // In order and once; only a peer restart (a jump of about 2000 or more) may go backwards.
        if (have_previous) Check(Distance(seq, previous) > 0 || Distance(seq, previous) < -1900);
        have_previous = true;
        previous = seq;
        ++calls;
    };
    std::uint64_t malformed = 0;
    for (std::size_t i = 0; i < datagrams.size(); ++i) {
        if (!decoder.Receive(datagrams[i], deliver)) ++malformed;
        if ((control & 0x40) && i % 7 == 6) decoder.Flush(deliver);
    }
    decoder.Flush(deliver);
    const auto& stats = decoder.stats();
    Check(stats.datagrams == datagrams.size());
    Check(stats.malformed == malformed);
    Check(stats.delivered == calls);
    Check(stats.recovered_redundancy + stats.recovered_fec <= stats.delivered);
}

void FeedEncoder(std::uint8_t control, const std::vector<std::span<const std::uint8_t>>& ifps) {
    faxd::t38::UdptlEncoderConfig config;
    config.recovery = static_cast<faxd::t38::ErrorRecovery>((control >> 5) % 3);
    config.redundancy_depth = control % 6;
    config.fec_span = 1 + control % 5;
    config.fec_entries = (control >> 2) % 6;
    config.far_max_datagram = 40 + static_cast<std::size_t>(control) * 3;
    config.first_seq = static_cast<std::uint16_t>(control * 257);
    faxd::t38::UdptlEncoder encoder(config);
    faxd::t38::UdptlDecoder decoder({.reorder_window = 0});
    std::vector<Bytes> sent;
    std::vector<Bytes> got;
    for (const auto& ifp : ifps) {
        auto datagram = encoder.Encode(ifp);
        if (!datagram) continue;
        Check(datagram->size() <= config.far_max_datagram);
        sent.emplace_back(ifp.begin(), ifp.end());
        Check(decoder.Receive(*datagram, [&](std::uint16_t, std::span<const std::uint8_t> out) {
            got.emplace_back(out.begin(), out.end());
        }));
    }
    Check(got == sent);
    Check(decoder.stats().lost == 0 && decoder.stats().duplicates == 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::span<const std::uint8_t> input(data, size);
    CheckRoundTrip(input);
    if (input.empty()) return 0;
    const auto chunks = Split(input.subspan(1));
    FeedDecoder(input[0], chunks);
    FeedEncoder(input[0], chunks);
    return 0;
}
