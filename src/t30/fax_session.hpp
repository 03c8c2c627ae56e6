// A T.30 fax session (spandsp) over T.38 or over 8 kHz audio. It owns no socket and no thread: its owner feeds
// it IFP packets or audio samples and advances time, so a session runs on real time in a call and on
// simulated time in tests. All calls on one session must come from one thread (spandsp has no locks).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <string>

#include "base/result.hpp"
#include "t30/fax_types.hpp"

namespace faxd::t30 {

struct SessionConfig {
    Transport transport = Transport::kT38;
    Role role = Role::kSend;
    // The side that placed the call sends CNG; the answering side sends CED and DIS (T.30 §5.1).
    bool calling_party = true;
    // kSend: the TIFF of fax pages to send. kReceive: where the received TIFF appears; it is written under a
    // temporary name and published only if at least one page was received.
    std::filesystem::path tiff;
    int first_page = 0;  // kSend: 0-based page to start from (a retry resumes at the first unconfirmed page)
    FaxSettings settings;
    std::string log_tag;  // prefixes spandsp's log lines, e.g. the call id
};

class FaxSession {
public:
    // T.38: each already-encoded IFP packet to send, and how many times to send it (spandsp repeats indicators).
    using IfpSink = std::function<void(std::span<const std::uint8_t> ifp, int repeat_count)>;
    // Called after each page is confirmed (sending) or received (receiving).
    using PageCallback = std::function<void(const PageStats& page, int pages_in_document)>;
    // Called in phase B with the far end's ident (TSI or CSI). Return false to refuse the call (T.30 DCN).
    using IdentPolicy = std::function<bool(const std::string& remote_ident)>;

    static base::Result<std::unique_ptr<FaxSession>> Create(const SessionConfig& config, IfpSink ifp_sink = {});
    ~FaxSession();
    FaxSession(const FaxSession&) = delete;
    FaxSession& operator=(const FaxSession&) = delete;

    void SetPageCallback(PageCallback callback);
    void SetIdentPolicy(IdentPolicy policy);

    // --- T.38 ---
    // One IFP recovered by the UDPTL layer, in sequence order.
    void ReceiveIfp(std::span<const std::uint8_t> ifp, std::uint16_t seq);
    // Advances the session's clock by `samples` (1/8000 s), running T.30 timers and emitting due IFPs. Call it
    // every 20 ms with 160; a late caller may pass more and the pump catches up in 20 ms steps.
    void Advance(int samples);

    // --- Audio (8 kHz, signed 16-bit linear) ---
    // Incoming samples; they also drive the session's clock (spandsp's time is the samples it is fed).
    void ReceiveAudio(std::span<const std::int16_t> samples);
    // A gap in the incoming stream (lost RTP packets): keeps time without feeding noise to the modems.
    void ReceiveAudioGap(int samples);
    // Outgoing samples; always fills `out` (silence when idle).
    void TransmitAudio(std::span<std::int16_t> out);

    // --- Ending ---
    // Ends the session now (user cancel); the result becomes kCancelled unless T.30 had already finished.
    void Cancel();
    // The call is gone (BYE, media timeout): the result becomes kCallDropped unless T.30 had finished.
    void HangUp();

    bool Finished() const;
    // Valid once Finished(). Pages confirmed so far are also in it while the session runs.
    const FaxResult& Result() const;
    // Seconds of session time so far.
    double ElapsedSeconds() const;
    // The received TIFF, once a receive finished with at least one page.
    const std::filesystem::path& ReceivedTiff() const;

    struct Impl;

private:
    explicit FaxSession(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace faxd::t30
