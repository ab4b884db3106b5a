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
    Entry{k_not_executable, "not-executable", "the command cannot be executed"},
    Entry{k_not_found, "not-found", "the command was not found"},
};

// What plock status answers when it could look at every lock; an
// error status from k_table takes precedence over these.
inline constexpr std::array k_status_table{
    Entry{k_status_free, "free", "every lock asked about is free"},
    Entry{k_status_held, "held", "at least one lock asked about is held"},
};

}  // namespace plock::exit_code
