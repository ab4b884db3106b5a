// Who holds a lock on a file: the entries of /proc/locks for it, resolved to
// live processes and their command lines.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "plock/file_lock.hpp"
#include "plock/proc_locks.hpp"

namespace plock {

struct LockHolder {
    pid_t pid = -1;            // -1 when no live process could be found
    std::string command_line;  // empty when unknown
    LockEntry entry;
};

struct LockHolders {
    std::vector<LockHolder> holders;  // granted locks on the file
    std::size_t waiters = 0;          // blocked requests for the file
    // Granted locks /proc/locks lists for the file, whether or not a live
    // holder could be found for each (one we may not inspect).
    std::size_t granted = 0;
};

// The kernel records the PID that took a flock lock even after that process
// has exited and a child kept the descriptor, and records no PID at all for
// OFD locks. In those cases the holders are found by looking through the
// descriptors of every process we may inspect for one that carries the lock.
// `skip_pid` (usually ourselves) is left out of that search.
LockHolders find_lock_holders(FileIdentity file, pid_t skip_pid = -1);
// The same from a lock table read once (read_lock_table()), for callers that
// ask about many files at a time.
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

// "PID 1234 (sleep 10)", "PID 1234", or "an unknown process".
std::string describe_holder(const LockHolder& holder);

}  // namespace plock
