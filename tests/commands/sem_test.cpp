// Integration tests of `plock sem`: the real binary, real slot files, real
// processes and signals.
#include <catch2/catch.hpp>

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <set>
#include <sstream>

#include "test_support.hpp"

using namespace plock::test;

namespace {

// plock sem -n COUNT --dir DIRECTORY OPTIONS... NAME, then what follows.
std::vector<std::string> sem(const TempDir& directory, int count, const std::vector<std::string>& options,
                             const std::string& name, const std::vector<std::string>& rest = {}) {
    std::vector<std::string> arguments{"sem", "-n", std::to_string(count), "--dir", directory.path()};
    arguments.insert(arguments.end(), options.begin(), options.end());
    arguments.push_back(name);
    arguments.insert(arguments.end(), rest.begin(), rest.end());
    return arguments;
}

// A plock sem holder that records its PLOCK_SLOT in `slot_file`, then holds
// its slot until the gate opens.
Process hold_slot(const TempDir& directory, int count, const std::string& name, const Gate& gate,
                  const std::string& slot_file) {
    Process holder = Process::start_plock(
        sem(directory, count, {}, name,
            {"--", "sh", "-c", "echo $PLOCK_SLOT > " + shell_quote(slot_file) + "; " + gate.hold_command()}));
    REQUIRE(gate.wait_ready());
    return holder;
}

Result status_of(const TempDir& directory, int count, const std::string& name) {
    return run_plock(sem(directory, count, {"--status"}, name));
}

// True once --status counts `waiting` processes waiting for a slot.
bool wait_for_waiters(const TempDir& directory, int count, const std::string& name, int waiting) {
    return wait_until([&] {
        return status_of(directory, count, name).out.find(", " + std::to_string(waiting) + " waiting\n") !=
               std::string::npos;
    });
}

std::string trimmed(std::string text) {
    while (!text.empty() && text.back() == '\n') {
        text.pop_back();
    }
    return text;
}

}  // namespace

TEST_CASE("sem runs the command with PLOCK_SLOT PLOCK_SEM and PLOCK_FILE and returns its status", "[sem]") {
    TempDir directory;
    const Result result =
        run_plock(sem(directory, 3, {}, "jobs", {"--", "sh", "-c", "echo $PLOCK_SLOT $PLOCK_SEM $PLOCK_FILE; exit 7"}));
    CHECK(result.status == 7);
    CHECK(result.out == "0 jobs " + directory.path() + "/jobs.00.lock\n");
    CHECK(result.err.empty());
    CHECK(exists(directory / "jobs.00.lock"));
    CHECK(run_plock(sem(directory, 3, {}, "jobs", {"-c", "exit 3"})).status == 3);
}

TEST_CASE("the slot directory defaults to TMPDIR and PLOCK_FILE is absolute", "[sem]") {
    TempDir directory;
    RunOptions options;
    options.environment = {{"TMPDIR", directory.path()}};
    const Result result = run_plock({"sem", "-n", "2", "d", "--", "sh", "-c", "echo $PLOCK_FILE"}, options);
    CHECK(result.status == 0);
    CHECK(result.out == directory.path() + "/d.00.lock\n");
}

TEST_CASE("N=3 with 12 contenders never has more than 3 holders at once and all 12 run", "[sem]") {
    TempDir directory;
    const std::string d = shell_quote(directory.path());
    write_file(directory / "count", "0\n");
    write_file(directory / "max", "0\n");
    const std::string counter = shell_quote(plock_binary()) + " exec " + d + "/count.lock -c ";
    // Each holder: claims its slot with an O_EXCL marker (noclobber), counts
    // itself in under a plock exec lock, waits until three have been in at
    // once (a semaphore that allowed fewer would leave them waiting: the
    // contenders then do not end), then counts itself out and frees the
    // marker. The wait has no time limit of its own, which a slow machine
    // could exceed before the third holder got in.
    const std::string script =
        "set -C; : > " + d + "/slot.$PLOCK_SLOT || echo \"slot $PLOCK_SLOT twice\" >> " + d + "/violations; set +C; " +
        counter + "'n=$(($(cat " + d + "/count) + 1)); echo $n > " + d + "/count; "
                  "[ $n -gt $(cat " + d + "/max) ] && echo $n > " + d + "/max; true'; "
        "while [ $(cat " + d + "/max) -lt 3 ]; do sleep 0.01; done; "
        "rm -f " + d + "/slot.$PLOCK_SLOT; " +
        counter + "'echo $(($(cat " + d + "/count) - 1)) > " + d + "/count'; "
        "echo done >> " + d + "/finished";
    std::vector<Process> contenders;
    for (int index = 0; index < 12; ++index) {
        contenders.push_back(Process::start_plock(sem(directory, 3, {}, "c", {"-c", script})));
    }
    for (Process& contender : contenders) {
        const std::optional<int> status = contender.wait(std::chrono::seconds(60));
        CHECK(status == 0);
        if (!status) {
            FAIL("a contender did not end: fewer than 3 holders ever got in at once (max " +
                 trimmed(read_file(directory / "max")) + ")");
        }
    }
    CHECK(trimmed(read_file(directory / "max")) == "3");
    CHECK(trimmed(read_file(directory / "count")) == "0");
    const std::string finished = read_file(directory / "finished");
    CHECK(std::count(finished.begin(), finished.end(), '\n') == 12);
    CHECK_FALSE(exists(directory / "violations"));
}

