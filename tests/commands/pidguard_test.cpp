// Integration tests of `plock pidguard`: the real binary, real PID files,
// real processes and signals, and races between guards run many times.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <iostream>
#include <sstream>
#include <thread>

#include "test_support.hpp"

using namespace plock::test;

namespace {

// Shell: wait until PLOCK_PIDFILE holds our own PID (plock writes it the
// moment our exec has succeeded, so we may run a moment before it is there).
// Gives up only after 3000 looks 10 ms apart (at least 30 s: a hang guard, not
// a bound on how soon plock writes), and the test then sees the wrong content.
const std::string k_await_own_pid =
    "i=0; while :; do p=; read p < \"$PLOCK_PIDFILE\"; [ \"$p\" = $$ ] && break; "
    "i=$((i+1)); [ $i -gt 3000 ] && break; sleep 0.01; done; ";

std::string trimmed(std::string text) {
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) {
        text.pop_back();
    }
    return text;
}

// The command's PID as the PID file shows it, once written.
std::string await_pid_in(const std::string& pidfile) {
    std::string content;
    wait_until([&] {
        content = read_file(pidfile);
        return !content.empty() && content.back() == '\n';
    });
    return trimmed(content);
}

// `plock pidguard PIDFILE` running a command that holds until the gate opens.
Process guard_until_gate(const std::string& pidfile, const Gate& gate) {
    return hold_lock({plock_binary(), "pidguard", pidfile, "--"}, gate);
}

std::string only_child(pid_t pid) {
    const auto children = commands_of(pid);
    REQUIRE(children.size() == 1);
    return std::to_string(children[0]);
}

}  // namespace

TEST_CASE("the PID file holds the command's PID while it runs and is removed when it ends", "[pidguard]") {
    TempDir directory;
    const std::string pidfile = directory / "job.pid";
    Gate gate(directory);
    Process guard = guard_until_gate(pidfile, gate);
    const std::string child = only_child(guard.pid());
    CHECK(await_pid_in(pidfile) == child);
    CHECK(read_file(pidfile) == child + "\n");
    struct stat status {};
    REQUIRE(stat(pidfile.c_str(), &status) == 0);
    const mode_t mask = umask(0);
    umask(mask);
    CHECK((status.st_mode & 0777) == (0644 & ~mask));
    gate.open();
    CHECK(guard.wait() == 0);
    CHECK_FALSE(exists(pidfile));
}

TEST_CASE("the command's exit status is plock's and the file is removed after a failure too", "[pidguard]") {
    TempDir directory;
    const std::string pidfile = directory / "s.pid";
    CHECK(run_plock({"pidguard", pidfile, "--", "sh", "-c", "exit 3"}).status == 3);
    CHECK_FALSE(exists(pidfile));
    CHECK(run_plock({"pidguard", pidfile, "-c", "kill -USR1 $$"}).status == 128 + SIGUSR1);
    CHECK_FALSE(exists(pidfile));
    const Result missing = run_plock({"pidguard", pidfile, "--", directory / "no-such-command"});
    CHECK(missing.status == 127);
    CHECK_FALSE(exists(pidfile));
}

TEST_CASE("the command sees PLOCK_PIDFILE as an absolute path holding its own PID", "[pidguard]") {
    TempDir directory;
    const Result result = run({"sh", "-c",
                               "cd " + shell_quote(directory.path()) + " && " + shell_quote(plock_binary()) +
                                   " pidguard rel.pid -- sh -c " +
                                   shell_quote(k_await_own_pid + "echo \"$PLOCK_PIDFILE $p $$\"")});
    CHECK(result.status == 0);
    char resolved[4096];
    REQUIRE(realpath(directory.path().c_str(), resolved) != nullptr);
    const auto words = lines_of(result.out);
    REQUIRE(words.size() == 1);
    std::istringstream fields(words[0]);
    std::string path, seen, own;
    fields >> path >> seen >> own;
    CHECK(path == std::string(resolved) + "/rel.pid");
    CHECK(seen == own);
}

