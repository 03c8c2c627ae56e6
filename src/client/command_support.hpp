// What faxctl's API commands share: the connection options every command takes, output with --json, exit
// codes, and the glue that runs a command's body when CLI11 picks it.
#pragma once

#include <functional>
#include <memory>
#include <ostream>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "client/api_client.hpp"

namespace faxd::client {

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;  // the API answered with an error, or could not be reached
constexpr int kExitUsage = 2;

struct Streams {
    std::ostream* out;
    std::ostream* err;
};

// Options every API command takes; the defaults come from the environment when the command runs.
struct ConnectionOptions {
    std::string server;
    std::string token;
    bool insecure = false;
    std::string ca_file;
    double timeout_seconds = 300;
    bool json = false;
};

void AddConnectionOptions(CLI::App* command, ConnectionOptions& options);

// Where a command writes, and how it ends.
class Output {
public:
    Output(Streams streams, bool json) : streams_(streams), json_(json) {}
    bool json() const { return json_; }
    std::ostream& out() { return *streams_.out; }
    // One line; an answer without a body (204) prints as {} so scripts always get an object.
    void Json(const nlohmann::json& value) { out() << (value.is_null() ? "{}" : value.dump()) << '\n'; }
    // "faxctl: <error>"; returns kExitFailed.
    int Failed(const ClientError& error);
    // The HTTP status of the error Failed() printed (0: none, or no answer).
    int failed_status() const { return failed_status_; }
    // "faxctl: <message>"; returns kExitUsage.
    int Usage(const std::string& message);
    // A note for people (not for scripts reading stdout).
    void Note(const std::string& message) { *streams_.err << message << '\n'; }

private:
    Streams streams_;
    bool json_;
    int failed_status_ = 0;
};

using CommandBody = std::function<int(ApiClient& client, Output& output)>;

// Makes `command` run `body` with a client for its connection options (read when it runs, after parsing;
// pass them with the aliasing constructor of shared_ptr from the command's argument struct).
// A non-zero exit code ends faxctl with it (CLI::RuntimeError, which CLI11_PARSE returns silently).
void OnRun(CLI::App* command, std::shared_ptr<const ConnectionOptions> options, Streams streams,
           CommandBody body);

// The path of one object: prefix + "/" + percent-encoded id ("/faxes/out-1").
std::string ObjectPath(std::string_view prefix, std::string_view id);

void AddFaxCommands(CLI::App& app, Streams streams);    // send, status, list, cancel, resend, download
void AddAdminCommands(CLI::App& app, Streams streams);  // queue, users, token

}  // namespace faxd::client
