// `plock pidguard`: run a command as the one instance a PID file guards,
// or (--status) say whether such an instance runs, and which PID it has.
#include <CLI/CLI.hpp>

#include <unistd.h>

#include <memory>

#include "cli/acquire.hpp"
#include "cli/app.hpp"
#include "cli/command_runner.hpp"
#include "cli/describe.hpp"
#include "cli/exit_status.hpp"
#include "cli/log.hpp"
#include "cli/options.hpp"
#include "cli/status_query.hpp"
#include "cli/status_report.hpp"
#include "plock/sys/error.hpp"
#include "cli/exit_code.hpp"
#include "plock/pidfile/pid_guard.hpp"
#include "plock/sys/signals.hpp"

namespace plock::cli {
namespace {

struct PidGuardOptions {
    std::string path;
    WaitOptions wait;
    std::optional<std::string> conflict_exit_code;
    CommandOptions command;
    bool replace = false;
    bool status = false;
    OutputOptions output;
};

struct Settings {
    std::string path;
    WaitPolicy wait;
    int conflict_exit_code = exit_code::k_conflict;
    CommandSettings command;
    bool replace = false;
    bool status = false;
};

void reject_with_status(bool given, const char* option) {
    if (given) {
        throw UsageError(std::string("--status cannot be combined with ") + option +
                         ": it only reports on PIDFILE");
    }
}

Settings validate(const PidGuardOptions& options, const CommandWords& words) {
    apply_output_options(options.output);
    Settings settings;
    if (options.path.empty()) {
        throw UsageError("the PID file name is empty");
    }
    settings.path = options.path;
    settings.status = options.status;
    const CommandOptions& command = options.command;
    if (settings.status) {
        reject_with_status(command.command_string.has_value() || words.has_value(), "a command");
        reject_with_status(options.replace, "--replace");
        reject_with_status(command.stop.grace.has_value(), "--grace");
        reject_with_status(command.stop.time_limit.has_value(), "--time-limit");
        reject_with_status(options.wait.nonblock || options.wait.timeout.has_value(), "-n or -w");
        reject_with_status(options.conflict_exit_code.has_value(), "-E");
        reject_with_status(command.no_fork, "--no-fork");
        return settings;
    }
    // A guard does not queue: -n unless -w asks to wait.
    settings.wait = parse_wait_policy(options.wait);
    if (!options.wait.timeout) {
        settings.wait.nonblocking = true;
    }
    settings.conflict_exit_code = parse_conflict_exit_code(options.conflict_exit_code);
    CommandRules rules;
    rules.missing = "no command given: put it after '--' or use -c STRING (or ask with --status)";
    rules.grace_has_other_use = true;  // --replace
    settings.command = parse_command_settings(command, words, rules);
    settings.replace = options.replace;
    if (settings.replace && (options.wait.nonblock || options.wait.timeout)) {
        throw UsageError("--replace cannot be combined with -n or -w: it waits up to --grace "
                         "for the holder to stop");
    }
    if (settings.command.stop.grace_given && !settings.replace && !settings.command.stop.time_limit) {
        throw UsageError("--grace needs --replace or --time-limit");
    }
    return settings;
}

// The process the PID file's lock vouches for, waiting a moment for a guard
// that is still starting its command.
std::string describe_guard_holder(const PidGuard& guard) {
    return describe_pid_file_holder(guard.holder_state(Clock::now() + k_pid_write_window));
}

// `plock pidguard --status`: the entry of `plock status --pidfile PIDFILE`,
// answered in the LSB form.
int report_status(const Settings& settings) {
    return print_pid_guard_status(query_pid_file_status(settings.path));
}

int run_guarded(const Settings& settings) {
    // Block the signals we forward before anything can be interrupted; they
    // are taken synchronously from here on and restored for the command.
    const ScopedSignalMask mask(handled_signals());

    PidGuard guard(settings.path);
    LockWording wording;
    wording.target = settings.path;
    wording.busy = [&] { return settings.path + " is held by " + describe_guard_holder(guard); };
    wording.holders = [&] { return "held by " + describe_guard_holder(guard); };
    const WaitReport report(std::move(wording), settings.wait, settings.conflict_exit_code);
    AcquireResult result = guard.take(report.plan(), wait_ending_signals(), report.before_wait());
    const bool busy = result.status == AcquireResult::Status::busy ||
                      result.status == AcquireResult::Status::timed_out;
    if (busy && settings.replace) {
        const std::chrono::nanoseconds grace = settings.command.stop.grace;
        if (logger().should_log(LogLevel::info)) {
            logger().info("{} is held by {}; replacing it (grace {})", settings.path, describe_guard_holder(guard),
                          format_seconds(grace));
        }
        result = guard.take_over(grace, wait_ending_signals(), [&](const LockHolder& holder, int signal) {
            logger().info("sent {} to {}", signal_name(signal), describe_holder(holder));
        });
        if (result.status != AcquireResult::Status::acquired && result.status != AcquireResult::Status::interrupted) {
            return report.conflict([&] {
                return settings.path + " is still held by " + describe_guard_holder(guard) + " after SIGKILL";
            });
        }
    }
    if (const auto status = report.outcome(result)) {
        return *status;
    }
    logger().debug("took {}", settings.path);

    // The command shares the lock: if plock is killed, no second instance
    // can start while the command still runs.
    RunRequest request = launch_request(settings.command, {{"PLOCK_PIDFILE", absolute_path(settings.path)}},
                                        {guard.fd()}, mask.previous());
    // The whole tree stays under one subreaper, so that a --replace finds
    // every process of it, also daemons that left it.
    request.command.supervised = true;
    if (request.replace_process) {
        // plock's PID is the command's once it execs.
        guard.write_pid(getpid());
        return run_command(request);  // returns only by throwing
    }
    request.on_started = [&guard](pid_t pid) { guard.write_pid(pid); };
    const int status = run_command(request);
    try {
        const PidGuardRelease outcome = guard.release();
        logger().debug("{}: {}", settings.path, to_string(outcome));
    } catch (const SystemError& error) {
        // The command has run; a PID file left behind is harmless (its
        // lock is gone), so its status is still the one to return.
        logger().warn("{}", error.what());
    }
    return status;
}

int run(const Settings& settings) {
    return settings.status ? report_status(settings) : run_guarded(settings);
}

std::string help_footer() {
    std::string text =
        "Usage: plock pidguard [OPTIONS] PIDFILE -- COMMAND [ARG...]\n"
        "       plock pidguard [OPTIONS] PIDFILE -c STRING\n"
        "       plock pidguard --status PIDFILE\n\n"
        "Examples:\n"
        "  plock pidguard -q /run/mirror.pid -- sync-mirror      # cron: skip while it still runs\n"
        "  plock pidguard --replace /run/web.pid -- ./server     # stop the old instance, then start\n"
        "  plock pidguard --status /run/web.pid                  # print the running instance's PID\n\n"
        "PIDFILE is locked and holds the command's PID while it runs; it is removed when the\n"
        "command ends. A second start exits 75 (-n is the default; -w waits). The command sees\n"
        "PLOCK_PIDFILE. Exit status: the command's, 75 when PIDFILE is held, 124 when --time-limit\n"
        "stopped it; see 'plock --help'.\n"
        "With --status:\n";
    text += exit_status_rows(exit_code::k_query_table);
    text.pop_back();
    return text;
}

void define_options(CLI::App& command, PidGuardOptions& options) {
    command.add_option("PIDFILE", options.path,
                       "The PID file: its lock guards the command, and it holds the command's PID")
        ->required();
    add_wait_options(command, options.wait);
    add_conflict_exit_option(command, options.conflict_exit_code);
    add_command_options(command, options.command,
                        {nullptr, "Write plock's own PID, then replace plock with the command",
                         " (--replace: the running instance; --time-limit)"});
    command.add_flag("--replace", options.replace,
                     "If PIDFILE is held, stop its holder and every process it started (SIGTERM, "
                     "then SIGKILL after --grace) and take its place");
    command.add_flag("--status", options.status,
                     "Run nothing: print the PID of the running instance (exit 0), or exit 1 "
                     "when PIDFILE is stale, 3 when there is none");
    add_output_options(command, options.output);
    command.footer(help_footer());
}

}  // namespace

std::unique_ptr<Subcommand> make_pidguard_command() {
    return make_subcommand(define_options, validate, run);
}

}  // namespace plock::cli
