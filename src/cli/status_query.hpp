// Looking at locks for a status report: `plock status`, and the status modes
// of `plock sem` and `plock pidguard`, which ask the same questions. Nothing
// is created, opened for writing or locked.
//
// Each query returns its lock's entry of the report; when the lock cannot be
// looked at, the error is logged and returned in its place as a StatusError
// (with its exit status), so that the other locks are still answered.
#pragma once

#include <string>
#include <vector>

#include "cli/status_report.hpp"
#include "plock/redis/redis_lock.hpp"
#include "plock/redis/redis_url.hpp"
#include "plock/sem/semaphore.hpp"

namespace plock::cli {

// One entry per path, in order.
std::vector<StatusEntry> query_files(const std::vector<std::string>& paths);

StatusEntry query_semaphore(const SemaphoreSpec& spec);

// As a guard sees the file: one that has just been taken gets a moment
// (k_pid_write_window) for its guard to write the PID.
StatusEntry query_pid_file_status(const std::string& path);

// A lock or semaphore in Redis: its name as given, the server, the keys.
struct RedisTarget {
    std::string name;
    RedisEndpoint endpoint;
    RedisLockSpec spec;
};

StatusEntry query_redis(const RedisTarget& target);

}  // namespace plock::cli
