// What `plock status` prints: a report with one entry per lock asked about,
// rendered as text for people or as one JSON document for programs. The
// status modes of `plock sem` and `plock pidguard` print the same report
// (the latter in its LSB form); status_query.hpp makes the entries.
//
// Each kind of lock is one alternative of StatusEntry with its own text and
// JSON rendering in status_report.cpp; std::visit makes the compiler point at
// every place a new kind (semaphore, PID file, Redis lock) must be handled.
#pragma once

#include <chrono>
#include <iosfwd>
#include <string>
#include <variant>
#include <vector>

#include "plock/file/lock_status.hpp"
#include "plock/pidfile/pid_guard.hpp"
#include "plock/redis/redis_status.hpp"
#include "plock/sem/semaphore.hpp"

namespace plock::cli {

// `plock status --sem`: each slot of a semaphore, free or held by whom.
struct SemaphoreStatus {
    SemaphoreSpec spec;
    SemaphoreState state;
    std::size_t held_slots() const noexcept;
    bool held() const noexcept { return held_slots() != 0; }
};

// `plock status --pidfile`: the PID file as `plock pidguard` sees it.
struct PidFileStatus {
    std::string path;  // as given
    PidFileState state;
    bool held() const noexcept { return state.status == PidFileState::Status::running; }
};

// `plock status --redis`: a lock or semaphore kept in Redis.
struct RedisStatus {
    std::string name;    // as given
    std::string key;     // PREFIX+NAME
    std::string server;  // the URL without its password
    RedisLockState state;
    bool held() const noexcept { return state.held(); }
};

// A lock that could not be looked at; its message went to stderr too.
struct StatusError {
    std::string type;  // "file", "semaphore", "pidfile", "redis"
    std::string name;  // the path or name asked about
    std::string message;
    int exit_status = 0;
};

using StatusEntry = std::variant<FileLockStatus, SemaphoreStatus, PidFileStatus, RedisStatus, StatusError>;

// 0 when every lock is free, 1 when one is held, the first error's status
// when a lock could not be looked at (exit_code::k_status_table).
int status_exit_code(const std::vector<StatusEntry>& entries);

void write_status_text(std::ostream& out, const std::vector<StatusEntry>& entries);

// The JSON document (schema in plock(1), STATUS JSON), with a final newline.
// `now` is when the report was taken: "held_since" is now minus "held_for".
std::string status_json(const std::vector<StatusEntry>& entries,
                        std::chrono::system_clock::time_point now);

enum class StatusFormat { text, json, none };

// The report on standard output, as `format` says, and its exit status
// (status_exit_code). Throws SystemError when standard output cannot be
// written.
int print_status(const std::vector<StatusEntry>& entries, StatusFormat format,
                 std::chrono::system_clock::time_point now);

// `plock pidguard --status`, the LSB form of a PID file's entry: the PID of
// the running instance on standard output, the line write_status_text would
// print at info level, and the answer of exit_code::k_query_table (0
// running, 1 stale, 3 absent); a StatusError's own exit status.
int print_pid_guard_status(const StatusEntry& entry);

}  // namespace plock::cli
