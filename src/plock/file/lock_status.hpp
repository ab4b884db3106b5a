// The state of a file lock as `plock status` reports it: free or held, each
// holder with its mode, method, process and how long it has held the lock,
// and the processes waiting for it. Read from /proc alone: asking opens,
// creates and locks nothing.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "plock/file/file_lock.hpp"
#include "plock/proc/lock_holders.hpp"

namespace plock {

// Where a holder's "held for" comes from. The kernel does not record when a
// lock was granted, so plock estimates it:
enum class HeldSince {
    // plock and flock(1) start their command right after they take the lock:
    // the start of the holder's child is when the lock was taken.
    command_start,
    // Any other holder: the start of the holding process, an upper bound (it
    // may have waited for the lock, or taken it later in its life).
    process_start,
};

std::string_view to_string(HeldSince source) noexcept;

struct HolderStatus {
    LockHolder holder;
    // nullopt when the holder is unknown or has just exited.
    std::optional<std::chrono::nanoseconds> held_for;
    HeldSince held_since = HeldSince::process_start;
};

struct FileLockStatus {
    std::string path;  // as given
    FileIdentity file;
    std::vector<HolderStatus> holders;
    std::vector<LockHolder> waiters;
    bool held() const noexcept { return !holders.empty(); }
};

// How long `pid` has held a lock, and how that was found out; nullopt when the
// process is gone.
std::optional<std::pair<std::chrono::nanoseconds, HeldSince>> estimate_held_for(pid_t pid);

// Looks at `path` (stat(2) only, following symbolic links) and reports its
// lock. Throws SystemError(Operation::open, path, errno) when the file cannot
// be looked at (it does not exist, or a directory on the way is not ours to
// search), and when /proc/locks cannot be read.
FileLockStatus query_file_lock(const std::string& path);

}  // namespace plock
