// The outcome of taking a lock of any kind (file lock, semaphore slot, PID
// file, Redis lock): a busy lock, a timeout or a signal that ends the wait
// are values, not errors. And the one order in which every kind is taken.
#pragma once

#include <functional>

#include "plock/sys/wait.hpp"

namespace plock {

struct AcquireResult {
    enum class Status {
        acquired,
        busy,         // a non-blocking attempt met a conflicting lock
        timed_out,
        interrupted,  // a stop signal ended the wait; see `signal`
    };
    Status status = Status::busy;
    int signal = 0;
    bool acquired() const noexcept { return status == Status::acquired; }
};

// How long taking a lock may wait.
struct WaitPlan {
    bool nonblocking = false;  // one attempt only
    Deadline deadline;         // nullopt: for as long as it takes
};

// Told once a first attempt found the lock busy, just before the wait starts
// (where a caller says "waiting for ..."); not told when there is no wait.
using BeforeWait = std::function<void()>;

// The one order of taking a lock, whatever its kind: an attempt that never
// waits; when it finds the lock busy and the plan allows a wait,
// `before_wait`, then `wait(deadline)`. Any other outcome of the attempt
// (acquired, or a kind's own such as a semaphore's size conflict) is final.
template <typename Result, typename Attempt, typename Wait>
Result take_as_planned(const WaitPlan& plan, const BeforeWait& before_wait, Attempt attempt, Wait wait) {
    Result result = attempt();
    if (result.status != Result::Status::busy || plan.nonblocking) {
        return result;
    }
    if (before_wait) {
        before_wait();
    }
    return wait(plan.deadline);
}

}  // namespace plock
