// A PID file that is its own lock, as BSD pidfile(3) and flopen(3) make it.
//
// The guard flocks the file it opened (opening never truncates), checks once
// the lock is held that the path still names that same file (another guard
// may have removed it in between), and only then empties it and writes the
// PID of the process it guards. Releasing removes the file while it is still
// ours, then lets the lock go. A losing contender therefore never writes to
// the file, and a file left behind by a killed guard is harmless: the next
// guard takes its lock and overwrites it.
//
// The lock, not the file, is the truth. A reader asks the kernel who holds
// the lock (/proc/locks, /proc/PID/fdinfo) and believes the PID written in
// the file only when the lock vouches for it.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "plock/file/file_lock.hpp"
#include "plock/proc/lock_holders.hpp"
#include "plock/sys/signals.hpp"
#include "plock/sys/wait.hpp"

namespace plock {

// The largest PID Linux hands out (PID_MAX_LIMIT on 64-bit systems).
inline constexpr pid_t k_max_pid = 4'194'304;
// A PID file holds a PID and a newline; a longer file is something else.
inline constexpr std::size_t k_max_pid_file_size = 64;
// A guard writes the PID the moment its command has started. A reader that
// finds a held file still empty waits for the PID at most this long after
// the guard took the file (its modification time), so that an empty file
// held for hours by a program that never writes a PID costs no wait.
inline constexpr std::chrono::seconds k_pid_write_window{2};

struct PidFileContent {
    enum class Kind {
        empty,    // no bytes, or only white space
        pid,      // a process ID (see parse_pid_file)
        invalid,  // anything else
    };
    Kind kind = Kind::empty;
    pid_t pid = 0;  // when kind == pid
    friend bool operator==(const PidFileContent&, const PidFileContent&) = default;
};

// What a PID file says. A PID is decimal digits, without sign or leading
// zero, from 1 to k_max_pid, with optional white space (space, tab, CR, LF)
// around it: "1234\n", "1234", "  1234\r\n". Zero, negative or too large
// numbers, other characters, several numbers, and anything longer than
// k_max_pid_file_size are invalid. A pure function of its input.
PidFileContent parse_pid_file(std::string_view text) noexcept;

// "1234\n": what a guard writes.
std::string format_pid_file(pid_t pid);

struct PidFileState {
    enum class Status {
        running,  // a live process holds the file's lock
        stale,    // the file exists and no process holds its lock
        absent,   // no such file (or no such directory)
    };
    Status status = Status::absent;
    PidFileContent content;  // what the file held when it was last read
    // When running, the process to name: the PID in the file when the lock
    // vouches for it (that process holds the lock, or its parent does: the
    // command a guard started); otherwise the first holder the kernel names
    // (a guard still starting its command, or a program that never writes
    // a PID).
    LockHolder holder;
    bool pid_from_file = false;  // holder.pid is the file's PID, vouched for
};

// Looks at the PID file at `path` without locking it (a query must never
// make a starting guard fail), and without following a symbolic link.
// While the file is held but still empty (its guard is starting its
// command), waits for the PID until `wait_for_pid` at most (nullopt: only
// k_pid_write_window bounds it); the wait sleeps on inotify events, it does
// not poll. Throws SystemError when the file cannot
// be inspected (a directory, a FIFO, a symbolic link, permissions).
PidFileState query_pid_file(const std::string& path, Deadline wait_for_pid);

enum class PidGuardRelease {
    removed,     // the file was still ours and is gone
    replaced,    // the path names another file now, or none: left alone
    rewritten,   // the file holds something other than what we wrote: left alone
    still_held,  // processes the command left behind still hold the lock: left to them
    not_held,    // the guard was not held
};

std::string_view to_string(PidGuardRelease outcome) noexcept;

// Told about each signal take_over() sends, after sending it.
using SignalReport = std::function<void(const LockHolder& process, int signal)>;

class PidGuard {
public:
    // Nothing is opened until acquire().
    explicit PidGuard(std::string path);
    PidGuard(const PidGuard&) = delete;
    PidGuard& operator=(const PidGuard&) = delete;
    // release(), with its errors ignored.
    ~PidGuard();

    // Opens the file (creating it with mode 0644 minus the umask, never
    // truncating it; refusing symbolic links, directories, FIFOs and
    // devices), takes its flock lock, waiting until `deadline` when it is
    // busy (a deadline already passed means one attempt), and checks that the
    // path still names the locked file; if the file was removed or replaced
    // meanwhile, starts over with what the path names now. Once the lock is
    // held the file must hold nothing or a PID and have no other hard link
    // (plock will not overwrite anything else: SystemError), and it is
    // emptied. Readers see an empty, held file until write_pid().
    AcquireResult acquire(Deadline deadline, const SignalSet& stop_signals);
    // The way plock pidguard takes the guard: one attempt, and when the file
    // is held and the plan allows a wait, `before_wait`, then acquire().
    AcquireResult take(const WaitPlan& plan, const SignalSet& stop_signals, const BeforeWait& before_wait = {});

    // Takes the guard from whoever holds it, and stops the holder's whole
    // tree: SIGTERM to the top-most processes holding the lock (those whose
    // parent does not hold it too: a plock guard forwards the signal to its
    // command) and to every process of their trees, a wait for the lock of
    // up to `grace`, then SIGKILL to every process still holding it and to
    // what is left of the trees, and another wait (5 seconds). Only
    // processes whose descriptors provably hold the lock, and their
    // descendants, are signalled (signal_lock_holder, ForeignTrees), never a
    // PID read from the file. `report` hears of the holders signalled. `busy` or `timed_out` when the lock is still held after all;
    // SystemError when no holder may be inspected or signalled.
    AcquireResult take_over(std::chrono::nanoseconds grace, const SignalSet& stop_signals,
                            const SignalReport& report = {});

    // After acquire() found the file busy: who holds it (see query_pid_file).
    PidFileState holder_state(Deadline wait_for_pid) const;

    // Writes "PID\n" over the emptied file and flushes it to disk (fsync).
    void write_pid(pid_t pid);

    // Removes the file if it is still ours (the path names the file we
    // locked, it holds what we wrote, and no process the command left behind
    // still holds the lock), then closes our descriptor. The lock ends with
    // the last descriptor of its open file description, so a command that
    // inherited it keeps it until it exits.
    PidGuardRelease release();

    const std::string& path() const noexcept { return m_path; }
    bool held() const noexcept { return m_lock && m_lock->held(); }
    // The open file, once acquire() was called: -1 before.
    int fd() const noexcept { return m_lock ? m_lock->fd() : -1; }
    FileIdentity identity() const noexcept { return m_lock ? m_lock->identity() : FileIdentity{}; }

private:
    PidGuardRelease removal_verdict() const;

    std::string m_path;
    std::optional<FileLock> m_lock;
    std::string m_written;  // what the file should hold while we hold it
};

}  // namespace plock
