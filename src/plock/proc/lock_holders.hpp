// Who holds a lock on a file, and who waits for it: the entries of
// /proc/locks for it, resolved to live processes and their command lines.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

#include "plock/file/file_lock.hpp"
#include "plock/proc/proc_locks.hpp"

namespace plock {

struct LockHolder {
    pid_t pid = -1;            // -1 when no live process could be found
    std::string command_line;  // empty when unknown
    LockEntry entry;
};

struct LockHolders {
    std::vector<LockHolder> holders;  // granted locks on the file
    // Blocked requests for the file. The kernel names no process for an OFD
    // request (pid -1); a waiter that has gone since the table was read is
    // left out.
    std::vector<LockHolder> waiters;
    // Granted locks /proc/locks lists for the file, whether or not a live
    // holder could be found for each (one we may not inspect).
    std::size_t granted = 0;
};

using LockTableReader = std::function<std::vector<LockEntry>()>;

// The kernel records the PID that took a flock lock even after that process
// has exited and a child kept the descriptor, and records no PID at all for
// OFD locks. In those cases the holders are found by looking through the
// descriptors of every process we may inspect for one that carries the lock;
// a process whose parent carries it too is taken for an inherited copy and
// left out. `skip_pid` (usually ourselves) is left out of that search.
//
// Processes may exit while all this is read. A granted entry whose process is
// gone and that no descriptor explains is looked up again in a fresh read of
// the table: if it is still there, it is reported with pid -1 (a holder we
// cannot see: another user's process, another PID namespace); if not, the
// lock went with its process and is not reported.
LockHolders find_lock_holders(FileIdentity file, pid_t skip_pid = -1,
                              const LockTableReader& read_table = read_lock_table);
// The same from a lock table already read (read_lock_table()), for callers
// that ask about many files at a time.
LockHolders find_lock_holders(FileIdentity file, const std::vector<LockEntry>& table,
                              pid_t skip_pid = -1);

// Every process (but `skip_pid`) one of whose descriptors carries a granted
// lock on `file`, as /proc/PID/fdinfo proves; a full search of /proc. It
// finds every process that shares the locked open file description (a
// command that inherited it, and what that command left behind), and only
// the processes we may inspect.
std::vector<LockHolder> find_descriptor_holders(FileIdentity file, pid_t skip_pid = -1);

// True when one of `pid`'s descriptors carries a granted lock on `file`.
bool process_holds_lock(pid_t pid, FileIdentity file);

// Sends `signal` to `pid` if, at that moment, it provably holds a lock on
// `file` (process_holds_lock); false when it does not or is gone. A pidfd
// taken before the proof makes sure that a PID reused meanwhile is never
// signalled. Throws SystemError(Operation::signal, ...) when the signal is
// refused (EPERM).
bool signal_lock_holder(pid_t pid, FileIdentity file, int signal);

}  // namespace plock
