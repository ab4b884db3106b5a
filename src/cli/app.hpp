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

// What the chosen subcommand does once parsing has succeeded.
struct Dispatch {
    std::function<int(const CommandWords&)> run;
};

struct Invocation {
    int option_count = 0;  // argv[0 .. option_count) goes to CLI11
    CommandWords command;  // the words after the first "--"
};

Invocation split_invocation(int argc, char** argv);

void build_app(CLI::App& app, Dispatch& dispatch);

// Arguments CLI11 left over (allow_extras): a clear error for the first one.
void reject_extra_arguments(const CLI::App& command);

// Parses the options part of argv. Returns the exit status when the run ends
// here: 0 after --help or --version, 64 after a parse error (CLI11's own codes
// would collide with the command's), with one line on stderr.
std::optional<int> parse_command_line(CLI::App& app, const Invocation& invocation, char** argv);

// Subcommands, one file each.
void add_exec_command(CLI::App& app, Dispatch& dispatch);
void add_try_command(CLI::App& app, Dispatch& dispatch);

}  // namespace plock::cli
