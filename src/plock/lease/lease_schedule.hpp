// LeaseSchedule: when the holder of a lease on a remote lock renews it, and
// when it must stop relying on it, all on this machine's monotonic clock.
//
// A lease runs from the moment before the command that granted or renewed it
// was sent: the server started counting later than that, so by our clock the
// lease never ends later than it does for the server (as long as the two
// clocks run at about the same rate; drift_allowance() covers the rest).
//
//   renew      every lease/3 after the last successful renewal
//   retry      lease/12 after a failed attempt, until terminate_at
//   terminate  a quarter of the lease before it ends (SIGTERM the command)
//   kill       when the lease ends, less the drift allowance (SIGKILL)
// A lease known to be lost (the server says the lock is not ours) is
// terminated at once and killed a quarter lease later at the latest.
#pragma once

#include <chrono>

#include "plock/sys/wait.hpp"

namespace plock {

class LeaseSchedule {
public:
    LeaseSchedule(std::chrono::milliseconds lease, Clock::time_point granted_at) noexcept;

    // A renewal sent at `sent_at` was confirmed.
    void renewed(Clock::time_point sent_at) noexcept;
    // A renewal attempt at `now` got no answer: try again soon.
    void renewal_failed(Clock::time_point now) noexcept;
    // The server says the lock is no longer ours.
    void lost(Clock::time_point now) noexcept;

    std::chrono::milliseconds lease() const noexcept { return m_lease; }
    Clock::time_point expires_at() const noexcept { return m_expires_at; }
    Clock::time_point renew_at() const noexcept { return m_renew_at; }
    Clock::time_point terminate_at() const noexcept { return m_terminate_at; }
    Clock::time_point kill_at() const noexcept { return m_kill_at; }
    bool is_lost() const noexcept { return m_lost; }

    // For clocks that run at slightly different rates: 1% of the lease plus
    // 2 ms, as Redlock allows.
    std::chrono::milliseconds drift_allowance() const noexcept;
    std::chrono::milliseconds grace() const noexcept { return m_lease / 4; }

private:
    void extend(Clock::time_point sent_at) noexcept;

    std::chrono::milliseconds m_lease;
    Clock::time_point m_expires_at;
    Clock::time_point m_renew_at;
    Clock::time_point m_terminate_at;
    Clock::time_point m_kill_at;
    bool m_lost = false;
};

}  // namespace plock
