// The run behind `plock exec` and `plock try`, and the reported taking of a
// file lock that `plock update` shares.
#include "cli/commands/file_lock_command.hpp"

#include <unistd.h>

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
    std::string path;
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
    if (options.path.empty()) {
        throw UsageError("the lock file name is empty");
    }
    FileLockRequest& request = settings.lock.request;
    request.path = options.path;
    request.mode = options.shared ? LockMode::shared : LockMode::exclusive;
    request.method = parse_method(options.method);
    request.open_policy.follow_foreign_symlinks = options.follow;
    settings.lock.wait = parse_wait_policy(options.wait);
    if (role == FileLockRole::try_) {
        settings.lock.wait.nonblocking = true;
    }
    settings.lock.conflict_exit_code = parse_conflict_exit_code(options.conflict_exit_code);
    CommandRules rules;
    if (role == FileLockRole::try_) {
        rules.missing = "";
    }
    settings.command = parse_command_settings(options.command, words, rules);
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
    const std::string& path = settings.lock.request.path;
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
    const RunRequest request = launch_request(
        settings.command,
        {{"PLOCK_FILE", absolute_path(path)}, {"PLOCK_MODE", std::string(to_string(settings.lock.request.mode))}},
        lock_fds, mask.previous());
    return run_command(request);
}

void define_options(CLI::App& command, FileLockOptions& options) {
    command.footer(options.footer);
    command.add_option("LOCKFILE", options.path, "The file to lock; created if missing, never truncated")
        ->required();
    auto* exclusive = command.add_flag("-x,--exclusive", options.exclusive,
                                       "Take an exclusive lock (the default)");
    auto* shared = command.add_flag("-s,--shared", options.shared,
                                    "Take a shared lock: other shared holders may run at once");
    exclusive->excludes(shared);
    if (options.role == FileLockRole::exec) {
        add_wait_options(command, options.wait);
    }
    add_conflict_exit_option(command, options.conflict_exit_code);
    add_command_options(command, options.command,
                        {"Do not pass the lock to the command, so that processes it leaves behind "
                         "do not hold it; if plock dies, the command and every process it started are "
                         "killed before the lock is let go",
                         "Replace plock with the command, which inherits the lock (no parent process "
                         "stays behind)",
                         " (--time-limit)"});
    command.add_option("--method", options.method,
                       "flock (default: shares locks with flock(1) and portalocker) or ofd "
                       "(open file description locks: shares locks with fcntl/lockf users, works on NFS)")
        ->option_text("METHOD");
    command.add_flag("--follow", options.follow,
                     "Follow LOCKFILE even if it is another user's symbolic link in a sticky "
                     "world-writable directory such as /tmp");
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
