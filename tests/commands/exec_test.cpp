// Integration tests of `plock exec`: the real binary, real files, real processes.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>

#include "test_support.hpp"

using namespace plock::test;

namespace {

constexpr uid_t k_nobody = 65534;

// Holds LOCKFILE with `plock exec OPTIONS LOCKFILE` until the gate opens.
Process hold_with_plock(const std::string& lock, const Gate& gate, const std::vector<std::string>& options = {}) {
    std::vector<std::string> prefix{plock_binary(), "exec"};
    prefix.insert(prefix.end(), options.begin(), options.end());
    prefix.insert(prefix.end(), {lock, "--"});
    return hold_lock(prefix, gate);
}

}  // namespace

TEST_CASE("exec runs the command and exits with its status", "[exec]") {
    TempDir directory;
    CHECK(run_plock({"exec", directory / "a.lock", "--", "true"}).status == 0);
    CHECK(run_plock({"exec", directory / "a.lock", "--", "sh", "-c", "exit 3"}).status == 3);
    CHECK(run_plock({"exec", directory / "a.lock", "--", "sh", "-c", "exit 200"}).status == 200);
}

TEST_CASE("exec passes arguments and stdin/stdout through untouched", "[exec]") {
    TempDir directory;
    RunOptions options;
    options.input = "from stdin\n";
    const Result result =
        run_plock({"exec", directory / "a.lock", "--", "sh", "-c", "cat; printf '%s|' \"$@\"", "sh", "a b", "", "-n"}, options);
    CHECK(result.status == 0);
    CHECK(result.out == "from stdin\na b||-n|");
    CHECK(result.err.empty());
}

TEST_CASE("the command holds the lock while it runs", "[exec]") {
    TempDir directory;
    const std::string lock = directory / "held.lock";
    Gate gate(directory);
    Process holder = hold_with_plock(lock, gate);
    CHECK(run({"flock", "-n", lock, "true"}).status == 1);
    CHECK(run_plock({"exec", "-n", lock, "--", "true"}).status == 75);
    gate.open();
    CHECK(holder.wait() == 0);
    CHECK(run({"flock", "-n", lock, "true"}).status == 0);
}

TEST_CASE("two contenders are serialised: the second starts after the first ends", "[exec]") {
    TempDir directory;
    const std::string lock = directory / "serial.lock";
    Gate gate(directory);
    Process first = hold_with_plock(lock, gate);
    const std::string started = directory / "second-started";
    Process second = Process::start_plock({"exec", lock, "--", "sh", "-c", ": > " + shell_quote(started)});
    // Once the second waits in the kernel for the lock, it has had every
    // chance to run too early (a plock that did not wait would never get
    // there, and this fails).
    REQUIRE(wait_until([&] { return blocked_waiters(lock) == 1; }));
    CHECK_FALSE(exists(started));
    CHECK_FALSE(second.finished());
    gate.open();
    CHECK(first.wait() == 0);
    CHECK(second.wait() == 0);
    CHECK(exists(started));
}

TEST_CASE("the command sees PLOCK_FILE as an absolute path and PLOCK_MODE", "[exec]") {
    TempDir directory;
    const Result result = run({"sh", "-c",
                               "cd " + shell_quote(directory.path()) + " && " + shell_quote(plock_binary()) +
                                   " exec -s rel.lock -- sh -c 'echo \"$PLOCK_FILE $PLOCK_MODE\"'"});
    CHECK(result.status == 0);
    char resolved[4096];
    REQUIRE(realpath(directory.path().c_str(), resolved) != nullptr);
    CHECK(result.out == std::string(resolved) + "/rel.lock shared\n");
    CHECK(run_plock({"exec", directory / "x.lock", "--", "sh", "-c", "test \"$PLOCK_MODE\" = exclusive"}).status == 0);
}

