// UDPTL (ITU-T T.38 Annex D): the datagram framing that carries T.38 IFP packets over UDP, with error
// recovery by redundancy (the N previous IFPs ride along) or by parity FEC. Bytes in, packets out; no I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "base/result.hpp"

namespace faxd::t38 {

enum class ErrorRecovery { kNone, kRedundancy, kFec };

using Bytes = std::vector<std::uint8_t>;

// The ASN.1 PER UDPTLPacket (T.38 Annex D), one datagram.
struct UdptlPacket {
    std::uint16_t seq = 0;
    Bytes primary;  // the IFP packet for `seq`
    // kNone is encoded as redundancy with zero secondaries; decoding yields kRedundancy for it.
    ErrorRecovery recovery = ErrorRecovery::kRedundancy;
    std::vector<Bytes> secondaries;  // redundancy: IFPs seq-1, seq-2, ... (newest first)
    int fec_span = 0;                // FEC: fec-npackets
    std::vector<Bytes> fec_entries;  // FEC: parity entries (see UdptlEncoder for which IFPs each covers)
};

// Hard bounds on what we accept from peers, whatever they advertise.
inline constexpr std::size_t kMaxDatagramBytes = 1500;
inline constexpr int kMaxSecondaries = 16;
inline constexpr int kMaxFecEntries = 5;
inline constexpr int kMaxFecSpan = 5;

// Strict decoder of one datagram: every length is checked against the datagram; malformed input is an error.
base::Result<UdptlPacket> DecodeUdptlPacket(std::span<const std::uint8_t> datagram);
// Encoder of one datagram exactly as given (no size policy; see UdptlEncoder for that).
base::Result<Bytes> EncodeUdptlPacket(const UdptlPacket& packet);

struct UdptlEncoderConfig {
    ErrorRecovery recovery = ErrorRecovery::kRedundancy;
    int redundancy_depth = 3;  // 0-5 previous IFPs carried in each packet
    int fec_span = 3;          // FEC: IFPs covered by one parity entry
    int fec_entries = 3;       // FEC: parity entries per packet
    // The far end's T38FaxMaxDatagram: no datagram we build is larger. Secondaries (or FEC entries) are dropped,
    // oldest first, to fit; an IFP that does not fit alone is an error.
    std::size_t far_max_datagram = 400;
    std::uint16_t first_seq = 0;
};

class UdptlEncoder {
public:
    explicit UdptlEncoder(UdptlEncoderConfig config);
    // Frames the next IFP (sequence numbers advance by one per call and wrap at 65535).
    base::Result<Bytes> Encode(std::span<const std::uint8_t> ifp);
    std::uint16_t next_seq() const { return next_seq_; }

private:
    UdptlEncoderConfig config_;
    std::uint16_t next_seq_;
    std::uint32_t sent_ = 0;      // IFPs framed so far (for the FEC/redundancy wind-up)
    std::vector<Bytes> history_;  // ring of recent IFPs, indexed by seq % size
};

struct UdptlStats {
    std::uint64_t datagrams = 0;             // datagrams given to Receive
    std::uint64_t malformed = 0;             // dropped: did not decode
    std::uint64_t duplicates = 0;            // dropped: IFP already delivered
    std::uint64_t late = 0;                  // dropped: arrived after its gap was declared lost
    std::uint64_t delivered = 0;             // IFPs delivered
    std::uint64_t recovered_redundancy = 0;  // of those, taken from secondaries
    std::uint64_t recovered_fec = 0;         // of those, rebuilt from parity
    std::uint64_t lost = 0;                  // IFPs never recovered
};

struct UdptlDecoderConfig {
    // A gap that redundancy or FEC cannot fill waits for this many newer datagrams before it is declared lost.
    int reorder_window = 4;
    // T.38 version of the IFPs (0-3); used to find the true length of an IFP rebuilt from padded FEC parity.
    int t38_version = 0;
};

// Turns received datagrams back into the IFP stream, in sequence order, each IFP once.
class UdptlDecoder {
public:
    using Deliver = std::function<void(std::uint16_t seq, std::span<const std::uint8_t> ifp)>;
    explicit UdptlDecoder(UdptlDecoderConfig config = {});
    // Decodes one datagram and delivers every IFP that became deliverable. Malformed input is counted and
    // dropped. Returns false for a malformed datagram.
    bool Receive(std::span<const std::uint8_t> datagram, const Deliver& deliver);
    // Gives up on every open gap and delivers what waits behind it (call after a quiet period).
    void Flush(const Deliver& deliver);
    const UdptlStats& stats() const { return stats_; }

private:
    struct Impl;
    UdptlDecoderConfig config_;
    UdptlStats stats_;
    std::shared_ptr<Impl> impl_;
};

}  // namespace faxd::t38
