// Integration tests of `plock redis`: the real binary against private
// redis-server processes. Mutual exclusion, the semaphore bound, fencing
// tokens, what the command sees, and the faults: a server killed, paused
// past the lease, restarted empty, unreachable, or refusing the password.
#include <catch2/catch.hpp>

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <set>
#include <sstream>
#include <thread>

#include "cli/exit_code.hpp"
#include "redis_server.hpp"

using namespace plock;
using namespace plock::test;

namespace {

using Clock = std::chrono::steady_clock;

std::vector<std::string> redis_arguments(const RedisServer& server, std::vector<std::string> rest) {
    std::vector<std::string> arguments{"redis", "--url", server.url()};
    arguments.insert(arguments.end(), rest.begin(), rest.end());
    return arguments;
}

bool subscribed(const RedisServer& server, const std::string& channel, int count = 1) {
    return server.cli({"PUBSUB", "NUMSUB", channel}) == channel + "\n" + std::to_string(count);
}

// The descriptors of `pid` that are sockets.
std::vector<std::string> sockets_of(pid_t pid) {
    std::vector<std::string> sockets;
    std::error_code ignored;
    for (const auto& entry : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ignored)) {
        const std::string target = std::filesystem::read_symlink(entry.path(), ignored).string();
        if (target.rfind("socket:", 0) == 0) {
            sockets.push_back(entry.path().filename().string() + " -> " + target);
        }
    }
    return sockets;
}

// A command that marks `inside` with O_EXCL (recording an overlap if it
// exists already), appends "NAME start|end" to the log, and holds for `hold`.
std::string exclusive_section(const TempDir& directory, const std::string& name, const std::string& hold) {
    const std::string inside = directory / "inside";
    return "set -C; if ! : > '" + inside + "' 2>/dev/null; then echo \"" + name + " overlapped\" >> '" +
           directory / "errors" + "'; fi; echo \"" + name + " start $PLOCK_FENCING_TOKEN\" >> '" +
           directory / "log" + "'; " + hold + "; echo \"" + name + " end\" >> '" + directory / "log" +
           "'; rm -f '" + inside + "'";
}

}  // namespace

TEST_CASE("ten contenders hold the lock one at a time with strictly increasing fencing tokens", "[redis]") {
    RedisServer server;
    TempDir directory;
    std::vector<Process> contenders;
    for (int index = 0; index < 10; ++index) {
        contenders.push_back(Process::start_plock(redis_arguments(
            server, {"--lease", "5", "mutex", "-c", exclusive_section(directory, "c" + std::to_string(index), "sleep 0.03")})));
    }
    for (Process& contender : contenders) {
        const auto status = contender.wait(60s);
        INFO(contender.err());
        CHECK(status == 0);
    }
    CHECK_FALSE(exists(directory / "errors"));
    std::vector<long long> fencing;
    std::string holder;
    for (const std::string& line : lines_of(read_file(directory / "log"))) {
        std::istringstream words(line);
        std::string name, event;
        words >> name >> event;
        if (event == "start") {
            CHECK(holder.empty());  // the previous holder had ended
            holder = name;
            long long token = 0;
            words >> token;
            fencing.push_back(token);
        } else {
            CHECK(holder == name);
            holder.clear();
        }
    }
    REQUIRE(fencing.size() == 10);
    CHECK(std::adjacent_find(fencing.begin(), fencing.end(), std::greater_equal<>()) == fencing.end());
    CHECK(server.cli({"EXISTS", "plock:mutex"}) == "0");
}

TEST_CASE("a semaphore of 3 never has more than 3 holders among 12 contenders", "[redis]") {
    RedisServer server;
    TempDir directory;
    // Each holder marks its slot with O_EXCL and counts the marked slots.
    const std::string slot_file = "\"" + directory.path() + "/slot.$PLOCK_SLOT\"";
    const std::string script =
        "set -C; case $PLOCK_SLOT in 0|1|2) ;; *) echo \"bad slot $PLOCK_SLOT\" >> '" + directory / "errors" +
        "';; esac; if ! : > " + slot_file + " 2>/dev/null; then echo \"slot $PLOCK_SLOT shared\" >> '" +
        directory / "errors" + "'; fi; ls '" + directory.path() + "' | grep -c '^slot\\.' >> '" +
        directory / "counts" + "'; sleep 0.2; rm -f " + slot_file;
    std::vector<Process> contenders;
    for (int index = 0; index < 12; ++index) {
        contenders.push_back(Process::start_plock(redis_arguments(server, {"--permits", "3", "pool", "-c", script})));
    }
    for (Process& contender : contenders) {
        const auto status = contender.wait(60s);
        INFO(contender.err());
        CHECK(status == 0);
    }
    INFO(read_file(directory / "errors"));
    CHECK_FALSE(exists(directory / "errors"));
    const auto counts = lines_of(read_file(directory / "counts"));
    REQUIRE(counts.size() == 12);
    int most = 0;
    for (const std::string& count : counts) {
        most = std::max(most, std::stoi(count));
    }
    CHECK(most <= 3);
    CHECK(most >= 2);  // it is a semaphore, not a lock
    CHECK(server.cli({"ZCARD", "plock:pool"}) == "0");
    CHECK(server.cli({"GET", "plock:pool:fencing"}) == "12");
}

