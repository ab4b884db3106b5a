// query_file_lock: stat the file, then find_lock_holders and the holders'
// start times.
#include "plock/file/lock_status.hpp"

#include <sys/stat.h>

#include <algorithm>

#include "plock/sys/error.hpp"
#include "plock/proc/process_info.hpp"

namespace plock {

std::string_view to_string(HeldSince source) noexcept {
    return source == HeldSince::command_start ? "command-start" : "process-start";
}

std::optional<std::pair<std::chrono::nanoseconds, HeldSince>> estimate_held_for(pid_t pid) {
    const auto holder = read_process_stat(pid);
    if (!holder) {
        return std::nullopt;
    }
    if (holder->name == "plock" || holder->name == "flock") {
        // The command is the oldest child (plock and flock(1) start one).
        std::optional<std::chrono::nanoseconds> oldest;
        for (const pid_t child : process_children(pid)) {
            if (const auto stat = read_process_stat(child)) {
                const auto age = time_since_start(*stat);
                oldest = oldest ? std::max(*oldest, age) : age;
            }
        }
        if (oldest) {
            return std::pair{*oldest, HeldSince::command_start};
        }
    }
    return std::pair{time_since_start(*holder), HeldSince::process_start};
}

FileLockStatus query_file_lock(const std::string& path) {
    if (path.empty()) {
        throw UsageError("the lock file name is empty");
    }
    struct stat status {};
    if (stat(path.c_str(), &status) != 0) {
        throw SystemError(Operation::open, path, errno);
    }
    FileLockStatus result;
    result.path = path;
    result.file = {status.st_dev, status.st_ino};
    LockHolders found = find_lock_holders(result.file);
    for (LockHolder& holder : found.holders) {
        HolderStatus entry{std::move(holder), std::nullopt, HeldSince::process_start};
        if (const auto estimate = entry.holder.pid > 0 ? estimate_held_for(entry.holder.pid) : std::nullopt) {
            entry.held_for = estimate->first;
            entry.held_since = estimate->second;
        }
        result.holders.push_back(std::move(entry));
    }
    result.waiters = std::move(found.waiters);
    return result;
}

}  // namespace plock
