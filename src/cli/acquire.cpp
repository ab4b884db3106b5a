// WaitReport: the one wording of taking a lock.
#include "cli/acquire.hpp"

#include <utility>

#include "cli/describe.hpp"
#include "cli/exit_code.hpp"
#include "cli/log.hpp"

namespace plock::cli {

WaitReport::WaitReport(LockWording wording, const WaitPolicy& wait, int conflict_exit_code, bool quiet_conflict)
    : m_wording(std::move(wording)),
      m_wait(wait),
      m_conflict_exit_code(conflict_exit_code),
      m_quiet_conflict(quiet_conflict),
      m_start(Clock::now()),
      m_plan{wait.nonblocking, wait.deadline_from(m_start)} {}

std::chrono::nanoseconds WaitReport::waited() const { return Clock::now() - m_start; }

BeforeWait WaitReport::before_wait() const {
    return [this] {
        m_waited = true;
        if (logger().should_log(LogLevel::info)) {
            logger().info("waiting for {} ({}), {}", m_wording.target, m_wait.describe(), m_wording.holders());
        }
    };
}

int WaitReport::conflict(const std::function<std::string()>& message) const {
    const LogLevel level = m_quiet_conflict ? LogLevel::info : conflict_level(m_conflict_exit_code);
    if (logger().should_log(level)) {
        logger().log(level, "{}", message());
    }
    return m_conflict_exit_code;
}

std::optional<int> WaitReport::outcome(const AcquireResult& result) const {
    switch (result.status) {
    case AcquireResult::Status::acquired:
        if (m_waited) {
            logger().info("acquired {} after {}", m_wording.target, format_seconds(waited()));
        }
        return std::nullopt;
    case AcquireResult::Status::interrupted:
        logger().info("{} ended the wait for {}", signal_name(result.signal), m_wording.target);
        return exit_code::k_signal_base + result.signal;
    case AcquireResult::Status::busy:
        return conflict(m_wording.busy);
    case AcquireResult::Status::timed_out:
        break;
    }
    const std::string waited_for = format_seconds(waited());
    return conflict(
        [&] { return "timed out after " + waited_for + " waiting for " + m_wording.target + ", " + m_wording.holders(); });
}

}  // namespace plock::cli
