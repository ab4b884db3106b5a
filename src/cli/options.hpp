// Options shared by the subcommands, spelled the same everywhere
// (-n/--nonblock, -w/--timeout, -E/--conflict-exit-code, -c/--command,
// -v/--verbose, -q/--quiet), and their validation into typed values.
#pragma once

#include <CLI/CLI.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "plock/wait.hpp"

namespace plock::cli {

// The words after "--" on the command line; nullopt when there was no "--".
using CommandWords = std::optional<std::vector<std::string>>;

struct WaitOptions {
    bool nonblock = false;
    std::optional<std::string> timeout;  // as typed
};

struct OutputOptions {
    bool verbose = false;
    bool quiet = false;
};

// How long to wait: nonblocking (-n or -w 0), bounded, or forever.
struct WaitPolicy {
    bool nonblocking = false;
    std::optional<std::chrono::nanoseconds> timeout;

    Deadline deadline_from(Clock::time_point start) const;
    std::string describe() const;  // "timeout 2.5s" or "no timeout"
};

// How --nonblock is spelled: -n/--nonblock everywhere, except where -n means
// something else (`plock sem -n N`), which has the long form only.
enum class NonblockSpelling { short_and_long, long_only };

void add_wait_options(CLI::App& command, WaitOptions& options,
                      NonblockSpelling spelling = NonblockSpelling::short_and_long);
void add_conflict_exit_option(CLI::App& command, std::optional<std::string>& code);
void add_command_option(CLI::App& command, std::optional<std::string>& command_string);
void add_output_options(CLI::App& command, OutputOptions& options);

// Each throws UsageError with a message naming the option and the value.
WaitPolicy parse_wait_policy(const WaitOptions& options);
std::chrono::nanoseconds parse_seconds(const std::string& option, const std::string& text);
int parse_conflict_exit_code(const std::optional<std::string>& text);
// The command from -c STRING or from the words after "--" (not both).
// Empty when neither was given.
std::vector<std::string> resolve_command(const std::optional<std::string>& command_string,
                                         const CommandWords& words);
void apply_output_options(const OutputOptions& options);

std::string format_seconds(std::chrono::nanoseconds duration);

}  // namespace plock::cli
