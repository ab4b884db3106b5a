// Integration tests of signals: forwarding to the command, statuses of
// killed commands, signals while waiting, and plock itself being killed.
#include <catch2/catch.hpp>

#include <signal.h>

#include "test_support.hpp"

using namespace plock::test;

namespace {

std::string signal_trap_script(const std::string& marker, const std::string& ready) {
    // Records each signal by name; exits 0 on TERM so the test can end it.
    return "for s in INT HUP QUIT USR1 USR2 WINCH; do trap \"echo $s >> '" + marker + "'\" $s; done; "
           "trap \"echo TERM >> '" + marker + "'; exit 0\" TERM; : > '" + ready + "'; "
           "while :; do sleep 0.02; done";
}

}  // namespace

TEST_CASE("INT HUP QUIT USR1 USR2 WINCH and TERM sent to plock reach the command", "[signals]") {
    TempDir directory;
    const std::string marker = directory / "signals";
    const std::string ready = directory / "ready";
    Process plock = Process::start_plock({"exec", directory / "s.lock", "--", "sh", "-c", signal_trap_script(marker, ready)});
    REQUIRE(wait_until([&] { return exists(ready); }));
    std::string expected;
    for (const auto& [number, name] : std::vector<std::pair<int, std::string>>{
             {SIGINT, "INT"}, {SIGHUP, "HUP"}, {SIGQUIT, "QUIT"}, {SIGUSR1, "USR1"}, {SIGUSR2, "USR2"}, {SIGWINCH, "WINCH"}}) {
        plock.signal(number);
        expected += name + "\n";
        INFO("after " << name);
        CHECK(wait_until([&] { return read_file(marker) == expected; }));
    }
    plock.signal(SIGTERM);
    CHECK(plock.wait() == 0);
    CHECK(read_file(marker) == expected + "TERM\n");
}

TEST_CASE("a command killed by a signal gives 128+N", "[signals]") {
    TempDir directory;
    CHECK(run_plock({"exec", directory / "k.lock", "--", "sh", "-c", "kill -USR1 $$"}).status == 128 + SIGUSR1);
    CHECK(run_plock({"exec", directory / "k.lock", "--", "sh", "-c", "kill -KILL $$"}).status == 128 + SIGKILL);
}

TEST_CASE("a forwarded TERM that the command does not handle gives 143", "[signals]") {
    TempDir directory;
    const std::string ready = directory / "ready";
    Process plock = Process::start_plock({"exec", directory / "t.lock", "--", "sh", "-c", ": > '" + ready + "'; exec sleep 30"});
    REQUIRE(wait_until([&] { return exists(ready); }));
    plock.signal(SIGTERM);
    CHECK(plock.wait() == 128 + SIGTERM);
}

TEST_CASE("INT TERM and HUP end a wait for the lock with 128+N and the command never runs", "[signals]") {
    TempDir directory;
    const std::string lock = directory / "w.lock";
    Gate gate(directory);
    Process holder = hold_lock({"flock", lock}, gate);
    for (const int number : {SIGINT, SIGTERM, SIGHUP}) {
        INFO("signal " << number);
        const std::string ran = directory / ("ran" + std::to_string(number));
        Process waiter = Process::start_plock({"exec", "-v", lock, "--", "touch", ran});
        REQUIRE(wait_until([&] { return waiter.err().find("waiting") != std::string::npos; }));
        waiter.signal(number);
        CHECK(waiter.wait(std::chrono::seconds(10)) == 128 + number);
        CHECK_FALSE(exists(ran));
    }
    gate.open();
}

TEST_CASE("after SIGKILL of plock the command keeps the lock until it ends", "[signals]") {
    TempDir directory;
    const std::string lock = directory / "kill.lock";
    Gate gate(directory);
    Process plock = hold_lock({plock_binary(), "exec", lock, "--"}, gate);
    const auto children = children_of(plock.pid());
    REQUIRE(children.size() == 1);
    plock.signal(SIGKILL);
    CHECK(plock.wait() == 128 + SIGKILL);
    CHECK(process_running(children[0]));
    // Nobody else gets the lock while the command still runs.
    const std::string intruder = directory / "intruder";
    CHECK(run_plock({"exec", "-w", "0.3", lock, "--", "touch", intruder}).status == 75);
    CHECK(run({"flock", "-n", lock, "true"}).status == 1);
    CHECK_FALSE(exists(intruder));
    gate.open();
    CHECK(wait_until([&] { return !process_running(children[0]); }));
    CHECK(wait_until([&] { return run_plock({"try", lock}).status == 0; }));
}

TEST_CASE("with -o the command is killed when plock is killed", "[signals]") {
    TempDir directory;
    const std::string lock = directory / "close.lock";
    const std::string ready = directory / "ready";
    Process plock = Process::start_plock({"exec", "-o", lock, "--", "sh", "-c", ": > '" + ready + "'; exec sleep 60"});
    REQUIRE(wait_until([&] { return exists(ready); }));
    const auto children = children_of(plock.pid());
    REQUIRE(children.size() == 1);
    CHECK(run_plock({"try", lock}).status == 75);
    plock.signal(SIGKILL);
    CHECK(plock.wait() == 128 + SIGKILL);
    CHECK(wait_until([&] { return !process_running(children[0]); }, std::chrono::seconds(5)));
    CHECK(run_plock({"try", lock}).status == 0);
}