TEST_CASE("the command sees the key and its tokens and inherits no connection", "[redis]") {
    RedisServer server;
    TempDir directory;
    Gate gate(directory);
    const std::string seen = directory / "seen";
    Process plock = Process::start_plock(redis_arguments(
        server, {"--key-prefix", "ci/", "job", "-c",
                 "echo \"$PLOCK_REDIS_KEY $PLOCK_LOCK_TOKEN $PLOCK_FENCING_TOKEN ${PLOCK_SLOT-none}\" > '" + seen +
                     "'; " + gate.hold_command()}));
    REQUIRE(gate.wait_ready());
    std::istringstream words(read_file(seen));
    std::string key, token, fencing, slot;
    words >> key >> token >> fencing >> slot;
    CHECK(key == "ci/job");
    CHECK_THAT(token, Catch::Matches("[0-9a-f]{32}"));
    CHECK(fencing == "1");
    CHECK(slot == "none");
    CHECK(server.cli({"GET", "ci/job"}) == token);
    const auto children = commands_of(plock.pid());
    REQUIRE(children.size() == 1);
    CHECK(sockets_of(children.front()).empty());
    CHECK_FALSE(sockets_of(plock.pid()).empty());  // the check can see a socket
    gate.open();
    CHECK(plock.wait() == 0);
    CHECK(server.cli({"EXISTS", "ci/job"}) == "0");  // released at once, not left to expire
}

TEST_CASE("a semaphore holder sees its slot", "[redis]") {
    RedisServer server;
    const Result result = run_plock(redis_arguments(server, {"--permits", "4", "gpu", "--", "sh", "-c", "echo $PLOCK_SLOT"}));
    CHECK(result.status == 0);
    CHECK(result.out == "0\n");
}

TEST_CASE("the lease is renewed while the command runs longer than it", "[redis]") {
    RedisServer server;
    TempDir directory;
    Gate gate(directory);
    Process holder = Process::start_plock(redis_arguments(server, {"--lease", "2", "long", "-c", gate.hold_command()}));
    REQUIRE(gate.wait_ready());
    const auto until = Clock::now() + 5s;
    while (Clock::now() < until) {
        const Result other = run_plock(redis_arguments(server, {"-n", "-q", "long", "--", "true"}));
        CHECK(other.status == exit_code::k_conflict);
        CHECK(std::stoll(server.cli({"PTTL", "plock:long"})) <= 2000);
        std::this_thread::sleep_for(100ms);  // pacing, not synchronisation
    }
    gate.open();
    CHECK(holder.wait() == 0);
}

TEST_CASE("a busy lock gives 75 at once with -n and after the timeout with -w", "[redis]") {
    RedisServer server;
    TempDir directory;
    Gate gate(directory);
    Process holder = Process::start_plock(redis_arguments(server, {"busy", "-c", gate.hold_command()}));
    REQUIRE(gate.wait_ready());
    const Result nonblocking = run_plock(redis_arguments(server, {"-n", "busy", "--", "echo", "ran"}));
    CHECK(nonblocking.status == exit_code::k_conflict);
    CHECK(nonblocking.out.empty());
    CHECK_THAT(nonblocking.err, Catch::Contains("plock:busy on " + server.url() + " is busy"));
    const Result timed = run_plock(redis_arguments(server, {"-w", "0.3", "busy", "--", "echo", "ran"}));
    CHECK(timed.status == exit_code::k_conflict);
    CHECK(timed.elapsed >= 300ms);
    CHECK(timed.out.empty());
    CHECK_THAT(timed.err, Catch::Contains("timed out after"));
    const Result quiet = run_plock(redis_arguments(server, {"-n", "-E", "0", "busy", "--", "echo", "ran"}));
    CHECK(quiet.status == 0);
    CHECK(quiet.err.empty());
    gate.open();
    CHECK(holder.wait() == 0);
}