TEST_CASE("a second start exits 75 and names the running command's PID and command line", "[pidguard]") {
    TempDir directory;
    const std::string pidfile = directory / "busy.pid";
    Gate gate(directory);
    Process guard = guard_until_gate(pidfile, gate);
    const std::string child = await_pid_in(pidfile);
    const std::string ran = directory / "ran";
    const Result second = run_plock({"pidguard", pidfile, "--", "touch", ran});
    CHECK(second.status == 75);
    CHECK(second.err == "plock: " + pidfile + " is held by PID " + child + " (sh -c " + gate.hold_command() + ")\n");
    CHECK_FALSE(exists(ran));
    CHECK(read_file(pidfile) == child + "\n");
    const Result quiet = run_plock({"pidguard", "-q", pidfile, "--", "touch", ran});
    CHECK(quiet.status == 75);
    CHECK(quiet.err.empty());
    CHECK(run_plock({"pidguard", "-E", "9", pidfile, "--", "touch", ran}).status == 9);
    const Result silent = run_plock({"pidguard", "-n", "-E", "0", pidfile, "--", "touch", ran});
    CHECK(silent.status == 0);
    CHECK(silent.err.empty());
    CHECK_FALSE(exists(ran));
    gate.open();
    CHECK(guard.wait() == 0);
}

TEST_CASE("two concurrent starts run exactly one and the other names its PID over many rounds", "[pidguard][race]") {
    TempDir directory;
    const std::string pidfile = directory / "race.pid";
    // A number of rounds, not a time budget: a slow machine takes longer
    // instead of proving less (under the sanitizers a plock start costs a
    // third of a second, hence fewer there).
    constexpr int k_rounds = PLOCK_TEST_SANITIZED ? 50 : 200;
    const auto began = std::chrono::steady_clock::now();
    int rounds = 0;
    int failed_rounds = 0;
    for (; rounds < k_rounds; ++rounds) {
        INFO("round " << rounds);
        const std::string ran = directory / ("ran" + std::to_string(rounds));
        Gate gate(directory, "gate" + std::to_string(rounds));
        const std::string command = "echo $$ >> " + shell_quote(ran) + "; " + gate.hold_command();
        StartBarrier barrier;
        RunOptions together;
        together.start_barrier_fd = barrier.read_fd();
        Process first = Process::start_plock({"pidguard", pidfile, "--", "sh", "-c", command}, together);
        Process second = Process::start_plock({"pidguard", pidfile, "--", "sh", "-c", command}, together);
        barrier.release(2);

        bool round_ok = wait_until([&] { return first.finished() || second.finished(); });
        CHECK(round_ok);
        Process& loser = first.finished() ? first : second;
        Process& winner = first.finished() ? second : first;
        const bool winner_started = gate.wait_ready();
        CHECK(winner_started);
        const std::string child = await_pid_in(pidfile);
        const auto started = lines_of(read_file(ran));
        const std::optional<int> loser_status = loser.wait();
        const std::string loser_err = loser.err();
        CHECK(loser_status == 75);
        CHECK(started == std::vector<std::string>{child});
        CHECK_THAT(loser_err, Catch::Contains("is held by PID " + child + " (sh -c"));
        CHECK_FALSE(winner.finished());
        round_ok = round_ok && winner_started && loser_status == 75 &&
                   started == std::vector<std::string>{child} &&
                   loser_err.find("is held by PID " + child + " (sh -c") != std::string::npos;
        gate.open();
        const std::optional<int> winner_status = winner.wait();
        CHECK(winner_status == 0);
        CHECK_FALSE(exists(pidfile));
        round_ok = round_ok && winner_status == 0 && !exists(pidfile);
        failed_rounds += round_ok ? 0 : 1;
    }
    std::cout << "pidguard concurrent-start race: " << rounds << " rounds in "
              << std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count()
              << "s, " << failed_rounds << " failed\n";
    CHECK(failed_rounds == 0);
}

