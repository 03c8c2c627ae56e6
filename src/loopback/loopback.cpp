#include "loopback/loopback.hpp"

#include <time.h>

#include <array>
#include <deque>
#include <memory>
#include <optional>
#include <random>
#include <vector>

#include "t30/g711.hpp"

namespace faxd::loopback {
namespace {

constexpr int kTick = 160;  // 20 ms
constexpr int kSampleRate = 8000;
constexpr int kQuietTicksBeforeFlush = 5;  // a UDPTL gap waits at most 100 ms of silence

double ThreadCpuSeconds() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

// One direction of a simulated UDPTL path: encoder at the sending end, lossy wire, decoder at the far end.
class UdptlLink {
public:
    UdptlLink(const LoopbackOptions& options, std::uint16_t first_seq, std::uint32_t seed, int t38_version)
        : encoder_(t38::UdptlEncoderConfig{options.recovery, options.redundancy, options.fec_span,
                                           options.fec_entries, options.max_datagram, first_seq}),
          decoder_(t38::UdptlDecoderConfig{4, t38_version}),
          loss_(options.loss),
          rng_(seed) {}

    base::Result<void> Send(std::span<const std::uint8_t> ifp, int repeats, bool dead) {
        auto datagram = encoder_.Encode(ifp);
        if (!datagram) return tl::unexpected(datagram.error());
        // spandsp asks for indicators to be sent several times, with the same sequence number (T.38 §9.1).
        for (int i = 0; i < std::max(repeats, 1); ++i) {
            ++sent_;
            if (dead || (loss_ > 0 && uniform_(rng_) < loss_)) {
                ++dropped_;
                continue;
            }
            in_flight_.push_back(*datagram);
        }
        return {};
    }

    // Delivers what was sent during the previous tick (20 ms one-way delay).
    void Deliver(t30::FaxSession& far_end) {
        const auto deliver = [&](std::uint16_t seq, std::span<const std::uint8_t> ifp) { far_end.ReceiveIfp(ifp, seq); };
        if (in_flight_.empty()) {
            if (++quiet_ticks_ == kQuietTicksBeforeFlush) decoder_.Flush(deliver);
            return;
        }
        quiet_ticks_ = 0;
        std::deque<t38::Bytes> arriving;
        arriving.swap(in_flight_);
        for (const auto& datagram : arriving) decoder_.Receive(datagram, deliver);
    }

