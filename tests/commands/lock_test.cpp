// plock lock FD, plock unlock FD and --fd FD: the shell's descriptor idiom,
// with real shells holding descriptor 9 and real contenders.
#include <catch2/catch.hpp>

#include "cli/exit_code.hpp"
#include "test_support.hpp"

using namespace plock;
using namespace plock::test;

namespace {

// sh -c SCRIPT, where SCRIPT opens LOCK on descriptor 9 first.
Process shell_holding(const std::string& lock, const std::string& script) {
    return Process::start({"sh", "-c", "exec 9>" + shell_quote(lock) + "; " + script});
}

std::string plock_command() { return shell_quote(plock_binary()); }

}  // namespace

TEST_CASE("plock lock takes the lock on the shell's descriptor and it stays after plock has exited", "[lock]") {
    TempDir directory;
    const std::string lock = directory / "job.lock";
    Gate gate(directory);
    Process shell = shell_holding(lock, plock_command() + " lock -n 9 || exit 7; " + gate.hold_command());
    REQUIRE(gate.wait_ready());
    // plock lock has exited; the shell holds the lock, for plock and flock(1) alike.
    CHECK(run_plock({"exec", "-n", lock, "--", "true"}).status == exit_code::k_conflict);
    CHECK(run({"flock", "-n", lock, "true"}).status == 1);
    const Result status = run_plock({"status", lock});
    CHECK(status.status == 1);
    CHECK_THAT(status.out, Catch::Contains("PID " + std::to_string(shell.pid())));
    gate.open();
    CHECK(shell.wait() == 0);
    CHECK(run_plock({"exec", "-n", lock, "--", "true"}).status == 0);
}

TEST_CASE("a second shell gets 75 at once and with -w waits until the first shell unlocks", "[lock]") {
    TempDir directory;
    const std::string lock = directory / "job.lock";
    Gate locked(directory, "locked");
    Gate unlocked(directory, "unlocked");
    // The first shell unlocks when told, and then lives on with fd 9 open.
    Process first = shell_holding(lock, plock_command() + " lock 9 || exit 7; " + locked.hold_command() + "; " +
                                            plock_command() + " unlock 9 || exit 8; " + unlocked.hold_command());
    REQUIRE(locked.wait_ready());
    Process busy = shell_holding(lock, plock_command() + " lock -n -E 3 9");
    CHECK(busy.wait() == 3);
    Process second = shell_holding(lock, plock_command() + " lock -w 20 9 && echo got");
    CHECK_FALSE(wait_until([&] { return second.finished(); }, std::chrono::milliseconds(300)));
    locked.open();
    REQUIRE(unlocked.wait_ready());
    CHECK(second.wait() == 0);  // while the first shell still has fd 9 open
    CHECK(second.out() == "got\n");
    CHECK_FALSE(first.finished());
    unlocked.open();
    CHECK(first.wait() == 0);
}

TEST_CASE("a plock run inside the script that locked its descriptor does not wait for the script", "[lock]") {
    TempDir directory;
    const std::string lock = directory / "job.lock";
    Process shell = shell_holding(lock, plock_command() + " lock 9 || exit 7; " + plock_command() + " exec -n " +
                                            shell_quote(lock) + " -- echo inner; " + plock_command() +
                                            " lock -n 9 && echo again");
    CHECK(shell.wait() == 0);
    CHECK(shell.out() == "inner\nagain\n");
}

TEST_CASE("plock exec --fd runs the command under the descriptor's lock and the lock stays with it", "[lock]") {
    TempDir directory;
    const std::string lock = directory / "job.lock";
    Process shell = shell_holding(lock, plock_command() + " exec --fd 9 -- sh -c 'echo \"$PLOCK_FILE\"' || exit 7; " +
                                            "flock -n " + shell_quote(lock) + " true; echo after $?; " +
                                            plock_command() + " unlock 9; flock -n " + shell_quote(lock) +
                                            " true; echo unlocked $?");
    CHECK(shell.wait() == 0);
    CHECK(shell.out() == lock + "\nafter 1\nunlocked 0\n");
}

TEST_CASE("a shared lock on descriptors lets two shells hold it and keeps an exclusive one out", "[lock]") {
    TempDir directory;
    const std::string lock = directory / "job.lock";
    Gate gate(directory);
    Process reader = shell_holding(lock, plock_command() + " lock -s 9 || exit 7; " + gate.hold_command());
    REQUIRE(gate.wait_ready());
    Process second_reader = shell_holding(lock, plock_command() + " lock -s -n 9 && echo shared");
    CHECK(second_reader.wait() == 0);
    CHECK(second_reader.out() == "shared\n");
    Process writer = shell_holding(lock, plock_command() + " lock -x -n 9; echo $?");
    CHECK(writer.wait() == 0);
    CHECK(writer.out() == "75\n");
    gate.open();
    CHECK(reader.wait() == 0);
}

TEST_CASE("plock lock --method ofd takes an open file description lock that fcntl users see", "[lock]") {
    TempDir directory;
    const std::string lock = directory / "job.lock";
    Gate gate(directory);
    Process shell = shell_holding(lock, plock_command() + " lock --method ofd 9 || exit 7; " + gate.hold_command());
    REQUIRE(gate.wait_ready());
    CHECK(run_plock({"exec", "-n", "--method", "ofd", lock, "--", "true"}).status == exit_code::k_conflict);
    CHECK(run_plock({"exec", "-n", lock, "--", "true"}).status == 0);  // flock(2) locks are another kind
    const Result status = run_plock({"status", lock});
    CHECK_THAT(status.out, Catch::Contains("ofd"));
    gate.open();
    CHECK(shell.wait() == 0);
}
