// faxctl's commands that talk to a running faxd over its REST API (docs/api.md): send, status, list, cancel,
// resend, download, queue, users, token. Each prints readable text, or the API's JSON with --json.
// Exit codes: 0 done, 1 the API or the network failed, 2 the command line is wrong.
#pragma once

#include <iosfwd>

#include <CLI/CLI.hpp>

namespace faxd::client {

void AddApiCommands(CLI::App& app);
// The same, printing to `out` and `err` (tests).
void AddApiCommands(CLI::App& app, std::ostream& out, std::ostream& err);

}  // namespace faxd::client