    const t38::UdptlStats& stats() const { return decoder_.stats(); }
    std::uint64_t sent() const { return sent_; }
    std::uint64_t dropped() const { return dropped_; }

private:
    t38::UdptlEncoder encoder_;
    t38::UdptlDecoder decoder_;
    double loss_;
    std::mt19937 rng_;
    std::uniform_real_distribution<double> uniform_{0.0, 1.0};
    std::deque<t38::Bytes> in_flight_;
    int quiet_ticks_ = 0;
    std::uint64_t sent_ = 0;
    std::uint64_t dropped_ = 0;
};

// One direction of a simulated audio path, companded through G.711 as RTP would carry it.
void PassAudio(AudioCoding coding, std::span<const std::int16_t> in, std::span<std::int16_t> out) {
    if (coding == AudioCoding::kLinear) {
        std::copy(in.begin(), in.end(), out.begin());
        return;
    }
    std::array<std::uint8_t, kTick> wire{};
    const auto law = coding == AudioCoding::kMuLaw ? t30::G711Law::kMuLaw : t30::G711Law::kALaw;
    t30::G711Encode(law, in, wire);
    t30::G711Decode(law, std::span<const std::uint8_t>(wire.data(), in.size()), out);
}

}  // namespace

base::Result<LoopbackReport> RunLoopback(const LoopbackOptions& options) {
    const double cpu_start = ThreadCpuSeconds();
    const bool t38 = options.transport == t30::Transport::kT38;

    std::optional<UdptlLink> to_receiver, to_sender;
    if (t38) {
        to_receiver.emplace(options, options.sender_first_seq, options.seed * 2 + 1, options.receiver.t38_version);
        to_sender.emplace(options, options.receiver_first_seq, options.seed * 2 + 2, options.sender.t38_version);
    }

    std::int64_t now = 0;              // simulated samples
    std::int64_t dead_from = -1;       // the path is dead from this sample on
    bool dead = false;
    std::optional<base::Error> link_error;

    t30::SessionConfig send_config;
    send_config.transport = options.transport;
    send_config.role = t30::Role::kSend;
    send_config.calling_party = true;
    send_config.tiff = options.send_tiff;
    send_config.first_page = options.first_page;
    send_config.settings = options.sender;
    send_config.log_tag = "tx";

    t30::SessionConfig receive_config;
    receive_config.transport = options.transport;
    receive_config.role = t30::Role::kReceive;
    receive_config.calling_party = false;
    receive_config.tiff = options.receive_tiff;
    receive_config.settings = options.receiver;
    receive_config.log_tag = "rx";

    const auto sink_to = [&](std::optional<UdptlLink>& link) -> t30::FaxSession::IfpSink {
        if (!t38) return {};
        return [&](std::span<const std::uint8_t> ifp, int repeats) {
            if (auto sent = link->Send(ifp, repeats, dead); !sent && !link_error) link_error = sent.error();
        };
    };
    auto sender = t30::FaxSession::Create(send_config, sink_to(to_receiver));
    if (!sender) return tl::unexpected(sender.error());
    auto receiver = t30::FaxSession::Create(receive_config, sink_to(to_sender));
    if (!receiver) return tl::unexpected(receiver.error());
    t30::FaxSession& tx = **sender;
    t30::FaxSession& rx = **receiver;

    (*sender)->SetPageCallback([&](const t30::PageStats& page, int total) {
        if (options.vanish_after_pages >= 0 && page.page == options.vanish_after_pages && dead_from < 0)
            dead_from = now + static_cast<std::int64_t>(options.vanish_delay_seconds * kSampleRate);
        if (options.on_sender_page) options.on_sender_page(page, total);
    });
    if (options.on_receiver_page) rx.SetPageCallback(options.on_receiver_page);
    if (options.receiver_refuses_sender) rx.SetIdentPolicy([](const std::string&) { return false; });
    if (options.vanish_after_pages == 0) dead_from = static_cast<std::int64_t>(options.vanish_delay_seconds * kSampleRate);

    std::array<std::int16_t, kTick> tx_out{}, rx_out{}, tx_in{}, rx_in{};
    const auto max_samples = static_cast<std::int64_t>(options.max_seconds * kSampleRate);
    const auto hangup_delay = static_cast<std::int64_t>(options.hangup_delay_seconds * kSampleRate);
    std::int64_t first_done_at = -1;

    while (!(tx.Finished() && rx.Finished()) && now < max_samples) {
        dead = dead_from >= 0 && now >= dead_from;
        if (t38) {
            to_receiver->Deliver(rx);
            to_sender->Deliver(tx);
            tx.Advance(kTick);
            rx.Advance(kTick);
        } else {
            tx.TransmitAudio(tx_out);
            rx.TransmitAudio(rx_out);
            if (dead) {
                tx_in.fill(0);
                rx_in.fill(0);
            } else {
                PassAudio(options.coding, tx_out, rx_in);
                PassAudio(options.coding, rx_out, tx_in);
            }
            tx.ReceiveAudio(tx_in);
            rx.ReceiveAudio(rx_in);
        }
        now += kTick;
        if (link_error) return tl::unexpected(*link_error);
        // A finished side hangs up; the BYE reaches the other side unless the path is dead.
        if ((tx.Finished() || rx.Finished()) && first_done_at < 0) first_done_at = now;
        if (first_done_at >= 0 && !dead && now - first_done_at >= hangup_delay) {
            if (!tx.Finished()) tx.HangUp();
            if (!rx.Finished()) rx.HangUp();
        }
    }
    if (!tx.Finished()) tx.Cancel();
    if (!rx.Finished()) rx.Cancel();

    LoopbackReport report;
    report.sender = tx.Result();
    report.receiver = rx.Result();
    report.simulated_seconds = static_cast<double>(now) / kSampleRate;
    if (t38) {
        report.to_receiver = to_receiver->stats();
        report.to_sender = to_sender->stats();
        report.datagrams_sent = to_receiver->sent() + to_sender->sent();
        report.datagrams_dropped = to_receiver->dropped() + to_sender->dropped();
    }
    report.cpu_seconds = ThreadCpuSeconds() - cpu_start;
    return report;
}

}  // namespace faxd::loopback
