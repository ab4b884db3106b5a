// Tests of LeaseKeeper against a fake clock, a fake lease and a fake command:
// waiting moves the fake clock to the deadline (or to when the command is
// scripted to end), so every time below is exact and nothing sleeps.
//
// Unless a test says otherwise: a 30 s lease granted at the start, renewed
// every 10 s, retried every 2.5 s after a failure, stopped at 22.5 s and
// killed at 29.698 s (the lease less its drift allowance) after the last
// renewal; renewals and releases take no time.
#include <catch2/catch.hpp>

#include <cerrno>
#include <csignal>
#include <deque>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "plock/lease/lease_keeper.hpp"
#include "plock/sys/error.hpp"

using namespace plock;
using namespace std::chrono_literals;
using std::chrono::milliseconds;

namespace {

const Clock::time_point k_start = Clock::time_point() + 1000s;

milliseconds since_start(Clock::time_point time) {
    return std::chrono::duration_cast<milliseconds>(time - k_start);
}

std::string text(Clock::duration duration) {
    return std::to_string(std::chrono::duration_cast<milliseconds>(duration).count()) + "ms";
}

class FakeClock final : public ClockSource {
public:
    Clock::time_point now() override { return m_now; }
    // Time only moves forward.
    void advance_to(Clock::time_point time) { m_now = std::max(m_now, time); }

private:
    Clock::time_point m_now = k_start;
};

class FakeLease final : public Lease {
public:
    enum class ReleaseAnswer { released, not_ours, unreachable };

    explicit FakeLease(FakeClock& clock) : m_clock(clock) {}

    RenewResult renew(Clock::time_point deadline) override {
        renewals.push_back(since_start(m_clock.now()));
        renewal_deadlines.push_back(since_start(deadline));
        RenewResult result;
        result.status = answers.empty() ? later_answers : answers.front();
        if (!answers.empty()) {
            answers.pop_front();
        }
        result.sent_at = m_clock.now();
        if (result.status == RenewResult::Status::lost) {
            result.error = "the key has expired";
        } else if (result.status == RenewResult::Status::unreachable) {
            result.error = "no answer " + std::to_string(renewals.size());
        }
        return result;
    }

    bool release(Clock::time_point deadline) override {
        releases.push_back(since_start(m_clock.now()));
        release_deadlines.push_back(since_start(deadline));
        if (release_answer == ReleaseAnswer::unreachable) {
            throw SystemError(Operation::reach, "redis://fake", ETIMEDOUT);
        }
        return release_answer == ReleaseAnswer::released;
    }

    void abandon() noexcept override { abandoned = true; }

    // Scripted: the answers to the first renewals, then `later_answers` to all.
    std::deque<RenewResult::Status> answers;
    RenewResult::Status later_answers = RenewResult::Status::renewed;
    ReleaseAnswer release_answer = ReleaseAnswer::released;

    // Recorded, as times since the start.
    std::vector<milliseconds> renewals;
    std::vector<milliseconds> renewal_deadlines;
    std::vector<milliseconds> releases;
    std::vector<milliseconds> release_deadlines;
    bool abandoned = false;

private:
    FakeClock& m_clock;
};

class FakeCommand final : public KeptCommand {
public:
    explicit FakeCommand(FakeClock& clock) : m_clock(clock) {}

    void start() override {
        started_at = since_start(m_clock.now());
        if (runs_for) {
            end_at(m_clock.now() + *runs_for, exit_code << 8, false);
        }
    }

    std::optional<ExitStatus> wait(Deadline until) override {
        if (m_end && (!until || m_end->time <= *until)) {
            m_clock.advance_to(m_end->time);
            m_over = true;
            return ExitStatus(m_end->wait_status);
        }
        if (!until) {
            throw std::logic_error("the keeper waits forever for a command that never ends");
        }
        m_clock.advance_to(*until);
        return std::nullopt;
    }

    void stop(std::chrono::nanoseconds grace) override {
        stops.emplace_back(since_start(m_clock.now()), std::chrono::duration_cast<milliseconds>(grace));
        if (supervisor_stuck) {
            return;
        }
        if (exits_after_sigterm && *exits_after_sigterm < grace) {
            end_at(m_clock.now() + *exits_after_sigterm, SIGTERM, false);
        } else {
            end_at(m_clock.now() + grace, SIGKILL, true);
        }
    }

