// faxd: the fax server daemon. It answers fax calls on SIP (T.38 or G.711), routes them to their owners, and
// sends the queued jobs; mail and the web API attach here as they are built.
#include <sys/resource.h>

#include <csignal>
#include <iostream>

#include <CLI/CLI.hpp>

#include "app/config.hpp"
#include "app/server.hpp"
#include "base/log.hpp"

int main(int argc, char** argv) {
    CLI::App app{"faxd - fax server (SIP with T.38 and G.711)"};
    std::string config_path;
    std::string log_level;
    bool print_default_config = false;
    app.add_option("--config", config_path, "configuration file (TOML); default: the built-in defaults")
        ->check(CLI::ExistingFile);
    app.add_flag("--print-default-config", print_default_config, "print the documented default configuration");
    app.add_option("--log-level", log_level, "trace, debug, info, warn, error (overrides the config file)");
    CLI11_PARSE(app, argc, argv);

    if (print_default_config) {
        std::cout << faxd::app::DefaultConfigText();
        return 0;
    }
    auto config = config_path.empty() ? faxd::app::ParseConfig(faxd::app::DefaultConfigText(), "built-in defaults")
                                      : faxd::app::LoadConfig(config_path);
    if (!config) {
        std::cerr << "faxd: " << config.error().message << "\n";
        return 2;
    }
    if (!log_level.empty() && !faxd::base::ParseLogLevel(log_level, &config->log_level)) {
        std::cerr << "faxd: unknown log level '" << log_level << "'\n";
        return 2;
    }
    faxd::base::ConfigureLogging(config->log_level);
    auto log = faxd::base::GetLogger("faxd");

    // Signals are taken synchronously by this thread; every other thread inherits the block.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    std::signal(SIGPIPE, SIG_IGN);

    // Every call holds a few sockets (SIP, RTP, UDPTL): take all the descriptors the system allows.
    rlimit files{};
    if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
        files.rlim_cur = files.rlim_max;
        setrlimit(RLIMIT_NOFILE, &files);
    }
    log->info("faxd {} starting ({})", FAXD_VERSION, config_path.empty() ? "built-in defaults" : config_path);
    auto server = faxd::app::FaxServer::Start(*config);
    if (!server) {
        log->error("cannot start: {}", server.error().ToString());
        return 1;
    }
    int signal_number = 0;
    sigwait(&signals, &signal_number);
    log->info("faxd stopping (signal {})", signal_number);
    (*server)->Stop();
    return 0;
}