TEST_CASE("shared holders run together and an exclusive request waits for them", "[exec]") {
    TempDir directory;
    const std::string lock = directory / "shared.lock";
    Gate gate(directory);
    Process reader = hold_with_plock(lock, gate, {"-s"});
    CHECK(run_plock({"exec", "-s", "-n", lock, "--", "true"}).status == 0);
    CHECK(run_plock({"exec", "-x", "-n", lock, "--", "true"}).status == 75);
    CHECK(run_plock({"exec", "-n", lock, "--", "true"}).status == 75);
    gate.open();
    CHECK(reader.wait() == 0);
    CHECK(run_plock({"exec", "-n", lock, "--", "true"}).status == 0);
}

TEST_CASE("option -n on a busy lock exits 75 and names the holder and -q silences it", "[exec]") {
    TempDir directory;
    const std::string lock = directory / "busy.lock";
    Gate gate(directory);
    Process holder = hold_with_plock(lock, gate);
    const std::string ran = directory / "ran";
    const Result busy = run_plock({"exec", "-n", lock, "--", "touch", ran});
    CHECK(busy.status == 75);
    CHECK_THAT(busy.err, Catch::Contains(lock) && Catch::Contains("PID " + std::to_string(holder.pid())));
    CHECK_FALSE(exists(ran));
    const Result quiet = run_plock({"exec", "-n", "-q", lock, "--", "touch", ran});
    CHECK(quiet.status == 75);
    CHECK(quiet.err.empty());
    gate.open();
}

TEST_CASE("option -E changes the conflict status and -E 0 makes a conflict silent", "[exec]") {
    TempDir directory;
    const std::string lock = directory / "e.lock";
    Gate gate(directory);
    Process holder = hold_with_plock(lock, gate);
    CHECK(run_plock({"exec", "-n", "-E", "3", lock, "--", "true"}).status == 3);
    CHECK(run_plock({"exec", "-w", "0.1", "--conflict-exit-code", "9", lock, "--", "true"}).status == 9);
    const Result silent = run_plock({"exec", "-n", "-E", "0", lock, "--", "true"});
    CHECK(silent.status == 0);
    CHECK(silent.err.empty());
    gate.open();
}

TEST_CASE("option -w gives up after the timeout and says so", "[exec]") {
    TempDir directory;
    const std::string lock = directory / "w.lock";
    Gate gate(directory);
    Process holder = hold_with_plock(lock, gate);
    const Result result = run_plock({"exec", "-w", "0.5", lock, "--", "true"});
    // The holder keeps the lock until the gate opens, after this: 75 can
    // only be the timeout, and it cannot come before 0.5 s. (No upper bound:
    // how late it comes on a loaded machine says nothing about plock; a
    // plock that never gave up would hit run()'s time limit.)
    CHECK(result.status == 75);
    CHECK_FALSE(result.timed_out);
    CHECK(result.elapsed >= std::chrono::milliseconds(500));
    CHECK_THAT(result.err, Catch::Contains("timed out after") && Catch::Contains(lock));
    // A timeout of 0 is -n: no wait at all, so the busy message, not the timeout's.
    const Result zero = run_plock({"exec", "--timeout", "0", lock, "--", "true"});
    CHECK(zero.status == 75);
    CHECK_THAT(zero.err, Catch::Contains(lock + " is locked by PID " + std::to_string(holder.pid())));
    CHECK_THAT(zero.err, !Catch::Contains("timed out"));
    gate.open();
}

TEST_CASE("option -w gets the lock when it is released before the timeout", "[exec]") {
    TempDir directory;
    const std::string lock = directory / "w2.lock";
    Gate gate(directory);
    Process holder = hold_with_plock(lock, gate);
    Process waiter = Process::start_plock({"exec", "-w", "30", lock, "--", "sh", "-c", "exit 4"});
    REQUIRE(wait_until([&] { return blocked_waiters(lock) == 1; }));
    CHECK_FALSE(waiter.finished());
    gate.open();
    CHECK(waiter.wait() == 4);
}

