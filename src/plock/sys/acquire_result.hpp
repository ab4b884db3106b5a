// The outcome of taking a lock of any kind (file lock, Redis lock): a busy
// lock, a timeout or a signal that ends the wait are values, not errors.
#pragma once

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

}  // namespace plock
