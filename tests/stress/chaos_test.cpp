// The chaos suite: exec, sem, pidguard, update and redis under SIGKILL,
// SIGTERM and SIGSTOP/SIGCONT of random plock processes and their children
// (and, for redis, server restarts and pauses past the lease), plus a
// self-test proving that the detectors do fail when nothing excludes.
//
// Quick mode by default (20 s a scenario); PLOCK_CHAOS_SECONDS=N gives the
// five plock scenarios N seconds together (the long mode: .ci/chaos --long
// sets 600). See tests/stress/README.md.
#include <catch2/catch.hpp>

#include <iostream>
#include <set>

#include "chaos.hpp"
#include "test_support.hpp"

namespace plock::test::chaos {
namespace {

constexpr int k_contenders = 6;
// The least a scenario must get through to prove something. A scenario runs
// until it has (Scenario::minimum_iterations), so these do not depend on how
// fast the machine is; a sanitized plock starts in a third of a second, and
// the smaller numbers there keep its runs near the quick suite's 20 s.
constexpr long k_minimum_iterations = PLOCK_TEST_SANITIZED ? 20 : 40;
constexpr long k_minimum_successes = PLOCK_TEST_SANITIZED ? 10 : 20;

// The sums over the plock scenarios run by this process, printed at exit as
// "chaos overall: ...".
struct Overall {
    Totals sum;
    int scenarios = 0;
    ~Overall() {
        if (scenarios > 0) {
            sum.name = "overall";
            std::cout << sum.summary() << " scenarios=" << scenarios << std::endl;
        }
    }
    void add(const Totals& totals) {
        ++scenarios;
        sum.iterations += totals.iterations;
        sum.successes += totals.successes;
        for (const auto& [status, count] : totals.statuses) sum.statuses[status] += count;
        sum.sigkill += totals.sigkill;
        sum.sigterm += totals.sigterm;
        sum.sigstop += totals.sigstop;
        sum.increments += totals.increments;
        sum.unreported += totals.unreported;
        sum.marker_overlaps += totals.marker_overlaps;
        sum.interval_overlaps += totals.interval_overlaps;
        sum.overlaps += totals.overlaps;
        sum.excused_overlaps += totals.excused_overlaps;
        sum.lost_increments += totals.lost_increments;
        sum.excused_lost += totals.excused_lost;
        sum.chain_errors += totals.chain_errors;
        sum.torn += totals.torn;
        sum.bad_slots += totals.bad_slots;
        sum.leftovers += totals.leftovers;
        sum.orphans += totals.orphans;
        sum.unfinished += totals.unfinished;
        sum.restarts += totals.restarts;
        sum.pauses += totals.pauses;
        sum.fencing_checked += totals.fencing_checked;
        sum.fencing_violations += totals.fencing_violations;
        sum.seconds += totals.seconds;
    }
};
Overall g_overall;

Totals run_and_report(const Scenario& scenario) {
    Totals totals = run_scenario(scenario);
    std::cout << totals.summary() << std::endl;
    for (const auto& problem : totals.problems) std::cout << "  problem: " << problem << "\n";
    if (scenario.kill) g_overall.add(totals);
    return totals;
}

// What every scenario must show: no overlap, no lost or doubled increment,
// no torn file, no process left behind, and enough chaos to mean something.
void check(const Totals& totals, const std::set<int>& allowed_statuses) {
    std::string problems;
    for (const auto& problem : totals.problems) problems += "\n  " + problem;
    INFO(totals.summary() << problems);
    CHECK(totals.overlaps == 0);
    CHECK(totals.lost_increments == 0);
    CHECK(totals.chain_errors == 0);
    CHECK(totals.torn == 0);
    CHECK(totals.bad_slots == 0);
    CHECK(totals.leftovers == 0);
    CHECK(totals.unfinished == 0);
    CHECK(totals.fencing_violations == 0);
    // Exact: every success is in the counter, and so is every run killed
    // after its write (named by its successor's read).
    CHECK(totals.increments == totals.successes - totals.excused_lost + totals.unreported);
    for (const auto& [status, count] : totals.statuses) {
        INFO("exit status " << status << " (" << count << " runs) is not one this scenario can end with");
        CHECK(allowed_statuses.count(status) == 1);
    }
    // Enough happened for the run to prove something.
    CHECK(totals.iterations >= k_minimum_iterations);
    CHECK(totals.successes >= k_minimum_successes);
    CHECK(totals.sigkill > 0);
    CHECK(totals.sigterm > 0);
    CHECK(totals.sigstop > 0);
}

Scenario base(const std::string& name) {
    Scenario scenario;
    scenario.name = name;
    scenario.contenders = k_contenders;
    scenario.duration = scenario_duration();
    scenario.minimum_iterations = k_minimum_iterations;
    scenario.minimum_successes = k_minimum_successes;
    scenario.give_up_after = std::max(std::chrono::milliseconds(600'000), scenario.duration * 10);
    // Under the sanitizers a plock start costs a third of a second: strike
    // less often, so that enough runs still get through.
    scenario.kill_interval = std::chrono::milliseconds(PLOCK_TEST_SANITIZED ? 300 : 60);
    scenario.only_worker_children = PLOCK_TEST_SANITIZED;
    return scenario;
}

// Statuses of a contender: done, its command killed by SIGKILL or SIGTERM,
// or plock itself killed.
const std::set<int> k_killed_or_done{0, 137, 143};

}  // namespace

TEST_CASE("chaos self-test: without a lock the detectors report overlaps and lost increments") {
    Scenario scenario;
    scenario.name = "selftest";
    scenario.contenders = k_contenders;
    scenario.duration = std::chrono::seconds(3);
    scenario.kill = false;
    scenario.command = [](const std::vector<std::string>& worker, const std::string&, const std::string&) {
        return worker;  // no plock at all
    };
    const Totals totals = run_and_report(scenario);
    INFO(totals.summary());
    CHECK(totals.marker_overlaps > 0);
    CHECK(totals.interval_overlaps > 0);
    CHECK(totals.overlaps > 0);
    CHECK(totals.lost_increments + totals.chain_errors > 0);
    CHECK(totals.increments < totals.successes);
}

TEST_CASE("chaos exec: killed and stopped contenders never overlap nor lose an increment") {
    Scenario scenario = base("exec");
    scenario.command = [](const std::vector<std::string>& worker, const std::string& directory, const std::string&) {
        std::vector<std::string> argv{plock_binary(), "exec", "-w", "60", directory + "/lock", "--"};
        argv.insert(argv.end(), worker.begin(), worker.end());
        return argv;
    };
    check(run_and_report(scenario), k_killed_or_done);
}

TEST_CASE("chaos sem: killed and stopped contenders never put two in one slot nor lose an increment") {
    Scenario scenario = base("sem");
    scenario.slots = 2;
    scenario.worker_mode = "slot";
    scenario.command = [](const std::vector<std::string>& worker, const std::string& directory, const std::string&) {
        std::vector<std::string> argv{plock_binary(), "sem", "-n", "2", "--dir", directory, "-w", "60", "chaos", "--"};
        argv.insert(argv.end(), worker.begin(), worker.end());
        return argv;
    };
    check(run_and_report(scenario), k_killed_or_done);
}

TEST_CASE("chaos pidguard: killed and stopped guards never run two instances nor lose an increment") {
    Scenario scenario = base("pidguard");
    scenario.command = [](const std::vector<std::string>& worker, const std::string& directory, const std::string&) {
        std::vector<std::string> argv{plock_binary(), "pidguard", "-w", "60", directory + "/chaos.pid", "--"};
        argv.insert(argv.end(), worker.begin(), worker.end());
        return argv;
    };
    check(run_and_report(scenario), k_killed_or_done);
}

TEST_CASE("chaos update: killed and stopped updates never lose an increment nor tear the file") {
    Scenario scenario = base("update");
    scenario.worker_mode = "filter";
    scenario.command = [](const std::vector<std::string>& worker, const std::string& directory, const std::string&) {
        std::vector<std::string> argv{plock_binary(), "update", "-w", "60", directory + "/counter.c", "--"};
        argv.insert(argv.end(), worker.begin(), worker.end());
        return argv;
    };
    check(run_and_report(scenario), k_killed_or_done);
}

TEST_CASE("chaos redis: kills and server restarts and pauses past the lease never overlap holders of one server") {
    Scenario scenario = base("redis");
    scenario.redis = true;
    scenario.command = [](const std::vector<std::string>& worker, const std::string&, const std::string& url) {
        std::vector<std::string> argv{plock_binary(), "redis", "--url", url, "--lease", "2", "-w", "30", "chaos", "--"};
        argv.insert(argv.end(), worker.begin(), worker.end());
        return argv;
    };
    // Besides the above: 69 (server unreachable at start, e.g. restarting),
    // 75 (the wait timed out behind a paused server), 79 (lock lost).
    const Totals totals = run_and_report(scenario);
    check(totals, {0, 69, 75, 79, 137, 143});
    CHECK(totals.restarts > 0);
    CHECK(totals.pauses > 0);
    CHECK(totals.fencing_checked >= k_minimum_successes);
}

}  // namespace plock::test::chaos
