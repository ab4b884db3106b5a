// `plock update FILE -- FILTER...`: read-modify-write under FILE's exclusive
// lock. FILTER reads FILE's content on stdin; if it exits 0, its stdout
// replaces FILE atomically (FileReplacement); otherwise FILE is untouched.
//
// The lock is FILE's own flock lock, so `plock exec FILE`, flock(1) and
// portalocker users serialise with updates. Each update puts a new inode in
// place, so every plock run checks after locking that FILE still names the
// file it locked, and locks the new one if not (FileLock::reopen_if_replaced):
// a run that waited behind an update ends up holding the lock of the file
// that the path names, which the next update must wait for.
#include <CLI/CLI.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <memory>

#include "cli/app.hpp"
#include "cli/command_runner.hpp"
#include "cli/exit_code.hpp"
#include "cli/file_lock_report.hpp"
#include "cli/log.hpp"
#include "plock/sys/atomic_file.hpp"
#include "plock/sys/error.hpp"
#include "plock/sys/signals.hpp"

namespace plock::cli {
namespace {

struct UpdateOptions {
    std::string path;
    WaitOptions wait;
    std::optional<std::string> conflict_exit_code;
    CommandOptions filter;
    OutputOptions output;
};

// The file to replace: FILE, or the file its symbolic link points to (the
// link stays and points to the new content). Checked against the locked file.
std::string resolve_target(const std::string& path, FileIdentity locked) {
    char resolved[PATH_MAX];
    if (realpath(path.c_str(), resolved) == nullptr) {
        throw SystemError(Operation::inspect, path, errno);
    }
    struct stat status {};
    if (lstat(resolved, &status) != 0) {
        throw SystemError(Operation::inspect, resolved, errno);
    }
    if (FileIdentity{status.st_dev, status.st_ino} != locked) {
        throw SystemError(Operation::open, path, EAGAIN, "it was replaced while plock locked it; try again");
    }
    return resolved;
}

// A read-only descriptor of the current content for the filter's stdin: its
// own open file description, so the filter can neither write to FILE nor
// touch our lock.
UniqueFd open_content(const std::string& target, FileIdentity locked) {
    UniqueFd fd(open(target.c_str(), O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC));
    if (!fd) {
        throw SystemError(Operation::open, target, errno);
    }
    struct stat status {};
    if (fstat(fd.get(), &status) != 0) {
        throw SystemError(Operation::inspect, target, errno);
    }
    if (FileIdentity{status.st_dev, status.st_ino} != locked) {
        throw SystemError(Operation::open, target, EAGAIN, "it was replaced while plock opened it; try again");
    }
    return fd;
}

struct Settings {
    FileLockSettings lock;
    CommandSettings filter;
};

Settings validate(const UpdateOptions& options, const CommandWords& words) {
    apply_output_options(options.output);
    if (options.path.empty()) {
        throw UsageError("the file name is empty");
    }
    Settings settings;
    FileLockRequest& request = settings.lock.request;
    request.path = options.path;
    request.mode = LockMode::exclusive;
    request.method = LockMethod::flock;
    request.open_policy.allow_directory = false;
    settings.lock.wait = parse_wait_policy(options.wait);
    settings.lock.conflict_exit_code = parse_conflict_exit_code(options.conflict_exit_code);
    CommandRules rules;
    rules.missing = "no filter given: put it after '--' or use -c STRING";
    settings.filter = parse_command_settings(options.filter, words, rules);
    return settings;
}

int run_update(const Settings& settings) {
    const std::string& path = settings.lock.request.path;
    const ScopedSignalMask mask(handled_signals());
    auto taken = take_reported_file_lock(settings.lock);
    if (const int* status = std::get_if<int>(&taken)) {
        return *status;
    }
    const TakenFileLock& held = std::get<TakenFileLock>(taken);

    struct stat old {};
    if (fstat(held.lock.fd(), &old) != 0) {
        throw SystemError(Operation::inspect, path, errno);
    }
    const std::string target = resolve_target(path, held.lock.identity());
    const UniqueFd content = open_content(target, held.lock.identity());
    FileReplacement replacement = FileReplacement::create(target);

    std::vector<int> lock_fds;
    if (!held.inherited) {
        lock_fds.push_back(held.lock.fd());
    }
    RunRequest run = launch_request(settings.filter, {{"PLOCK_FILE", absolute_path(path)}, {"PLOCK_MODE", "exclusive"}},
                                    lock_fds, mask.previous());
    run.command.standard_input = content.get();
    run.command.standard_output = replacement.fd();
    const int status = run_command(run);
    if (status != 0) {
        logger().info("the filter exited with {}; {} is unchanged", status, path);
        return status;
    }
    replacement.commit(old);
    if (logger().should_log(LogLevel::info)) {
        struct stat written {};
        fstat(replacement.fd(), &written);
        logger().info("replaced {} ({} bytes)", target, written.st_size);
    }
    return exit_code::k_success;
}

void define_options(CLI::App& command, UpdateOptions& options) {
    command.add_option("FILE", options.path,
                       "The file to update; created empty if missing (its directory must exist)")
        ->required();
    add_wait_options(command, options.wait);
    add_conflict_exit_option(command, options.conflict_exit_code);
    add_command_options(command, options.filter, {});
    add_output_options(command, options.output);
    command.footer(
        "Usage: plock update [OPTIONS] FILE -- FILTER [ARG...]\n"
        "       plock update [OPTIONS] FILE -c STRING\n\n"
        "Examples:\n"
        "  plock update counter.txt -- sh -c 'read n; echo $((${n:-0}+1))'    # count, safely\n"
        "  plock update state.json -- jq '.runs += 1'                         # edit JSON in place\n"
        "  plock update -w 10 hosts.txt -c 'sort -u'                          # wait at most 10s\n\n"
        "FILTER reads FILE on stdin; when it exits 0, its stdout replaces FILE atomically (same\n"
        "mode; owner too as root). Otherwise FILE is untouched and plock exits with FILTER's status\n"
        "(128+N when killed by signal N). A symbolic link is followed: its target is replaced.\n"
        "Scripts that lock FILE with 'plock exec FILE' see each update whole.");
}

}  // namespace

std::unique_ptr<Subcommand> make_update_command() {
    return make_subcommand(define_options, validate, run_update);
}

}  // namespace plock::cli
