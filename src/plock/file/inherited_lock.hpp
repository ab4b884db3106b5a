// Reentrancy, the shell way: a plock run inside a command that already holds
// the lock through an inherited descriptor recognises it instead of waiting
// for itself forever.
#pragma once

#include <optional>
#include <vector>

#include "plock/file/file_lock.hpp"

namespace plock {

struct InheritedLock {
    int fd = -1;
    LockMode mode = LockMode::exclusive;
    LockMethod method = LockMethod::flock;
    FileIdentity file;
};

// Looks through this process's open descriptors (other than `own_fd`) for one
// that refers to `file` and whose open file description holds a lock of
// `method` on it, as /proc/self/fdinfo reports. The kernel lists a lock only
// under the open file description that owns it, so a match proves that the
// lock is ours by inheritance, not merely that the file is open.
std::optional<InheritedLock> find_inherited_lock(FileIdentity file, LockMethod method,
                                                 int own_fd);

// Every descriptor of this process whose open file description holds a lock
// of `method`, whatever file it refers to: one look through the descriptors
// for callers that want to match many files (the slots of a semaphore).
std::vector<InheritedLock> find_inherited_locks(LockMethod method);

}  // namespace plock