TEST_CASE("guards that start together and wait never run two commands at once", "[pidguard][race]") {
    TempDir directory;
    const std::string pidfile = directory / "queue.pid";
    const std::string log = directory / "log";
    // Each command checks that the PID file names it, then holds a moment.
    const std::string command = k_await_own_pid + "[ \"$p\" = $$ ] || echo \"wrong $$ $p\" >> " + shell_quote(log) +
                                "; echo \"start $$\" >> " + shell_quote(log) + "; sleep 0.01; echo \"end $$\" >> " +
                                shell_quote(log);
    constexpr int k_rounds = 25;
    constexpr int k_contenders = 4;
    for (int round = 0; round < k_rounds; ++round) {
        INFO("round " << round);
        write_file(log, "");
        StartBarrier barrier;
        RunOptions together;
        together.start_barrier_fd = barrier.read_fd();
        std::vector<Process> guards;
        for (int index = 0; index < k_contenders; ++index) {
            guards.push_back(Process::start_plock({"pidguard", "-w", "60", pidfile, "-c", command}, together));
        }
        barrier.release(k_contenders);
        for (Process& guard : guards) {
            CHECK(guard.wait() == 0);
        }
        const auto lines = lines_of(read_file(log));
        INFO("log:\n" << read_file(log));
        REQUIRE(lines.size() == 2 * k_contenders);
        for (std::size_t index = 0; index < lines.size(); index += 2) {
            CHECK(lines[index].rfind("start ", 0) == 0);
            CHECK(lines[index + 1] == "end " + lines[index].substr(6));
        }
        CHECK_FALSE(exists(pidfile));
    }
}

TEST_CASE("losing contenders never change the holder's PID file", "[pidguard][race]") {
    TempDir directory;
    const std::string pidfile = directory / "held.pid";
    Gate gate(directory);
    Process guard = guard_until_gate(pidfile, gate);
    const std::string expected = await_pid_in(pidfile) + "\n";

    std::atomic<bool> stop{false};
    std::atomic<long> reads{0};
    std::atomic<long> wrong{0};
    std::thread reader([&] {
        while (!stop.load()) {
            if (read_file(pidfile) != expected) {
                ++wrong;
            }
            ++reads;
        }
    });
    constexpr int k_batches = 25;
    int losers = 0;
    for (int batch = 0; batch < k_batches; ++batch) {
        StartBarrier barrier;
        RunOptions together;
        together.start_barrier_fd = barrier.read_fd();
        std::vector<Process> contenders;
        contenders.push_back(Process::start_plock({"pidguard", pidfile, "--", "true"}, together));
        contenders.push_back(Process::start_plock({"pidguard", "-q", pidfile, "-c", "true"}, together));
        contenders.push_back(Process::start_plock({"pidguard", "-w", "0.02", pidfile, "--", "true"}, together));
        contenders.push_back(Process::start_plock({"pidguard", "--status", pidfile}, together));
        barrier.release(4);
        for (std::size_t index = 0; index < contenders.size(); ++index) {
            CHECK(contenders[index].wait() == (index == 3 ? 0 : 75));
        }
        losers += 3;
    }
    stop = true;
    reader.join();
    std::cout << "pidguard losing contenders: " << losers << " losers, " << reads.load()
              << " reads of the PID file, " << wrong.load() << " differed\n";
    CHECK(wrong.load() == 0);
    CHECK(reads.load() > k_batches);
    CHECK(read_file(pidfile) == expected);
    gate.open();
    CHECK(guard.wait() == 0);
}

TEST_CASE("a PID file left by SIGKILL of plock and its command does not block the next run", "[pidguard]") {
    TempDir directory;
    const std::string pidfile = directory / "killed.pid";
    Gate gate(directory);
    Process guard = guard_until_gate(pidfile, gate);
    const std::string child = await_pid_in(pidfile);
    guard.kill_group(SIGKILL);
    CHECK(guard.wait() == 128 + SIGKILL);
    REQUIRE(wait_until([&] { return !process_running(std::stoi(child)); }));
    CHECK(read_file(pidfile) == child + "\n");
    CHECK(run_plock({"pidguard", "--status", pidfile}).status == 1);

    const Result next = run_plock({"pidguard", pidfile, "-c", k_await_own_pid + "echo \"$p $$\""});
    CHECK(next.status == 0);
    std::istringstream fields(next.out);
    std::string seen, own;
    fields >> seen >> own;
    CHECK(seen == own);
    CHECK_FALSE(exists(pidfile));
}

