// The queries behind every status report: the library's inspections, with
// their failures turned into StatusError entries.
#include "cli/status_query.hpp"

#include <unistd.h>

#include "cli/exit_status.hpp"
#include "cli/log.hpp"
#include "plock/redis/redis_status.hpp"
#include "plock/sys/error.hpp"

namespace plock::cli {
namespace {

StatusError logged_error(std::string type, std::string name, const SystemError& error) {
    logger().error("{}", error_message(error));
    return StatusError{std::move(type), std::move(name), error_message(error), exit_code_for(error)};
}

}  // namespace

std::vector<StatusEntry> query_files(const std::vector<std::string>& paths) {
    std::vector<StatusEntry> entries;
    for (const std::string& path : paths) {
        try {
            entries.emplace_back(query_file_lock(path));
        } catch (const SystemError& error) {
            entries.emplace_back(logged_error("file", path, error));
        }
    }
    return entries;
}

StatusEntry query_semaphore(const SemaphoreSpec& spec) {
    try {
        return SemaphoreStatus{spec, inspect_semaphore(spec, getpid())};
    } catch (const SystemError& error) {
        return logged_error("semaphore", spec.name, error);
    }
}

StatusEntry query_pid_file_status(const std::string& path) {
    try {
        return PidFileStatus{path, query_pid_file(path, Clock::now() + k_pid_write_window)};
    } catch (const SystemError& error) {
        return logged_error("pidfile", path, error);
    }
}

StatusEntry query_redis(const RedisTarget& target) {
    try {
        return RedisStatus{target.name, target.spec.key(), target.endpoint.display(),
                           inspect_redis_lock(target.endpoint, target.spec)};
    } catch (const SystemError& error) {
        return logged_error("redis", target.name, error);
    }
}

}  // namespace plock::cli
