#include "sip/media_session.hpp"

#include <array>
#include <deque>
#include <optional>
#include <random>

#include "base/log.hpp"
#include "sip/rtp.hpp"
#include "t30/tone_detector.hpp"

namespace faxd::sip {
namespace {

namespace asio = boost::asio;
using udp = asio::ip::udp;
using Clock = std::chrono::steady_clock;

constexpr int kTickSamples = 160;
constexpr auto kTick = std::chrono::milliseconds(20);
constexpr int kMaxCatchUpTicks = 50;         // after a stall longer than 1 s, drop the backlog instead of bursting
// Up to 1 s of audio waits to be fed: a loop stalled by page coding (spandsp encodes a whole page at once) or a
// late peer catches up without losing samples, which the modems would not survive.
constexpr std::size_t kMaxBufferedSamples = 8000;
constexpr int kQuietTicksBeforeFlush = 5;     // a UDPTL gap waits at most 100 ms of silence
constexpr std::size_t kMaxDatagram = 2048;

base::Result<void> BindInRange(udp::socket& socket, const asio::ip::address& address, std::uint16_t low,
                               std::uint16_t high, std::mt19937& rng) {
    boost::system::error_code ec;
    socket.open(address.is_v6() ? udp::v6() : udp::v4(), ec);
    if (ec) return base::MakeError(base::ErrorCode::kIo, "cannot open UDP socket: " + ec.message());
    if (low == 0) {  // any free port
        socket.bind(udp::endpoint(address, 0), ec);
        if (ec) return base::MakeError(base::ErrorCode::kIo, "cannot bind UDP socket: " + ec.message());
        return {};
    }
    // Even ports, from a random start, as RTP convention and Asterisk's udptl.conf do.
    const int span = (high - low) / 2 + 1;
    const int start = std::uniform_int_distribution<int>(0, span - 1)(rng);
    for (int i = 0; i < span; ++i) {
        const auto port = static_cast<std::uint16_t>(low + 2 * ((start + i) % span));
        socket.bind(udp::endpoint(address, port), ec);
        if (!ec) return {};
    }
    return base::MakeError(base::ErrorCode::kLimitExceeded,
                           "no free UDP port in " + std::to_string(low) + "-" + std::to_string(high));
}

}  // namespace

struct MediaSession::Impl {
    asio::io_context& io;
    MediaConfig config;
    FaxJob job;
    Events events;
    udp::socket rtp;
    udp::socket udptl;
    asio::steady_timer ticker;
    std::string local_address;
    base::Logger log = base::GetLogger("media");
    std::weak_ptr<MediaSession> owner;

    enum class Mode { kIdle, kAudio, kT38, kDone } mode = Mode::kIdle;
    std::unique_ptr<t30::FaxSession> fax;
    Clock::time_point started{};
    std::int64_t ticks_done = 0;
    Clock::time_point last_packet{};

    // audio
    AudioStart audio;
    RtpHeader rtp_out;
    std::deque<std::int16_t> rx_samples;
    std::optional<t30::ToneDetector> tone;
    std::vector<std::uint8_t> packet;
    std::vector<std::int16_t> decoded;

    // T.38
    T38Start image;
    std::optional<t38::UdptlEncoder> encoder;
    std::optional<t38::UdptlDecoder> decoder;
    int quiet_ticks = 0;
    bool used_t38 = false;

    std::array<std::uint8_t, kMaxDatagram> rtp_buffer{};
    std::array<std::uint8_t, kMaxDatagram> udptl_buffer{};
    udp::endpoint rtp_from;
    udp::endpoint udptl_from;
    bool reported = false;

    Impl(asio::io_context& io_context, MediaConfig media_config, FaxJob fax_job, Events fax_events)
        : io(io_context),
          config(std::move(media_config)),
          job(std::move(fax_job)),
          events(std::move(fax_events)),
          rtp(io_context),
          udptl(io_context),
          ticker(io_context) {}

    std::string Tag() const { return job.tag.empty() ? std::string() : "[" + job.tag + "] "; }

