#include "client/commands.hpp"

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <optional>

#include "client/command_support.hpp"

namespace faxd::client {
namespace {

constexpr const char* kDefaultServer = "http://127.0.0.1:8080";
// Where scripts/run writes the administrator's token, relative to the directory faxctl runs in.
constexpr const char* kLocalAdminTokenFile = "./var/admin.token";

std::string Env(const char* name) {
    const char* value = std::getenv(name);
    return value != nullptr ? value : "";
}

std::optional<std::string> ReadToken(const std::string& path) {
    std::ifstream in(path);
    std::string token;
    if (!in || !std::getline(in, token)) return std::nullopt;
    while (!token.empty() && (token.back() == '\r' || token.back() == ' ')) token.pop_back();
    return token;
}

struct Resolved {
    ClientOptions options;
    std::string problem;  // set: the options cannot work
};

// Command line first, then the environment, then the conventions of a local installation.
Resolved Resolve(const ConnectionOptions& given) {
    Resolved resolved;
    ClientOptions& options = resolved.options;
    options.server = !given.server.empty()           ? given.server
                     : !Env("FAXCTL_SERVER").empty() ? Env("FAXCTL_SERVER")
                                                     : kDefaultServer;
    options.insecure = given.insecure;
    options.ca_file = given.ca_file;
    options.timeout = std::chrono::milliseconds(static_cast<std::int64_t>(given.timeout_seconds * 1000));
    if (!given.token.empty()) {
        options.token = given.token;
    } else if (!Env("FAXCTL_TOKEN").empty()) {
        options.token = Env("FAXCTL_TOKEN");
    } else if (const std::string file = Env("FAXCTL_TOKEN_FILE"); !file.empty()) {
        auto token = ReadToken(file);
        if (!token) resolved.problem = "cannot read the token file " + file + " (FAXCTL_TOKEN_FILE)";
        options.token = token.value_or("");
    } else {
        options.token = ReadToken(kLocalAdminTokenFile).value_or("");
    }
    return resolved;
}

}  // namespace

void AddConnectionOptions(CLI::App* command, ConnectionOptions& options) {
    command->add_option("--server", options.server,
                        "faxd's URL (default: $FAXCTL_SERVER, else http://127.0.0.1:8080)");
    command->add_option("--token", options.token,
                        "API token (default: $FAXCTL_TOKEN, else the file named by $FAXCTL_TOKEN_FILE, else "
                        "./var/admin.token, where scripts/run writes the administrator's token)");
    command->add_flag("--insecure", options.insecure, "do not check the server's TLS certificate");
    command->add_option("--cacert", options.ca_file, "trust the CA certificates in this PEM file")
        ->check(CLI::ExistingFile);
    command->add_option("--timeout", options.timeout_seconds, "seconds to wait for the whole request")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    command->add_flag("--json", options.json, "print the API's JSON instead of text");
}

int Output::Failed(const ClientError& error) {
    *streams_.err << "faxctl: " << error.ToString() << '\n';
    failed_status_ = error.http_status;
    return kExitFailed;
}

int Output::Usage(const std::string& message) {
    *streams_.err << "faxctl: " << message << '\n';
    return kExitUsage;
}

void OnRun(CLI::App* command, std::shared_ptr<const ConnectionOptions> options, Streams streams,
           CommandBody body) {
    command->callback([options = std::move(options), streams, body = std::move(body)] {
        Output output(streams, options->json);
        const Resolved resolved = Resolve(*options);
        int code = kExitOk;
        if (!resolved.problem.empty()) {
            code = output.Usage(resolved.problem);
        } else {
            ApiClient client(resolved.options);
            code = body(client, output);
            if (output.failed_status() == 401 && resolved.options.token.empty())
                output.Note("(no API token was given: --token, $FAXCTL_TOKEN or $FAXCTL_TOKEN_FILE)");
        }
        streams.out->flush();
        if (code != kExitOk) throw CLI::RuntimeError(code);
    });
}

std::string ObjectPath(std::string_view prefix, std::string_view id) {
    return std::string(prefix) + "/" + EncodeComponent(id);
}

void AddApiCommands(CLI::App& app) { AddApiCommands(app, std::cout, std::cerr); }

void AddApiCommands(CLI::App& app, std::ostream& out, std::ostream& err) {
    const Streams streams{&out, &err};
    AddFaxCommands(app, streams);
    AddAdminCommands(app, streams);
}

}  // namespace faxd::client
