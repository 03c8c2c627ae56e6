// UDPTL packet codec and sending side (T.38 Annex D). The receiving side is in udptl_decoder.cpp.
#include "t38/udptl.hpp"

#include <algorithm>
#include <string>
#include <utility>

#include "t38/per.hpp"

namespace faxd::t38 {

using base::ErrorCode;
using base::MakeError;

namespace {

// error-recovery CHOICE (T.38 Annex D): a one-bit index, padded to the octet because what follows is aligned.
constexpr std::uint8_t kChoiceSecondary = 0x00;
constexpr std::uint8_t kChoiceFec = 0x80;

// What we send, as UdptlEncoderConfig documents; peers accept more (we accept kMaxSecondaries), but no fax
// implementation sends more than 5 and each secondary costs a full IFP of bandwidth.
constexpr int kMaxRedundancyDepth = 5;

// Enough history for the deepest redundancy (kMaxSecondaries) and the widest FEC window (span * entries).
// A power of two that divides 65536, so seq % size stays continuous across the sequence wrap.
constexpr std::size_t kHistorySize = 32;
static_assert(kHistorySize > kMaxSecondaries && kHistorySize > kMaxFecSpan * kMaxFecEntries);
static_assert(65536 % kHistorySize == 0);

std::string At(const per::Reader& reader) { return " at octet " + std::to_string(reader.position()); }

base::Result<Bytes> ReadBytes(per::Reader& reader) {
    auto bytes = reader.ReadOctetString();
    if (!bytes) return tl::unexpected(bytes.error());
    return Bytes(bytes->begin(), bytes->end());
}

// Reads a SEQUENCE OF count (a length determinant) and checks it against our bound.
base::Result<std::size_t> ReadCount(per::Reader& reader, int limit, const char* what) {
    auto count = reader.ReadLengthDeterminant();
    if (!count) return count;
    if (*count > static_cast<std::size_t>(limit)) {
        return MakeError(ErrorCode::kLimitExceeded, std::to_string(*count) + " " + what + " (at most " +
                                                        std::to_string(limit) + " accepted)" + At(reader));
    }
    // Each element takes at least one octet: a count the datagram cannot hold is malformed, not a big loop.
    if (*count > reader.remaining()) {
        return MakeError(ErrorCode::kMalformed,
                         std::to_string(*count) + " " + what + " cannot fit" + At(reader));
    }
    return count;
}

base::Result<void> DecodeFecInfo(per::Reader& reader, UdptlPacket& packet) {
    // fec-npackets is an unconstrained INTEGER: a length, then two's complement octets. Every implementation
    // sends one octet (span <= kMaxFecSpan); anything longer would be a span we refuse anyway.
    auto integer_length = reader.ReadLengthDeterminant();
    if (!integer_length) return tl::unexpected(integer_length.error());
    if (*integer_length == 0) return MakeError(ErrorCode::kMalformed, "empty fec-npackets" + At(reader));
    if (*integer_length > 1) {
        return MakeError(ErrorCode::kLimitExceeded,
                         "fec-npackets of " + std::to_string(*integer_length) + " octets" + At(reader));
    }
    auto span = reader.ReadOctet();
    if (!span) return tl::unexpected(span.error());
    if (*span & 0x80) return MakeError(ErrorCode::kMalformed, "negative fec-npackets" + At(reader));
    if (*span > kMaxFecSpan) {
        return MakeError(ErrorCode::kLimitExceeded, "FEC span " + std::to_string(*span) + " (at most " +
                                                        std::to_string(kMaxFecSpan) + " accepted)");
    }
    packet.fec_span = *span;
    auto count = ReadCount(reader, kMaxFecEntries, "FEC entries");
    if (!count) return tl::unexpected(count.error());
    packet.fec_entries.reserve(*count);
    for (std::size_t i = 0; i < *count; ++i) {
        auto entry = ReadBytes(reader);
        if (!entry) return tl::unexpected(entry.error());
        packet.fec_entries.push_back(std::move(*entry));
    }
    return {};
}

// Exact encoded size of `packet`, so the encoder can fit a datagram without building it several times.
std::size_t EncodedSize(const UdptlPacket& packet) {
    std::size_t size = 2 + per::OpenTypeSize(packet.primary.size()) + 1;
    switch (packet.recovery) {
        case ErrorRecovery::kNone:
            return size + 1;
        case ErrorRecovery::kRedundancy:
            size += per::LengthDeterminantSize(packet.secondaries.size());
            for (const auto& secondary : packet.secondaries) size += per::OpenTypeSize(secondary.size());
            return size;
        case ErrorRecovery::kFec:
            size += 2 + per::LengthDeterminantSize(packet.fec_entries.size());
            for (const auto& entry : packet.fec_entries) {
                size += per::LengthDeterminantSize(entry.size()) + entry.size();
            }
            return size;
    }
    return size;
}

}  // namespace

base::Result<UdptlPacket> DecodeUdptlPacket(std::span<const std::uint8_t> datagram) {
    if (datagram.size() > kMaxDatagramBytes) {
        return MakeError(ErrorCode::kLimitExceeded, "datagram of " + std::to_string(datagram.size()) +
                                                        " octets (at most " +
                                                        std::to_string(kMaxDatagramBytes) + " accepted)");
    }
    per::Reader reader(datagram);
    UdptlPacket packet;
    auto seq = reader.ReadUint16();
    if (!seq) return tl::unexpected(seq.error());
    packet.seq = *seq;
    auto primary = ReadBytes(reader);
    if (!primary) return tl::unexpected(primary.error());
    packet.primary = std::move(*primary);
    auto choice = reader.ReadOctet();
    if (!choice) return tl::unexpected(choice.error());
    if (*choice == kChoiceSecondary) {
        packet.recovery = ErrorRecovery::kRedundancy;
        auto count = ReadCount(reader, kMaxSecondaries, "secondary IFPs");
        if (!count) return tl::unexpected(count.error());
        packet.secondaries.reserve(*count);
        for (std::size_t i = 0; i < *count; ++i) {
            auto secondary = ReadBytes(reader);
            if (!secondary) return tl::unexpected(secondary.error());
            packet.secondaries.push_back(std::move(*secondary));
        }
    } else if (*choice == kChoiceFec) {
        packet.recovery = ErrorRecovery::kFec;
        auto fec = DecodeFecInfo(reader, packet);
        if (!fec) return tl::unexpected(fec.error());
    } else {
        // The CHOICE has two alternatives and no extension marker: the other seven bits are padding, always
        // 0.
        return MakeError(ErrorCode::kMalformed, "error-recovery octet " + std::to_string(*choice));
    }
    if (reader.remaining() != 0) {
        return MakeError(ErrorCode::kMalformed,
                         std::to_string(reader.remaining()) + " trailing octets" + At(reader));
    }
    return packet;
}

base::Result<Bytes> EncodeUdptlPacket(const UdptlPacket& packet) {
    // The same bounds the decoder applies: whatever we send, we (and peers like us) can read back.
    if (packet.secondaries.size() > static_cast<std::size_t>(kMaxSecondaries) ||
        packet.fec_entries.size() > static_cast<std::size_t>(kMaxFecEntries)) {
        return MakeError(ErrorCode::kLimitExceeded, "too many secondary IFPs or FEC entries");
    }
    if (packet.fec_span < 0 || packet.fec_span > kMaxFecSpan) {
        return MakeError(ErrorCode::kInvalidArgument, "FEC span " + std::to_string(packet.fec_span));
    }
    Bytes out;
    out.reserve(EncodedSize(packet));
    out.push_back(static_cast<std::uint8_t>(packet.seq >> 8));
    out.push_back(static_cast<std::uint8_t>(packet.seq & 0xFF));
    if (auto r = per::AppendOpenType(out, packet.primary); !r) return tl::unexpected(r.error());
    switch (packet.recovery) {
        case ErrorRecovery::kNone:
            out.push_back(kChoiceSecondary);
            out.push_back(0);  // no secondaries
            break;
        case ErrorRecovery::kRedundancy:
            out.push_back(kChoiceSecondary);
            if (auto r = per::AppendLengthDeterminant(out, packet.secondaries.size()); !r) {
                return tl::unexpected(r.error());
            }
            for (const auto& secondary : packet.secondaries) {
                if (auto r = per::AppendOpenType(out, secondary); !r) return tl::unexpected(r.error());
            }
            break;
        case ErrorRecovery::kFec:
            out.push_back(kChoiceFec);
            out.push_back(1);  // fec-npackets: one octet of INTEGER
            out.push_back(static_cast<std::uint8_t>(packet.fec_span));
            if (auto r = per::AppendLengthDeterminant(out, packet.fec_entries.size()); !r) {
                return tl::unexpected(r.error());
            }
            for (const auto& entry : packet.fec_entries) {
                if (auto r = per::AppendOctetString(out, entry); !r) return tl::unexpected(r.error());
            }
            break;
    }
    if (out.size() > kMaxDatagramBytes) {
        return MakeError(ErrorCode::kLimitExceeded, "datagram of " + std::to_string(out.size()) + " octets");
    }
    return out;
}

UdptlEncoder::UdptlEncoder(UdptlEncoderConfig config)
    : config_(config), next_seq_(config.first_seq), history_(kHistorySize) {
    // A constructor cannot fail: settings from configuration or SDP are clamped to what the codec supports.
    config_.redundancy_depth = std::clamp(config_.redundancy_depth, 0, kMaxRedundancyDepth);
    config_.fec_span = std::clamp(config_.fec_span, 1, kMaxFecSpan);
    config_.fec_entries = std::clamp(config_.fec_entries, 0, kMaxFecEntries);
    config_.far_max_datagram = std::min(config_.far_max_datagram, kMaxDatagramBytes);
}

base::Result<Bytes> UdptlEncoder::Encode(std::span<const std::uint8_t> ifp) {
    if (ifp.empty()) return MakeError(ErrorCode::kInvalidArgument, "empty IFP");
    UdptlPacket packet;
    packet.seq = next_seq_;
    packet.primary.assign(ifp.begin(), ifp.end());
    packet.recovery = config_.recovery;
    const auto history_at = [this](std::uint32_t back) -> const Bytes& {
        return history_[static_cast<std::uint16_t>(next_seq_ - back) % kHistorySize];
    };
    if (config_.recovery == ErrorRecovery::kRedundancy) {
        // Newest first (seq-1, seq-2, ...), and at most as many as were sent before this one.
        const auto depth =
            std::min<std::uint32_t>(static_cast<std::uint32_t>(config_.redundancy_depth), sent_);
        for (std::uint32_t back = 1; back <= depth; ++back) packet.secondaries.push_back(history_at(back));
        // The far end's T38FaxMaxDatagram wins over redundancy: the oldest secondaries go first.
        while (!packet.secondaries.empty() && EncodedSize(packet) > config_.far_max_datagram) {
            packet.secondaries.pop_back();
        }
    } else if (config_.recovery == ErrorRecovery::kFec) {
        // Parity entry m of packet s is the XOR of IFPs s+m-span*entries, ..., s+m-entries (span IFPs,
        // `entries` apart), zero-padded to the longest: the scheme of spandsp's UDPTL and Asterisk. Until
        // span*entries IFPs have gone out, fewer entries are sent so that every IFP a parity covers exists
        // ("wind-up").
        const int span = config_.fec_span;
        int entries = config_.fec_entries;
        if (sent_ < static_cast<std::uint32_t>(span * entries)) entries = static_cast<int>(sent_) / span;
        packet.fec_span = sent_ < static_cast<std::uint32_t>(span) ? 0 : span;
        // Entries are not simply cut off when the datagram is too big: the receiver spaces a parity group by
        // the entry count this packet announces, so fewer entries means parity computed for that count.
        for (; entries >= 0; --entries) {
            packet.fec_entries.assign(static_cast<std::size_t>(entries), Bytes{});
            for (int m = 0; m < entries; ++m) {
                Bytes& parity = packet.fec_entries[static_cast<std::size_t>(m)];
                for (int k = 0; k < span; ++k) {
                    const auto back = static_cast<std::uint32_t>(span * entries - m - k * entries);
                    const Bytes& member = history_at(back);
                    if (member.size() > parity.size()) parity.resize(member.size(), 0);
                    for (std::size_t j = 0; j < member.size(); ++j) parity[j] ^= member[j];
                }
            }
            if (EncodedSize(packet) <= config_.far_max_datagram) break;
        }
    }
    if (EncodedSize(packet) > config_.far_max_datagram) {
        return MakeError(ErrorCode::kLimitExceeded, "IFP of " + std::to_string(ifp.size()) +
                                                        " octets does not fit T38FaxMaxDatagram " +
                                                        std::to_string(config_.far_max_datagram));
    }
    auto datagram = EncodeUdptlPacket(packet);
    if (!datagram) return datagram;
    history_[next_seq_ % kHistorySize] = std::move(packet.primary);
    ++next_seq_;
    if (sent_ < UINT32_MAX) ++sent_;
    return datagram;
}

}  // namespace faxd::t38
