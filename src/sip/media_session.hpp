// One call's media: its RTP socket (G.711 audio, 20 ms) and UDPTL socket (T.38), the fax session fed from them,
// and the 20 ms clock that paces both. Lives on one io_context thread for its whole life; the SIP side only
// posts to it. Sockets are bound at creation so their ports can go into SDP before media starts.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "base/result.hpp"
#include "sip/asio.hpp"
#include "t30/fax_session.hpp"
#include "t30/g711.hpp"
#include "t38/udptl.hpp"

namespace faxd::sip {

struct MediaConfig {
    std::string bind_address = "127.0.0.1";
    std::uint16_t port_min = 4000;  // RTP and UDPTL ports are taken from this range
    std::uint16_t port_max = 4999;
    std::chrono::seconds media_timeout{30};  // no packet from the peer for this long ends the call
};

// What the fax session on this call does.
struct FaxJob {
    t30::Role role = t30::Role::kReceive;
    bool calling_party = false;
    std::filesystem::path tiff;  // to send, or where a received fax goes
    int first_page = 0;
    t30::FaxSettings settings;
    std::string tag;
};

struct AudioStart {
    boost::asio::ip::udp::endpoint remote;
    std::uint8_t payload_type = 0;
    t30::G711Law law = t30::G711Law::kMuLaw;
    // Listen for the far end's fax tone (CNG when answering, CED/V.21 when calling) and report it once.
    bool detect_tone = false;
};

struct T38Start {
    boost::asio::ip::udp::endpoint remote;
    t38::ErrorRecovery recovery = t38::ErrorRecovery::kRedundancy;
    int redundancy = 3;
    std::size_t far_max_datagram = 400;
    int version = 0;
    int max_bit_rate = 14400;
};

struct MediaOutcome {
    t30::FaxResult fax;
    std::filesystem::path received_tiff;  // set when a receive kept pages
    bool used_t38 = false;
    bool media_timeout = false;
    std::string reason;  // for logs when the media side ended the call
};

class MediaSession : public std::enable_shared_from_this<MediaSession> {
public:
    struct Events {
        std::function<void()> on_fax_tone;                    // heard CNG or CED/V.21 on audio
        std::function<void(const MediaOutcome&)> on_finished;  // exactly once
        std::function<void(const t30::PageStats&, int)> on_page;
    };

    static base::Result<std::shared_ptr<MediaSession>> Create(boost::asio::io_context& io, const MediaConfig& config,
                                                              FaxJob job, Events events);
    ~MediaSession();

    std::uint16_t audio_port() const;
    std::uint16_t image_port() const;
    const std::string& local_address() const;

    // All of these may be called from any thread; they run on the session's io_context.
    void StartAudio(AudioStart params);
    void StartT38(T38Start params);  // T.30 starts afresh on T.38 (as every gateway does)
    void Stop(std::string reason);   // the call is gone: end the fax now, report what happened

    struct Impl;

private:
    explicit MediaSession(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace faxd::sip