    void kill_now() override {
        kills.push_back(since_start(m_clock.now()));
        end_at(m_clock.now(), SIGKILL, true);
    }

    bool killed_after_grace() const override { return m_over && m_end->killed; }

    // Scripted: how long the command runs by itself (nullopt: until stopped)
    // and its exit code then; how long its tree takes to end after SIGTERM
    // (nullopt: it outlasts any grace); whether stop() does nothing at all
    // (a supervisor held up).
    std::optional<Clock::duration> runs_for;
    int exit_code = 0;
    std::optional<Clock::duration> exits_after_sigterm = 1s;
    bool supervisor_stuck = false;

    // Recorded, as times since the start.
    std::optional<milliseconds> started_at;
    std::vector<std::pair<milliseconds, milliseconds>> stops;  // when, and the grace
    std::vector<milliseconds> kills;

private:
    struct End {
        Clock::time_point time;
        int wait_status;
        bool killed;
    };

    // The earliest of the ends scheduled is the one that happens.
    void end_at(Clock::time_point time, int wait_status, bool killed) {
        if (!m_end || time < m_end->time) {
            m_end = End{time, wait_status, killed};
        }
    }

    FakeClock& m_clock;
    std::optional<End> m_end;
    bool m_over = false;
};

// Each event as "<time since the start> <what>".
class RecordingObserver final : public LeaseObserver {
public:
    explicit RecordingObserver(FakeClock& clock) : m_clock(clock) {}

    void starting_command() override { record("starting the command"); }
    void renewal_failed(const std::string& error, Clock::duration stop_in) override {
        record("renewal failed (" + error + "), stopping in " + text(stop_in));
    }
    void renewed_again() override { record("renewed again"); }
    void stopping_for_lease(bool lost, const std::string& why) override {
        record(std::string(lost ? "lost" : "cannot renew") + " (" + why + "), stopping");
    }
    void killing_at_lease_end() override { record("killing at the lease end"); }
    void stopping_for_time_limit() override { record("stopping for the time limit"); }
    void release_failed(const std::string& error, Clock::duration expires_in) override {
        record("release failed (" + error + "), expires in " + text(expires_in));
    }

    std::vector<std::string> events;

private:
    void record(const std::string& event) { events.push_back(text(m_clock.now() - k_start) + " " + event); }

    FakeClock& m_clock;
};

struct Run {
    FakeClock clock;
    FakeLease lease{clock};
    FakeCommand command{clock};
    RecordingObserver observer{clock};
    LeaseKeeperSettings settings;

    Run() {
        settings.lease = 30s;
        settings.granted_at = k_start;
        settings.io_timeout = 2s;
        settings.grace = 5s;
    }

    LeaseOutcome keep() {
        LeaseKeeper keeper(lease, settings, clock, observer);
        return keeper.run(command);
    }
};

using Status = RenewResult::Status;
using Ending = LeaseOutcome::Ending;
using Stops = std::vector<std::pair<milliseconds, milliseconds>>;
using Times = std::vector<milliseconds>;
using Events = std::vector<std::string>;

}  // namespace

TEST_CASE("the lease is renewed every third of it while the command runs", "[lease_keeper]") {
    Run run;
    run.command.runs_for = 35s;
    const LeaseOutcome outcome = run.keep();
    CHECK(run.command.started_at == 0ms);
    CHECK(run.lease.renewals == Times{10s, 20s, 30s});
    CHECK(run.lease.renewal_deadlines == Times{12s, 22s, 32s});
    CHECK(run.command.stops.empty());
    CHECK(outcome.ending == Ending::ended);
    CHECK(run.observer.events == Events{"0ms starting the command"});
}

TEST_CASE("a renewal is cut to a quarter lease and to the moment the command would be stopped", "[lease_keeper]") {
    Run run;
    run.settings.io_timeout = 10s;
    run.lease.later_answers = Status::unreachable;
    run.keep();
    CHECK(run.lease.renewals == Times{10s, 12500ms, 15s, 17500ms, 20s});
    CHECK(run.lease.renewal_deadlines == Times{17500ms, 20s, 22500ms, 22500ms, 22500ms});
}