    base::Result<void> NewFaxSession(t30::Transport transport) {
        t30::SessionConfig session;
        session.transport = transport;
        session.role = job.role;
        session.calling_party = job.calling_party;
        session.tiff = job.tiff;
        session.first_page = job.first_page;
        session.settings = job.settings;
        session.log_tag = job.tag;
        if (transport == t30::Transport::kT38) {
            session.settings.t38_version = image.version;
            // spandsp ignores T38MaxBitRate: honour it by leaving out the faster modems.
            if (image.max_bit_rate < 14400) session.settings.modems &= static_cast<std::uint8_t>(~t30::kV17);
            if (image.max_bit_rate < 9600) session.settings.modems &= static_cast<std::uint8_t>(~t30::kV29);
            if (session.settings.modems == 0) session.settings.modems = t30::kV27ter;
        }
        t30::FaxSession::IfpSink sink;
        if (transport == t30::Transport::kT38) sink = [this](std::span<const std::uint8_t> ifp, int count) { SendIfp(ifp, count); };
        auto created = t30::FaxSession::Create(session, std::move(sink));
        if (!created) return tl::unexpected(created.error());
        fax = std::move(*created);
        if (events.on_page) fax->SetPageCallback(events.on_page);
        return {};
    }

    void SendIfp(std::span<const std::uint8_t> ifp, int count) {
        if (!encoder) return;
        auto datagram = encoder->Encode(ifp);
        if (!datagram) {
            log->warn("{}dropping IFP: {}", Tag(), datagram.error().ToString());
            return;
        }
        boost::system::error_code ec;
        for (int i = 0; i < std::max(count, 1); ++i) udptl.send_to(asio::buffer(*datagram), image.remote, 0, ec);
        // T.38 is half duplex in practice: while we send a page the peer may rightly say nothing for a minute.
        last_packet = Clock::now();
    }

    void StartClock() {
        started = Clock::now();
        ticks_done = 0;
        last_packet = started;
        ticker.expires_at(started + kTick);
        ScheduleTick();
    }

    void ScheduleTick() {
        auto self = owner.lock();
        ticker.async_wait([this, self](const boost::system::error_code& ec) {
            if (ec || mode == Mode::kDone) return;
            OnTick();
            if (mode == Mode::kDone) return;
            ticker.expires_at(ticker.expiry() + kTick);
            ScheduleTick();
        });
    }

    void OnTick() {
        const auto now = Clock::now();
        std::int64_t due = (now - started) / kTick - ticks_done;
        if (due > kMaxCatchUpTicks) {
            log->warn("{}media loop stalled for {} ms; skipping the backlog", Tag(), due * 20);
            ticks_done += due - 1;
            due = 1;
        }
        for (; due > 0 && mode != Mode::kDone; --due, ++ticks_done) {
            if (mode == Mode::kAudio) AudioTick();
            else if (mode == Mode::kT38) T38Tick();
        }
        if (mode == Mode::kDone) return;
        if (fax && fax->Finished()) {
            Finish("");
            return;
        }
        if (now - last_packet > config.media_timeout) {
            if (fax) fax->HangUp();
            Finish("no media from the peer for " + std::to_string(config.media_timeout.count()) + " s", true);
        }
    }

    void AudioTick() {
        std::array<std::int16_t, kTickSamples> samples{};
        if (rx_samples.size() >= kTickSamples) {
            std::copy_n(rx_samples.begin(), kTickSamples, samples.begin());
            rx_samples.erase(rx_samples.begin(), rx_samples.begin() + kTickSamples);
            fax->ReceiveAudio(samples);
        } else {
            fax->ReceiveAudioGap(kTickSamples);  // lost or late packet: keep time, feed no noise
        }
        fax->TransmitAudio(samples);
        std::array<std::uint8_t, kTickSamples> payload{};
        t30::G711Encode(audio.law, samples, payload);
        BuildRtp(rtp_out, payload, packet);
        rtp_out.marker = false;
        rtp_out.sequence++;
        rtp_out.timestamp += kTickSamples;
        boost::system::error_code ec;
        rtp.send_to(asio::buffer(packet), audio.remote, 0, ec);
    }

