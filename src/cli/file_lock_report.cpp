// take_reported_file_lock: the library's take_file_lock, in the words of WaitReport.
#include "cli/file_lock_report.hpp"

#include <unistd.h>

#include <memory>

#include "cli/acquire.hpp"
#include "cli/describe.hpp"
#include "cli/log.hpp"
#include "plock/proc/lock_holders.hpp"
#include "plock/sys/error.hpp"

namespace plock::cli {
namespace {

// Who holds the lock of `file` now, as cli::describe_holders names them.
std::string describe_holders(FileIdentity file) {
    LockHolders found;
    try {
        found = find_lock_holders(file, getpid());
    } catch (const SystemError&) {
        // Only a message is lost: the lock is still busy.
    }
    return cli::describe_holders(found.holders);
}

}  // namespace

std::variant<TakenFileLock, int> take_reported_file_lock(const FileLockSettings& settings) {
    const FileLockRequest& request = settings.request;
    auto holders = std::make_shared<FileIdentity>();  // of the file being waited for
    LockWording wording;
    wording.target = std::string(to_string(request.mode)) + " lock on " + request.path;
    wording.busy = [&request, holders] { return request.path + " is locked by " + describe_holders(*holders); };
    wording.holders = [holders] { return "held by " + describe_holders(*holders); };
    const WaitReport report(std::move(wording), settings.wait, settings.conflict_exit_code, settings.quiet_conflict);
    TakenFileLock taken = take_file_lock(
        request, report.plan(), wait_ending_signals(),
        [&](const FileLock& lock) {
            *holders = lock.identity();
            report.before_wait()();
        },
        [&] { logger().debug("{} was replaced while plock waited; locking the new file", request.path); });
    *holders = taken.lock.identity();
    switch (taken.status) {
    case TakenFileLock::Status::waits_for_itself:
        logger().error("{} is already locked in shared mode through inherited descriptor {}; "
                       "waiting for an exclusive lock would wait for ourselves forever",
                       request.path, taken.inherited->fd);
        return settings.conflict_exit_code;
    case TakenFileLock::Status::held:
        if (taken.inherited) {
            logger().debug("{} is already locked ({}) through inherited descriptor {}; "
                           "running the command without locking it again",
                           request.path, to_string(taken.inherited->mode), taken.inherited->fd);
            return taken;
        }
        report.outcome(AcquireResult{AcquireResult::Status::acquired, 0});
        return taken;
    case TakenFileLock::Status::busy:
        return *report.outcome(AcquireResult{AcquireResult::Status::busy, 0});
    case TakenFileLock::Status::timed_out:
        return *report.outcome(AcquireResult{AcquireResult::Status::timed_out, 0});
    case TakenFileLock::Status::interrupted:
        break;
    }
    return *report.outcome(AcquireResult{AcquireResult::Status::interrupted, taken.signal});
}

}  // namespace plock::cli
