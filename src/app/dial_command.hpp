// `faxctl dial`: one fax call through faxd's SIP stack, reported as one JSON line.
#pragma once

#include <CLI/CLI.hpp>

namespace faxd::app {

void AddDialCommand(CLI::App& app, int* exit_code);

}  // namespace faxd::app