TEST_CASE("after SIGKILL of plock alone the command keeps the guard", "[pidguard]") {
    TempDir directory;
    const std::string pidfile = directory / "orphan.pid";
    Gate gate(directory);
    Process guard = guard_until_gate(pidfile, gate);
    const std::string child = await_pid_in(pidfile);
    guard.signal(SIGKILL);
    CHECK(guard.wait() == 128 + SIGKILL);
    CHECK(process_running(std::stoi(child)));
    const Result second = run_plock({"pidguard", pidfile, "--", "true"});
    CHECK(second.status == 75);
    CHECK_THAT(second.err, Catch::Contains("held by PID " + child));
    const Result status = run_plock({"pidguard", "--status", pidfile});
    CHECK(status.status == 0);
    CHECK(status.out == child + "\n");
    gate.open();
    REQUIRE(wait_until([&] { return !process_running(std::stoi(child)); }));
    CHECK(run_plock({"pidguard", "--status", pidfile}).status == 1);  // nobody removed it
    CHECK(run_plock({"pidguard", pidfile, "--", "true"}).status == 0);
}

TEST_CASE("the file is not removed if someone else replaced it meanwhile", "[pidguard]") {
    TempDir directory;
    const std::string pidfile = directory / "swap.pid";
    Gate gate(directory);
    Process guard = guard_until_gate(pidfile, gate);
    await_pid_in(pidfile);
    write_file(directory / "new.pid", "4242\n");
    REQUIRE(rename((directory / "new.pid").c_str(), pidfile.c_str()) == 0);
    gate.open();
    CHECK(guard.wait() == 0);
    CHECK(read_file(pidfile) == "4242\n");
}

TEST_CASE("the file is not removed if the command wrote another PID into it", "[pidguard]") {
    TempDir directory;
    const std::string pidfile = directory / "rewritten.pid";
    const Result result = run_plock({"pidguard", pidfile, "-c", k_await_own_pid + "echo 4242 > \"$PLOCK_PIDFILE\""});
    CHECK(result.status == 0);
    CHECK(read_file(pidfile) == "4242\n");
}

TEST_CASE("the file stays while processes the command left behind hold the guard", "[pidguard]") {
    TempDir directory;
    const std::string pidfile = directory / "daemon.pid";
    const std::string daemon_pid = directory / "daemon-pid";
    Gate gate(directory);
    // The command starts a background process (which inherits the lock) and exits.
    const Result result = run_plock(
        {"pidguard", pidfile, "-c", "(" + gate.hold_command() + ") </dev/null >/dev/null 2>&1 & echo $! > " +
                                        shell_quote(daemon_pid)});
    CHECK(result.status == 0);
    REQUIRE(gate.wait_ready());
    CHECK(exists(pidfile));
    const std::string daemon = trimmed(read_file(daemon_pid));
    const Result second = run_plock({"pidguard", pidfile, "--", "true"});
    CHECK(second.status == 75);
    CHECK_THAT(second.err, Catch::Contains("held by PID " + daemon));
    gate.open();
    REQUIRE(wait_until([&] { return !process_running(std::stoi(daemon)); }));
    CHECK(run_plock({"pidguard", pidfile, "--", "true"}).status == 0);
}

