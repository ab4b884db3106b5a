// Waiting in the kernel for one of several blocking calls (flock, F_OFD_SETLKW)
// to succeed, with a deadline and signals that end the wait, and no polling.
#pragma once

#include <chrono>
#include <ctime>
#include <cstddef>
#include <functional>
#include <optional>
#include <vector>

#include "plock/sys/signals.hpp"

namespace plock {

using Clock = std::chrono::steady_clock;
using Deadline = std::optional<Clock::time_point>;  // nullopt: wait forever

// A duration, or the time left until `deadline` (zero once it has passed),
// as the timeouts of sigtimedwait(2) and ppoll(2) take them.
timespec to_timespec(Clock::duration duration) noexcept;
timespec remaining_until(Clock::time_point deadline) noexcept;

// A call that blocks until it succeeds. It returns 0 on success or an errno
// value; when a signal interrupts it, it must return EINTR.
using BlockingCall = std::function<int()>;

struct WaitOutcome {
    enum class Status {
        completed,    // calls[winner] succeeded
        timed_out,    // the deadline passed first
        interrupted,  // a stop signal arrived first; `signal` says which
        failed,       // calls[winner] failed with `error_number`
    };
    Status status = Status::timed_out;
    std::size_t winner = 0;
    int signal = 0;
    int error_number = 0;
    // Every call that succeeded, the winner included: a call may succeed while
    // the others are being cancelled, and its caller must undo it.
    std::vector<bool> succeeded;
};

// Runs each call on its own small thread, each sleeping in the kernel, and
// returns when the first succeeds, the deadline passes, or one of
// `stop_signals` is delivered to the process. The calling thread sleeps in
// sigtimedwait meanwhile. The remaining calls are then cancelled by a signal
// sent to their threads, and all threads are joined before returning.
//
// A stop signal is consumed (it ends the wait). Preconditions: the calling
// thread is the only thread that does not block `stop_signals`, or the
// signals must already be blocked everywhere (ScopedSignalMask in main).
WaitOutcome wait_for_first(const std::vector<BlockingCall>& calls, Deadline deadline,
                           const SignalSet& stop_signals);

}  // namespace plock
