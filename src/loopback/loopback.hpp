// Two fax sessions back to back on simulated time: a sender and a receiver joined by a simulated T.38 path
// (UDPTL framing, redundancy or FEC, random loss) or audio path (G.711 µ-law/A-law both ways). Used by the
// engine tests, `faxctl loopback` and bench/engine. Nothing here touches a socket or sleeps.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>

#include "base/result.hpp"
#include "t30/fax_session.hpp"
#include "t38/udptl.hpp"

namespace faxd::loopback {

enum class AudioCoding { kLinear, kMuLaw, kALaw };

struct LoopbackOptions {
    t30::Transport transport = t30::Transport::kT38;
    std::filesystem::path send_tiff;
    std::filesystem::path receive_tiff;
    t30::FaxSettings sender;
    t30::FaxSettings receiver;
    int first_page = 0;  // resume point for the sender

    // T.38 path
    double loss = 0.0;  // probability that a datagram is dropped, each direction
    t38::ErrorRecovery recovery = t38::ErrorRecovery::kRedundancy;
    int redundancy = 3;
    int fec_span = 3;
    int fec_entries = 3;
    std::size_t max_datagram = 400;
    std::uint16_t sender_first_seq = 0;
    std::uint16_t receiver_first_seq = 32768;  // as Cisco gateways do
    std::uint32_t seed = 1;

    // audio path
    AudioCoding coding = AudioCoding::kMuLaw;

    // Faults. The path goes dead (nothing passes either way, no hang-up reaches anyone) this many seconds after
    // the sender has `vanish_after_pages` pages confirmed; -1 = never.
    int vanish_after_pages = -1;
    double vanish_delay_seconds = 10.0;
    bool receiver_refuses_sender = false;  // the receiver refuses the caller's ident in phase B

    // When one side has finished, the other is hung up (BYE) after this long, as the SIP layer would.
    double hangup_delay_seconds = 5.0;
    double max_seconds = 4 * 3600.0;  // simulation guard, above the sessions' own watchdogs

    t30::FaxSession::PageCallback on_sender_page;
    t30::FaxSession::PageCallback on_receiver_page;
};

struct LoopbackReport {
    t30::FaxResult sender;
    t30::FaxResult receiver;
    double simulated_seconds = 0;
    double cpu_seconds = 0;  // this thread's CPU time for the whole run
    t38::UdptlStats to_receiver;  // UDPTL decoder statistics at the receiver (T.38 only)
    t38::UdptlStats to_sender;
    std::uint64_t datagrams_sent = 0;
    std::uint64_t datagrams_dropped = 0;
};

base::Result<LoopbackReport> RunLoopback(const LoopbackOptions& options);

}  // namespace faxd::loopback