TEST_CASE("concurrent holders see distinct PLOCK_SLOT values and a fourth finds no slot", "[sem]") {
    TempDir directory;
    Gate gate0(directory, "g0"), gate1(directory, "g1"), gate2(directory, "g2");
    Process first = hold_slot(directory, 3, "d", gate0, directory / "slot0");
    Process second = hold_slot(directory, 3, "d", gate1, directory / "slot1");
    Process third = hold_slot(directory, 3, "d", gate2, directory / "slot2");
    const std::set<std::string> slots{trimmed(read_file(directory / "slot0")), trimmed(read_file(directory / "slot1")),
                                      trimmed(read_file(directory / "slot2"))};
    CHECK(slots == std::set<std::string>{"0", "1", "2"});
    const std::string ran = directory / "fourth-ran";
    CHECK(run_plock(sem(directory, 3, {"--nonblock"}, "d", {"--", "touch", ran})).status == 75);
    CHECK_FALSE(exists(ran));
    gate1.open();
    CHECK(second.wait() == 0);
    const Result fourth = run_plock(sem(directory, 3, {"--nonblock"}, "d", {"--", "sh", "-c", "echo $PLOCK_SLOT"}));
    CHECK(fourth.status == 0);
    CHECK(fourth.out == read_file(directory / "slot1"));
    gate0.open();
    gate2.open();
}

TEST_CASE("a waiter starts as soon as any one slot is released", "[sem]") {
    TempDir directory;
    Gate gate0(directory, "g0"), gate1(directory, "g1");
    Process first = hold_slot(directory, 2, "w", gate0, directory / "slot0");
    Process second = hold_slot(directory, 2, "w", gate1, directory / "slot1");
    Process waiter = Process::start_plock(sem(directory, 2, {}, "w", {"--", "sh", "-c", "echo $PLOCK_SLOT"}));
    REQUIRE(wait_for_waiters(directory, 2, "w", 1));
    CHECK_FALSE(waiter.finished());
    // Release the slot the second holder has, whichever it is.
    gate1.open();
    CHECK(waiter.wait(std::chrono::seconds(20)) == 0);
    CHECK(waiter.out() == read_file(directory / "slot1"));
    gate0.open();
}

TEST_CASE("waiters get slots in the order they started waiting", "[sem]") {
    TempDir directory;
    Gate gate(directory);
    Process holder = hold_slot(directory, 1, "f", gate, directory / "slot");
    std::vector<Process> waiters;
    for (int index = 1; index <= 4; ++index) {
        waiters.push_back(Process::start_plock(
            sem(directory, 1, {}, "f", {"-c", "echo " + std::to_string(index) + " >> " + shell_quote(directory / "order")})));
        // The next one starts only once this one is waiting.
        REQUIRE(wait_for_waiters(directory, 1, "f", index));
    }
    gate.open();
    for (Process& waiter : waiters) {
        CHECK(waiter.wait(std::chrono::seconds(20)) == 0);
    }
    CHECK(read_file(directory / "order") == "1\n2\n3\n4\n");
}

TEST_CASE("SIGKILL of holders frees their slots at once", "[sem]") {
    TempDir directory;
    Gate gate0(directory, "g0"), gate1(directory, "g1");
    Process first = hold_slot(directory, 2, "k", gate0, directory / "slot0");
    Process second = hold_slot(directory, 2, "k", gate1, directory / "slot1");
    const auto first_command = children_of(first.pid());
    REQUIRE(first_command.size() == 1);
    const std::string ran = directory / "waiter-ran";
    Process waiter = Process::start_plock(sem(directory, 2, {}, "k", {"--", "touch", ran}));
    REQUIRE(wait_for_waiters(directory, 2, "k", 1));

    // Kill plock and its command together, as kill -9 of a job does.
    first.kill_group(SIGKILL);
    CHECK(first.wait() == 128 + SIGKILL);
    CHECK(wait_until([&] { return !process_running(first_command[0]); }));
    CHECK(waiter.wait(std::chrono::seconds(20)) == 0);
    CHECK(exists(ran));
    // Its slot is free now, with no one to clean up after it.
    CHECK(run_plock(sem(directory, 2, {"--nonblock"}, "k", {"--", "true"})).status == 0);

    second.kill_group(SIGKILL);
    CHECK(second.wait() == 128 + SIGKILL);
    CHECK(wait_until([&] { return status_of(directory, 2, "k").status == 0; }));
}

