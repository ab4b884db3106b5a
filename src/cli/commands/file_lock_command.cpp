// The run behind `plock exec` and `plock try`.
#include "cli/commands/file_lock_command.hpp"

#include <unistd.h>

#include "cli/command_runner.hpp"
#include "cli/describe.hpp"
#include "cli/log.hpp"
#include "plock/sys/error.hpp"
#include "cli/exit_code.hpp"
#include "plock/file/file_lock.hpp"
#include "plock/file/inherited_lock.hpp"
#include "plock/proc/lock_holders.hpp"
#include "plock/sys/signals.hpp"

namespace plock::cli {
namespace {

struct Settings {
    LockRequest lock;
    std::vector<std::string> command;
    bool close_descriptor = false;
    bool no_fork = false;
    StopPolicy stop;
};

LockMethod parse_method(const std::string& text) {
    if (text == "flock") {
        return LockMethod::flock;
    }
    if (text == "ofd") {
        return LockMethod::ofd;
    }
    throw UsageError("invalid value '" + text + "' for --method: expected flock or ofd");
}

Settings validate(const FileLockOptions& options, const CommandWords& words, FileLockRole role) {
    Settings settings;
    if (options.path.empty()) {
        throw UsageError("the lock file name is empty");
    }
    settings.lock.path = options.path;
    settings.lock.mode = options.shared ? LockMode::shared : LockMode::exclusive;
    settings.lock.method = parse_method(options.method);
    settings.lock.wait = parse_wait_policy(options.wait);
    if (role == FileLockRole::try_) {
        settings.lock.wait.nonblocking = true;
    }
    settings.lock.conflict_exit_code = parse_conflict_exit_code(options.conflict_exit_code);
    settings.command = resolve_command(options.command_string, words);
    settings.lock.quiet_conflict = role == FileLockRole::try_ && settings.command.empty();
    if (settings.command.empty() && role == FileLockRole::exec) {
        throw UsageError("no command given: put it after '--' or use -c STRING");
    }
    settings.close_descriptor = options.close_descriptor;
    settings.no_fork = options.no_fork;
    if (settings.no_fork && settings.close_descriptor) {
        throw UsageError("--no-fork and -o/--close cannot be combined: with --no-fork the "
                         "command itself holds the lock");
    }
    if (settings.command.empty() && (settings.no_fork || settings.close_descriptor)) {
        throw UsageError("--no-fork and -o/--close need a command");
    }
    settings.lock.open_policy.follow_foreign_symlinks = options.follow;
    settings.stop = parse_stop_policy(options.stop);
    validate_stop_policy(settings.stop, settings.command.empty(), settings.no_fork);
    return settings;
}

// Who holds the lock now, as cli::describe_holders names them.
std::string describe_holders(const FileLock& lock) {
    LockHolders found;
    try {
        found = find_lock_holders(lock.identity(), getpid());
    } catch (const SystemError&) {
        // Only a message is lost: the lock is still busy.
    }
    return cli::describe_holders(found.holders);
}

int report_busy(const FileLock& lock, const LockRequest& request, LogLevel level) {
    if (logger().should_log(level)) {
        logger().log(level, "{} is locked by {}", request.path, describe_holders(lock));
    }
    return request.conflict_exit_code;
}

// Waits for the lock as the request allows. nullopt when it is ours; else the
// exit status, reported.
std::optional<int> wait_for_lock(FileLock& lock, const LockRequest& request, Clock::time_point start) {
    if (request.wait.nonblocking) {
        return report_busy(lock, request,
                           request.quiet_conflict ? LogLevel::info : conflict_level(request.conflict_exit_code));
    }
    if (logger().should_log(LogLevel::info)) {
        logger().info("waiting for {} lock on {}, held by {} ({})", to_string(request.mode), request.path,
                      describe_holders(lock), request.wait.describe());
    }
    const AcquireResult result =
        lock.acquire(request.mode, request.wait.deadline_from(start), wait_ending_signals());
    const auto waited = Clock::now() - start;
    switch (result.status) {
    case AcquireResult::Status::acquired:
        logger().info("acquired {} lock on {} after {}", to_string(request.mode), request.path,
                      format_seconds(waited));
        return std::nullopt;
    case AcquireResult::Status::interrupted:
        logger().info("{} ended the wait for {}", signal_name(result.signal), request.path);
        return exit_code::k_signal_base + result.signal;
    case AcquireResult::Status::timed_out:
    case AcquireResult::Status::busy:
        break;
    }
    const auto level = conflict_level(request.conflict_exit_code);
    if (logger().should_log(level)) {
        logger().log(level, "timed out after {} waiting for {}, held by {}", format_seconds(waited),
                     request.path, describe_holders(lock));
    }
    return request.conflict_exit_code;
}

}  // namespace

void add_file_lock_options(CLI::App& command, FileLockOptions& options, FileLockRole role) {
    command.add_option("LOCKFILE", options.path, "The file to lock; created if missing, never truncated")
        ->required();
    auto* exclusive = command.add_flag("-x,--exclusive", options.exclusive,
                                       "Take an exclusive lock (the default)");
    auto* shared = command.add_flag("-s,--shared", options.shared,
                                    "Take a shared lock: other shared holders may run at once");
    exclusive->excludes(shared);
    if (role == FileLockRole::exec) {
        add_wait_options(command, options.wait);
    }
    add_conflict_exit_option(command, options.conflict_exit_code);
    command.add_flag("-o,--close", options.close_descriptor,
                     "Do not pass the lock to the command, so that processes it leaves behind "
                     "do not hold it; if plock dies, the command and every process it started are "
                     "killed before the lock is let go");
    add_command_option(command, options.command_string);
    command.add_option("--method", options.method,
                       "flock (default: shares locks with flock(1) and portalocker) or ofd "
                       "(open file description locks: shares locks with fcntl/lockf users, works on NFS)")
        ->option_text("METHOD");
    command.add_flag("--no-fork", options.no_fork,
                     "Replace plock with the command, which inherits the lock (no parent process "
                     "stays behind)");
    command.add_flag("--follow", options.follow,
                     "Follow LOCKFILE even if it is another user's symbolic link in a sticky "
                     "world-writable directory such as /tmp");
    add_stop_options(command, options.stop, " (--time-limit)");
    add_output_options(command, options.output);
    command.allow_extras();
}

std::variant<TakenLock, int> take_file_lock(const LockRequest& request) {
    FileLock lock = FileLock::open(request.path, request.method, request.open_policy);
    const auto start = Clock::now();
    if (!lock.try_acquire(request.mode).acquired()) {
        const auto inherited = find_inherited_lock(lock.identity(), request.method, lock.fd());
        if (inherited && inherited->mode == LockMode::shared && request.mode == LockMode::exclusive) {
            logger().error("{} is already locked in shared mode through inherited descriptor {}; "
                           "waiting for an exclusive lock would wait for ourselves forever",
                           request.path, inherited->fd);
            return request.conflict_exit_code;
        }
        if (inherited) {
            logger().debug("{} is already locked ({}) through inherited descriptor {}; "
                           "running the command without locking it again",
                           request.path, to_string(inherited->mode), inherited->fd);
            return TakenLock{std::move(lock), inherited};
        }
        if (const auto status = wait_for_lock(lock, request, start)) {
            return *status;
        }
    }
    // The lock is ours; make sure it is the lock of the file the path names now.
    while (lock.reopen_if_replaced()) {
        logger().debug("{} was replaced while plock waited; locking the new file", request.path);
        if (!lock.try_acquire(request.mode).acquired()) {
            if (const auto status = wait_for_lock(lock, request, start)) {
                return *status;
            }
        }
    }
    return TakenLock{std::move(lock), std::nullopt};
}

namespace {

int run_file_lock_command(const Settings& settings) {
    // Block the signals we forward before anything can be interrupted; they
    // are taken synchronously from here on and restored for the command.
    const ScopedSignalMask mask(handled_signals());

    auto taken = take_file_lock(settings.lock);
    if (const int* status = std::get_if<int>(&taken)) {
        return *status;
    }
    const TakenLock& held = std::get<TakenLock>(taken);

    if (settings.command.empty()) {
        logger().info("{} is free", settings.lock.path);
        return exit_code::k_success;  // `plock try LOCKFILE`: the lock goes with the descriptor
    }

    RunRequest request;
    request.argv = settings.command;
    request.environment = {{"PLOCK_FILE", absolute_path(settings.lock.path)},
                           {"PLOCK_MODE", std::string(to_string(settings.lock.mode))}};
    if (!settings.close_descriptor && !held.inherited) {
        request.inherited_fds.push_back(held.lock.fd());
    }
    if (settings.close_descriptor) {
        request.stop_tree_if_plock_dies = true;
        request.held_fds.push_back(held.inherited ? held.inherited->fd : held.lock.fd());
    }
    request.stop = settings.stop;
    request.replace_process = settings.no_fork;
    request.original_mask = mask.previous();
    return run_command(request);
}

}  // namespace

Run prepare_file_lock_command(const FileLockOptions& options, const CommandWords& words,
                              FileLockRole role) {
    apply_output_options(options.output);
    return [settings = validate(options, words, role)] { return run_file_lock_command(settings); };
}

}  // namespace plock::cli
