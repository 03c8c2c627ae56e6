#include "app/dial_command.hpp"

#include <csignal>
#include <future>
#include <iostream>

#include "app/config.hpp"
#include "app/received_spool.hpp"
#include "base/log.hpp"
#include "sip/numbers.hpp"
#include "sip/routing.hpp"

namespace faxd::app {
namespace {

struct DialArgs {
    std::string config_path;
    std::string to;
    std::string uri;
    std::string file;
    int listen_port = 0;
    int timeout = 3600;
    std::string log_level = "warn";
};

int Run(const DialArgs& args) {
    base::LogLevel level = base::LogLevel::kWarn;
    base::ParseLogLevel(args.log_level, &level);
    base::ConfigureLogging(level);
    std::signal(SIGPIPE, SIG_IGN);
    auto config = args.config_path.empty() ? ParseConfig(DefaultConfigText(), "built-in defaults")
                                           : LoadConfig(args.config_path);
    const auto fail = [](const std::string& error_class, const std::string& message) {
        std::cout << nlohmann::json{{"ok", false}, {"error_class", error_class}, {"reason", message}}.dump()
                  << std::endl;
        return 2;
    };
    if (!config) return fail("config", config.error().message);
    // faxctl is a second SIP endpoint beside a running faxd: it listens on its own port (any free one by default).
    config->sip.port = static_cast<std::uint16_t>(args.listen_port);
    config->sip.tls.port = 0;

    std::vector<sip::DialTarget> targets;
    if (!args.uri.empty()) {
        targets.push_back({args.uri, nullptr});
    } else {
        auto number = sip::NormalizeNumber(config->numbers, args.to);
        if (!number) return fail("bad_number", number.error().message);
        targets = sip::PlanDial(config->routes, *number, &config->numbers);
        if (targets.empty()) return fail("bad_number", "no route for " + args.to + " (add a [[routes]] entry)");
    }
    auto endpoint = sip::SipEndpoint::Start(config->sip, {}, {});
    if (!endpoint) return fail("internal", endpoint.error().ToString());

    sip::CallResult result;
    std::string used_target;
    int attempts = 0;
    for (const auto& target : targets) {
        sip::OutboundCall call;
        call.target = target.uri;
        call.tiff = args.file;
        if (target.route) {
            call.allow_g711 = target.route->allow_g711;
            call.t38_in_offer = target.route->t38_in_offer;
            call.credentials = target.route->credentials;
            call.route = target.route->name;
            call.route_max_channels = target.route->max_channels;
            t30::FaxSettings fax = config->sip.fax;
            if (target.route->ecm) fax.ecm = *target.route->ecm;
            if (target.route->max_bit_rate) {
                const int rate = *target.route->max_bit_rate;
                fax.modems = rate >= 14400 ? t30::kAllModems : rate >= 9600 ? (t30::kV27ter | t30::kV29) : t30::kV27ter;
            }
            call.fax = fax;
        }
        std::promise<sip::CallResult> done;
        auto future = done.get_future();
        (*endpoint)->Dial(call, [&done](const sip::CallResult& r) { done.set_value(r); });
        ++attempts;
        if (future.wait_for(std::chrono::seconds(args.timeout)) != std::future_status::ready) {
            result = sip::CallResult{};
            result.failure = sip::CallFailure::kCancelled;
            result.reason = "gave up after " + std::to_string(args.timeout) + " s";
            break;
        }
        result = future.get();
        used_target = target.uri;
        if (!sip::ShouldTryNextGateway(result)) break;
    }
    (*endpoint)->Shutdown();
    auto out = CallResultJson(result);
    out["target"] = used_target;
    out["attempts"] = attempts;
    std::cout << out.dump() << std::endl;
    return result.success ? 0 : 1;
}

}  // namespace

void AddDialCommand(CLI::App& app, int* exit_code) {
    auto args = std::make_shared<DialArgs>();
    auto* cmd = app.add_subcommand("dial", "Place one fax call with faxd's SIP stack and print the result as JSON");
    cmd->add_option("file", args->file, "TIFF of fax pages (1728 pixels wide, bilevel)")
        ->required()
        ->check(CLI::ExistingFile);
    cmd->add_option("--config", args->config_path, "faxd configuration (routes, SIP, fax settings)")
        ->check(CLI::ExistingFile);
    cmd->add_option("--to", args->to, "number to fax (routed by the config's [[routes]])");
    cmd->add_option("--uri", args->uri, "SIP URI to call instead of routing --to (sip:999@127.0.0.1:5062)");
    cmd->add_option("--listen-port", args->listen_port, "local SIP port (default: any free port)");
    cmd->add_option("--timeout", args->timeout, "give up after this many seconds")->capture_default_str();
    cmd->add_option("--log-level", args->log_level, "trace, debug, info, warn, error")->capture_default_str();
    cmd->callback([args, exit_code, cmd] {
        if (args->to.empty() && args->uri.empty()) throw CLI::ValidationError("--to or --uri", "one of them is needed");
        (void)cmd;
        *exit_code = Run(*args);
    });
}

}  // namespace faxd::app
