// Taking a file lock with the one report of its outcome: what exec, try and
// update say while they take their lock.
#pragma once

#include <variant>

#include "cli/options.hpp"
#include "plock/file/take_file_lock.hpp"

namespace plock::cli {

// A file lock as a subcommand wants it taken (exec, try, update).
struct FileLockSettings {
    FileLockRequest request;
    WaitPolicy wait;
    int conflict_exit_code = 75;
    // A conflict is the answer, not a problem (try without a command): -v only.
    bool quiet_conflict = false;
};

// take_file_lock with the one report of its outcome. The caller must block
// handled_signals(). The lock, or the exit status when the run ends here
// (busy, timed out, ended by a signal, a wait for ourselves), said why.
std::variant<TakenFileLock, int> take_reported_file_lock(const FileLockSettings& settings);

}  // namespace plock::cli
