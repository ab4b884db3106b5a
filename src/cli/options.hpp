// Options shared by the subcommands, spelled the same everywhere
// (-n/--nonblock, -w/--timeout, -E/--conflict-exit-code, -c/--command,
// -v/--verbose, -q/--quiet), and their validation into typed values.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "plock/sys/wait.hpp"

// CLI11 is declared, not included: only the files that define options
// include it (its header costs seconds in every file that reads it).
namespace CLI {
class App;
class Option;
}  // namespace CLI

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

// --time-limit and --grace, as typed.
struct StopOptions {
    std::optional<std::string> time_limit;
    std::optional<std::string> grace;
};

// When plock stops the command (its whole tree) and how: SIGTERM, then
// SIGKILL after `grace`.
inline constexpr std::chrono::seconds k_default_grace{10};
struct StopPolicy {
    std::optional<std::chrono::nanoseconds> time_limit;  // from the command's start
    std::chrono::nanoseconds grace = k_default_grace;
    bool grace_given = false;
};

// How --nonblock is spelled: -n/--nonblock everywhere, except where -n means
// something else (`plock sem -n N`), which has the long form only.
enum class NonblockSpelling { short_and_long, long_only };

// An option whose value is kept as typed, for one of the parsers below to
// check in one step with the others: `target` is set only when it is given.
CLI::Option* add_text_option(CLI::App& command, const std::string& names, std::optional<std::string>& target,
                             const std::string& help, const std::string& value_name);

void add_wait_options(CLI::App& command, WaitOptions& options,
                      NonblockSpelling spelling = NonblockSpelling::short_and_long);
void add_conflict_exit_option(CLI::App& command, std::optional<std::string>& code);
void add_output_options(CLI::App& command, OutputOptions& options);
// -q/--quiet alone, for plock status (whose answer is its report): print
// nothing but errors. Returns the option, for exclusions.
CLI::Option* add_quiet_option(CLI::App& command, bool& quiet);
// --time-limit SECONDS and --grace SECONDS; `grace_help` says what else
// --grace applies to in that subcommand.
void add_stop_options(CLI::App& command, StopOptions& options, const std::string& grace_help);

// The command group: -c STRING, and where the subcommand offers them
// -o/--close, --no-fork, --time-limit and --grace.
struct CommandOptions {
    std::optional<std::string> command_string;
    bool close = false;
    bool no_fork = false;
    StopOptions stop;
};

// Which of the group a subcommand offers, and what their help says there
// (nullptr: not offered).
struct CommandGroup {
    const char* close_help = nullptr;
    const char* no_fork_help = nullptr;
    // --time-limit and --grace; what else --grace applies to, such as
    // " (--time-limit)".
    const char* grace_help = nullptr;
};

void add_command_options(CLI::App& command, CommandOptions& options, const CommandGroup& group);

// The command and how it runs, validated.
struct CommandSettings {
    std::vector<std::string> argv;  // empty: no command (plock try LOCKFILE)
    bool close = false;             // -o: the command does not get the lock
    bool no_fork = false;           // --no-fork: exec in place of plock
    StopPolicy stop;
};

struct CommandRules {
    // Empty: a command is optional; else the error when none is given.
    const char* missing = "no command given: put it after '--' or use -c STRING";
    const char* held = "lock";  // what the command holds: "lock", "slot"
    // --grace also applies without --time-limit (pidguard --replace, a
    // Redis lease that cannot be kept).
    bool grace_has_other_use = false;
};

// One step from the group as typed to its settings, checking every rule the
// subcommands share (UsageError naming the options).
CommandSettings parse_command_settings(const CommandOptions& options, const CommandWords& words,
                                       const CommandRules& rules = {});

// Each throws UsageError with a message naming the option and the value.
WaitPolicy parse_wait_policy(const WaitOptions& options);
std::chrono::nanoseconds parse_seconds(const std::string& option, const std::string& text);
// The one parser of whole numbers: decimal digits only (no sign, no space),
// from `min` to `max`; the error says "expected a number [of COUNTED] from
// MIN to MAX".
long long parse_integer(const std::string& option, const std::string& text, long long min, long long max,
                        const std::string& counted = "");
int parse_conflict_exit_code(const std::optional<std::string>& text);
StopPolicy parse_stop_policy(const StopOptions& options);
// The rules every subcommand that runs a command shares: --grace needs
// --time-limit (unless `grace_has_other_use`), and --time-limit needs a
// command that plock waits for (not --no-fork).
void validate_stop_policy(const StopPolicy& policy, bool no_command, bool no_fork,
                          bool grace_has_other_use = false);
// The command from -c STRING or from the words after "--" (not both).
// Empty when neither was given.
std::vector<std::string> resolve_command(const std::optional<std::string>& command_string,
                                         const CommandWords& words);
void apply_output_options(const OutputOptions& options);

}  // namespace plock::cli
