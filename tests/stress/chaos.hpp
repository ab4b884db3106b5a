// The chaos harness: many contenders run the same plock command over and over
// (each doing a read-increment-write of a shared counter in its critical
// section, see chaos_worker.cpp) while a killer sends SIGKILL, SIGTERM and
// SIGSTOP (then SIGCONT) to random contenders and their children, and, for
// Redis, the server is restarted and paused past the lease. Afterwards the
// event log is checked:
//
//   overlaps      a run found the marker of a live holder, or two runs'
//                 inside intervals (CLOCK_MONOTONIC) intersect
//   chain         every value 1..C of the final counter C was written by
//                 exactly one run, and every run whose plock exited 0 is one of
//                 those writers: the counter equals the successful increments
//                 plus the increments of runs killed after their write (known
//                 by name, because the next run logs whom it read)
//   torn          the counter never failed to parse, in the runs or for an
//                 unlocked reader polling it while the chaos runs
//   leftovers     when all contenders have ended, no process that inherited
//                 this scenario's token in its environment is still alive
//
// Kills only ever reach processes this harness started: the contenders (our
// unreaped children) and their children read from /proc, signalled through a
// pidfd opened while they are still the contender's children.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace plock::test::chaos {

struct Scenario {
    std::string name;
    int contenders = 6;
    std::chrono::milliseconds duration{20000};
    // Longest random stay in the critical section, in microseconds.
    long hold_microseconds = 3000;
    bool kill = true;      // run the killer
    // The killer strikes every kill_interval / 3 to 5 kill_interval / 3.
    std::chrono::milliseconds kill_interval{60};
    // Signal only children that run the worker. For sanitizer builds:
    // LeakSanitizer's leak check at exit runs in a child process that stops
    // the parent's threads; killing that child hangs LSan (not plock) in a
    // sched_yield loop forever.
    bool only_worker_children = false;
    bool redis = false;    // start a redis-server, restart and pause it
    unsigned slots = 1;    // > 1: per-slot counters and markers (plock sem)
    std::chrono::milliseconds lease{2000};  // redis: --lease
    // The contender's argv for run RUN; `worker` is the worker's argv
    // (DIR RUN MODE HOLD) to put after "--"; `url` the Redis server's.
    std::function<std::vector<std::string>(const std::vector<std::string>& worker, const std::string& directory,
                                           const std::string& url)>
        command;
    std::string worker_mode = "file";  // file, slot or filter
    // The run lasts `duration`, and longer until it has started
    // minimum_iterations contenders, seen minimum_successes of them exit 0
    // (for redis: as many with no server restart while they ran), and, with
    // the killer, sent each of SIGKILL, SIGTERM and SIGSTOP (for redis: one
    // restart and one pause). A machine too slow for that in give_up_after
    // ends it short, and its checks fail.
    long minimum_iterations = 0;
    long minimum_successes = 0;
    std::chrono::milliseconds give_up_after{600'000};
};

struct Totals {
    std::string name;
    long iterations = 0;  // contenders started
    long successes = 0;   // contenders that exited 0
    std::map<int, long> statuses;  // exit status -> count
    long sigkill = 0, sigterm = 0, sigstop = 0;
    long increments = 0;           // the final counter (sum over slots)
    long unreported = 0;           // increments by runs that did not exit 0
    long marker_overlaps = 0;      // from the markers
    long interval_overlaps = 0;    // from the inside intervals
    long overlaps = 0;             // distinct overlapping pairs, not excused
    long excused_overlaps = 0;     // redis: pairs straddling a server restart
    long lost_increments = 0;      // successful runs missing from the chain
    long excused_lost = 0;         // redis: the same, overwritten by an excused overlap
    long chain_errors = 0;         // values written twice or missing
    long torn = 0;                 // counters that did not parse
    long bad_slots = 0;            // PLOCK_SLOT missing or out of range
    long leftovers = 0;            // processes alive after the end
    long orphans = 0;              // orphaned children reaped (their plock was killed)
    long unfinished = 0;           // contenders that did not end in time
    long restarts = 0, pauses = 0; // redis server faults
    long fencing_checked = 0;      // holders in the fencing check
    long fencing_violations = 0;
    double seconds = 0;
    std::vector<std::string> problems;  // human-readable details of failures

    std::string summary() const;  // one greppable line
};

Totals run_scenario(const Scenario& scenario);

// The worker binary and how long each scenario runs, from the environment:
// PLOCK_CHAOS_SECONDS (total for the five plock scenarios; quick mode when
// unset) and PLOCK_TEST_SANITIZED builds.
std::string worker_binary();
std::chrono::milliseconds scenario_duration();

}  // namespace plock::test::chaos
