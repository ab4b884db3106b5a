// LeaseKeeper: runs a command while keeping the lease on a remote lock, and
// stops the command's whole tree before the lease can end unless renewed.
//
// It renews the lease on its LeaseSchedule and retries failed renewals; when
// no renewal succeeds, it stops the tree (SIGTERM, then SIGKILL after the
// grace) a quarter lease before the lease ends, at once when the server says
// the lock is no longer ours, and kills what is left when the lease ends. A
// time limit stops the tree too, while the lease is still renewed. At the end
// it releases the lease it kept. What happens on the way is told to a
// LeaseObserver; how the run ended is returned as a LeaseOutcome.
//
// The lease, the command and the clock are interfaces, so the whole state
// machine can be tested with fakes, without waiting and without timing luck.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <utility>

#include "plock/child/child.hpp"
#include "plock/lease/lease.hpp"
#include "plock/lease/lease_schedule.hpp"
#include "plock/sys/wait.hpp"

namespace plock {

class ClockSource {
public:
    virtual ~ClockSource() = default;
    virtual Clock::time_point now() = 0;
};

// The monotonic clock that LeaseSchedule's times are on.
class SteadyClockSource final : public ClockSource {
public:
    Clock::time_point now() override { return Clock::now(); }
};

// The command whose run the lease covers; see ChildProcess for what each call
// means. start() is called once, before any other.
class KeptCommand {
public:
    virtual ~KeptCommand() = default;
    virtual void start() = 0;
    // The status once the run is over, or nullopt when `until` has passed.
    virtual std::optional<ExitStatus> wait(Deadline until) = 0;
    // SIGTERM to the whole tree, SIGKILL to what is left after `grace`.
    virtual void stop(std::chrono::nanoseconds grace) = 0;
    // SIGKILL to the whole tree now.
    virtual void kill_now() = 0;
    // True when the tree had to be killed (after the grace, or kill_now()).
    virtual bool killed_after_grace() const = 0;
};

// A KeptCommand that is a ChildProcess started from `spec`, forwarding
// forwarded_signals() to it while it is waited for (the caller blocks them).
class KeptChild final : public KeptCommand {
public:
    explicit KeptChild(CommandSpec spec) : m_spec(std::move(spec)) {}

    void start() override;
    std::optional<ExitStatus> wait(Deadline until) override;
    void stop(std::chrono::nanoseconds grace) override;
    void kill_now() override;
    bool killed_after_grace() const override;

private:
    CommandSpec m_spec;
    std::optional<ChildProcess> m_child;
};

// What happens while the lease is kept, as it happens. Each call is made at
// most once per run unless it says otherwise.
class LeaseObserver {
public:
    virtual ~LeaseObserver() = default;
    // The lease is ours (confirmed first if the grant came late): the command
    // starts now.
    virtual void starting_command() = 0;
    // A renewal got no answer (`error` says why); the keeper retries, and
    // stops the command in `stop_in` unless a renewal succeeds. Once per run
    // of failures, not for each attempt; not when it is already time to stop.
    virtual void renewal_failed(const std::string& error, Clock::duration stop_in) = 0;
    // A renewal succeeded after renewal_failed: the command runs on. Again
    // after each run of failures.
    virtual void renewed_again() = 0;
    // The lease cannot be kept: the command's whole tree is being stopped.
    // `lost`: the server said the lock is no longer ours; otherwise no renewal
    // succeeded in time. `why`: the last renewal's error.
    virtual void stopping_for_lease(bool lost, const std::string& why) = 0;
    // The lease ends now and the tree is still running: it is killed.
    virtual void killing_at_lease_end() = 0;
    // The command ran past its time limit: its tree is being stopped, while
    // the lease is still renewed.
    virtual void stopping_for_time_limit() = 0;
    // The command ended but the lease could not be given back (`error`); the
    // server lets it go in `expires_in` at the latest.
    virtual void release_failed(const std::string& error, Clock::duration expires_in) = 0;
};

struct LeaseKeeperSettings {
    std::chrono::milliseconds lease{};
    Clock::time_point granted_at;  // the moment before the granting request was sent
    // The longest one renewal or release may take (a renewal is also cut to
    // a quarter lease, to leave time for another before the command is stopped).
    Clock::duration io_timeout{};
    // From the command's start: stop its tree when it runs longer.
    std::optional<std::chrono::nanoseconds> time_limit;
    // Between SIGTERM and SIGKILL when the tree is stopped.
    std::chrono::nanoseconds grace{};
};

struct LeaseOutcome {
    enum class Ending {
        ended,                // the command ended by itself, under a lease kept to the end
        time_limit,           // it ran past its time limit and its tree was stopped
        lease_not_kept,       // its tree was stopped because the lease could not be renewed
        not_ours_at_release,  // it ended, but at release the lock was no longer ours
        not_confirmed,        // a grant that came late could not be confirmed: nothing ran
    };
    Ending ending = Ending::ended;
    std::optional<ExitStatus> status;  // the command's; nullopt for not_confirmed
    // not_confirmed, lease_not_kept: why the last renewal failed.
    std::string error;
    // lease_not_kept: the server said the lock was no longer ours.
    bool lost = false;
    // The grace the stop gave the tree: for a lease not kept, cut short to
    // end by the time the lease does.
    std::chrono::nanoseconds grace{};
    // The tree outlasted that grace and was killed (SIGKILL).
    bool killed_after_grace = false;
    // lease_not_kept: the tree still ran as the lease ended and was killed then.
    bool killed_at_lease_end = false;

    // Whether the lock may have been held by another while the command ran
    // (or would have, had it started).
    bool lease_lost() const noexcept {
        return ending == Ending::lease_not_kept || ending == Ending::not_ours_at_release ||
               ending == Ending::not_confirmed;
    }
};

class LeaseKeeper {
public:
    LeaseKeeper(Lease& lease, const LeaseKeeperSettings& settings, ClockSource& clock, LeaseObserver& observer);
    LeaseKeeper(const LeaseKeeper&) = delete;
    LeaseKeeper& operator=(const LeaseKeeper&) = delete;

    // Starts `command` and keeps the lease until its run is over, then gives
    // the lease back (or abandons one that is lost). Once per keeper. Throws
    // what command.start() throws (the lease is still held then).
    LeaseOutcome run(KeptCommand& command);

private:
    Clock::time_point renewal_deadline();
    Deadline next_wake() const;
    void act(KeptCommand& command, Clock::time_point now);
    void renew();
    LeaseOutcome stopped(KeptCommand& command, ExitStatus status);
    LeaseOutcome release(KeptCommand& command, ExitStatus status);

    Lease& m_lease;
    LeaseKeeperSettings m_settings;
    ClockSource& m_clock;
    LeaseObserver& m_observer;
    LeaseSchedule m_schedule;
    Deadline m_time_limit_at;
    bool m_stopping = false;   // stopping the tree: the lease cannot be kept
    bool m_killed = false;     // killed the tree: the lease ended
    bool m_over_time = false;  // stopping the tree: it ran past its time limit
    std::chrono::nanoseconds m_grace{};  // of the stop for a lease that cannot be kept
    std::string m_trouble;     // why the last renewal failed; empty after a success
};

}  // namespace plock