TEST_CASE("after SIGKILL of plock alone the command keeps its slot until it ends", "[sem]") {
    TempDir directory;
    Gate gate(directory);
    Process holder = hold_slot(directory, 1, "p", gate, directory / "slot");
    const auto command = children_of(holder.pid());
    REQUIRE(command.size() == 1);
    holder.signal(SIGKILL);
    CHECK(holder.wait() == 128 + SIGKILL);
    CHECK(process_running(command[0]));
    CHECK(run_plock(sem(directory, 1, {"--nonblock"}, "p", {"--", "true"})).status == 75);
    // The command still carries the record of the slot count too.
    CHECK(run_plock(sem(directory, 2, {"--nonblock"}, "p", {"--", "true"})).status == 78);
    gate.open();
    CHECK(wait_until([&] { return !process_running(command[0]); }));
    CHECK(wait_until([&] { return run_plock(sem(directory, 1, {"--nonblock"}, "p", {"--", "true"})).status == 0; }));
}

TEST_CASE("with -o the command does not hold the slot and dies with plock", "[sem]") {
    TempDir directory;
    const std::string ready = directory / "ready";
    Process holder =
        Process::start_plock(sem(directory, 1, {"-o"}, "o", {"--", "sh", "-c", ": > " + shell_quote(ready) + "; exec sleep 60"}));
    REQUIRE(wait_until([&] { return exists(ready); }));
    const auto command = children_of(holder.pid());
    REQUIRE(command.size() == 1);
    CHECK(run_plock(sem(directory, 1, {"--nonblock"}, "o", {"--", "true"})).status == 75);
    holder.signal(SIGKILL);
    CHECK(holder.wait() == 128 + SIGKILL);
    CHECK(wait_until([&] { return !process_running(command[0]); }, std::chrono::seconds(5)));
    CHECK(run_plock(sem(directory, 1, {"--nonblock"}, "o", {"--", "true"})).status == 0);
}

TEST_CASE("with --no-fork the command replaces plock and holds the slot", "[sem]") {
    TempDir directory;
    Gate gate(directory);
    Process holder = Process::start_plock(sem(directory, 1, {"--no-fork"}, "n", {"--", "sh", "-c", gate.hold_command()}));
    REQUIRE(gate.wait_ready());
    CHECK(children_of(holder.pid()).empty());
    CHECK_THAT(read_file("/proc/" + std::to_string(holder.pid()) + "/cmdline"), Catch::StartsWith(std::string("sh\0", 3)));
    CHECK(run_plock(sem(directory, 1, {"--nonblock"}, "n", {"--", "true"})).status == 75);
    gate.open();
    CHECK(holder.wait() == 0);
}

TEST_CASE("a timeout gives 75 and --nonblock gives 75 at once and -E changes both", "[sem]") {
    TempDir directory;
    Gate gate(directory);
    Process holder = hold_slot(directory, 1, "t", gate, directory / "slot");
    const std::string ran = directory / "ran";
    const Result timed = run_plock(sem(directory, 1, {"-w", "0.3"}, "t", {"--", "touch", ran}));
    CHECK(timed.status == 75);
    CHECK(timed.elapsed.count() >= 0.3);
    CHECK_THAT(timed.err, Catch::Contains("timed out after") && Catch::Contains("slot 0 by PID " + std::to_string(holder.pid())));
    const Result nonblock = run_plock(sem(directory, 1, {"--nonblock"}, "t", {"--", "touch", ran}));
    CHECK(nonblock.status == 75);
    CHECK_THAT(nonblock.err, Catch::Contains("no slot of semaphore t in " + directory.path() + " is free: slot 0 by PID " + std::to_string(holder.pid())));
    CHECK(run_plock(sem(directory, 1, {"-w", "0"}, "t", {"--", "touch", ran})).status == 75);
    const Result quiet = run_plock(sem(directory, 1, {"--nonblock", "-E", "9"}, "t", {"--", "touch", ran}));
    CHECK(quiet.status == 9);
    CHECK(run_plock(sem(directory, 1, {"-w", "0.1", "-E", "0"}, "t", {"--", "touch", ran})).err.empty());
    CHECK(run_plock(sem(directory, 1, {"--nonblock", "-q"}, "t", {"--", "touch", ran})).err.empty());
    CHECK_FALSE(exists(ran));
    gate.open();
}