TEST_CASE("a command that ends by itself has the lease released and its status returned", "[lease_keeper]") {
    Run run;
    run.command.runs_for = 5s;
    run.command.exit_code = 3;
    const LeaseOutcome outcome = run.keep();
    CHECK(outcome.ending == Ending::ended);
    CHECK_FALSE(outcome.lease_lost());
    REQUIRE(outcome.status);
    CHECK(outcome.status->exited());
    CHECK(outcome.status->code() == 3);
    CHECK(run.lease.releases == Times{5s});
    CHECK(run.lease.release_deadlines == Times{7s});
    CHECK(run.lease.abandoned);
    CHECK(run.lease.renewals.empty());
}

TEST_CASE("a failed renewal is retried and the command runs on when a later one succeeds", "[lease_keeper]") {
    Run run;
    run.command.runs_for = 30s;
    run.lease.answers = {Status::unreachable, Status::unreachable, Status::renewed, Status::unreachable,
                         Status::renewed};
    const LeaseOutcome outcome = run.keep();
    CHECK(run.lease.renewals == Times{10s, 12500ms, 15s, 25s, 27500ms});
    CHECK(run.command.stops.empty());
    CHECK(run.command.kills.empty());
    CHECK(outcome.ending == Ending::ended);
    // Told once per run of failures, not for each attempt.
    CHECK(run.observer.events == Events{"0ms starting the command",
                                        "10000ms renewal failed (no answer 1), stopping in 12500ms",
                                        "15000ms renewed again",
                                        "25000ms renewal failed (no answer 4), stopping in 12500ms",
                                        "27500ms renewed again"});
    CHECK(run.lease.releases == Times{30s});
}

TEST_CASE("a lease never renewed stops the tree a quarter lease before its end with the grace cut to that end", "[lease_keeper]") {
    Run run;
    run.settings.grace = 10s;
    run.lease.later_answers = Status::unreachable;
    const LeaseOutcome outcome = run.keep();
    CHECK(run.lease.renewals == Times{10s, 12500ms, 15s, 17500ms, 20s});
    CHECK(run.command.stops == Stops{{22500ms, 7198ms}});
    CHECK(run.command.kills.empty());
    CHECK(outcome.ending == Ending::lease_not_kept);
    CHECK(outcome.lease_lost());
    CHECK_FALSE(outcome.lost);
    CHECK(outcome.error == "no answer 5");
    CHECK(outcome.grace == 7198ms);
    CHECK_FALSE(outcome.killed_after_grace);
    CHECK_FALSE(outcome.killed_at_lease_end);
    REQUIRE(outcome.status);
    CHECK(outcome.status->signal() == SIGTERM);
    CHECK(run.lease.releases.empty());
    CHECK(run.lease.abandoned);
    CHECK(run.observer.events == Events{"0ms starting the command",
                                        "10000ms renewal failed (no answer 1), stopping in 12500ms",
                                        "22500ms cannot renew (no answer 5), stopping"});
}

TEST_CASE("a grace shorter than the rest of the lease is kept and a tree that outlasts it is killed after it", "[lease_keeper]") {
    Run run;
    run.settings.grace = 2s;
    run.lease.later_answers = Status::unreachable;
    run.command.exits_after_sigterm = std::nullopt;
    const LeaseOutcome outcome = run.keep();
    CHECK(run.command.stops == Stops{{22500ms, 2s}});
    CHECK(outcome.ending == Ending::lease_not_kept);
    CHECK(outcome.grace == 2s);
    CHECK(outcome.killed_after_grace);
    CHECK_FALSE(outcome.killed_at_lease_end);
    CHECK(run.command.kills.empty());
}

TEST_CASE("a tree that still runs when the lease ends is killed then", "[lease_keeper]") {
    Run run;
    run.lease.later_answers = Status::unreachable;
    run.command.supervisor_stuck = true;
    const LeaseOutcome outcome = run.keep();
    CHECK(run.command.stops == Stops{{22500ms, 5s}});
    CHECK(run.command.kills == Times{29698ms});
    CHECK(outcome.ending == Ending::lease_not_kept);
    CHECK(outcome.killed_at_lease_end);
    CHECK_FALSE(outcome.killed_after_grace);
    REQUIRE(outcome.status);
    CHECK(outcome.status->signal() == SIGKILL);
    CHECK(run.observer.events.back() == "29698ms killing at the lease end");
}