TEST_CASE("option -w waits for the running instance to end and then runs", "[pidguard]") {
    TempDir directory;
    const std::string pidfile = directory / "wait.pid";
    Gate gate(directory);
    Process guard = guard_until_gate(pidfile, gate);
    const std::string child = await_pid_in(pidfile);
    const std::string marker = directory / "second";
    Process second = Process::start_plock(
        {"pidguard", "-v", "-w", "30", pidfile, "-c", k_await_own_pid + "echo \"$p $$\" > " + shell_quote(marker)});
    REQUIRE(wait_until([&] { return second.err().find("waiting for") != std::string::npos; }));
    CHECK_THAT(second.err(), Catch::Contains("held by PID " + child));
    CHECK_FALSE(exists(marker));
    gate.open();
    CHECK(guard.wait() == 0);
    CHECK(second.wait() == 0);
    std::istringstream fields(read_file(marker));
    std::string seen, own;
    fields >> seen >> own;
    CHECK(seen == own);
    CHECK_FALSE(exists(pidfile));
}

TEST_CASE("option -w gives up after the timeout with 75", "[pidguard]") {
    TempDir directory;
    const std::string pidfile = directory / "timeout.pid";
    Gate gate(directory);
    Process guard = guard_until_gate(pidfile, gate);
    const std::string child = await_pid_in(pidfile);
    const Result result = run_plock({"pidguard", "-w", "0.3", pidfile, "--", "true"});
    CHECK(result.status == 75);
    CHECK(result.elapsed >= std::chrono::milliseconds(300));
    CHECK_THAT(result.err, Catch::Contains("timed out") && Catch::Contains("PID " + child));
    gate.open();
    CHECK(guard.wait() == 0);
}

TEST_CASE("signals sent to plock reach the command and the file is removed after", "[pidguard]") {
    TempDir directory;
    const std::string pidfile = directory / "signal.pid";
    const std::string ready = directory / "ready";
    Process guard = Process::start_plock(
        {"pidguard", pidfile, "-c", "trap 'exit 7' TERM; : > " + shell_quote(ready) + "; while :; do sleep 0.02; done"});
    REQUIRE(wait_until([&] { return exists(ready); }));
    await_pid_in(pidfile);
    guard.signal(SIGTERM);
    CHECK(guard.wait() == 7);
    CHECK_FALSE(exists(pidfile));
}

TEST_CASE("option --replace stops the running instance with SIGTERM and takes over", "[pidguard]") {
    TempDir directory;
    const std::string pidfile = directory / "replace.pid";
    const std::string ready = directory / "ready";
    const std::string got = directory / "got";
    Process old = Process::start_plock(
        {"pidguard", pidfile, "-c",
         "trap 'echo TERM >> " + shell_quote(got) + "; exit 0' TERM; : > " + shell_quote(ready) +
             "; while :; do sleep 0.02; done"});
    REQUIRE(wait_until([&] { return exists(ready); }));
    const std::string old_child = await_pid_in(pidfile);
    const Result replacement =
        run_plock({"pidguard", "--replace", pidfile, "-c", k_await_own_pid + "echo \"$p $$\""});
    CHECK(replacement.status == 0);
    CHECK(replacement.err.empty());
    std::istringstream fields(replacement.out);
    std::string seen, own;
    fields >> seen >> own;
    CHECK(seen == own);
    CHECK(seen != old_child);
    CHECK(old.wait() == 0);
    CHECK(read_file(got) == "TERM\n");  // once: plock forwarded it, it was not sent twice
    CHECK_FALSE(exists(pidfile));
}

TEST_CASE("option --replace kills an instance that ignores SIGTERM after the grace period", "[pidguard]") {
    TempDir directory;
    const std::string pidfile = directory / "stubborn.pid";
    const std::string ready = directory / "ready";
    Process old = Process::start_plock(
        {"pidguard", pidfile, "-c", "trap '' TERM; : > " + shell_quote(ready) + "; while :; do sleep 0.02; done"});
    REQUIRE(wait_until([&] { return exists(ready); }));
    const std::string old_child = await_pid_in(pidfile);
    const Result replacement =
        run_plock({"pidguard", "-v", "--replace", "--grace", "0.5", pidfile, "-c", k_await_own_pid + "echo $p"});
    CHECK(replacement.status == 0);
    CHECK(replacement.elapsed >= std::chrono::milliseconds(500));
    CHECK_THAT(replacement.err, Catch::Contains("sent SIGTERM to PID " + std::to_string(old.pid())));
    CHECK_THAT(replacement.err, Catch::Contains("sent SIGKILL to PID " + old_child));
    CHECK(trimmed(replacement.out) != old_child);
    CHECK(old.wait() == 128 + SIGKILL);
    CHECK_FALSE(process_running(std::stoi(old_child)));
}

