// Integration tests of containment for `plock redis`, against a private
// redis-server: the lock is held until the command's whole tree has ended
// (-o: the command alone), a lease that cannot be kept and plock's own death
// stop the whole tree, and --time-limit stops it and releases the lock.
#include <catch2/catch.hpp>

#include <signal.h>

#include <thread>

#include "command_tree.hpp"
#include "cli/exit_code.hpp"
#include "redis_server.hpp"

using namespace plock;
using namespace plock::test;

namespace {

using Names = std::vector<std::string>;

std::vector<std::string> redis_arguments(const RedisServer& server, std::vector<std::string> rest) {
    std::vector<std::string> arguments{"redis", "--url", server.url()};
    arguments.insert(arguments.end(), rest.begin(), rest.end());
    return arguments;
}

}  // namespace

TEST_CASE("redis holds and renews the lock until the whole tree has ended", "[redis_containment]") {
    RedisServer server;
    TempDir directory;
    CommandTree tree(directory, CommandTree::OnTerm::exit);
    Process plock = Process::start_plock(redis_arguments(server, {"--lease", "1", "tree", "-c", tree.script("exit 0")}));
    REQUIRE(tree.wait_started());
    // The command itself has ended; its background processes still run.
    REQUIRE(wait_until([&] { return !process_running(tree.pid_of("main")); }));
    CHECK_FALSE(plock.finished());
    CHECK(server.cli({"EXISTS", "plock:tree"}) == "1");
    CHECK(run_plock(redis_arguments(server, {"-n", "-q", "tree", "--", "true"})).status == exit_code::k_conflict);
    // Renewed, not left to expire: the time left goes up again, twice (a
    // time left only ever falls without a renewal), rather than a sleep of
    // more than a lease after which it must still be there.
    const auto time_left = [&] { return std::stoll(server.cli({"PTTL", "plock:tree"})); };
    for (int renewal = 0; renewal < 2; ++renewal) {
        const long long before = time_left();
        REQUIRE(before > 0);
        CHECK(wait_until([&] { return time_left() > before; }, 10s));
    }
    CHECK_FALSE(plock.finished());
    tree.signal_all(SIGTERM);
    CHECK(plock.wait() == 0);
    CHECK(tree.running().empty());
    CHECK(server.cli({"EXISTS", "plock:tree"}) == "0");
}

TEST_CASE("redis -o holds the lock only while the command itself runs and kills nothing", "[redis_containment]") {
    RedisServer server;
    TempDir directory;
    CommandTree tree(directory, CommandTree::OnTerm::exit);
    const Result result = run_plock(redis_arguments(server, {"-o", "tree", "-c", tree.script("exit 4")}));
    CHECK(result.status == 4);
    REQUIRE(tree.wait_started());
    CHECK(tree.running() == Names{"background", "setsid", "orphan"});
    CHECK(server.cli({"EXISTS", "plock:tree"}) == "0");
}

TEST_CASE("a lease that cannot be renewed stops the whole tree and plock exits 79", "[redis_containment]") {
    RedisServer server;
    TempDir directory;
    CommandTree tree(directory, CommandTree::OnTerm::ignore);
    Process plock = Process::start_plock(redis_arguments(server, {"--lease", "2", "paused", "-c", tree.script()}));
    REQUIRE(tree.wait_started());
    server.pause();
    const auto status = plock.wait(20s);
    server.resume();
    INFO(plock.err());
    CHECK(status == exit_code::k_lock_lost);
    // plock exits only once the supervisor has seen every process of the tree
    // end: SIGTERM was ignored, so SIGKILL, by the lease's end at the latest.
    CHECK(tree.running().empty());
    CHECK_THAT(plock.err(), Catch::Contains("every process it started"));
}

TEST_CASE("redis: SIGKILL of plock kills the whole tree while the lease still stands", "[redis_containment]") {
    RedisServer server;
    TempDir directory;
    CommandTree tree(directory, CommandTree::OnTerm::ignore);
    Process plock = Process::start_plock(redis_arguments(server, {"tree", "-c", tree.script()}));
    REQUIRE(tree.wait_started());
    plock.signal(SIGKILL);
    CHECK(plock.wait() == 128 + SIGKILL);
    CHECK(wait_until([&] { return tree.running().empty(); }));
    // No one released or renewed it: the 30-second lease is still running out.
    CHECK(std::stoll(server.cli({"PTTL", "plock:tree"})) > 0);
}

TEST_CASE("redis --time-limit stops the whole tree and releases the lock", "[redis_containment]") {
    RedisServer server;
    TempDir directory;
    CommandTree tree(directory, CommandTree::OnTerm::ignore);
    const Result result = run_time_limited(
        tree, redis_arguments(server, {"-v", "--time-limit", "LIMIT", "--grace", "0.2", "tree", "-c", tree.script()}));
    CHECK(result.status == exit_code::k_time_limit);
    REQUIRE(tree.has_started());
    CHECK(tree.running().empty());
    CHECK(server.cli({"EXISTS", "plock:tree"}) == "0");
    CHECK_THAT(result.err, Catch::Contains("ran longer than its time limit"));
}

TEST_CASE("redis: once the command has ended a signal to plock goes to what is left of its tree", "[redis_containment]") {
    RedisServer server;
    TempDir directory;
    CommandTree tree(directory, CommandTree::OnTerm::record_and_exit);
    Process plock = Process::start_plock(redis_arguments(server, {"tree", "-c", tree.script("exit 0")}));
    REQUIRE(tree.wait_started());
    REQUIRE(wait_until([&] { return !process_running(tree.pid_of("main")); }));
    plock.signal(SIGTERM);
    CHECK(plock.wait() == 0);  // the command's own status
    CHECK(tree.running().empty());
    for (const std::string name : {"background", "setsid", "orphan"}) {
        INFO(name);
        CHECK(tree.got_term(name));
    }
    CHECK(server.cli({"EXISTS", "plock:tree"}) == "0");
}