TEST_CASE("a lease the server says is lost stops the tree at once", "[lease_keeper]") {
    Run run;
    run.settings.grace = 10s;
    run.lease.answers = {Status::renewed, Status::lost};
    run.command.exits_after_sigterm = std::nullopt;
    const LeaseOutcome outcome = run.keep();
    CHECK(run.lease.renewals == Times{10s, 20s});
    // Killed a quarter lease after the loss at the latest.
    CHECK(run.command.stops == Stops{{20s, 7500ms}});
    CHECK(outcome.ending == Ending::lease_not_kept);
    CHECK(outcome.lost);
    CHECK(outcome.error == "the key has expired");
    CHECK(outcome.killed_after_grace);
    CHECK(run.lease.releases.empty());
    CHECK(run.observer.events == Events{"0ms starting the command", "20000ms lost (the key has expired), stopping"});
}

TEST_CASE("the time limit stops the tree while the lease is still renewed", "[lease_keeper]") {
    Run run;
    run.settings.time_limit = 25s;
    run.settings.grace = 10s;
    run.command.exits_after_sigterm = 6s;
    const LeaseOutcome outcome = run.keep();
    CHECK(run.command.stops == Stops{{25s, 10s}});
    CHECK(run.lease.renewals == Times{10s, 20s, 30s});
    CHECK(outcome.ending == Ending::time_limit);
    CHECK_FALSE(outcome.lease_lost());
    CHECK_FALSE(outcome.killed_after_grace);
    CHECK(outcome.grace == 10s);
    CHECK(run.lease.releases == Times{31s});
    CHECK(run.observer.events == Events{"0ms starting the command", "25000ms stopping for the time limit"});
}

TEST_CASE("a tree that outlasts the grace of a time limit stop is killed and the run still ends at the time limit", "[lease_keeper]") {
    Run run;
    run.settings.granted_at = k_start - 5s;
    run.settings.time_limit = 3s;
    run.command.exits_after_sigterm = std::nullopt;
    const LeaseOutcome outcome = run.keep();
    CHECK(run.command.stops == Stops{{3s, 5s}});
    CHECK(outcome.ending == Ending::time_limit);
    CHECK(outcome.killed_after_grace);
    CHECK(run.lease.renewals == Times{5s});
}

TEST_CASE("a release that finds the lock no longer ours ends with the lease lost", "[lease_keeper]") {
    Run run;
    run.command.runs_for = 5s;
    run.lease.release_answer = FakeLease::ReleaseAnswer::not_ours;
    const LeaseOutcome outcome = run.keep();
    CHECK(outcome.ending == Ending::not_ours_at_release);
    CHECK(outcome.lease_lost());
    REQUIRE(outcome.status);
    CHECK(outcome.status->code() == 0);
    CHECK(run.lease.releases == Times{5s});
}

TEST_CASE("a release without an answer is told with the time left before the lease expires", "[lease_keeper]") {
    Run run;
    run.command.runs_for = 12s;
    run.lease.release_answer = FakeLease::ReleaseAnswer::unreachable;
    const LeaseOutcome outcome = run.keep();
    CHECK(outcome.ending == Ending::ended);
    CHECK(run.lease.abandoned);
    CHECK(run.observer.events ==
          Events{"0ms starting the command",
                 "12000ms release failed (cannot reach redis://fake: Connection timed out), expires in 28000ms"});
}

TEST_CASE("a grant that arrived late is confirmed before the command starts", "[lease_keeper]") {
    Run run;
    run.settings.granted_at = k_start - 11s;
    run.command.runs_for = 12s;
    const LeaseOutcome outcome = run.keep();
    CHECK(run.command.started_at == 0ms);
    // The confirmation is a renewal: the next one is due a third of the lease later.
    CHECK(run.lease.renewals == Times{0s, 10s});
    CHECK(outcome.ending == Ending::ended);
}

TEST_CASE("a late grant that cannot be confirmed starts nothing and ends as not confirmed", "[lease_keeper]") {
    for (const Status answer : {Status::unreachable, Status::lost}) {
        Run run;
        run.settings.granted_at = k_start - 10s;
        run.lease.answers = {answer};
        const LeaseOutcome outcome = run.keep();
        CHECK(outcome.ending == Ending::not_confirmed);
        CHECK(outcome.lease_lost());
        CHECK_FALSE(outcome.status);
        CHECK_FALSE(outcome.error.empty());
        CHECK_FALSE(run.command.started_at);
        CHECK(run.lease.abandoned);
        CHECK(run.lease.releases.empty());
        CHECK(run.observer.events.empty());
    }
}
