// Building the command line: the top-level app, its subcommands, and the
// split of argv at "--" (everything after it is the command, untouched).
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "cli/options.hpp"

namespace plock::cli {

// Running the chosen subcommand: everything that touches the system (lock
// files, processes, Redis). Returns the exit status.
using Run = std::function<int()>;

// What the chosen subcommand does once parsing has succeeded, in two steps.
// `prepare` validates its options and the command words (UsageError for bad
// input) and returns the run. Preparing sets the log level (-v, -q) and reads
// the environment and --password-file, but opens, creates, locks or starts
// nothing else: a command line can be checked on its own (the fuzzer does).
struct Dispatch {
    std::function<Run(const CommandWords&)> prepare;
};

struct Invocation {
    int option_count = 0;    // argv[0 .. option_count) goes to CLI11
    CommandWords command;    // the words after the first "--"
    std::string subcommand;  // the first word that is not an option, if any
};

Invocation split_invocation(int argc, char** argv);

// A subcommand: its name and one-line summary, and what defines its options
// and its run. Each lives in its own file (exec.cpp, try.cpp, ...).
struct SubcommandDefinition {
    const char* name;
    const char* summary;
    void (*define)(CLI::App& command, Dispatch& dispatch);
};

// Every subcommand is listed, but only the one named on the command line gets
// its options defined: a run pays for parsing its own options only.
// Throws UsageError for an unknown subcommand name.
void build_app(CLI::App& app, Dispatch& dispatch, const Invocation& invocation);

// Makes `prepare` what happens when `command` is the chosen subcommand and
// parsing succeeded; arguments CLI11 left over (allow_extras) are refused
// first with a clear error for the first of them.
void run_when_chosen(CLI::App& command, Dispatch& dispatch,
                     std::function<Run(const CommandWords&)> prepare);

// Parses the options part of argv. Returns the exit status when the run ends
// here: 0 after --help or --version, 64 after a parse error (CLI11's own codes
// would collide with the command's), with one line on stderr.
std::optional<int> parse_command_line(CLI::App& app, const Invocation& invocation, char** argv);

// Subcommands, one file each.
extern const SubcommandDefinition k_exec_command;
extern const SubcommandDefinition k_try_command;
extern const SubcommandDefinition k_pidguard_command;
extern const SubcommandDefinition k_sem_command;
extern const SubcommandDefinition k_redis_command;
extern const SubcommandDefinition k_status_command;
extern const SubcommandDefinition k_update_command;

}  // namespace plock::cli
