// Taking a file lock the way every plock subcommand that locks a file does
// (exec, try, update): open the file, take the lock at once or wait for it as
// planned, recognise a lock this process already holds through an inherited
// descriptor instead of waiting for itself, and make sure the lock is that of
// the file the path names now (a file replaced while we waited is opened and
// locked again).
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "plock/file/file_lock.hpp"
#include "plock/file/inherited_lock.hpp"
#include "plock/sys/acquire_result.hpp"
#include "plock/sys/safe_open.hpp"

namespace plock {

struct FileLockRequest {
    std::string path;  // how messages name the lock ("descriptor 9 (...)" for one)
    // Lock the open file description behind this descriptor instead of
    // opening `path` (FileLock::of_descriptor).
    std::optional<int> descriptor;
    LockMode mode = LockMode::exclusive;
    LockMethod method = LockMethod::flock;
    OpenPolicy open_policy;
};

struct TakenFileLock {
    enum class Status {
        held,       // ours now, or already ours through `inherited`
        busy,       // a non-blocking attempt met a conflicting lock
        timed_out,
        interrupted,      // a stop signal ended the wait; see `signal`
        waits_for_itself, // an exclusive lock was asked while this process
                          // holds a shared one through `inherited`: a wait
                          // could never end
    };
    Status status = Status::busy;
    int signal = 0;
    FileLock lock;  // open; held when `held` and not `inherited`
    // The lock was ours already, through this descriptor we inherited.
    std::optional<InheritedLock> inherited;
};

// Told before each wait, with the lock whose holders the caller may name;
// after a replacement there may be a second wait.
using BeforeFileLockWait = std::function<void(const FileLock& lock)>;
// Told when the file was replaced while we waited, before it is locked again.
using OnReplacedFile = std::function<void()>;

// The caller must block the stop signals (see wait_for_signal). Throws
// SystemError when the file cannot be opened or inspected.
TakenFileLock take_file_lock(const FileLockRequest& request, const WaitPlan& plan,
                             const SignalSet& stop_signals, const BeforeFileLockWait& before_wait = {},
                             const OnReplacedFile& on_replaced = {});

}  // namespace plock
