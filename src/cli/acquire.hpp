// What every subcommand says while it takes its lock, in one wording: the
// lock found busy, "waiting for ...", "acquired ... after ...", "timed out
// after ... waiting for ...", "SIGINT ended the wait for ...", and the exit
// status each outcome gives. The lock's kind supplies only its nouns.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "cli/options.hpp"
#include "plock/sys/acquire_result.hpp"

namespace plock::cli {

// How the messages name one lock and its holders.
struct LockWording {
    // What is waited for: "exclusive lock on /l", "a slot of semaphore s in
    // /d", "/run/web.pid", "plock:deploy on redis://10.0.0.5:6379".
    std::string target;
    // The lock found busy, as one sentence: "/l is locked by PID 12 (sleep 9)".
    std::function<std::string()> busy;
    // Who holds it, after a comma: "held by PID 12 (sleep 9)". Only asked
    // when the message is printed (it may read /proc or ask a server).
    std::function<std::string()> holders;
};

// One acquisition's report; the wait starts when it is made.
class WaitReport {
public:
    // `quiet_conflict`: a busy lock is the answer, not a problem (plock try
    // without a command): said only with -v.
    WaitReport(LockWording wording, const WaitPolicy& wait, int conflict_exit_code, bool quiet_conflict = false);

    // The plan for the library's take(): its deadline counts from now.
    const WaitPlan& plan() const noexcept { return m_plan; }
    // Says "waiting for ..." (-v) when the wait starts.
    BeforeWait before_wait() const;
    // nullopt when the lock is ours (-v, after a wait: "acquired ... after ..."); else the
    // exit status the run ends with, after saying why: the conflict code for
    // a busy lock or a timeout, 128+N for signal N.
    std::optional<int> outcome(const AcquireResult& result) const;
    // The conflict code, after saying `message` at the conflict's level;
    // `message` (which may read /proc or ask a server) only runs when the
    // line is printed.
    int conflict(const std::function<std::string()>& message) const;

    std::chrono::nanoseconds waited() const;
    const LockWording& wording() const noexcept { return m_wording; }

private:
    LockWording m_wording;
    WaitPolicy m_wait;
    int m_conflict_exit_code;
    bool m_quiet_conflict;
    Clock::time_point m_start;
    WaitPlan m_plan;
    mutable bool m_waited = false;  // before_wait() was told
};

}  // namespace plock::cli