TEST_CASE("option --replace signals only the lock.s holders and never the PID named in the file", "[pidguard]") {
    TempDir directory;
    const std::string pidfile = directory / "decoy.pid";
    Process decoy = Process::start({"sleep", "60"});
    REQUIRE(wait_until([&] { return process_running(decoy.pid()); }));
    // A stale file naming a live bystander: taken over with no signal at all.
    write_file(pidfile, std::to_string(decoy.pid()) + "\n");
    const Result free = run_plock({"pidguard", "-v", "--replace", pidfile, "--", "true"});
    CHECK(free.status == 0);
    CHECK_THAT(free.err, !Catch::Contains("sent"));
    CHECK(process_running(decoy.pid()));

    // Held by flock(1), which never writes the file, under the decoy's name.
    write_file(pidfile, std::to_string(decoy.pid()) + "\n");
    REQUIRE(run({"touch", "-d", "1 hour ago", pidfile}).status == 0);
    Gate gate(directory);
    Process holder = hold_lock({"flock", pidfile}, gate);
    const Result replaced = run_plock({"pidguard", "-v", "--replace", "--grace", "0.2", pidfile, "--", "true"});
    CHECK(replaced.status == 0);
    CHECK_THAT(replaced.err, Catch::Contains("sent SIGTERM to PID " + std::to_string(holder.pid())));
    CHECK_THAT(replaced.err, !Catch::Contains("PID " + std::to_string(decoy.pid()) + " ("));
    CHECK(process_running(decoy.pid()));
    CHECK(holder.wait() == 128 + SIGTERM);
}

TEST_CASE("option --status exits 0 with the PID and 1 for a stale file and 3 for none", "[pidguard]") {
    TempDir directory;
    const std::string pidfile = directory / "status.pid";
    const Result none = run_plock({"pidguard", "--status", pidfile});
    CHECK(none.status == 3);
    CHECK(none.out.empty());
    CHECK(none.err.empty());
    CHECK(run_plock({"pidguard", "--status", directory / "no-dir/x.pid"}).status == 3);

    Gate gate(directory);
    Process guard = guard_until_gate(pidfile, gate);
    const std::string child = await_pid_in(pidfile);
    const Result running = run_plock({"pidguard", "--status", pidfile});
    CHECK(running.status == 0);
    CHECK(running.out == child + "\n");
    CHECK(running.err.empty());
    const Result verbose = run_plock({"pidguard", "-v", "--status", pidfile});
    CHECK_THAT(verbose.err, Catch::Contains("held by PID " + child + " (sh -c"));
    gate.open();
    CHECK(guard.wait() == 0);
    CHECK(run_plock({"pidguard", "--status", pidfile}).status == 3);

    write_file(pidfile, "31337\n");
    const Result stale = run_plock({"pidguard", "--status", pidfile});
    CHECK(stale.status == 1);
    CHECK(stale.out.empty());
    CHECK(stale.err.empty());
    CHECK_THAT(run_plock({"pidguard", "-v", "--status", pidfile}).err, Catch::Contains("stale"));
    CHECK(read_file(pidfile) == "31337\n");  // a query changes nothing
}