TEST_CASE("a waiter starts when the holder's command ends", "[redis]") {
    RedisServer server;
    TempDir directory;
    Gate gate(directory);
    Process holder = Process::start_plock(redis_arguments(server, {"handoff", "-c", gate.hold_command()}));
    REQUIRE(gate.wait_ready());
    Process waiter = Process::start_plock(redis_arguments(server, {"handoff", "--", "echo", "second"}));
    REQUIRE(wait_until([&] { return subscribed(server, "plock:handoff"); }));
    CHECK_FALSE(waiter.finished());
    gate.open();
    CHECK(holder.wait() == 0);
    // Far sooner than the 30 s lease would allow without a release.
    CHECK(waiter.wait(10s) == 0);
    CHECK(waiter.out() == "second\n");
}

TEST_CASE("a signal ends the wait with 128+N and the command does not run", "[redis]") {
    RedisServer server;
    TempDir directory;
    Gate gate(directory);
    Process holder = Process::start_plock(redis_arguments(server, {"sig", "-c", gate.hold_command()}));
    REQUIRE(gate.wait_ready());
    Process waiter = Process::start_plock(redis_arguments(server, {"sig", "--", "echo", "ran"}));
    REQUIRE(wait_until([&] { return subscribed(server, "plock:sig"); }));
    waiter.signal(SIGTERM);
    CHECK(waiter.wait() == 128 + SIGTERM);
    CHECK(waiter.out().empty());
    gate.open();
    CHECK(holder.wait() == 0);
}

TEST_CASE("signals sent to plock reach the command and its status passes through", "[redis]") {
    RedisServer server;
    TempDir directory;
    const std::string ready = directory / "ready";
    Process plock = Process::start_plock(redis_arguments(
        server, {"fwd", "-c", "trap 'exit 42' USR1; : > '" + ready + "'; while :; do sleep 0.02; done"}));
    REQUIRE(wait_until([&] { return exists(ready); }));
    plock.signal(SIGUSR1);
    CHECK(plock.wait() == 42);
    CHECK(server.cli({"EXISTS", "plock:fwd"}) == "0");
    CHECK(run_plock(redis_arguments(server, {"fwd", "--", "no-such-command-for-plock"})).status == exit_code::k_not_found);
    CHECK(server.cli({"EXISTS", "plock:fwd"}) == "0");
}

TEST_CASE("a server killed under a running command stops it before the lease ends and exits 79", "[redis]") {
    RedisServer server;
    TempDir directory;
    const std::string ready = directory / "ready";
    const std::string stopped = directory / "stopped";
    Process plock = Process::start_plock(redis_arguments(
        server, {"--lease", "2", "fault", "-c",
                 "trap \"echo TERM > '" + stopped + "'; exit 0\" TERM; : > '" + ready + "'; sleep 60 & wait"}));
    REQUIRE(wait_until([&] { return exists(ready); }));
    server.kill();
    const auto status = plock.wait(20s);
    INFO(plock.err());
    CHECK(status == exit_code::k_lock_lost);
    CHECK(read_file(stopped) == "TERM\n");
    // Before the lease ends by plock's own clock (which starts each lease
    // before its request is sent, so ends it before the server does): plock
    // sends SIGTERM only then, and says so; past the lease it would send
    // SIGKILL. (How soon the test sees the exit is no measure of that.)
    CHECK_THAT(plock.err(), Catch::Contains("cannot renew the lease on plock:fault") &&
                                Catch::Contains("stopping the command and every process it started (SIGTERM) before the lease ends"));
    CHECK_THAT(plock.err(), !Catch::Contains("SIGKILL"));
}

TEST_CASE("a command that ignores SIGTERM is killed when the lease ends", "[redis]") {
    RedisServer server;
    TempDir directory;
    const std::string ready = directory / "ready";
    Process plock = Process::start_plock(redis_arguments(
        server, {"--lease", "2", "stubborn", "-c", "trap '' TERM; : > '" + ready + "'; exec sleep 60"}));
    REQUIRE(wait_until([&] { return exists(ready); }));
    const auto children = commands_of(plock.pid());
    REQUIRE(children.size() == 1);
    server.kill();
    const auto status = plock.wait(20s);
    INFO(plock.err());
    CHECK(status == exit_code::k_lock_lost);
    CHECK_FALSE(process_running(children.front()));
    // SIGTERM first, then SIGKILL when the lease ends by plock's clock (the
    // lease end less the drift allowance): plock's own words for each.
    CHECK_THAT(plock.err(), Catch::Contains("stopping the command and every process it started (SIGTERM) before the lease ends"));
    // The supervisor sends SIGKILL when the lease ends (the grace is cut to
    // it), or plock itself does if the supervisor is late.
    CHECK_THAT(plock.err(), (Catch::Contains("killed them (SIGKILL)") &&
                             Catch::Contains("as the lease on plock:stubborn on " + server.url() +
                                             " was about to end")) ||
                                Catch::Contains("the lease on plock:stubborn on " + server.url() +
                                                " ends now and processes of the command still run: killing them "
                                                "(SIGKILL)"));
}

