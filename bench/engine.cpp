// bench/engine: CPU cost of the fax engine per second of call, ours against bare spandsp, on simulated time.
//
// For each transport it runs back-to-back calls of the same document twice: once through faxd's layers
// (FaxSession, UDPTL framing with redundancy 3 and decoding, G.711 codec, watchdog and statistics - the
// loopback harness), and once through bare spandsp wired back to back by hand (IFPs passed straight across,
// or linear samples companded with spandsp's own G.711 inline functions). It prints CPU milliseconds per
// call-second per endpoint pair, the ratio ours/bare, and the real-time channels per core that implies.
//
// Usage: bench_engine [--calls N] [--pages text|mixed]
#include <spandsp.h>
#include <time.h>

#include <array>
#include <cstdio>
#include <cstring>
#include <deque>
#include <filesystem>
#include <string>
#include <vector>

#include "base/log.hpp"
#include "loopback/loopback.hpp"
#include "test_documents.hpp"

namespace {

using faxd::testing::FaxResolution;

double ThreadCpu() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

struct Measure {
    double cpu = 0;
    double call_seconds = 0;
    int failures = 0;
    double MsPerCallSecond() const { return call_seconds > 0 ? cpu * 1000.0 / call_seconds : 0; }
};

void ConfigureBare(t30_state_t* t30, const char* ident) {
    t30_set_tx_ident(t30, ident);
    t30_set_ecm_capability(t30, 1);
    t30_set_supported_compressions(t30, T30_SUPPORT_T4_1D_COMPRESSION | T30_SUPPORT_T4_2D_COMPRESSION |
                                            T30_SUPPORT_T6_COMPRESSION);
    t30_set_rx_encoding(t30, T4_COMPRESSION_ITU_T6);
}

struct BareDone {
    bool done = false;
    int code = -1;
};

void OnBarePhaseE(t30_state_t*, void* user_data, int code) {
    auto* done = static_cast<BareDone*>(user_data);
    done->done = true;
    done->code = code;
}

// Bare T.38: two spandsp terminals, each IFP handed straight to the other side's core (count copies).
struct BareT38Side {
    t38_terminal_state_t* terminal = nullptr;
    std::deque<std::pair<std::vector<uint8_t>, uint16_t>> outbox;
    uint16_t seq = 0;
    BareDone done;
};

int BareT38Tx(t38_core_state_t*, void* user_data, const uint8_t* buf, int len, int count) {
    auto* side = static_cast<BareT38Side*>(user_data);
    for (int i = 0; i < count; ++i) side->outbox.emplace_back(std::vector<uint8_t>(buf, buf + len), side->seq);
    ++side->seq;
    return 0;
}

Measure BareT38(const std::filesystem::path& doc, const std::filesystem::path& out, int calls) {
    Measure m;
    for (int c = 0; c < calls; ++c) {
        const double start = ThreadCpu();
        BareT38Side tx, rx;
        tx.terminal = t38_terminal_init(nullptr, 1, BareT38Tx, &tx);
        rx.terminal = t38_terminal_init(nullptr, 0, BareT38Tx, &rx);
        t30_state_t* t30_tx = t38_terminal_get_t30_state(tx.terminal);
        t30_state_t* t30_rx = t38_terminal_get_t30_state(rx.terminal);
        ConfigureBare(t30_tx, "bare tx");
        ConfigureBare(t30_rx, "bare rx");
        t30_set_tx_file(t30_tx, doc.c_str(), -1, -1);
        t30_set_rx_file(t30_rx, out.c_str(), -1);
        t30_set_phase_e_handler(t30_tx, OnBarePhaseE, &tx.done);
        t30_set_phase_e_handler(t30_rx, OnBarePhaseE, &rx.done);
        long samples = 0;
        bool tx_end = false, rx_end = false;
        while (!(tx_end && rx_end) && samples < 8000L * 4 * 3600) {
            for (auto& [ifp, seq] : tx.outbox)
                t38_core_rx_ifp_packet(t38_terminal_get_t38_core_state(rx.terminal), ifp.data(), (int)ifp.size(), seq);
            tx.outbox.clear();
            for (auto& [ifp, seq] : rx.outbox)
                t38_core_rx_ifp_packet(t38_terminal_get_t38_core_state(tx.terminal), ifp.data(), (int)ifp.size(), seq);
            rx.outbox.clear();
            tx_end = t38_terminal_send_timeout(tx.terminal, 160) || tx_end;
            rx_end = t38_terminal_send_timeout(rx.terminal, 160) || rx_end;
            samples += 160;
        }
        if (tx.done.code != T30_ERR_OK || rx.done.code != T30_ERR_OK) ++m.failures;
        t38_terminal_free(tx.terminal);
        t38_terminal_free(rx.terminal);
        m.cpu += ThreadCpu() - start;
        m.call_seconds += samples / 8000.0;
    }
    return m;
}

// Bare audio: two spandsp modems joined by 20 ms blocks of µ-law companded samples.
Measure BareAudio(const std::filesystem::path& doc, const std::filesystem::path& out, int calls) {
    Measure m;
    for (int c = 0; c < calls; ++c) {
        const double start = ThreadCpu();
        fax_state_t* tx = fax_init(nullptr, 1);
        fax_state_t* rx = fax_init(nullptr, 0);
        fax_set_transmit_on_idle(tx, 1);
        fax_set_transmit_on_idle(rx, 1);
        ConfigureBare(fax_get_t30_state(tx), "bare tx");
        ConfigureBare(fax_get_t30_state(rx), "bare rx");
        t30_set_tx_file(fax_get_t30_state(tx), doc.c_str(), -1, -1);
        t30_set_rx_file(fax_get_t30_state(rx), out.c_str(), -1);
        BareDone tx_done, rx_done;
        t30_set_phase_e_handler(fax_get_t30_state(tx), OnBarePhaseE, &tx_done);
        t30_set_phase_e_handler(fax_get_t30_state(rx), OnBarePhaseE, &rx_done);
        std::array<int16_t, 160> a{}, b{};
        long samples = 0;
        while (!(tx_done.done && rx_done.done) && samples < 8000L * 4 * 3600) {
            fax_tx(tx, a.data(), 160);
            fax_tx(rx, b.data(), 160);
            for (auto& s : a) s = ulaw_to_linear(linear_to_ulaw(s));
            for (auto& s : b) s = ulaw_to_linear(linear_to_ulaw(s));
            fax_rx(rx, a.data(), 160);
            fax_rx(tx, b.data(), 160);
            samples += 160;
        }
        if (tx_done.code != T30_ERR_OK || rx_done.code != T30_ERR_OK) ++m.failures;
        fax_free(tx);
        fax_free(rx);
        m.cpu += ThreadCpu() - start;
        m.call_seconds += samples / 8000.0;
    }
    return m;
}

Measure Ours(faxd::t30::Transport transport, const std::filesystem::path& doc, const std::filesystem::path& out,
             int calls) {
    Measure m;
    for (int c = 0; c < calls; ++c) {
        faxd::loopback::LoopbackOptions options;
        options.transport = transport;
        options.send_tiff = doc;
        options.receive_tiff = out;
        options.sender.local_ident = "ours tx";
        options.receiver.local_ident = "ours rx";
        options.hangup_delay_seconds = 60;  // like the bare loop, run until both sides end on their own
        auto report = faxd::loopback::RunLoopback(options);
        if (!report || !report->sender.success || !report->receiver.success) {
            ++m.failures;
            continue;
        }
        m.cpu += report->cpu_seconds;
        m.call_seconds += report->simulated_seconds;
    }
    return m;
}

void Print(const char* name, const Measure& ours, const Measure& bare) {
    const double ratio = bare.MsPerCallSecond() > 0 ? ours.MsPerCallSecond() / bare.MsPerCallSecond() : 0;
    std::printf("%-6s ours %.4f ms/call-s (%d failed)  bare spandsp %.4f ms/call-s (%d failed)  ratio %.3f  "
                "=> %.0f channels/core (ours, pairs), %.0f endpoints/core\n",
                name, ours.MsPerCallSecond(), ours.failures, bare.MsPerCallSecond(), bare.failures, ratio,
                1000.0 / ours.MsPerCallSecond(), 2000.0 / ours.MsPerCallSecond());
}

}  // namespace