TEST_CASE("option -v says it waits and who holds the lock and when it got it", "[exec]") {
    TempDir directory;
    const std::string lock = directory / "v.lock";
    Gate gate(directory);
    Process holder = hold_with_plock(lock, gate);
    Process waiter = Process::start_plock({"exec", "-v", lock, "--", "true"});
    REQUIRE(wait_until([&] { return waiter.err().find("waiting") != std::string::npos; }));
    gate.open();
    CHECK(waiter.wait() == 0);
    const std::string err = waiter.err();
    CHECK_THAT(err, Catch::Contains("waiting for exclusive lock on " + lock));
    CHECK_THAT(err, Catch::Contains("PID " + std::to_string(holder.pid())));
    CHECK_THAT(err, Catch::Contains("no timeout"));
    CHECK_THAT(err, Catch::Contains("acquired exclusive lock"));
}

TEST_CASE("option -c runs a shell command string", "[exec]") {
    TempDir directory;
    const Result result = run_plock({"exec", directory / "c.lock", "-c", "echo $((6*7)); exit 5"});
    CHECK(result.status == 5);
    CHECK(result.out == "42\n");
}

TEST_CASE("option --method ofd conflicts with fcntl/lockf users and not with flock users", "[exec]") {
    TempDir directory;
    const std::string lock = directory / "ofd.lock";
    Gate gate(directory);
    Process lockf_holder = Process::start(
        {"/usr/bin/python3", "-c",
         "import fcntl,sys,subprocess\n"
         "f=open(sys.argv[1],'a'); fcntl.lockf(f, fcntl.LOCK_EX)\n"
         "subprocess.call(['sh','-c',sys.argv[2]])\n",
         lock, gate.hold_command()});
    REQUIRE(gate.wait_ready());
    CHECK(run_plock({"exec", "--method", "ofd", "-n", lock, "--", "true"}).status == 75);
    CHECK(run_plock({"exec", "--method", "flock", "-n", lock, "--", "true"}).status == 0);
    gate.open();
    CHECK(lockf_holder.wait() == 0);
    CHECK(run_plock({"exec", "--method", "ofd", "-n", lock, "--", "true"}).status == 0);
}

TEST_CASE("option --no-fork replaces plock with the command which keeps the lock", "[exec]") {
    TempDir directory;
    const std::string lock = directory / "nofork.lock";
    Gate gate(directory);
    const std::string pid_file = directory / "pid";
    Process holder = Process::start_plock(
        {"exec", "--no-fork", lock, "--", "sh", "-c", "echo $$ > " + shell_quote(pid_file) + "; " + gate.hold_command()});
    REQUIRE(gate.wait_ready());
    CHECK(read_file(pid_file) == std::to_string(holder.pid()) + "\n");
    CHECK(children_of(holder.pid()).empty());
    CHECK(run_plock({"try", lock}).status == 75);
    gate.open();
    CHECK(holder.wait() == 0);
    CHECK(run_plock({"try", lock}).status == 0);
}

TEST_CASE("without -o a background process left behind keeps the lock and with -o it does not", "[exec]") {
    TempDir directory;
    for (const bool close : {false, true}) {
        const std::string lock = directory / (close ? "close.lock" : "keep.lock");
        const std::string daemon_pid = directory / (close ? "close.pid" : "keep.pid");
        std::vector<std::string> arguments{"exec"};
        if (close) {
            arguments.push_back("-o");
        }
        arguments.insert(arguments.end(),
                         {lock, "--", "sh", "-c", "sleep 30 >/dev/null 2>&1 & echo $! > " + shell_quote(daemon_pid)});
        CHECK(run_plock(arguments).status == 0);
        const pid_t daemon = std::stoi(read_file(daemon_pid));
        CHECK(process_running(daemon));
        CHECK(run_plock({"try", lock}).status == (close ? 0 : 75));
        kill(daemon, SIGKILL);
        CHECK(wait_until([&] { return run_plock({"try", lock}).status == 0; }));
    }
}

TEST_CASE("an existing lock file is never truncated and keeps its mode", "[exec]") {
    TempDir directory;
    const std::string lock = directory / "data.lock";
    write_file(lock, "important data\n");
    REQUIRE(chmod(lock.c_str(), 0640) == 0);
    CHECK(run_plock({"exec", lock, "--", "true"}).status == 0);
    CHECK(run_plock({"exec", "-s", "--method", "ofd", lock, "--", "true"}).status == 0);
    CHECK(run_plock({"try", lock}).status == 0);
    CHECK(read_file(lock) == "important data\n");
    struct stat status {};
    REQUIRE(stat(lock.c_str(), &status) == 0);
    CHECK((status.st_mode & 07777) == 0640);
}

