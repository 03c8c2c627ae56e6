#include "app/loopback_command.hpp"

#include <iostream>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "base/log.hpp"
#include "loopback/loopback.hpp"

namespace faxd::app {
namespace {

struct LoopbackArgs {
    std::string file;
    std::string transport = "t38";
    double loss = 0.0;
    int redundancy = 3;
    bool fec = false;
    std::string ecm = "on";
    std::string compression;  // empty: offer all, let T.30 choose
    std::string coding = "ulaw";
    std::string modem = "v17";
    std::uint32_t seed = 1;
    bool verbose = false;
};

int Run(const LoopbackArgs& args) {
    base::ConfigureLogging(args.verbose ? base::LogLevel::kDebug : base::LogLevel::kWarn);
    loopback::LoopbackOptions options;
    options.transport = args.transport == "g711" ? t30::Transport::kAudio : t30::Transport::kT38;
    options.send_tiff = args.file;
    options.loss = args.loss;
    options.redundancy = args.redundancy;
    options.recovery = args.fec ? t38::ErrorRecovery::kFec
                                : (args.redundancy == 0 ? t38::ErrorRecovery::kNone : t38::ErrorRecovery::kRedundancy);
    options.seed = args.seed;
    options.coding = args.coding == "alaw" ? loopback::AudioCoding::kALaw : loopback::AudioCoding::kMuLaw;
    for (auto* settings : {&options.sender, &options.receiver}) {
        settings->ecm = args.ecm == "on";
        if (!args.compression.empty()) {
            t30::Compression compression = t30::kT6;
            t30::ParseCompression(args.compression, &compression);
            settings->compressions = compression;
        }
        settings->modems = args.modem == "v27ter" ? t30::kV27ter
                           : args.modem == "v29"  ? (t30::kV27ter | t30::kV29)
                                                  : t30::kAllModems;
    }
    options.sender.local_ident = "faxd loopback tx";
    options.receiver.local_ident = "faxd loopback rx";

    // The received copy is only needed for the duration of the run.
    const auto dir = std::filesystem::temp_directory_path() / ("faxctl_loopback_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    options.receive_tiff = dir / "received.tif";
    auto report = loopback::RunLoopback(options);
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);

    nlohmann::json out;
    if (!report) {
        out["ok"] = false;
        out["error_class"] = "document_error";
        out["error"] = report.error().ToString();
        std::cout << out.dump() << std::endl;
        return 2;
    }
    const auto& tx = report->sender;
    const bool ok = tx.success && report->receiver.success;
    out["ok"] = ok;
    out["pages"] = tx.pages_confirmed;
    out["pages_received"] = report->receiver.pages_confirmed;
    out["bit_rate"] = tx.bit_rate;
    out["compression"] = std::string(t30::CompressionName(tx.compression));
    out["ecm"] = tx.ecm_used;
    out["transport"] = args.transport;
    out["simulated_seconds"] = report->simulated_seconds;
    out["cpu_seconds"] = report->cpu_seconds;
    out["remote_ident"] = tx.remote_ident;
    if (options.transport == t30::Transport::kT38) {
        out["datagrams_sent"] = report->datagrams_sent;
        out["datagrams_dropped"] = report->datagrams_dropped;
        out["ifps_recovered"] = report->to_receiver.recovered_redundancy + report->to_receiver.recovered_fec +
                                report->to_sender.recovered_redundancy + report->to_sender.recovered_fec;
    }
    if (!ok) {
        const auto& failed = tx.success ? report->receiver : tx;
        out["error_class"] = std::string(t30::FailureClassName(failed.failure));
        out["t30_code"] = failed.t30_code;
        out["error"] = failed.t30_text;
    }
    std::cout << out.dump() << std::endl;
    return ok ? 0 : 1;
}

}  // namespace

void AddLoopbackCommand(CLI::App& app, int* exit_code) {
    auto args = std::make_shared<LoopbackArgs>();
    auto* cmd = app.add_subcommand("loopback",
                                   "Send FILE.tif to a second, local fax session on simulated time and report the "
                                   "result as one JSON line (no network, no PBX)");
    cmd->add_option("file", args->file, "TIFF of fax pages (1728 pixels wide, bilevel)")
        ->required()
        ->check(CLI::ExistingFile);
    cmd->add_option("--transport", args->transport, "t38 (fax over IP) or g711 (fax modems over audio)")
        ->check(CLI::IsMember({"t38", "g711"}))
        ->capture_default_str();
    cmd->add_option("--loss", args->loss, "fraction of T.38 datagrams dropped at random, each way (0.05 = 5%)")
        ->check(CLI::Range(0.0, 0.9))
        ->capture_default_str();
    cmd->add_option("--redundancy", args->redundancy, "previous IFPs carried in each UDPTL datagram")
        ->check(CLI::Range(0, 5))
        ->capture_default_str();
    cmd->add_flag("--fec", args->fec, "use UDPTL parity FEC instead of redundancy");
    cmd->add_option("--ecm", args->ecm, "error correction mode")->check(CLI::IsMember({"on", "off"}))->capture_default_str();
    cmd->add_option("--compression", args->compression, "allow only this compression (default: all; T.30 picks)")
        ->check(CLI::IsMember({"t4-1d", "t4-2d", "t6"}));
    cmd->add_option("--codec", args->coding, "G.711 law for --transport g711")
        ->check(CLI::IsMember({"ulaw", "alaw"}))
        ->capture_default_str();
    cmd->add_option("--modem", args->modem, "fastest modem allowed")
        ->check(CLI::IsMember({"v17", "v29", "v27ter"}))
        ->capture_default_str();
    cmd->add_option("--seed", args->seed, "seed of the random packet loss")->capture_default_str();
    cmd->add_flag("-v,--verbose", args->verbose, "log the T.30 exchange to stderr");
    cmd->callback([args, exit_code] { *exit_code = Run(*args); });
}

}  // namespace faxd::app