    void T38Tick() {
        if (++quiet_ticks == kQuietTicksBeforeFlush)
            decoder->Flush([this](std::uint16_t seq, std::span<const std::uint8_t> ifp) { fax->ReceiveIfp(ifp, seq); });
        fax->Advance(kTickSamples);
    }

    void ReceiveRtp() {
        auto self = owner.lock();
        rtp.async_receive_from(asio::buffer(rtp_buffer), rtp_from, [this, self](const boost::system::error_code& ec,
                                                                              std::size_t size) {
            if (ec == asio::error::operation_aborted || mode == Mode::kDone) return;
            if (!ec && mode == Mode::kAudio) OnRtp(std::span<const std::uint8_t>(rtp_buffer.data(), size));
            ReceiveRtp();
        });
    }

    void OnRtp(std::span<const std::uint8_t> bytes) {
        auto view = ParseRtp(bytes);
        if (!view || view->header.payload_type != audio.payload_type) return;  // comfort noise, DTMF, junk
        last_packet = Clock::now();
        if (rtp_from != audio.remote) {
            log->info("{}symmetric RTP: peer sends from {}:{}, answering there", Tag(), rtp_from.address().to_string(),
                      rtp_from.port());
            audio.remote = rtp_from;
        }
        decoded.resize(view->payload.size());  // reused: this runs 50 times a second per call
        t30::G711Decode(audio.law, view->payload, decoded);
        if (tone && !tone->Detected() && tone->Feed(decoded) && events.on_fax_tone) events.on_fax_tone();
        rx_samples.insert(rx_samples.end(), decoded.begin(), decoded.end());
        if (rx_samples.size() > kMaxBufferedSamples)
            rx_samples.erase(rx_samples.begin(), rx_samples.begin() + (rx_samples.size() - kMaxBufferedSamples));
    }

    void ReceiveUdptl() {
        auto self = owner.lock();
        udptl.async_receive_from(asio::buffer(udptl_buffer), udptl_from,
                                 [this, self](const boost::system::error_code& ec, std::size_t size) {
                                     if (ec == asio::error::operation_aborted || mode == Mode::kDone) return;
                                     if (!ec && mode == Mode::kT38)
                                         OnUdptl(std::span<const std::uint8_t>(udptl_buffer.data(), size));
                                     ReceiveUdptl();
                                 });
    }

    void OnUdptl(std::span<const std::uint8_t> bytes) {
        const bool valid = decoder->Receive(bytes, [this](std::uint16_t seq, std::span<const std::uint8_t> ifp) {
            fax->ReceiveIfp(ifp, seq);
        });
        if (!valid) return;
        quiet_ticks = 0;
        last_packet = Clock::now();
        if (udptl_from != image.remote) {
            log->info("{}symmetric UDPTL: peer sends from {}:{}, answering there", Tag(),
                      udptl_from.address().to_string(), udptl_from.port());
            image.remote = udptl_from;
        }
    }

