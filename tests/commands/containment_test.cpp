// Integration tests of containment: the command is a tree of processes
// (a background job, a setsid'd process, a double-forked orphan), and when
// plock must stop it, it stops all of it; where it need not, nothing is
// killed. Also --time-limit and --grace.
#include <catch2/catch.hpp>

#include <signal.h>

#include <cstdio>
#include <thread>

#include "command_tree.hpp"
#include "cli/exit_code.hpp"
#include "test_support.hpp"

using namespace plock;
using namespace plock::test;

namespace {

using Names = std::vector<std::string>;

// The lock is free for flock(1) (which shares flock(2) locks with plock).
bool lock_is_free(const std::string& lock) {
    return run({"flock", "-n", lock, "true"}).status == 0;
}

// The processes of the tree that ran at the moment the lock was let go, as
// a plock waiting for the lock sees them when it gets it.
Process start_probe(const TempDir& directory, const std::string& lock, const CommandTree& tree) {
    Process waiter = Process::start_plock({"exec", "-v", "-w", "60", lock, "-c", tree.probe(directory / "probe")});
    REQUIRE(wait_until([&] { return waiter.err().find("waiting") != std::string::npos; }));
    return waiter;
}

Names probed(Process& waiter, const TempDir& directory) {
    REQUIRE(waiter.wait() == 0);
    return lines_of(read_file(directory / "probe"));
}

}  // namespace

TEST_CASE("with -o SIGKILL of plock kills the whole tree before the lock is let go", "[containment]") {
    const char* subcommands[] = {"exec", "try", "sem"};
    for (const std::string subcommand : subcommands) {
        INFO("plock " << subcommand);
        TempDir directory;
        CommandTree tree(directory, CommandTree::OnTerm::ignore);
        // The command itself is slow to die: a process that has written to
        // half a gigabyte takes a while to tear down after SIGKILL, long
        // enough for the probe below to see it should the lock pass first.
        const std::string heavy_ready = directory / "heavy.ready";
        const std::string script = tree.script(
            "exec python3 -c \"b = b'x' * (1 << 29); open('" + heavy_ready +
            "', 'w').close(); import time; time.sleep(300)\"");
        const std::string lock = subcommand == "sem" ? directory / "pool.00.lock" : directory / "o.lock";
        const std::vector<std::string> arguments =
            subcommand == "sem" ? std::vector<std::string>{"sem", "-n", "1", "--dir", directory.path(), "-o", "pool",
                                                            "-c", script}
                                : std::vector<std::string>{subcommand, "-o", lock, "-c", script};
        Process plock = Process::start_plock(arguments);
        REQUIRE(tree.wait_started());
        REQUIRE(wait_until([&] { return exists(heavy_ready); }));
        CHECK_FALSE(lock_is_free(lock));
        Process next = start_probe(directory, lock, tree);
        plock.signal(SIGKILL);
        CHECK(plock.wait() == 128 + SIGKILL);
        // The tree ignores SIGTERM and left plock's process group and session:
        // only the supervisor's SIGKILL ends it, before the lock passes.
        CHECK(probed(next, directory) == Names{});
        CHECK(tree.running() == Names{});
    }
}

TEST_CASE("without -o SIGKILL of plock kills nothing and the tree keeps the lock", "[containment]") {
    TempDir directory;
    CommandTree tree(directory, CommandTree::OnTerm::exit);
    const std::string lock = directory / "inherit.lock";
    Process plock = Process::start_plock({"exec", lock, "-c", tree.script()});
    REQUIRE(tree.wait_started());
    plock.signal(SIGKILL);
    CHECK(plock.wait() == 128 + SIGKILL);
    CHECK(tree.running() == CommandTree::names());
    CHECK(run_plock({"try", lock, "--", "true"}).status == exit_code::k_conflict);
}

TEST_CASE("with -o a daemon the command started outlives its normal end and does not hold the lock", "[containment]") {
    TempDir directory;
    CommandTree tree(directory, CommandTree::OnTerm::exit);
    const std::string lock = directory / "daemon.lock";
    const Result result = run_plock({"exec", "-o", lock, "-c", tree.script("exit 3")});
    CHECK(result.status == 3);
    REQUIRE(tree.wait_started());
    CHECK(tree.running() == Names{"background", "setsid", "orphan"});
    CHECK(lock_is_free(lock));
}

TEST_CASE("a normal end of plock exec leaves the background processes running with the lock", "[containment]") {
    TempDir directory;
    CommandTree tree(directory, CommandTree::OnTerm::exit);
    const std::string lock = directory / "leftovers.lock";
    const Result result = run_plock({"exec", lock, "-c", tree.script("exit 0")});
    CHECK(result.status == 0);
    REQUIRE(tree.wait_started());
    CHECK(tree.running() == Names{"background", "setsid", "orphan"});
    CHECK_FALSE(lock_is_free(lock));  // they inherited it
}

TEST_CASE("option --time-limit stops every process of the tree with SIGTERM and exits 124", "[containment]") {
    TempDir directory;
    CommandTree tree(directory, CommandTree::OnTerm::record_and_exit);
    const std::string lock = directory / "limit.lock";
    const Result result = run_time_limited(tree, {"exec", "-v", "--time-limit", "LIMIT", lock, "-c", tree.script()});
    CHECK(result.status == exit_code::k_time_limit);
    REQUIRE(tree.has_started());
    // plock returns only once the supervisor has seen the whole tree end.
    CHECK(tree.running().empty());
    for (const std::string& name : CommandTree::names()) {
        INFO(name);
        CHECK(tree.got_term(name));
    }
    CHECK_THAT(result.err, Catch::Contains("ran longer than its time limit"));
    CHECK(lock_is_free(lock));
}

