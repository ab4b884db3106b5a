// What `plock exec` and `plock try` share: their options and the run
// "open the lock file, take the lock (or find we hold it already), run the
// command, return its status".
#pragma once

#include <CLI/CLI.hpp>

#include <optional>
#include <string>
#include <variant>

#include "cli/app.hpp"
#include "cli/options.hpp"
#include "cli/exit_code.hpp"
#include "plock/file/file_lock.hpp"
#include "plock/file/inherited_lock.hpp"

namespace plock::cli {

enum class FileLockRole {
    exec,  // waits unless told not to; needs a command
    try_,  // never waits; without a command it only tests the lock
};

struct FileLockOptions {
    std::string path;
    bool exclusive = false;
    bool shared = false;
    WaitOptions wait;
    std::optional<std::string> conflict_exit_code;
    bool close_descriptor = false;
    std::optional<std::string> command_string;
    std::string method = "flock";
    bool no_fork = false;
    bool follow = false;
    StopOptions stop;
    OutputOptions output;
};

void add_file_lock_options(CLI::App& command, FileLockOptions& options, FileLockRole role);

// How a subcommand wants its file lock taken (exec, try, update).
struct LockRequest {
    std::string path;
    LockMode mode = LockMode::exclusive;
    LockMethod method = LockMethod::flock;
    WaitPolicy wait;
    int conflict_exit_code = exit_code::k_conflict;
    // A conflict is the answer, not a problem (try without a command): -v only.
    bool quiet_conflict = false;
    OpenPolicy open_policy;
};

struct TakenLock {
    FileLock lock;  // open, and held unless `inherited`
    // The lock was ours already, through this descriptor we inherited.
    std::optional<InheritedLock> inherited;
};

// Opens the lock file and takes the lock: at once, or by waiting as
// `request.wait` allows, saying so with -v; a lock this process inherited is
// recognised instead of waited for; a file replaced while we waited is opened
// and locked again. The caller must block handled_signals(). Returns the lock,
// or the exit status when the run ends here (busy, timed out, ended by a
// signal), after reporting why.
std::variant<TakenLock, int> take_file_lock(const LockRequest& request);

// Validates the options of exec or try (UsageError) and returns the run.
Run prepare_file_lock_command(const FileLockOptions& options, const CommandWords& words,
                              FileLockRole role);

}  // namespace plock::cli
