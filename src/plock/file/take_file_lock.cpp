// take_file_lock: the one routine behind every file lock plock takes.
#include "plock/file/take_file_lock.hpp"

#include <utility>

namespace plock {
namespace {

TakenFileLock::Status status_of(const AcquireResult& result) noexcept {
    switch (result.status) {
    case AcquireResult::Status::acquired:
        return TakenFileLock::Status::held;
    case AcquireResult::Status::timed_out:
        return TakenFileLock::Status::timed_out;
    case AcquireResult::Status::interrupted:
        return TakenFileLock::Status::interrupted;
    case AcquireResult::Status::busy:
        break;
    }
    return TakenFileLock::Status::busy;
}

TakenFileLock outcome(FileLock lock, const AcquireResult& result) {
    return TakenFileLock{status_of(result), result.signal, std::move(lock), std::nullopt};
}

}  // namespace

TakenFileLock take_file_lock(const FileLockRequest& request, const WaitPlan& plan, const SignalSet& stop_signals,
                             const BeforeFileLockWait& before_wait, const OnReplacedFile& on_replaced) {
    FileLock lock = request.descriptor ? FileLock::of_descriptor(*request.descriptor, request.method)
                                       : FileLock::open(request.path, request.method, request.open_policy);
    std::optional<InheritedLock> inherited;
    bool first_attempt = true;
    // An attempt: the lock, or (the first time) one this process holds
    // already through a descriptor it inherited.
    const auto attempt = [&] {
        AcquireResult result = lock.try_acquire(request.mode);
        if (!result.acquired() && std::exchange(first_attempt, false)) {
            inherited = find_inherited_lock(lock.identity(), request.method, lock.fd());
            if (inherited) {
                result.status = AcquireResult::Status::acquired;
            }
        }
        return result;
    };
    const auto take = [&] {
        return take_as_planned<AcquireResult>(
            plan, [&] { if (before_wait) { before_wait(lock); } }, attempt,
            [&](Deadline deadline) { return lock.acquire(request.mode, deadline, stop_signals); });
    };
    AcquireResult result = take();
    if (inherited) {
        const bool waits_for_itself = inherited->mode == LockMode::shared && request.mode == LockMode::exclusive;
        return TakenFileLock{waits_for_itself ? TakenFileLock::Status::waits_for_itself : TakenFileLock::Status::held,
                             0, std::move(lock), inherited};
    }
    // Once ours, make sure it is the lock of the file the path names now.
    while (result.acquired() && lock.reopen_if_replaced()) {
        if (on_replaced) {
            on_replaced();
        }
        result = take();
    }
    return outcome(std::move(lock), result);
}

}  // namespace plock