TEST_CASE("INT and TERM end a wait for a slot with 128+N and the command never runs", "[sem]") {
    TempDir directory;
    Gate gate(directory);
    Process holder = hold_slot(directory, 1, "s", gate, directory / "slot");
    for (const int number : {SIGINT, SIGTERM}) {
        INFO("signal " << number);
        const std::string ran = directory / ("ran" + std::to_string(number));
        Process waiter = Process::start_plock(sem(directory, 1, {"-v"}, "s", {"--", "touch", ran}));
        REQUIRE(wait_for_waiters(directory, 1, "s", 1));
        waiter.signal(number);
        CHECK(waiter.wait(std::chrono::seconds(10)) == 128 + number);
        CHECK_FALSE(exists(ran));
        CHECK_THAT(waiter.err(), Catch::Contains("ended the wait"));
    }
    gate.open();
}

TEST_CASE("signals sent to plock sem reach the command", "[sem]") {
    TempDir directory;
    const std::string ready = directory / "ready";
    const std::string marker = directory / "got";
    Process plock = Process::start_plock(
        sem(directory, 2, {}, "g",
            {"--", "sh", "-c", "trap 'echo USR1 >> " + shell_quote(marker) + "' USR1; trap 'exit 0' TERM; : > " +
                                   shell_quote(ready) + "; while :; do sleep 0.02; done"}));
    REQUIRE(wait_until([&] { return exists(ready); }));
    plock.signal(SIGUSR1);
    CHECK(wait_until([&] { return read_file(marker) == "USR1\n"; }));
    plock.signal(SIGTERM);
    CHECK(plock.wait() == 0);
}

TEST_CASE("a different -n while the semaphore is in use gives 78 naming the count in use", "[sem]") {
    TempDir directory;
    Gate gate(directory);
    Process holder = hold_slot(directory, 2, "m", gate, directory / "slot");
    const std::string ran = directory / "ran";
    for (const std::string count : {"3", "1"}) {
        INFO("-n " << count);
        const Result result = run_plock({"sem", "-n", count, "--dir", directory.path(), "m", "--", "touch", ran});
        CHECK(result.status == 78);
        CHECK_THAT(result.err, Catch::Contains("in use with -n 2 by PID " + std::to_string(holder.pid())));
        CHECK_FALSE(exists(ran));
    }
    CHECK(run_plock(sem(directory, 2, {"--nonblock"}, "m", {"--", "true"})).status == 0);
    gate.open();
    CHECK(holder.wait() == 0);
    // Once nobody uses it, the semaphore may be used with another count.
    CHECK(run_plock(sem(directory, 5, {"--nonblock"}, "m", {"--", "true"})).status == 0);
}

TEST_CASE("a plock sem inside a command holding a slot of the same semaphore uses that slot", "[sem]") {
    TempDir directory;
    RunOptions limited;
    limited.time_limit = std::chrono::seconds(20);
    const std::string inner = shell_quote(plock_binary()) + " sem -n 1 --dir " + shell_quote(directory.path()) +
                              " r -- sh -c 'echo inner $PLOCK_SLOT'";
    const Result result = run_plock(sem(directory, 1, {}, "r", {"-c", "echo outer $PLOCK_SLOT; " + inner}), limited);
    CHECK_FALSE(result.timed_out);
    CHECK(result.status == 0);
    CHECK(result.out == "outer 0\ninner 0\n");
}

TEST_CASE("the status mode lists each slot free or held with PID and command and exits 1 while any is held", "[sem]") {
    TempDir directory;
    Result empty = status_of(directory, 2, "st");
    CHECK(empty.status == 0);
    CHECK(empty.out == "semaphore st in " + directory.path() + ": 2 slots, 0 held, 2 free, 0 waiting\n"
                       "  slot 0  free\n  slot 1  free\n");
    CHECK(empty.err.empty());
    CHECK_FALSE(exists(directory / "st.00.lock"));  // looking creates nothing

    Gate gate(directory);
    Process holder = hold_slot(directory, 2, "st", gate, directory / "slot");
    const Result held = status_of(directory, 2, "st");
    CHECK(held.status == 1);
    INFO(held.out);
    CHECK_THAT(held.out, Catch::StartsWith("semaphore st in " + directory.path() + ": 2 slots, 1 held, 1 free, 0 waiting\n"));
    CHECK_THAT(held.out, Catch::Contains("  slot 0  held by PID " + std::to_string(holder.pid()) + " (" + plock_binary() +
                                         " sem -n 2 --dir " + directory.path() + " st -- sh -c "));
    CHECK_THAT(held.out, Catch::Contains("  slot 1  free\n"));
    CHECK_THAT(status_of(directory, 3, "st").out, Catch::Contains("also in use with -n 2 by PID " + std::to_string(holder.pid())));
    gate.open();
    CHECK(holder.wait() == 0);
    CHECK(status_of(directory, 2, "st").status == 0);
}