TEST_CASE("a new lock file gets mode 0666 minus the umask and is never deleted", "[exec]") {
    TempDir directory;
    const std::string lock = directory / "new.lock";
    CHECK(run({"sh", "-c", "umask 027 && exec " + shell_quote(plock_binary()) + " exec " + shell_quote(lock) + " -- true"})
              .status == 0);
    struct stat status {};
    REQUIRE(stat(lock.c_str(), &status) == 0);
    CHECK((status.st_mode & 07777) == 0640);
    CHECK(status.st_size == 0);
}

TEST_CASE("a directory can serve as the lock", "[exec]") {
    TempDir directory;
    Gate gate(directory);
    Process holder = hold_with_plock(directory.path(), gate);
    CHECK(run_plock({"exec", "-n", directory.path(), "--", "true"}).status == 75);
    gate.open();
    CHECK(holder.wait() == 0);
}

TEST_CASE("a file we may only read can still be locked with flock", "[exec]") {
    INFO("run the suite as root (as .ci/run does): the test switches to user nobody");
    REQUIRE(running_as_root());
    TempDir directory;
    REQUIRE(chmod(directory.path().c_str(), 0755) == 0);
    const std::string lock = directory / "ro.lock";
    write_file(lock, "");
    REQUIRE(chmod(lock.c_str(), 0644) == 0);
    RunOptions as_nobody;
    as_nobody.user = k_nobody;
    CHECK(run_plock({"exec", lock, "--", "true"}, as_nobody).status == 0);
    CHECK(run_plock({"exec", "-s", "--method", "ofd", lock, "--", "true"}, as_nobody).status == 0);
    const Result exclusive_ofd = run_plock({"exec", "--method", "ofd", lock, "--", "true"}, as_nobody);
    CHECK(exclusive_ofd.status == 77);
    CHECK_THAT(exclusive_ofd.err, Catch::Contains("read-only"));
}

TEST_CASE("a nested plock on a lock its parent holds runs instead of deadlocking", "[exec][reentrant]") {
    TempDir directory;
    const std::string lock = directory / "r.lock";
    const std::string plock = shell_quote(plock_binary());
    for (const std::string method : {"flock", "ofd"}) {
        INFO(method);
        const Result nested = run_plock({"exec", "--method", method, lock, "--", "sh", "-c",
                                         plock + " exec -w 5 --method " + method + " " + shell_quote(lock) +
                                             " -- sh -c 'exit 7'"});
        CHECK(nested.status == 7);
        const Result shared_inside = run_plock(
            {"exec", "--method", method, lock, "--", plock_binary(), "exec", "-s", "-n", "--method", method, lock, "--", "true"});
        CHECK(shared_inside.status == 0);
    }
    // A descendant started by `flock(1)` is recognised as well.
    CHECK(run({"flock", lock, plock_binary(), "exec", "-n", lock, "--", "true"}).status == 0);
}

TEST_CASE("a nested exclusive request inside a shared hold is refused instead of deadlocking", "[exec][reentrant]") {
    TempDir directory;
    const std::string lock = directory / "up.lock";
    const Result result = run_plock({"exec", "-s", lock, "--", plock_binary(), "exec", "-w", "30", lock, "--", "true"});
    // Refused at once: the refusal's message, not the 30 s timeout's.
    CHECK(result.status == 75);
    CHECK_THAT(result.err, Catch::Contains("shared") && Catch::Contains("inherited"));
    CHECK_THAT(result.err, !Catch::Contains("timed out"));
}

TEST_CASE("an unrelated holder of the same file is not mistaken for an inherited lock", "[exec][reentrant]") {
    TempDir directory;
    const std::string lock = directory / "other.lock";
    Gate gate(directory);
    Process holder = hold_with_plock(lock, gate);
    CHECK(run_plock({"exec", "-n", lock, "--", "true"}).status == 75);
    gate.open();
}

