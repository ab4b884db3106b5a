// `plock pidguard`: run a command as the one instance a PID file guards,
// or (--status) say whether such an instance runs, and which PID it has.
#include <unistd.h>

#include <memory>

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
    std::optional<std::string> command_string;
    bool replace = false;
    StopOptions stop;
    bool status = false;
    bool no_fork = false;
    OutputOptions output;
};

struct Settings {
    std::string path;
    WaitPolicy wait;
    int conflict_exit_code = exit_code::k_conflict;
    std::vector<std::string> command;
    bool replace = false;
    StopPolicy stop;
    bool status = false;
    bool no_fork = false;
};

void reject_with_status(bool given, const char* option) {
    if (given) {
        throw UsageError(std::string("--status cannot be combined with ") + option +
                         ": it only reports on PIDFILE");
    }
}

Settings validate(const PidGuardOptions& options, const CommandWords& words) {
    Settings settings;
    if (options.path.empty()) {
        throw UsageError("the PID file name is empty");
    }
    settings.path = options.path;
    settings.status = options.status;
    if (settings.status) {
        reject_with_status(options.command_string.has_value() || words.has_value(), "a command");
        reject_with_status(options.replace, "--replace");
        reject_with_status(options.stop.grace.has_value(), "--grace");
        reject_with_status(options.stop.time_limit.has_value(), "--time-limit");
        reject_with_status(options.wait.nonblock || options.wait.timeout.has_value(), "-n or -w");
        reject_with_status(options.conflict_exit_code.has_value(), "-E");
        reject_with_status(options.no_fork, "--no-fork");
        return settings;
    }
    // A guard does not queue: -n unless -w asks to wait.
    settings.wait = parse_wait_policy(options.wait);
    if (!options.wait.timeout) {
        settings.wait.nonblocking = true;
    }
    settings.conflict_exit_code = parse_conflict_exit_code(options.conflict_exit_code);
    settings.command = resolve_command(options.command_string, words);
    if (settings.command.empty()) {
        throw UsageError("no command given: put it after '--' or use -c STRING (or ask with --status)");
    }
    settings.replace = options.replace;
    if (settings.replace && (options.wait.nonblock || options.wait.timeout)) {
        throw UsageError("--replace cannot be combined with -n or -w: it waits up to --grace "
                         "for the holder to stop");
    }
    settings.stop = parse_stop_policy(options.stop);
    if (settings.stop.grace_given && !settings.replace && !settings.stop.time_limit) {
        throw UsageError("--grace needs --replace or --time-limit");
    }
    settings.no_fork = options.no_fork;
    validate_stop_policy(settings.stop, false, settings.no_fork, true);
    return settings;
}

// The process the PID file's lock vouches for, waiting a moment for a guard
// that is still starting its command.
std::string describe_guard_holder(const PidGuard& guard) {
    return describe_pid_file_holder(guard.holder_state(Clock::now() + k_pid_write_window));
}

int report_busy(const PidGuard& guard, const Settings& settings, const AcquireResult& result,
                std::chrono::nanoseconds waited) {
    const auto level = conflict_level(settings.conflict_exit_code);
    if (!logger().should_log(level)) {
        return settings.conflict_exit_code;
    }
    const std::string holder = describe_guard_holder(guard);
    if (settings.replace) {
        logger().log(level, "{} is still held by {} after SIGKILL", settings.path, holder);
    } else if (result.status == AcquireResult::Status::timed_out) {
        logger().log(level, "timed out after {} waiting for {}, held by {}", format_seconds(waited),
                     settings.path, holder);
    } else {
        logger().log(level, "{} is held by {}", settings.path, holder);
    }
    return settings.conflict_exit_code;
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
    const auto start = Clock::now();
    AcquireResult result = guard.acquire(start, wait_ending_signals());  // one attempt
    if (result.status == AcquireResult::Status::busy && !settings.wait.nonblocking) {
        if (logger().should_log(LogLevel::info)) {
            logger().info("waiting for {}, held by {} ({})", settings.path,
                          describe_guard_holder(guard), settings.wait.describe());
        }
        result = guard.acquire(settings.wait.deadline_from(start), wait_ending_signals());
    }
    const bool busy = result.status == AcquireResult::Status::busy ||
                      result.status == AcquireResult::Status::timed_out;
    if (busy && settings.replace) {
        if (logger().should_log(LogLevel::info)) {
            logger().info("{} is held by {}; replacing it (grace {})", settings.path,
                          describe_guard_holder(guard), format_seconds(settings.stop.grace));
        }
        result = guard.take_over(settings.stop.grace, wait_ending_signals(),
                                 [&](const LockHolder& holder, int signal) {
                                     logger().info("sent {} to {}", signal_name(signal),
                                                   describe_holder(holder));
                                 });
    }
    switch (result.status) {
    case AcquireResult::Status::acquired:
        break;
    case AcquireResult::Status::interrupted:
        logger().info("{} ended the wait for {}", signal_name(result.signal), settings.path);
        return exit_code::k_signal_base + result.signal;
    case AcquireResult::Status::busy:
    case AcquireResult::Status::timed_out:
        return report_busy(guard, settings, result, Clock::now() - start);
    }
    logger().info("took {} after {}", settings.path, format_seconds(Clock::now() - start));

    RunRequest request;
    request.argv = settings.command;
    request.environment = {{"PLOCK_PIDFILE", absolute_path(settings.path)}};
    // The command shares the lock: if plock is killed, no second instance
    // can start while the command still runs.
    request.inherited_fds.push_back(guard.fd());
    request.original_mask = mask.previous();
    request.stop = settings.stop;
    // The whole tree stays under one subreaper, so that a --replace finds
    // every process of it, also daemons that left it.
    request.supervised = true;
    if (settings.no_fork) {
        // plock's PID is the command's once it execs.
        guard.write_pid(getpid());
        request.replace_process = true;
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

void define_pidguard(CLI::App& command, Dispatch& dispatch) {
    auto options = std::make_shared<PidGuardOptions>();
    command.add_option("PIDFILE", options->path,
                       "The PID file: its lock guards the command, and it holds the command's PID")
        ->required();
    add_wait_options(command, options->wait);
    add_conflict_exit_option(command, options->conflict_exit_code);
    add_command_option(command, options->command_string);
    command.add_flag("--replace", options->replace,
                     "If PIDFILE is held, stop its holder and every process it started (SIGTERM, "
                     "then SIGKILL after --grace) and take its place");
    add_stop_options(command, options->stop, " (--replace: the running instance; --time-limit)");
    command.add_flag("--status", options->status,
                     "Run nothing: print the PID of the running instance (exit 0), or exit 1 "
                     "when PIDFILE is stale, 3 when there is none");
    command.add_flag("--no-fork", options->no_fork,
                     "Write plock's own PID, then replace plock with the command");
    add_output_options(command, options->output);
    command.footer(help_footer());
    command.allow_extras();
    run_when_chosen(command, dispatch, [options](const CommandWords& words) {
        apply_output_options(options->output);
        return [settings = validate(*options, words)] {
            return settings.status ? report_status(settings) : run_guarded(settings);
        };
    });
}

}  // namespace

const SubcommandDefinition k_pidguard_command{
    "pidguard", "Run a command as the single instance that PIDFILE guards, or report on it",
    define_pidguard};

}  // namespace plock::cli
