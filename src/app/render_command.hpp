// `faxctl render` (documents to fax pages) and `faxctl topdf` (a received fax TIFF to PDF).
#pragma once

#include <CLI/CLI.hpp>

namespace faxd::app {

void AddRenderCommands(CLI::App& app, int* exit_code);

}  // namespace faxd::app