int main(int argc, char** argv) {
    faxd::base::ConfigureLogging(faxd::base::LogLevel::kWarn);
    int calls = 5;
    std::string pages = "mixed";
    for (int i = 1; i + 1 < argc; i += 2) {
        if (std::strcmp(argv[i], "--calls") == 0) calls = std::max(1, std::atoi(argv[i + 1]));
        if (std::strcmp(argv[i], "--pages") == 0) pages = argv[i + 1];
    }
    faxd::testing::TempDir dir("bench_engine");
    const auto doc = dir / "doc.tif";
    std::vector<faxd::testing::Bitmap> document;
    if (pages == "text") {
        for (std::uint32_t p = 0; p < 3; ++p)
            document.push_back(faxd::testing::MakePage(faxd::testing::PageKind::kText, FaxResolution::kFine, p));
    } else {
        document = faxd::testing::ThreePageDocument(FaxResolution::kFine);
    }
    if (auto written = faxd::testing::WriteFaxTiff(doc, document); !written) {
        std::fprintf(stderr, "bench_engine: %s\n", written.error().ToString().c_str());
        return 1;
    }
    std::printf("bench/engine: %d calls per variant, 3 %s pages (fine), ECM + T.6, V.17; CPU of both endpoints "
                "per second of call\n", calls, pages.c_str());
    // Interleave ours and bare so drift in machine load hits both alike.
    Measure ours_t38, bare_t38, ours_audio, bare_audio;
    for (int round = 0; round < 2; ++round) {
        auto add = [](Measure& total, const Measure& part) {
            total.cpu += part.cpu;
            total.call_seconds += part.call_seconds;
            total.failures += part.failures;
        };
        add(bare_t38, BareT38(doc, dir / "bare.tif", calls));
        add(ours_t38, Ours(faxd::t30::Transport::kT38, doc, dir / "ours.tif", calls));
        add(bare_audio, BareAudio(doc, dir / "bare.tif", calls));
        add(ours_audio, Ours(faxd::t30::Transport::kAudio, doc, dir / "ours.tif", calls));
    }
    Print("T.38", ours_t38, bare_t38);
    Print("G.711", ours_audio, bare_audio);
    return (ours_t38.failures || bare_t38.failures || ours_audio.failures || bare_audio.failures) ? 1 : 0;
}
