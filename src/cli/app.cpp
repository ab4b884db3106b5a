// The top-level app: subcommands, help footer with the exit-status table.
#include "cli/app.hpp"

#include <CLI/CLI.hpp>

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

}  // namespace

const SubcommandEntry k_subcommands[] = {
    {"exec", "Run a command while holding a lock on LOCKFILE, waiting for it if needed", make_exec_command},
    {"try", "Run a command if LOCKFILE's lock is free, never waiting; or only test the lock", make_try_command},
    {"lock", "Take the lock on the open file behind descriptor FD of the calling shell, and keep it there",
     make_lock_command},
    {"unlock", "Let go of the lock on the open file behind descriptor FD", make_unlock_command},
    {"sem", "Run a command while holding one of N slots of a counting semaphore NAME", make_sem_command},
    {"pidguard", "Run a command as the single instance that PIDFILE guards, or report on it",
     make_pidguard_command},
    {"redis", "Run a command while holding a lock or semaphore kept in Redis, shared across machines",
     make_redis_command},
    {"status",
     "Show who holds and who waits for a lock file, semaphore, PID file or Redis lock (exit 0: free, 1: held)",
     make_status_command},
    {"update", "Replace FILE atomically with FILTER's output on its content, under FILE's lock",
     make_update_command},
};
const std::size_t k_subcommand_count = std::size(k_subcommands);

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

ChosenSubcommand build_app(CLI::App& app, const Invocation& invocation) {
    app.description(
        "plock runs a command while holding a lock: a file lock, a counting semaphore,\n"
        "a PID-file guard or a Redis lock, and exits with the command's status.");
    app.require_subcommand(1);
    app.set_version_flag("--version", std::string("plock ") + PLOCK_VERSION);
    app.footer(exit_status_footer());
    ChosenSubcommand chosen;
    for (const SubcommandEntry& entry : k_subcommands) {
        CLI::App* command = app.add_subcommand(entry.name, entry.summary);
        if (invocation.subcommand == entry.name) {
            chosen.subcommand = entry.make();
            chosen.subcommand->define_options(*command);
            // An unknown option is then named as the other errors are, by prepare_chosen.
            command->allow_extras();
            chosen.command = command;
        }
    }
    if (!invocation.subcommand.empty() && !chosen.subcommand) {
        // CLI11 would call it an unexpected argument; say what it is.
        throw UsageError("unknown subcommand '" + invocation.subcommand + "' (try 'plock --help')");
    }
    return chosen;
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

void prepare_chosen(const ChosenSubcommand& chosen, const Invocation& invocation) {
    reject_extra_arguments(*chosen.command);
    chosen.subcommand->prepare(invocation.command);
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