TEST_CASE("a server paused past the lease gets the holder's command stopped before anyone else can take it", "[redis]") {
    RedisServer server;
    TempDir directory;
    const std::string first_ready = directory / "first.ready";
    const std::string first_stopped = directory / "first.stopped";
    Process first = Process::start_plock(redis_arguments(
        server, {"--lease", "2", "paused", "-c",
                 exclusive_section(directory, "first", "trap \"echo TERM > '" + first_stopped + "'; rm -f '" +
                                                           directory / "inside" + "'; exit 0\" TERM; : > '" +
                                                           first_ready + "'; sleep 60 & wait")}));
    REQUIRE(wait_until([&] { return exists(first_ready); }));
    Process second = Process::start_plock(
        redis_arguments(server, {"--lease", "2", "paused", "-c", exclusive_section(directory, "second", "true")}));
    REQUIRE(wait_until([&] { return subscribed(server, "plock:paused"); }));

    const auto paused_at = Clock::now();
    server.pause();
    const auto first_status = first.wait(20s);
    INFO(first.err());
    CHECK(first_status == exit_code::k_lock_lost);
    // Stopped before its lease ended, by plock's clock (see above).
    CHECK_THAT(first.err(), Catch::Contains("stopping the command and every process it started (SIGTERM) before the lease ends"));
    CHECK(read_file(first_stopped) == "TERM\n");
    // Nobody can have taken the lock while the server is stopped.
    CHECK_THAT(read_file(directory / "log"), !Catch::Contains("second"));
    // Keep it stopped well past the lease, as a long stall would (but short
    // of the 5 s the waiter gives an attempt it sent during the stall).
    wait_until([&] { return Clock::now() - paused_at >= 3500ms; }, 10s);
    server.resume();

    INFO(second.err());
    CHECK(second.wait(20s) == 0);
    CHECK_FALSE(exists(directory / "errors"));
    CHECK(lines_of(read_file(directory / "log")) ==
          std::vector<std::string>{"first start 1", "second start 2", "second end"});
}

TEST_CASE("a plock stopped past its lease kills its command as soon as it runs again", "[redis]") {
    // The limit the man page states: while plock itself is frozen its command
    // runs on unguarded. What plock can do is act the moment it resumes.
    RedisServer server;
    TempDir directory;
    const std::string ready = directory / "ready";
    Process plock = Process::start_plock(redis_arguments(
        server, {"--lease", "1", "frozen", "-c", ": > '" + ready + "'; exec sleep 60"}));
    REQUIRE(wait_until([&] { return exists(ready); }));
    const auto children = commands_of(plock.pid());
    REQUIRE(children.size() == 1);
    plock.signal(SIGSTOP);
    REQUIRE(wait_until([&] { return server.cli({"EXISTS", "plock:frozen"}) == "0"; }, 10s));  // the lease ran out
    CHECK(process_running(children.front()));
    plock.signal(SIGCONT);
    const auto status = plock.wait(20s);
    INFO(plock.err());
    CHECK(status == exit_code::k_lock_lost);
    CHECK_FALSE(process_running(children.front()));
    CHECK_THAT(plock.err(), Catch::Contains("SIGKILL"));
}

TEST_CASE("a server restarted empty makes the next renewal find the lock lost", "[redis]") {
    RedisServer server;
    TempDir directory;
    const std::string ready = directory / "ready";
    Process plock = Process::start_plock(redis_arguments(
        server, {"--lease", "3", "amnesia", "-c", ": > '" + ready + "'; sleep 60 & wait"}));
    REQUIRE(wait_until([&] { return exists(ready); }));
    server.restart();
    INFO(plock.err());
    CHECK(plock.wait(20s) == exit_code::k_lock_lost);
    // At the first renewal, not at the lease end: "lost" is what a renewal
    // that finds the key gone reports (the lease's end would be "cannot
    // renew" and SIGKILL).
    CHECK_THAT(plock.err(), Catch::Contains("lost plock:amnesia") && Catch::Contains("stopping the command and every process it started (SIGTERM)"));
    CHECK_THAT(plock.err(), !Catch::Contains("SIGKILL"));
    CHECK(server.cli({"EXISTS", "plock:amnesia"}) == "0");  // and never taken again
}

