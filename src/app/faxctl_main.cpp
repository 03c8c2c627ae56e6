// faxctl: the command-line client of faxd.
#include <CLI/CLI.hpp>

#include "app/dial_command.hpp"
#include "app/loopback_command.hpp"
#include "app/render_command.hpp"

int main(int argc, char** argv) {
    CLI::App app{"faxctl - control and test a faxd fax server"};
    app.require_subcommand(1);
    int exit_code = 0;
    faxd::app::AddLoopbackCommand(app, &exit_code);
    faxd::app::AddDialCommand(app, &exit_code);
    faxd::app::AddRenderCommands(app, &exit_code);
    CLI11_PARSE(app, argc, argv);
    return exit_code;
}
