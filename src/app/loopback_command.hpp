// `faxctl loopback`: one back-to-back fax on simulated time, reported as one JSON line.
#pragma once

#include <CLI/CLI.hpp>

namespace faxd::app {

// Adds the subcommand to `app`; the callback sets `*exit_code` (0 only when the fax went through).
void AddLoopbackCommand(CLI::App& app, int* exit_code);

}  // namespace faxd::app