TEST_CASE("a command that is missing gives 127 and one that cannot run gives 126", "[exec]") {
    TempDir directory;
    const Result missing = run_plock({"exec", directory / "m.lock", "--", "plock-no-such-command"});
    CHECK(missing.status == 127);
    CHECK_THAT(missing.err, Catch::Contains("plock-no-such-command") && Catch::Contains("No such file"));
    write_file(directory / "script", "echo hi\n");
    REQUIRE(chmod((directory / "script").c_str(), 0644) == 0);
    const Result not_executable = run_plock({"exec", directory / "m.lock", "--", directory / "script"});
    CHECK(not_executable.status == 126);
    CHECK_THAT(not_executable.err, Catch::Contains("Permission denied"));
    // The lock is not left behind either way.
    CHECK(run_plock({"try", directory / "m.lock"}).status == 0);
}

// The lock file can go away or be replaced (renamed over by plock update or
// an atomic writer) while plock waits for its lock. The lock plock then gets
// is on a file the path no longer names, which a newcomer would not see: plock
// must lock the file the path names before it runs the command.
TEST_CASE("a lock file removed while plock exec waited is created again and locked before the command runs", "[exec]") {
    const std::string method = GENERATE(std::string("flock"), std::string("ofd"));
    INFO("--method " << method);
    TempDir directory;
    const std::string lock = directory / "removed.lock";
    Gate old_gate(directory, "old");
    Process old_holder = hold_with_plock(lock, old_gate, {"--method", method});
    Gate command_gate(directory, "command");
    Process waiter =
        Process::start_plock({"exec", "-v", "--method", method, lock, "--", "sh", "-c", command_gate.hold_command()});
    REQUIRE(wait_until([&] { return run_plock({"status", lock}).out.find(", 1 waiting\n") != std::string::npos; }));
    REQUIRE(unlink(lock.c_str()) == 0);
    old_gate.open();
    CHECK(old_holder.wait() == 0);
    REQUIRE(command_gate.wait_ready());
    // The command runs under the lock of the file the path names now.
    CHECK(exists(lock));
    const Result newcomer = run_plock({"exec", "-n", "--method", method, lock, "--", "true"});
    CHECK(newcomer.status == 75);
    CHECK_THAT(newcomer.err, Catch::Contains("PID " + std::to_string(waiter.pid())));
    command_gate.open();
    CHECK(waiter.wait() == 0);
    CHECK_THAT(waiter.err(), Catch::Contains(lock + " was replaced while plock waited"));
}

TEST_CASE("option -w bounds the whole wait when the lock file is replaced during it", "[exec]") {
    TempDir directory;
    const std::string lock = directory / "replaced.lock";
    write_file(lock, "old\n");
    Gate old_gate(directory, "old");
    Process old_holder = hold_with_plock(lock, old_gate);
    // The file that will replace the lock file is locked already: the holder
    // keeps that lock through the rename.
    const std::string next = directory / "next";
    write_file(next, "new\n");
    Gate new_gate(directory, "new");
    Process new_holder = hold_with_plock(next, new_gate);
    // -w 5: time enough to outlive the steps below even under the sanitizers.
    Process waiter = Process::start_plock({"exec", "-w", "5", lock, "--", "echo", "ran"});
    REQUIRE(wait_until([&] { return run_plock({"status", lock}).out.find(", 1 waiting\n") != std::string::npos; }));
    REQUIRE(rename(next.c_str(), lock.c_str()) == 0);
    old_gate.open();
    CHECK(old_holder.wait() == 0);
    // The waiter got the old file's lock, saw the file replaced, and waits
    // for the new one only as long as its -w 5 has left.
    CHECK(waiter.wait() == 75);
    CHECK(waiter.out().empty());
    CHECK_THAT(waiter.err(), Catch::Contains("timed out") && Catch::Contains("PID " + std::to_string(new_holder.pid())));
    CHECK_FALSE(new_holder.finished());
    new_gate.open();
    CHECK(new_holder.wait() == 0);
}