TEST_CASE("option --time-limit kills a tree that ignores SIGTERM after --grace", "[containment]") {
    TempDir directory;
    CommandTree tree(directory, CommandTree::OnTerm::ignore);
    const std::string lock = directory / "stubborn.lock";
    const Result result =
        run_time_limited(tree, {"exec", "--time-limit", "LIMIT", "--grace", "0.5", lock, "-c", tree.script()});
    CHECK(result.status == exit_code::k_time_limit);
    REQUIRE(tree.has_started());
    CHECK(tree.running().empty());
    CHECK(lock_is_free(lock));
    // SIGKILL comes only after the grace period: the run lasted at least
    // the shortest time limit and the grace.
    CHECK(result.elapsed >= std::chrono::milliseconds(750));
}

TEST_CASE("a command that ends within its time limit keeps its own status", "[containment]") {
    TempDir directory;
    const Result result = run_plock({"exec", "--time-limit", "60", directory / "in-time.lock", "--", "sh", "-c", "exit 7"});
    CHECK(result.status == 7);
    CHECK(result.err.empty());
}

TEST_CASE("the lock wait and the time limit are separate clocks", "[containment]") {
    TempDir directory;
    const std::string lock = directory / "clocks.lock";
    Gate gate(directory);
    Process holder = hold_lock({"flock", lock}, gate);
    // The waiter waits longer than its time limit before it gets the lock;
    // the limit counts from the command's start, so a quick command is not
    // stopped. The limit is 2 s, not a fraction of one: the command (sh
    // exiting at once) must end within it, which a slow or loaded machine
    // might not do in 0.2 s.
    Process waiter = Process::start_plock({"exec", "-v", "-w", "60", "--time-limit", "2", lock, "--", "sh", "-c", "exit 5"});
    REQUIRE(wait_until([&] { return waiter.err().find("waiting") != std::string::npos; }));
    std::this_thread::sleep_for(2500ms);  // longer than the time limit, on purpose
    gate.open();
    CHECK(waiter.wait() == 5);
    // And a command that runs past it is stopped, however short the wait was.
    CommandTree tree(directory, CommandTree::OnTerm::exit);
    CHECK(run_time_limited(tree, {"exec", "-w", "60", "--time-limit", "LIMIT", lock, "-c", tree.script()}).status ==
          exit_code::k_time_limit);
    REQUIRE(tree.has_started());
    CHECK(tree.running().empty());
}

TEST_CASE("sem and pidguard and try stop the whole tree at their time limit", "[containment]") {
    TempDir directory;
    SECTION("sem") {
        CommandTree tree(directory, CommandTree::OnTerm::ignore);
        CHECK(run_time_limited(tree, {"sem", "-n", "2", "--dir", directory.path(), "--time-limit", "LIMIT", "--grace",
                                      "0.1", "jobs", "-c", tree.script()}).status == exit_code::k_time_limit);
        REQUIRE(tree.has_started());
        CHECK(tree.running().empty());
        CHECK(run_plock({"sem", "-n", "2", "--dir", directory.path(), "--nonblock", "jobs", "--", "true"}).status == 0);
    }
    SECTION("pidguard") {
        CommandTree tree(directory, CommandTree::OnTerm::ignore);
        const std::string pidfile = directory / "job.pid";
        CHECK(run_time_limited(tree, {"pidguard", "--time-limit", "LIMIT", "--grace", "0.1", pidfile, "-c",
                                      tree.script()}).status == exit_code::k_time_limit);
        REQUIRE(tree.has_started());
        CHECK(tree.running().empty());
        CHECK_FALSE(exists(pidfile));
    }
    SECTION("try") {
        CommandTree tree(directory, CommandTree::OnTerm::exit);
        CHECK(run_time_limited(tree, {"try", "--time-limit", "LIMIT", directory / "t.lock", "-c", tree.script()})
                  .status == exit_code::k_time_limit);
        REQUIRE(tree.has_started());
        CHECK(tree.running().empty());
    }
}

TEST_CASE("option --replace stops the old instance.s whole tree", "[containment]") {
    TempDir directory;
    CommandTree tree(directory, CommandTree::OnTerm::ignore);
    const std::string pidfile = directory / "service.pid";
    Process old = Process::start_plock({"pidguard", pidfile, "-c", tree.script()});
    REQUIRE(tree.wait_started());
    const Result replacement = run_plock({"pidguard", "--replace", "--grace", "0.3", pidfile, "--", "true"});
    CHECK(replacement.status == 0);
    INFO(replacement.err);
    CHECK(tree.running().empty());
    CHECK(old.wait() == 128 + SIGKILL);
}

TEST_CASE("signals reach the command also when it runs under a supervisor", "[containment]") {
    TempDir directory;
    const std::string lock = directory / "forward.lock";
    const std::string ready = directory / "ready";
    for (const int number : {SIGTERM, SIGHUP, SIGUSR1}) {
        INFO("signal " << number);
        Process plock = Process::start_plock(
            {"exec", "-o", "--time-limit", "60", lock, "--", "sh", "-c",
             "trap 'exit 40' " + std::to_string(number) + "; : > '" + ready + "'; sleep 300 & wait"});
        REQUIRE(wait_until([&] { return exists(ready); }));
        plock.signal(number);
        CHECK(plock.wait() == 40);
        std::remove(ready.c_str());
    }
}
