// faxctl: the command-line client of faxd.
#include <CLI/CLI.hpp>

#include "app/dial_command.hpp"
#include "app/loopback_command.hpp"
#include "app/render_command.hpp"
#include "client/commands.hpp"

int main(int argc, char** argv) {
    CLI::App app{"faxctl - control and test a faxd fax server"};
    app.require_subcommand(1);
    int exit_code = 0;
    faxd::app::AddLoopbackCommand(app, &exit_code);
    faxd::app::AddDialCommand(app, &exit_code);
    faxd::app::AddRenderCommands(app, &exit_code);
    faxd::client::AddApiCommands(app);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& error) {
        // API commands end with CLI::RuntimeError(code) carrying their exit status; every other parse error
        // (unknown option, bad value, --help) is printed by CLI11 and is a usage error (2) unless it is help.
        const int code = app.exit(error);
        return error.get_name() == "RuntimeError" || code == 0 ? code : 2;
    }
    return exit_code;
}
