// FileLock: an advisory lock on one file, held through an open file
// description, taken with flock(2) or with an open-file-description
// byte-range lock (F_OFD_SETLK) over the whole file.
//
// The lock belongs to the open file description, so a child that inherits
// the descriptor shares it and keeps it alive after we close ours. Closing the
// last descriptor releases it; destroying a FileLock only closes ours.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

#include "plock/sys/acquire_result.hpp"
#include "plock/sys/fd.hpp"
#include "plock/sys/safe_open.hpp"
#include "plock/sys/wait.hpp"

namespace plock {

enum class LockMode { shared, exclusive };
enum class LockMethod { flock, ofd };

std::string_view to_string(LockMode mode) noexcept;
std::string_view to_string(LockMethod method) noexcept;

struct FileIdentity {
    dev_t device = 0;
    ino_t inode = 0;
    friend bool operator==(const FileIdentity&, const FileIdentity&) = default;
};

class FileLock {
public:
    // Opens (creating if needed) the lock file; does not lock it yet.
    static FileLock open(const std::string& path, LockMethod method,
                         const OpenPolicy& policy = {});
    // The shell's idiom (exec 9>FILE; plock lock 9): a lock on the open file
    // description behind descriptor `fd` of this process, which the process
    // that gave it to us shares, so the lock outlasts us until every
    // descriptor of that description is closed. Works through a close-on-exec
    // duplicate; the path is "descriptor N (FILE)", and there is nothing to
    // re-open (reopen_if_replaced() is false). Throws SystemError naming the
    // descriptor when it is not open.
    static FileLock of_descriptor(int fd, LockMethod method);
    // Adopts an already opened file (`policy`: how to open it again).
    FileLock(std::string path, LockMethod method, OpenedFile file, const OpenPolicy& policy = {});

    FileLock(FileLock&&) noexcept = default;
    FileLock& operator=(FileLock&&) noexcept = default;
    ~FileLock() = default;

    // One attempt that never waits; `busy` when another holder conflicts.
    AcquireResult try_acquire(LockMode mode);
    // Waits in the kernel until the lock is ours, the deadline passes, or one
    // of `stop_signals` arrives. Throws SystemError on real failures.
    AcquireResult acquire(LockMode mode, Deadline deadline, const SignalSet& stop_signals);
    // Drops the lock but keeps the file open.
    void release();

    // Call after the lock is granted. A file can be replaced while we wait for
    // its lock (renamed over, as plock update and atomic writers do, or
    // removed): the lock we got is then on a file the path no longer names,
    // and another process may lock the new one at the same time. Returns false
    // when the path still names the locked file; otherwise drops the lock,
    // opens the path again (with the policy it was first opened with) and
    // returns true: the caller locks again. Throws SystemError when the path
    // cannot be looked at or opened.
    bool reopen_if_replaced();

    // The blocking lock call for wait_for_first(), to wait on several locks.
    BlockingCall blocking_call(LockMode mode) const;
    // Records that a blocking_call() made elsewhere succeeded.
    void mark_acquired(LockMode mode) noexcept {
        m_held = true;
        m_mode = mode;
    }

    const std::string& path() const noexcept { return m_path; }
    int fd() const noexcept { return m_fd.get(); }
    LockMethod method() const noexcept { return m_method; }
    FileIdentity identity() const noexcept { return m_identity; }
    bool writable() const noexcept { return m_writable; }
    bool created() const noexcept { return m_created; }
    bool held() const noexcept { return m_held; }
    LockMode mode() const noexcept { return m_mode; }

private:
    int lock_call(LockMode mode, bool wait) const noexcept;  // 0 or errno
    void check_mode_allowed(LockMode mode) const;

    std::string m_path;
    LockMethod m_method;
    OpenPolicy m_policy;
    UniqueFd m_fd;
    FileIdentity m_identity;
    bool m_writable = false;
    bool m_created = false;
    bool m_held = false;
    LockMode m_mode = LockMode::exclusive;
    bool m_descriptor = false;  // of_descriptor(): no path to re-open
};

// The file that descriptor `fd` of this process refers to, as
// /proc/self/fd says; empty when it cannot be told.
std::string descriptor_target(int fd);
// "descriptor 9 (/var/lock/job.lock)": how messages name a descriptor.
std::string describe_descriptor(int fd);

// Lets go of every lock, flock(2) and open file description lock alike, that
// the open file description behind `fd` holds (plock unlock FD). Throws
// SystemError naming the descriptor when it is not open.
void unlock_descriptor(int fd);

}  // namespace plock
