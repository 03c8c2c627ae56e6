// faxd: the fax server daemon. This first version brings up logging and waits for SIGINT/SIGTERM; SIP, the job
// store, mail, the web API and the configuration file attach here as they are built (issues 3-7).
#include <csignal>
#include <iostream>

#include <CLI/CLI.hpp>

#include "base/log.hpp"

int main(int argc, char** argv) {
    CLI::App app{"faxd - fax server (SIP T.38 / G.711)"};
    std::string log_level = "info";
    app.add_option("--log-level", log_level, "trace, debug, info, warn, error")->capture_default_str();
    CLI11_PARSE(app, argc, argv);

    faxd::base::LogLevel level = faxd::base::LogLevel::kInfo;
    if (!faxd::base::ParseLogLevel(log_level, &level)) {
        std::cerr << "faxd: unknown log level '" << log_level << "'\n";
        return 2;
    }
    faxd::base::ConfigureLogging(level);
    auto log = faxd::base::GetLogger("faxd");

    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);

    log->info("faxd {} starting with embedded defaults", FAXD_VERSION);
    log->info("fax engine ready: T.30 over T.38 (UDPTL redundancy/FEC) and G.711 audio (spandsp 0.0.6)");
    log->info("no SIP listener yet: use 'faxctl loopback FILE.tif' to run a fax through the engine");
    int received = 0;
    sigwait(&signals, &received);
    log->info("faxd stopping (signal {})", received);
    return 0;
}