    void Finish(const std::string& reason, bool timeout = false) {
        if (reported) return;
        reported = true;
        mode = Mode::kDone;
        MediaOutcome outcome;
        if (fax) {
            outcome.fax = fax->Result();
            outcome.received_tiff = fax->ReceivedTiff();
        } else {
            outcome.fax.failure = t30::FailureClass::kCallDropped;
            outcome.fax.t30_text = reason.empty() ? "the call ended before media started" : reason;
        }
        outcome.used_t38 = used_t38;
        outcome.media_timeout = timeout;
        outcome.reason = reason;
        boost::system::error_code ignored;
        ticker.cancel();
        rtp.close(ignored);
        udptl.close(ignored);
        fax.reset();
        if (events.on_finished) events.on_finished(outcome);
    }
};

MediaSession::MediaSession(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
MediaSession::~MediaSession() = default;

base::Result<std::shared_ptr<MediaSession>> MediaSession::Create(asio::io_context& io, const MediaConfig& config,
                                                                 FaxJob job, Events events) {
    auto impl = std::make_unique<Impl>(io, config, std::move(job), std::move(events));
    boost::system::error_code ec;
    const auto address = asio::ip::make_address(config.bind_address, ec);
    if (ec) return base::MakeError(base::ErrorCode::kInvalidArgument, "bad media address " + config.bind_address);
    std::mt19937 rng(std::random_device{}());
    if (auto bound = BindInRange(impl->rtp, address, config.port_min, config.port_max, rng); !bound)
        return tl::unexpected(bound.error());
    if (auto bound = BindInRange(impl->udptl, address, config.port_min, config.port_max, rng); !bound)
        return tl::unexpected(bound.error());
    impl->local_address = config.bind_address;
    impl->rtp_out.ssrc = rng();
    impl->rtp_out.sequence = static_cast<std::uint16_t>(rng());
    impl->rtp_out.timestamp = rng();
    impl->rtp_out.marker = true;
    auto session = std::shared_ptr<MediaSession>(new MediaSession(std::move(impl)));
    session->impl_->owner = session;
    return session;
}

std::uint16_t MediaSession::audio_port() const { return impl_->rtp.local_endpoint().port(); }
std::uint16_t MediaSession::image_port() const { return impl_->udptl.local_endpoint().port(); }
const std::string& MediaSession::local_address() const { return impl_->local_address; }

void MediaSession::StartAudio(AudioStart params) {
    asio::post(impl_->io, [self = shared_from_this(), params] {
        auto& s = *self->impl_;
        if (s.mode != Impl::Mode::kIdle) return;  // audio only at the start of a call
        s.audio = params;
        s.rtp_out.payload_type = params.payload_type;
        if (params.detect_tone)
            s.tone.emplace(s.job.calling_party ? t30::FaxTone::kCedOrPreamble : t30::FaxTone::kCng);
        if (auto created = s.NewFaxSession(t30::Transport::kAudio); !created) {
            s.Finish("cannot start the fax session: " + created.error().ToString());
            return;
        }
        s.mode = Impl::Mode::kAudio;
        s.ReceiveRtp();
        s.ReceiveUdptl();
        s.StartClock();
    });
}

void MediaSession::StartT38(T38Start params) {
    asio::post(impl_->io, [self = shared_from_this(), params] {
        auto& s = *self->impl_;
        if (s.mode == Impl::Mode::kDone || s.mode == Impl::Mode::kT38) return;
        const bool was_idle = s.mode == Impl::Mode::kIdle;
        s.image = params;
        s.encoder.emplace(t38::UdptlEncoderConfig{params.recovery, params.redundancy, 3, 3, params.far_max_datagram, 0});
        s.decoder.emplace(t38::UdptlDecoderConfig{4, params.version});
        s.fax.reset();  // T.30 restarts on T.38; the audio session's temporary file goes with it
        s.tone.reset();
        if (auto created = s.NewFaxSession(t30::Transport::kT38); !created) {
            s.Finish("cannot start the fax session: " + created.error().ToString());
            return;
        }
        s.used_t38 = true;
        s.mode = Impl::Mode::kT38;
        s.log->info("{}media switched to T.38 (UDPTL to {}:{}, {} redundancy {}, max datagram {})", s.Tag(),
                    params.remote.address().to_string(), params.remote.port(),
                    params.recovery == t38::ErrorRecovery::kFec ? "FEC" : "", params.redundancy,
                    params.far_max_datagram);
        if (was_idle) {
            s.ReceiveRtp();
            s.ReceiveUdptl();
            s.StartClock();
        } else {
            s.last_packet = Clock::now();
        }
    });
}

void MediaSession::Stop(std::string reason) {
    asio::post(impl_->io, [self = shared_from_this(), reason = std::move(reason)] {
        auto& s = *self->impl_;
        if (s.reported) return;
        if (s.fax) s.fax->HangUp();
        s.Finish(reason);
    });
}

}  // namespace faxd::sip
