// plock's entry point: build the command line, run the chosen subcommand,
// and turn every error into one line on stderr and a documented exit status.
#include <CLI/CLI.hpp>

#include "cli/app.hpp"
#include "cli/exit_status.hpp"
#include "cli/log.hpp"
#include "plock/sys/error.hpp"
#include "cli/exit_code.hpp"

int main(int argc, char** argv) {
    using namespace plock;
    CLI::App app{"", "plock"};
    try {
        const cli::Invocation invocation = cli::split_invocation(argc, argv);
        const cli::ChosenSubcommand chosen = cli::build_app(app, invocation);
        if (const auto status = cli::parse_command_line(app, invocation, argv)) {
            return *status;
        }
        cli::prepare_chosen(chosen, invocation);
        return chosen.subcommand->run();
    } catch (const UsageError& error) {
        cli::logger().error("{}", cli::error_message(error));
        return exit_code::k_usage;
    } catch (const SystemError& error) {
        cli::logger().error("{}", cli::error_message(error));
        return cli::exit_code_for(error);
    } catch (const std::exception& error) {
        cli::logger().error("internal error: {}", error.what());
        return exit_code::k_internal;
    }
}
