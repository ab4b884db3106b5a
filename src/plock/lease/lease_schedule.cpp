// LeaseSchedule: the renewal and termination times of a lease.
#include "plock/lease/lease_schedule.hpp"

#include <algorithm>

namespace plock {

LeaseSchedule::LeaseSchedule(std::chrono::milliseconds lease, Clock::time_point granted_at) noexcept
    : m_lease(lease) {
    extend(granted_at);
}

std::chrono::milliseconds LeaseSchedule::drift_allowance() const noexcept {
    return m_lease / 100 + std::chrono::milliseconds(2);
}

void LeaseSchedule::extend(Clock::time_point sent_at) noexcept {
    m_expires_at = sent_at + m_lease;
    m_renew_at = sent_at + m_lease / 3;
    m_kill_at = m_expires_at - drift_allowance();
    m_terminate_at = m_expires_at - grace();
}

void LeaseSchedule::renewed(Clock::time_point sent_at) noexcept {
    if (!m_lost) {
        extend(sent_at);
    }
}

void LeaseSchedule::renewal_failed(Clock::time_point now) noexcept {
    m_renew_at = now + m_lease / 12;
}

void LeaseSchedule::lost(Clock::time_point now) noexcept {
    m_lost = true;
    m_terminate_at = std::min(m_terminate_at, now);
    m_kill_at = std::min(m_kill_at, now + grace());
    m_renew_at = Clock::time_point::max();
}

}  // namespace plock
