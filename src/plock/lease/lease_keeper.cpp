// LeaseKeeper: the renew / stop / kill / release state machine of a lease
// that covers a command's run.
#include "plock/lease/lease_keeper.hpp"

#include <algorithm>

#include "plock/sys/error.hpp"
#include "plock/sys/signals.hpp"

namespace plock {

void KeptChild::start() {
    m_child.emplace(ChildProcess::spawn(m_spec));
}

std::optional<ExitStatus> KeptChild::wait(Deadline until) {
    return m_child->wait(forwarded_signals(), until);
}

void KeptChild::stop(std::chrono::nanoseconds grace) {
    m_child->stop(grace);
}

void KeptChild::kill_now() {
    m_child->kill_now();
}

bool KeptChild::killed_after_grace() const {
    return m_child->killed_after_grace();
}

LeaseKeeper::LeaseKeeper(Lease& lease, const LeaseKeeperSettings& settings, ClockSource& clock,
                         LeaseObserver& observer)
    : m_lease(lease),
      m_settings(settings),
      m_clock(clock),
      m_observer(observer),
      m_schedule(settings.lease, settings.granted_at) {}

LeaseOutcome LeaseKeeper::run(KeptCommand& command) {
    if (m_clock.now() >= m_schedule.renew_at()) {
        // The grant took a third of the lease to arrive: confirm it first.
        const RenewResult renewal = m_lease.renew(renewal_deadline());
        if (renewal.status != RenewResult::Status::renewed) {
            m_lease.abandon();
            LeaseOutcome outcome;
            outcome.ending = LeaseOutcome::Ending::not_confirmed;
            outcome.error = renewal.error;
            return outcome;
        }
        m_schedule.renewed(renewal.sent_at);
    }

    m_observer.starting_command();
    command.start();
    if (m_settings.time_limit) {
        m_time_limit_at = m_clock.now() + std::chrono::duration_cast<Clock::duration>(*m_settings.time_limit);
    }
    std::optional<ExitStatus> status;
    while (!(status = command.wait(next_wake()))) {
        act(command, m_clock.now());
    }
    return m_stopping ? stopped(command, *status) : release(command, *status);
}

// Short enough to leave time for another attempt before terminate_at.
Clock::time_point LeaseKeeper::renewal_deadline() {
    const auto attempt = std::min<Clock::duration>(m_settings.io_timeout, m_settings.lease / 4);
    return std::min(m_clock.now() + attempt, m_schedule.terminate_at());
}

Deadline LeaseKeeper::next_wake() const {
    if (m_killed) {
        return std::nullopt;
    }
    if (m_stopping) {
        return m_schedule.kill_at();
    }
    auto next = std::min({m_schedule.kill_at(), m_schedule.terminate_at(), m_schedule.renew_at()});
    if (m_time_limit_at && !m_over_time) {
        next = std::min(next, *m_time_limit_at);
    }
    return next;
}

void LeaseKeeper::act(KeptCommand& command, Clock::time_point now) {
    if (!m_killed && now >= m_schedule.kill_at()) {
        m_observer.killing_at_lease_end();
        command.kill_now();
        m_killed = true;
        m_stopping = true;  // also when we were held up past terminate_at
    } else if (!m_stopping && now >= m_schedule.terminate_at()) {
        // SIGKILL by the time the lease ends at the latest.
        m_grace = std::min<std::chrono::nanoseconds>(m_settings.grace, m_schedule.kill_at() - now);
        m_observer.stopping_for_lease(m_schedule.is_lost(), m_trouble);
        command.stop(m_grace);
        m_stopping = true;
    } else if (m_time_limit_at && !m_over_time && !m_stopping && now >= *m_time_limit_at) {
        // The lease is still renewed while the tree stops.
        m_observer.stopping_for_time_limit();
        command.stop(m_settings.grace);
        m_over_time = true;
    } else if (!m_stopping && now >= m_schedule.renew_at()) {
        renew();
    }
}

void LeaseKeeper::renew() {
    const RenewResult renewal = m_lease.renew(renewal_deadline());
    switch (renewal.status) {
    case RenewResult::Status::renewed:
        if (!m_trouble.empty()) {
            m_observer.renewed_again();
            m_trouble.clear();
        }
        m_schedule.renewed(renewal.sent_at);
        return;
    case RenewResult::Status::lost:
        m_trouble = renewal.error;
        m_schedule.lost(m_clock.now());
        return;
    case RenewResult::Status::unreachable: {
        const auto now = m_clock.now();
        if (m_trouble.empty() && m_schedule.terminate_at() > now) {
            m_observer.renewal_failed(renewal.error, m_schedule.terminate_at() - now);
        }
        m_trouble = renewal.error;
        m_schedule.renewal_failed(now);
        return;
    }
    }
}

LeaseOutcome LeaseKeeper::stopped(KeptCommand& command, ExitStatus status) {
    m_lease.abandon();
    LeaseOutcome outcome;
    outcome.ending = LeaseOutcome::Ending::lease_not_kept;
    outcome.status = status;
    outcome.error = m_trouble;
    outcome.lost = m_schedule.is_lost();
    outcome.grace = m_grace;
    // A kill at the lease's end is not the stop's grace running out.
    outcome.killed_after_grace = command.killed_after_grace() && !m_killed;
    outcome.killed_at_lease_end = m_killed;
    return outcome;
}

LeaseOutcome LeaseKeeper::release(KeptCommand& command, ExitStatus status) {
    LeaseOutcome outcome;
    outcome.status = status;
    const auto now = m_clock.now();
    const auto deadline = std::min(now + m_settings.io_timeout, m_schedule.expires_at());
    try {
        // Not once the lease has run out by our clock: it is no one's then.
        if (deadline > now && !m_lease.release(deadline)) {
            outcome.ending = LeaseOutcome::Ending::not_ours_at_release;
            return outcome;
        }
    } catch (const SystemError& error) {
        m_observer.release_failed(error.what(),
                                  std::max(m_schedule.expires_at() - m_clock.now(), Clock::duration::zero()));
    }
    m_lease.abandon();
    if (m_over_time) {
        outcome.ending = LeaseOutcome::Ending::time_limit;
        outcome.grace = m_settings.grace;
        outcome.killed_after_grace = command.killed_after_grace();
    }
    return outcome;
}

}  // namespace plock
