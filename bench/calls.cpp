// bench/calls: concurrent real-time fax calls between two faxd instances on 127.0.0.1.
//
// Instance B is a faxd process (it answers); instance A is the same SIP endpoint in this process (it calls). Each
// round places N calls at once with a one-page document and waits for all of them; N grows until a call fails,
// a page is lost or a round takes too long. It prints, per round, the calls that succeeded, the wall time, the
// CPU both instances used per call-second, and B's peak memory.
//
// Usage: bench_calls [--transport t38|g711|both] [--max N] [--start N]
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "base/log.hpp"
#include "process.hpp"
#include "sip/sip_endpoint.hpp"
#include "test_documents.hpp"

namespace {

using namespace std::chrono_literals;
using faxd::testing::TempDir;

double ProcessCpuSeconds(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto close = text.rfind(')');
    if (close == std::string::npos) return 0;
    std::istringstream fields(text.substr(close + 2));
    std::string field;
    double ticks = 0;
    for (int i = 3; i <= 15 && fields >> field; ++i)
        if (i == 14 || i == 15) ticks += std::stod(field);  // utime, stime
    return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

long PeakRssKb(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6));
    return 0;
}

double SelfCpuSeconds() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return usage.ru_utime.tv_sec + usage.ru_stime.tv_sec + (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

void RaiseFileLimit() {
    rlimit limit{};
    getrlimit(RLIMIT_NOFILE, &limit);
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
}

struct Round {
    int calls = 0;
    int ok = 0;
    int pages = 0;
    double wall = 0;
    double call_seconds = 0;
    double cpu_a = 0;
    double cpu_b = 0;
    long rss_b_kb = 0;
    std::string first_failure;
};

Round RunRound(faxd::sip::SipEndpoint& a, pid_t b_pid, std::uint16_t b_port, const std::filesystem::path& doc,
               int n) {
    Round round;
    round.calls = n;
    std::mutex mutex;
    std::condition_variable done;
    int finished = 0;
    const double cpu_a0 = SelfCpuSeconds(), cpu_b0 = ProcessCpuSeconds(b_pid);
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < n; ++i) {
        faxd::sip::OutboundCall call;
        call.target = "sip:" + std::to_string(1000 + i) + "@127.0.0.1:" + std::to_string(b_port);
        call.tiff = doc;
        call.ring_timeout = 30s;
        a.Dial(call, [&](const faxd::sip::CallResult& result) {
            std::lock_guard lock(mutex);
            ++finished;
            if (result.success && result.fax.pages_confirmed == 1) {
                ++round.ok;
                round.pages += result.fax.pages_confirmed;
            } else if (round.first_failure.empty()) {
                round.first_failure = std::string(faxd::sip::CallFailureName(result.failure)) + ": " + result.reason;
            }
            round.call_seconds += result.duration_seconds;
            done.notify_one();
        });
    }
    std::unique_lock lock(mutex);
    done.wait_for(lock, 300s, [&] { return finished == n; });
    round.wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    round.cpu_a = SelfCpuSeconds() - cpu_a0;
    round.cpu_b = ProcessCpuSeconds(b_pid) - cpu_b0;
    round.rss_b_kb = PeakRssKb(b_pid);
    if (finished < n && round.first_failure.empty()) round.first_failure = "calls still running after 300 s";
    return round;
}

int Bench(const std::string& transport, int start, int max_calls) {
    TempDir dir("bench_calls");
    const auto doc = dir / "page.tif";
    faxd::testing::WriteFaxTiff(doc, {faxd::testing::MakePage(faxd::testing::PageKind::kText,
                                                              faxd::testing::FaxResolution::kStandard, 1, 200)});
    const bool t38 = transport == "t38";
    const auto port = faxd::testing::FreePort();
    const auto config = dir / "b.toml";
    std::ofstream(config) << "[log]\nlevel = \"info\"\n[spool]\ndirectory = \"" << (dir / "spool").string()
                          << "\"\n[sip]\nport = " << port << "\nmax_calls = 5000\ninbound_t38 = \""
                          << (t38 ? "after-answer" : "never") << "\"\n[sip.t38]\nenabled = " << (t38 ? "true" : "false")
                          << "\n[media]\nport_min = 0\ntimeout = 30\n[http]\nenabled = false\n";
    auto b = faxd::testing::ChildProcess::Spawn({FAXD_BINARY, "--config", config.string()}, dir / "b.log");
    if (!b || !faxd::testing::WaitForText(dir / "b.log", "receiving faxes", 10s)) {
        std::fprintf(stderr, "bench_calls: faxd did not start\n");
        return 1;
    }
    faxd::sip::SipConfig a_config;
    a_config.port = faxd::testing::FreePort();
    a_config.max_calls = 5000;
    a_config.max_outgoing = 5000;
    a_config.media.port_min = 0;
    a_config.outbound_t38 = faxd::sip::T38Switch::kNever;
    a_config.t38.enabled = t38;
    auto a = faxd::sip::SipEndpoint::Start(a_config, {}, {});
    if (!a) {
        std::fprintf(stderr, "bench_calls: %s\n", a.error().ToString().c_str());
        return 1;
    }
    std::printf("\n%s: one 200-row page per call, real time; both instances on this %u-core machine\n",
                t38 ? "T.38" : "G.711", std::thread::hardware_concurrency());
    std::printf("%6s %6s %8s %12s %14s %14s %10s\n", "calls", "ok", "wall s", "call-s", "CPU A ms/cs", "CPU B ms/cs",
                "B peak MB");
    int best = 0;
    for (int n = start; n <= max_calls; n = n < 100 ? n * 2 : n + n / 2) {
        const Round round = RunRound(**a, b->pid(), port, doc, n);
        std::printf("%6d %6d %8.1f %12.0f %14.3f %14.3f %10.1f\n", n, round.ok, round.wall, round.call_seconds,
                    round.cpu_a * 1000 / std::max(round.call_seconds, 1.0),
                    round.cpu_b * 1000 / std::max(round.call_seconds, 1.0), round.rss_b_kb / 1024.0);
        std::fflush(stdout);
        if (round.ok != n) {
            std::printf("  first failure: %s\n", round.first_failure.c_str());
            break;
        }
        best = n;
        std::this_thread::sleep_for(2s);  // let B close the last round's calls
    }
    std::printf("%s: largest N with every page delivered: %d\n", t38 ? "T.38" : "G.711", best);
    (*a)->Shutdown();
    b->Signal(SIGTERM);
    b->Wait(10s);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    faxd::base::ConfigureLogging(faxd::base::LogLevel::kError);
    RaiseFileLimit();
    std::string transport = "both";
    int start = 25, max_calls = 1500;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!std::strcmp(argv[i], "--transport")) transport = argv[i + 1];
        if (!std::strcmp(argv[i], "--max")) max_calls = std::atoi(argv[i + 1]);
        if (!std::strcmp(argv[i], "--start")) start = std::atoi(argv[i + 1]);
    }
    int status = 0;
    if (transport == "t38" || transport == "both") status |= Bench("t38", start, max_calls);
    if (transport == "g711" || transport == "both") status |= Bench("g711", start, max_calls);
    return status;
}