TEST_CASE("a killed plock takes its command with it", "[redis]") {
    RedisServer server;
    TempDir directory;
    const std::string ready = directory / "ready";
    Process plock = Process::start_plock(redis_arguments(server, {"orphan", "-c", ": > '" + ready + "'; exec sleep 60"}));
    REQUIRE(wait_until([&] { return exists(ready); }));
    const auto children = commands_of(plock.pid());
    REQUIRE(children.size() == 1);
    plock.signal(SIGKILL);
    plock.wait();
    CHECK(wait_until([&] { return !process_running(children.front()); }, 10s));
}

TEST_CASE("an unreachable server gives 69 and the command does not run", "[redis]") {
    const std::string url = "redis://127.0.0.1:" + std::to_string(unused_port());
    const Result result = run_plock({"redis", "--url", url, "job", "--", "echo", "ran"});
    CHECK(result.status == exit_code::k_unavailable);
    CHECK(result.out.empty());
    CHECK(result.err == "plock: error: cannot reach Redis at " + url + ": Connection refused\n");
    TempDir directory;
    const Result missing_socket = run_plock({"redis", "--url", "unix://" + directory / "none.sock", "job", "--", "true"});
    CHECK(missing_socket.status == exit_code::k_unavailable);
}

TEST_CASE("a wrong or missing password gives 77 and the right one works from every source", "[redis]") {
    RedisServer server(RedisServer::Options{"s3cret-pw"});
    TempDir directory;
    const Result wrong = run_plock(redis_arguments(server, {"job", "--", "echo", "ran"}),
                                   with_variable("PLOCK_REDIS_PASSWORD", "not-it"));
    CHECK(wrong.status == exit_code::k_permission);
    CHECK(wrong.out.empty());
    CHECK_THAT(wrong.err, Catch::StartsWith("plock: error: cannot authenticate to Redis at") && !Catch::Contains("not-it"));
    const Result missing = run_plock(redis_arguments(server, {"job", "--", "true"}), without_variable("PLOCK_REDIS_PASSWORD"));
    CHECK(missing.status == exit_code::k_permission);
    CHECK_THAT(missing.err, Catch::Contains("requires a password"));

    CHECK(run_plock(redis_arguments(server, {"job", "--", "true"}), with_variable("PLOCK_REDIS_PASSWORD", "s3cret-pw")).status == 0);
    write_file(directory / "password", "s3cret-pw\n");
    CHECK(run_plock(redis_arguments(server, {"--password-file", directory / "password", "job", "--", "true"}),
                    with_variable("PLOCK_REDIS_PASSWORD", "not-it"))
              .status == 0);
    const std::string url_with_password = "redis://:s3cret-pw@127.0.0.1:" + std::to_string(server.port());
    CHECK(run_plock({"redis", "--url", url_with_password, "job", "--", "true"}, without_variable("PLOCK_REDIS_PASSWORD"))
              .status == 0);
}

TEST_CASE("the URL may come from PLOCK_REDIS_URL and may name a unix socket and a database", "[redis]") {
    RedisServer server;
    TempDir directory;
    Gate gate(directory);
    Process plock = Process::start_plock({"redis", "db", "-c", gate.hold_command()},
                                         with_variable("PLOCK_REDIS_URL", "unix://" + server.socket_path() + "?db=2"));
    REQUIRE(gate.wait_ready());
    CHECK(server.cli({"-n", "2", "EXISTS", "plock:db"}) == "1");
    CHECK(server.cli({"-n", "0", "EXISTS", "plock:db"}) == "0");
    // --url wins over the environment.
    const Result explicit_url = run_plock(redis_arguments(server, {"-n", "db", "--", "true"}),
                                          with_variable("PLOCK_REDIS_URL", "redis://127.0.0.1:1"));
    CHECK(explicit_url.status == 0);
    gate.open();
    CHECK(plock.wait() == 0);
}

TEST_CASE("a lock and a semaphore of the same name are refused with 64", "[redis]") {
    RedisServer server;
    TempDir directory;
    Gate gate(directory);
    Process holder = Process::start_plock(redis_arguments(server, {"kind", "-c", gate.hold_command()}));
    REQUIRE(gate.wait_ready());
    const Result mixed = run_plock(redis_arguments(server, {"--permits", "2", "kind", "--", "echo", "ran"}));
    CHECK(mixed.status == exit_code::k_usage);
    CHECK(mixed.out.empty());
    CHECK_THAT(mixed.err, Catch::Contains("plock:kind") && Catch::Contains("lock or semaphore"));
    gate.open();
    CHECK(holder.wait() == 0);
}