TEST_CASE("a start and a query wait for the PID of a guard that has just taken the file", "[pidguard]") {
    TempDir directory;
    const std::string pidfile = directory / "starting.pid";
    const std::string started = directory / "started";
    Gate gate(directory);
    Gate write_pid(directory, "write-pid");
    // flock(1) takes the empty file; its command writes its own PID once the
    // test lets it (write_pid), as a guard does once its command has started.
    Process holder = Process::start({"flock", pidfile, "sh", "-c",
                                     ": > " + shell_quote(started) + "; " + write_pid.hold_command() +
                                         "; echo $$ > " + shell_quote(pidfile) + "; " + gate.hold_command()});
    REQUIRE(wait_until([&] { return exists(started); }));
    Process query = Process::start_plock({"pidguard", "--status", pidfile});
    Process start = Process::start_plock({"pidguard", pidfile, "--", "true"});
    // Both wait for the PID (each has the inotify watch of that wait open)
    // before it is written, instead of a sleep that they had to be started
    // within. (They must still get there within k_pid_write_window, 2 s, of
    // flock creating the file: plock's own rule for a guard just starting.)
    CHECK(wait_until([&] { return has_inotify(query.pid()) && has_inotify(start.pid()); }));
    write_pid.open();
    CHECK(query.wait() == 0);
    CHECK(start.wait() == 75);
    REQUIRE(gate.wait_ready());
    const std::string written = await_pid_in(pidfile);
    CHECK(query.out() == written + "\n");
    CHECK_THAT(start.err(), Catch::Contains("held by PID " + written + " (sh -c"));
    gate.open();
    CHECK(holder.wait() == 0);
}

TEST_CASE("a file held long without a PID is reported at once with its holder", "[pidguard]") {
    TempDir directory;
    const std::string pidfile = directory / "old.pid";
    write_file(pidfile, "");
    REQUIRE(run({"touch", "-d", "1 hour ago", pidfile}).status == 0);
    Gate gate(directory);
    Process holder = hold_lock({"flock", pidfile}, gate);
    // At once: it never waits for a PID (it never opens the inotify watch of
    // that wait), rather than a time bound a slow machine could exceed.
    Process query = Process::start_plock({"pidguard", "--status", pidfile});
    bool waited = false;
    REQUIRE(wait_until([&] {
        waited = waited || has_inotify(query.pid());
        return query.finished();
    }));
    CHECK_FALSE(waited);
    CHECK(query.wait() == 0);
    CHECK(query.out() == std::to_string(holder.pid()) + "\n");
    gate.open();
    CHECK(holder.wait() == 0);
}

TEST_CASE("option --no-fork writes plock's own PID which becomes the command's", "[pidguard]") {
    TempDir directory;
    const std::string pidfile = directory / "nofork.pid";
    const Result result = run_plock({"pidguard", "--no-fork", pidfile, "-c", "read p < \"$PLOCK_PIDFILE\"; echo \"$p $$\""});
    CHECK(result.status == 0);
    std::istringstream fields(result.out);
    std::string seen, own;
    fields >> seen >> own;
    CHECK(seen == own);
    // No plock is left to remove it: a stale file, which the next run takes.
    CHECK(read_file(pidfile) == own + "\n");
    CHECK(run_plock({"pidguard", "--status", pidfile}).status == 1);
    CHECK(run_plock({"pidguard", pidfile, "--", "true"}).status == 0);
    CHECK_FALSE(exists(pidfile));
}

TEST_CASE("option --replace refuses with 77 when it cannot prove who holds the file", "[pidguard]") {
    INFO("run the suite as root (as .ci/run does): the test replaces as user nobody");
    REQUIRE(running_as_root());
    TempDir directory;
    REQUIRE(chmod(directory.path().c_str(), 0755) == 0);
    const std::string pidfile = directory / "root.pid";
    Gate gate(directory);
    Process guard = guard_until_gate(pidfile, gate);
    const std::string child = await_pid_in(pidfile);
    // Writable by nobody, but nobody may not look into root's descriptors.
    REQUIRE(chmod(pidfile.c_str(), 0666) == 0);
    RunOptions as_nobody;
    as_nobody.user = 65534;
    const Result replacement = run_plock({"pidguard", "--replace", "--grace", "0", pidfile, "--", "true"}, as_nobody);
    CHECK(replacement.status == 77);
    CHECK_THAT(replacement.err, Catch::Contains("plock may not inspect the processes that hold its lock"));
    CHECK(process_running(std::stoi(child)));
    CHECK_FALSE(guard.finished());
    CHECK(read_file(pidfile) == child + "\n");
    gate.open();
    CHECK(guard.wait() == 0);
}
