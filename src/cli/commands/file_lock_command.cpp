// The run behind `plock exec` and `plock try`, and the reported taking of a
// file lock that `plock update` shares.
#include "cli/commands/file_lock_command.hpp"

#include <CLI/CLI.hpp>

#include <unistd.h>

#include <climits>

#include <memory>

#include "cli/command_runner.hpp"
#include "cli/exit_code.hpp"
#include "cli/file_lock_report.hpp"
#include "cli/log.hpp"
#include "plock/sys/error.hpp"
#include "plock/sys/signals.hpp"

namespace plock::cli {
namespace {

struct Settings {
    FileLockSettings lock;
    CommandSettings command;
};

// Options and role; parsed by the subcommand's CLI::App.
struct FileLockOptions {
    FileLockRole role = FileLockRole::exec;
    const char* footer = "";
    std::optional<std::string> path;
    std::optional<std::string> descriptor;  // --fd FD, or plock lock's FD
    bool exclusive = false;
    bool shared = false;
    WaitOptions wait;
    std::optional<std::string> conflict_exit_code;
    CommandOptions command;
    std::string method = "flock";
    bool follow = false;
    OutputOptions output;
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

Settings validate(const FileLockOptions& options, const CommandWords& words) {
    apply_output_options(options.output);
    const FileLockRole role = options.role;
    Settings settings;
    FileLockRequest& request = settings.lock.request;
    if (options.path && options.descriptor) {
        throw UsageError("give LOCKFILE or --fd FD, not both");
    }
    if (options.descriptor) {
        const char* option = role == FileLockRole::lock_ ? "FD" : "--fd";
        request.descriptor = static_cast<int>(parse_integer(option, *options.descriptor, 0, INT_MAX));
        request.path = describe_descriptor(*request.descriptor);
    } else if (!options.path) {
        throw UsageError("no lock file given: name LOCKFILE, or give --fd FD for a descriptor the caller opened");
    } else if (options.path->empty()) {
        throw UsageError("the lock file name is empty");
    } else {
        request.path = *options.path;
    }
    request.mode = options.shared ? LockMode::shared : LockMode::exclusive;
    request.method = parse_method(options.method);
    request.open_policy.follow_foreign_symlinks = options.follow;
    settings.lock.wait = parse_wait_policy(options.wait);
    if (role == FileLockRole::try_) {
        settings.lock.wait.nonblocking = true;
    }
    settings.lock.conflict_exit_code = parse_conflict_exit_code(options.conflict_exit_code);
    if (role == FileLockRole::lock_) {
        if (words) {
            throw UsageError("plock lock runs no command: it takes the lock on FD and exits, and the lock "
                             "stays with the descriptor (use plock exec --fd FD -- COMMAND to run one)");
        }
        return settings;
    }
    CommandRules rules;
    if (role == FileLockRole::try_) {
        rules.missing = "";
    }
    settings.command = parse_command_settings(options.command, words, rules);
    if (request.descriptor && settings.command.argv.empty()) {
        throw UsageError("plock try --fd needs a command: to take the lock on a descriptor, use plock lock -n FD");
    }
    settings.lock.quiet_conflict = role == FileLockRole::try_ && settings.command.argv.empty();
    return settings;
}

int run(const Settings& settings) {
    // Block the signals we forward before anything can be interrupted; they
    // are taken synchronously from here on and restored for the command.
    const ScopedSignalMask mask(handled_signals());

    auto taken = take_reported_file_lock(settings.lock);
    if (const int* status = std::get_if<int>(&taken)) {
        return *status;
    }
    const TakenFileLock& held = std::get<TakenFileLock>(taken);
    const FileLockRequest& request = settings.lock.request;
    const std::string& path = request.path;
    if (request.descriptor && settings.command.argv.empty()) {
        // plock lock FD: the lock stays with the caller's open file description.
        logger().debug("locked {}", path);
        return exit_code::k_success;
    }
    if (settings.command.argv.empty()) {
        logger().info("{} is free", path);
        return exit_code::k_success;  // `plock try LOCKFILE`: the lock goes with the descriptor
    }
    // An inherited lock is the command's already; with -o it is the one the
    // supervisor keeps.
    std::vector<int> lock_fds;
    if (held.inherited && settings.command.close) {
        lock_fds.push_back(held.inherited->fd);
    } else if (!held.inherited) {
        lock_fds.push_back(held.lock.fd());
    }
    const RunRequest run_request = launch_request(
        settings.command,
        {{"PLOCK_FILE", request.descriptor ? descriptor_target(*request.descriptor) : absolute_path(path)},
         {"PLOCK_MODE", std::string(to_string(request.mode))}},
        lock_fds, mask.previous());
    return run_command(run_request);
}

void define_options(CLI::App& command, FileLockOptions& options) {
    command.footer(options.footer);
    const bool runs_command = options.role != FileLockRole::lock_;
    if (runs_command) {
        add_text_option(command, "LOCKFILE", options.path,
                        "The file to lock; created if missing, never truncated", "");
        add_text_option(command, "--fd", options.descriptor,
                        "Instead of LOCKFILE: lock the open file behind descriptor FD, which the caller "
                        "opened (exec 9>FILE); the lock stays with it after plock exits",
                        "FD");
    } else {
        add_text_option(command, "FD", options.descriptor,
                        "The descriptor, opened by the caller (exec 9>FILE), whose open file takes the lock",
                        "")
            ->required();
    }
    auto* exclusive = command.add_flag("-x,--exclusive", options.exclusive,
                                       "Take an exclusive lock (the default)");
    auto* shared = command.add_flag("-s,--shared", options.shared,
                                    "Take a shared lock: other shared holders may run at once");
    exclusive->excludes(shared);
    if (options.role != FileLockRole::try_) {
        add_wait_options(command, options.wait);
    }
    add_conflict_exit_option(command, options.conflict_exit_code);
    if (runs_command) {
        add_command_options(command, options.command,
                            {"Do not pass the lock to the command, so that processes it leaves behind "
                             "do not hold it; if plock dies, the command and every process it started are "
                             "killed before the lock is let go",
                             "Replace plock with the command, which inherits the lock (no parent process "
                             "stays behind)",
                             " (--time-limit)"});
    }
    command.add_option("--method", options.method,
                       "flock (default: shares locks with flock(1) and portalocker) or ofd "
                       "(open file description locks: shares locks with fcntl/lockf users, works on NFS)")
        ->option_text("METHOD");
    if (runs_command) {
        command.add_flag("--follow", options.follow,
                         "Follow LOCKFILE even if it is another user's symbolic link in a sticky "
                         "world-writable directory such as /tmp");
    }
    add_output_options(command, options.output);
}

}  // namespace

std::unique_ptr<Subcommand> make_file_lock_command(FileLockRole role, const char* footer) {
    FileLockOptions defaults;
    defaults.role = role;
    defaults.footer = footer;
    return make_subcommand(define_options, validate, run, std::move(defaults));
}

}  // namespace plock::cli
