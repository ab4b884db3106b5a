// Exit statuses of plock: the one table shared by the code, `plock --help`,
// the man page's EXIT STATUS section, the README and the tests.
//
// The values follow sysexits(3) where one fits, so they stay clear of the
// small numbers commands usually return, and the shell's 126/127/128+N rules.
#pragma once

#include <array>
#include <string_view>

namespace plock::exit_code {

inline constexpr int k_success = 0;
inline constexpr int k_usage = 64;             // EX_USAGE: bad option, value or argument
inline constexpr int k_cannot_open = 66;       // EX_NOINPUT: the lock file cannot be opened
inline constexpr int k_unavailable = 69;       // EX_UNAVAILABLE: the lock service cannot be reached
inline constexpr int k_internal = 70;          // EX_SOFTWARE: a bug in plock
inline constexpr int k_os_error = 71;          // EX_OSERR: any other failed system call
inline constexpr int k_cannot_create = 73;     // EX_CANTCREAT: the lock file cannot be created
inline constexpr int k_conflict = 75;          // EX_TEMPFAIL: lock busy or timed out (see -E)
inline constexpr int k_permission = 77;        // EX_NOPERM: permission denied
inline constexpr int k_config = 78;            // EX_CONFIG: in use with other settings (a semaphore's -n)
// No sysexits(3) code means "a lease ran out under a running command"; 79 is
// the first value past their range, clear of the codes above.
inline constexpr int k_lock_lost = 79;         // the Redis lease was lost under the command
// As timeout(1) reports a command it had to stop.
inline constexpr int k_time_limit = 124;       // the command ran past --time-limit and was stopped
inline constexpr int k_not_executable = 126;   // the command was found but cannot be run
inline constexpr int k_not_found = 127;        // the command was not found
inline constexpr int k_signal_base = 128;      // the command was killed by signal N: 128+N

// Answers of plock status, like test(1)'s: not errors.
inline constexpr int k_status_free = 0;  // every lock asked about is free
inline constexpr int k_status_held = 1;  // at least one of them is held

struct Entry {
    int code;
    std::string_view name;
    std::string_view meaning;
};

// Codes plock itself produces; the command's own status passes through unchanged.
inline constexpr std::array k_table{
    Entry{k_usage, "usage", "invalid option, value or argument"},
    Entry{k_cannot_open, "cannot-open", "the lock file cannot be opened or is not a lockable file"},
    Entry{k_unavailable, "unavailable", "the lock service (Redis) cannot be reached"},
    Entry{k_internal, "internal", "internal error in plock"},
    Entry{k_os_error, "os-error", "a system call failed for another reason"},
    Entry{k_cannot_create, "cannot-create", "the lock file cannot be created"},
    Entry{k_conflict, "conflict", "the lock is busy or the timeout expired (changed with -E)"},
    Entry{k_permission, "permission", "permission denied"},
    Entry{k_config, "config", "the lock is in use with other settings (a semaphore with another -n)"},
    Entry{k_lock_lost, "lock-lost", "the Redis lock was lost while the command ran"},
    Entry{k_time_limit, "time-limit", "the command ran longer than --time-limit and was stopped"},
    Entry{k_not_executable, "not-executable", "the command cannot be executed"},
    Entry{k_not_found, "not-found", "the command was not found"},
};

// Answers to a question (`plock pidguard --status`), not errors: that query
// runs no command, so these small values cannot be mistaken for a command's.
// They follow the LSB convention for an init script's "status" action.
inline constexpr int k_query_running = 0;      // a live process holds the lock
inline constexpr int k_query_stale = 1;        // LSB "dead and PID file exists"
inline constexpr int k_query_not_running = 3;  // LSB "not running"

inline constexpr std::array k_query_table{
    Entry{k_query_running, "running", "a live process holds the PID file's lock; its PID is printed"},
    Entry{k_query_stale, "stale", "the PID file exists but no process holds its lock"},
    Entry{k_query_not_running, "not-running", "there is no PID file"},
};

// What plock status answers when it could look at every lock; an
// error status from k_table takes precedence over these.
inline constexpr std::array k_status_table{
    Entry{k_status_free, "free", "every lock asked about is free"},
    Entry{k_status_held, "held", "at least one lock asked about is held"},
};

}  // namespace plock::exit_code
