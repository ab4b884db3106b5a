// Lease: a lock held on a server for a limited time, kept by renewing it
// (Redis now, etcd next). What every backend's lock offers LeaseKeeper.
#pragma once

#include <string>

#include "plock/sys/wait.hpp"

namespace plock {

struct RenewResult {
    enum class Status {
        renewed,
        lost,         // the server answered: the lock is not ours any more
        unreachable,  // no answer; `error` says why
    };
    Status status = Status::unreachable;
    Clock::time_point sent_at;  // renewed: the new lease runs from here
    std::string error;
};

class Lease {
public:
    virtual ~Lease() = default;

    // Extends the lease if it is still ours, answering by `deadline`; never
    // throws for failures of the server or the network.
    virtual RenewResult renew(Clock::time_point deadline) = 0;
    // Gives the lease back; false when it was not ours any more. Throws
    // SystemError when the server cannot be reached before `deadline`.
    virtual bool release(Clock::time_point deadline) = 0;
    // Forgets the lease without telling the server (it is lost or expiring).
    virtual void abandon() noexcept = 0;
};

}  // namespace plock
