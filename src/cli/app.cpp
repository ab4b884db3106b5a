// The top-level app: subcommands, help footer with the exit-status table.
#include "cli/app.hpp"

#include <cstring>
#include <iostream>

#include "cli/exit_status.hpp"
#include "cli/log.hpp"
#include "plock/sys/error.hpp"
#include "cli/exit_code.hpp"

namespace plock::cli {
namespace {

std::string exit_status_footer() {
    std::string text =
        "Exit status: the command's own status, whatever it is, or:\n"
        "  128+N          the command was killed by signal N (or plock, waiting, by signal N)\n";
    text += exit_status_rows(exit_code::k_table);
    text += "A query (plock status) answers, unless one of the errors above happened:\n";
    text += exit_status_rows(exit_code::k_status_table);
    text += "\nSee plock(1) for details. 'plock COMMAND --help' describes each subcommand.";
    return text;
}

// In the order `plock --help` lists them.
const SubcommandDefinition* const k_subcommands[] = {&k_exec_command,     &k_try_command,   &k_sem_command,
                                                     &k_pidguard_command, &k_redis_command, &k_status_command,
                                                     &k_update_command};

}  // namespace

Invocation split_invocation(int argc, char** argv) {
    Invocation invocation;
    invocation.option_count = argc;
    for (int index = 1; index < argc; ++index) {
        if (std::strcmp(argv[index], "--") == 0) {
            invocation.option_count = index;
            invocation.command = std::vector<std::string>(argv + index + 1, argv + argc);
            break;
        }
    }
    for (int index = 1; index < invocation.option_count; ++index) {
        if (argv[index][0] != '-') {
            invocation.subcommand = argv[index];
            break;
        }
    }
    return invocation;
}

void build_app(CLI::App& app, Dispatch& dispatch, const Invocation& invocation) {
    app.description(
        "plock runs a command while holding a lock: a file lock, a counting semaphore,\n"
        "a PID-file guard or a Redis lock, and exits with the command's status.");
    app.require_subcommand(1);
    app.set_version_flag("--version", std::string("plock ") + PLOCK_VERSION);
    app.footer(exit_status_footer());
    bool known = invocation.subcommand.empty();
    for (const SubcommandDefinition* definition : k_subcommands) {
        CLI::App* command = app.add_subcommand(definition->name, definition->summary);
        if (invocation.subcommand == definition->name) {
            definition->define(*command, dispatch);
            known = true;
        }
    }
    if (!known) {
        // CLI11 would call it an unexpected argument; say what it is.
        throw UsageError("unknown subcommand '" + invocation.subcommand + "' (try 'plock --help')");
    }
}

namespace {

void reject_extra_arguments(const CLI::App& command) {
    const std::vector<std::string> extras = command.remaining();
    if (extras.empty()) {
        return;
    }
    const std::string& first = extras.front();
    if (first.size() > 1 && first[0] == '-') {
        throw UsageError("unknown option '" + first + "' for 'plock " + command.get_name() + "'");
    }
    const auto positionals = command.get_options([](const CLI::Option* option) { return option->get_positional(); });
    const std::string operand = positionals.empty() ? std::string() : positionals.front()->get_name() + " ";
    throw UsageError("unexpected argument '" + first + "': the command goes after '--', as in 'plock " +
                     command.get_name() + " " + operand + "-- COMMAND...'");
}

}  // namespace

void run_when_chosen(CLI::App& command, Dispatch& dispatch,
                     std::function<Run(const CommandWords&)> prepare) {
    command.callback([&command, &dispatch, prepare = std::move(prepare)] {
        reject_extra_arguments(command);
        dispatch.prepare = prepare;
    });
}

std::optional<int> parse_command_line(CLI::App& app, const Invocation& invocation, char** argv) {
    try {
        app.parse(invocation.option_count, argv);
    } catch (const CLI::ParseError& error) {
        if (error.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) {
            // --help or --version: CLI11 prints them.
            app.exit(error, std::cout, std::cerr);
            return exit_code::k_success;
        }
        std::string message = error.what();
        while (!message.empty() && message.back() == '\n') {
            message.pop_back();
        }
        for (char& character : message) {
            if (character == '\n') {
                character = ' ';
            }
        }
        logger().error("{} (try 'plock --help')", message);
        return exit_code::k_usage;
    }
    return std::nullopt;
}

}  // namespace plock::cli
