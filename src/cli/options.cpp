// Shared option declarations and their validation.
#include "cli/options.hpp"

#include <CLI/CLI.hpp>

#include <cctype>
#include <cmath>
#include <cstdlib>

#include "cli/describe.hpp"
#include "cli/log.hpp"
#include "plock/sys/error.hpp"
#include "cli/exit_code.hpp"

namespace plock::cli {
namespace {

// Longer than any sensible wait, short enough for nanosecond arithmetic.
constexpr double k_max_seconds = 100.0 * 365 * 24 * 3600;

}  // namespace

Deadline WaitPolicy::deadline_from(Clock::time_point start) const {
    if (nonblocking) {
        return start;
    }
    if (timeout) {
        return start + std::chrono::duration_cast<Clock::duration>(*timeout);
    }
    return std::nullopt;
}

std::string WaitPolicy::describe() const {
    return timeout ? "timeout " + format_seconds(*timeout) : std::string("no timeout");
}

CLI::Option* add_text_option(CLI::App& command, const std::string& names, std::optional<std::string>& target,
                             const std::string& help, const std::string& value_name) {
    return command
        .add_option_function<std::string>(
            names, [&target](const std::string& text) { target = text; }, help)
        ->option_text(value_name);
}

void add_wait_options(CLI::App& command, WaitOptions& options, NonblockSpelling spelling) {
    const char* names = spelling == NonblockSpelling::short_and_long ? "-n,--nonblock" : "--nonblock";
    auto* nonblock = command.add_flag(names, options.nonblock,
                                      "Fail at once (status 75, see -E) if the lock is busy");
    auto* timeout = add_text_option(command, "-w,--timeout", options.timeout,
                                    "Give up after SECONDS (fractions allowed; 0 = --nonblock)", "SECONDS");
    nonblock->excludes(timeout);
}

void add_stop_options(CLI::App& command, StopOptions& options, const std::string& grace_help) {
    add_text_option(command, "--time-limit", options.time_limit,
                    "Stop the command and every process it started if it runs longer than SECONDS "
                    "(SIGTERM, SIGKILL after --grace), then exit 124",
                    "SECONDS");
    add_text_option(command, "--grace", options.grace,
                    "When plock stops the command" + grace_help +
                        ": how long after SIGTERM it sends SIGKILL (default 10)",
                    "SECONDS");
}

void add_conflict_exit_option(CLI::App& command, std::optional<std::string>& code) {
    add_text_option(command, "-E,--conflict-exit-code", code,
                    "Exit status when the lock is busy or the wait times out (0-255, default 75)", "CODE");
}

void add_command_options(CLI::App& command, CommandOptions& options, const CommandGroup& group) {
    add_text_option(command, "-c,--command", options.command_string,
                    "Run STRING with /bin/sh -c instead of a command after --", "STRING");
    if (group.close_help) {
        command.add_flag("-o,--close", options.close, group.close_help);
    }
    if (group.no_fork_help) {
        command.add_flag("--no-fork", options.no_fork, group.no_fork_help);
    }
    if (group.grace_help) {
        add_stop_options(command, options.stop, group.grace_help);
    }
}

CommandSettings parse_command_settings(const CommandOptions& options, const CommandWords& words,
                                       const CommandRules& rules) {
    CommandSettings settings;
    settings.argv = resolve_command(options.command_string, words);
    settings.close = options.close;
    settings.no_fork = options.no_fork;
    const bool none = settings.argv.empty();
    if (none && *rules.missing != '\0') {
        throw UsageError(rules.missing);
    }
    if (settings.no_fork && settings.close) {
        throw UsageError(std::string("--no-fork and -o/--close cannot be combined: with --no-fork the command "
                                     "itself holds the ") +
                         rules.held);
    }
    if (none && (settings.no_fork || settings.close)) {
        throw UsageError("--no-fork and -o/--close need a command");
    }
    settings.stop = parse_stop_policy(options.stop);
    validate_stop_policy(settings.stop, none, settings.no_fork, rules.grace_has_other_use);
    return settings;
}

CLI::Option* add_quiet_option(CLI::App& command, bool& quiet) {
    return command.add_flag("-q,--quiet", quiet,
                            "Print nothing but errors: no conflict, timeout or status messages (the exit status "
                            "answers)");
}

void add_output_options(CLI::App& command, OutputOptions& options) {
    auto* verbose = command.add_flag("-v,--verbose", options.verbose,
                                     "Say when plock waits, for how long, and who holds the lock");
    verbose->excludes(add_quiet_option(command, options.quiet));
}

std::chrono::nanoseconds parse_seconds(const std::string& option, const std::string& text) {
    const auto invalid = [&](const char* why) {
        return UsageError("invalid value '" + text + "' for " + option + ": " + why);
    };
    if (text.empty() || std::isspace(static_cast<unsigned char>(text.front()))) {
        throw invalid("expected a number of seconds");
    }
    char* end = nullptr;
    errno = 0;
    const double seconds = std::strtod(text.c_str(), &end);
    if (end == text.c_str() || *end != '\0' || errno == ERANGE || !std::isfinite(seconds)) {
        throw invalid("expected a number of seconds, such as 10 or 0.5");
    }
    if (seconds < 0) {
        throw invalid("must not be negative");
    }
    if (seconds > k_max_seconds) {
        throw invalid("too large");
    }
    return std::chrono::nanoseconds(static_cast<long long>(std::llround(seconds * 1e9)));
}

WaitPolicy parse_wait_policy(const WaitOptions& options) {
    WaitPolicy policy;
    policy.nonblocking = options.nonblock;
    if (options.timeout) {
        policy.timeout = parse_seconds("-w/--timeout", *options.timeout);
        if (policy.timeout->count() == 0) {
            policy.nonblocking = true;
        }
    }
    return policy;
}

long long parse_integer(const std::string& option, const std::string& text, long long min, long long max,
                        const std::string& counted) {
    long long value = 0;
    bool valid = !text.empty() && text.size() <= 18;
    for (const char character : text) {
        valid = valid && character >= '0' && character <= '9';
        value = valid ? value * 10 + (character - '0') : 0;
    }
    if (!valid || value < min || value > max) {
        throw UsageError("invalid value '" + text + "' for " + option + ": expected a number " + (counted.empty() ? "" : "of " + counted + " ") + "from " +
                         std::to_string(min) + " to " + std::to_string(max));
    }
    return value;
}

int parse_conflict_exit_code(const std::optional<std::string>& text) {
    if (!text) {
        return exit_code::k_conflict;
    }
    return static_cast<int>(parse_integer("-E/--conflict-exit-code", *text, 0, 255));
}

StopPolicy parse_stop_policy(const StopOptions& options) {
    StopPolicy policy;
    if (options.time_limit) {
        policy.time_limit = parse_seconds("--time-limit", *options.time_limit);
        if (policy.time_limit->count() == 0) {
            throw UsageError("invalid value '" + *options.time_limit +
                             "' for --time-limit: must be more than 0 seconds");
        }
    }
    if (options.grace) {
        policy.grace = parse_seconds("--grace", *options.grace);
        policy.grace_given = true;
    }
    return policy;
}

void validate_stop_policy(const StopPolicy& policy, bool no_command, bool no_fork, bool grace_has_other_use) {
    if (policy.grace_given && !policy.time_limit && !grace_has_other_use) {
        throw UsageError("--grace needs --time-limit");
    }
    if (policy.time_limit && no_command) {
        throw UsageError("--time-limit needs a command");
    }
    if (policy.time_limit && no_fork) {
        throw UsageError("--time-limit and --no-fork cannot be combined: with --no-fork no plock "
                         "stays to stop the command");
    }
}

std::vector<std::string> resolve_command(const std::optional<std::string>& command_string,
                                         const CommandWords& words) {
    const bool has_words = words.has_value();
    if (command_string && has_words) {
        throw UsageError("give the command either after '--' or with -c, not both");
    }
    if (command_string) {
        if (command_string->empty()) {
            throw UsageError("the -c/--command string is empty");
        }
        return {"/bin/sh", "-c", *command_string};
    }
    if (has_words && words->empty()) {
        throw UsageError("no command after '--'");
    }
    if (has_words && words->front().empty()) {
        throw UsageError("the command name is empty");
    }
    return has_words ? *words : std::vector<std::string>{};
}

void apply_output_options(const OutputOptions& options) {
    if (options.verbose) {
        set_verbosity(Verbosity::verbose);
    } else if (options.quiet) {
        set_verbosity(Verbosity::quiet);
    }
}

}  // namespace plock::cli
