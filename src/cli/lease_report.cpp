// LeaseReport: the log lines of a kept lease and the exit status of its run.
#include "cli/lease_report.hpp"

#include <algorithm>
#include <utility>

#include "cli/command_runner.hpp"
#include "cli/describe.hpp"
#include "cli/exit_code.hpp"
#include "cli/log.hpp"
#include "plock/sys/signals.hpp"

namespace plock::cli {

LeaseReport::LeaseReport(std::string lock, std::string holding_details, std::chrono::milliseconds lease,
                         StopPolicy stop)
    : m_lock(std::move(lock)), m_holding_details(std::move(holding_details)), m_lease(lease), m_stop(stop) {}

void LeaseReport::starting_command() {
    logger().debug("holding {} ({}), lease {}", m_lock, m_holding_details, format_seconds(m_lease));
}

void LeaseReport::renewal_failed(const std::string& error, Clock::duration stop_in) {
    logger().warn("cannot renew the lease on {} ({}); retrying, the command will be stopped in {} if no "
                  "renewal succeeds",
                  m_lock, error, format_seconds(std::max(stop_in, Clock::duration::zero())));
}

void LeaseReport::renewed_again() {
    logger().warn("renewed the lease on {} again", m_lock);
}

void LeaseReport::stopping_for_lease(bool lost, const std::string& why) {
    if (lost) {
        logger().error("lost {}: {}; stopping the command and every process it started (SIGTERM)", m_lock,
                       why);
    } else {
        logger().error("cannot renew the lease on {} ({}); stopping the command and every process it "
                       "started (SIGTERM) before the lease ends",
                       m_lock, why);
    }
}

void LeaseReport::killing_at_lease_end() {
    logger().error("the lease on {} ends now and processes of the command still run: killing them (SIGKILL)",
                   m_lock);
}

void LeaseReport::stopping_for_time_limit() {
    report_time_limit_reached(m_stop);
}

void LeaseReport::release_failed(const std::string& error, Clock::duration expires_in) {
    logger().warn("cannot release {} ({}); it expires within {}", m_lock, error,
                  format_seconds(std::max(expires_in, Clock::duration::zero())));
}

int LeaseReport::report_ending(const LeaseOutcome& outcome) const {
    switch (outcome.ending) {
    case LeaseOutcome::Ending::not_confirmed:
        logger().error("took {} but could not keep it: {}", m_lock, outcome.error);
        return exit_code::k_lock_lost;
    case LeaseOutcome::Ending::lease_not_kept:
        if (outcome.killed_after_grace) {
            logger().error("processes of the command still ran {} after SIGTERM{}: killed them (SIGKILL)",
                           format_seconds(outcome.grace),
                           outcome.grace < m_stop.grace ? ", as the lease on " + m_lock + " was about to end"
                                                        : std::string());
        }
        return exit_code::k_lock_lost;
    case LeaseOutcome::Ending::not_ours_at_release:
        logger().error("the command ended, but {} was no longer ours: another holder may have overlapped "
                       "with its run",
                       m_lock);
        return exit_code::k_lock_lost;
    case LeaseOutcome::Ending::time_limit:
        report_time_limit_kill(outcome.killed_after_grace, m_stop);
        return exit_code::k_time_limit;
    case LeaseOutcome::Ending::ended:
        break;
    }
    if (outcome.status->signaled()) {
        logger().debug("the command was killed by {}", signal_name(outcome.status->signal()));
    }
    return outcome.status->shell_status();
}

}  // namespace plock::cli
