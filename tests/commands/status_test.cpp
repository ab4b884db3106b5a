// Integration tests of `plock status`: real holders and waiters (plock,
// flock(1), Python), the text and the JSON report, exit statuses, and that
// asking changes nothing.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <csignal>

#include <nlohmann/json.hpp>

#include "test_support.hpp"

using namespace plock::test;
using nlohmann::json;

namespace {

const std::string k_python = "/usr/bin/python3";
constexpr uid_t k_nobody = 65534;

json status_json(const std::vector<std::string>& paths, int expected_status) {
    std::vector<std::string> arguments{"status", "--json"};
    arguments.insert(arguments.end(), paths.begin(), paths.end());
    const Result result = run_plock(arguments);
    INFO(result.out << result.err);
    CHECK(result.status == expected_status);
    return json::parse(result.out);
}

// The processes waiting for `path`, as `plock status --json` counts them.
std::size_t waiters_of(const std::string& path) {
    const Result result = run_plock({"status", "--json", path});
    return json::parse(result.out)["locks"][0]["waiters"].get<std::size_t>();
}

struct stat stat_of(const std::string& path) {
    struct stat status {};
    REQUIRE(stat(path.c_str(), &status) == 0);
    return status;
}

}  // namespace

TEST_CASE("status of a free lock prints free and exits 0", "[status]") {
    TempDir directory;
    const std::string lock = directory / "free.lock";
    write_file(lock, "content\n");
    const Result result = run_plock({"status", lock});
    CHECK(result.status == 0);
    CHECK(result.out == lock + ": free\n");
    CHECK(result.err.empty());
}

TEST_CASE("status writes a name with a newline or an escape as one legible line", "[status]") {
    TempDir directory;
    const std::string lock = directory / "two\nlines\x1b[2J\xff.lock";
    write_file(lock, "");
    const Result result = run_plock({"status", lock});
    CHECK(result.status == 0);
    CHECK(result.out == directory.path() + "/two\\nlines\\x1b[2J\\xff.lock: free\n");
    CHECK(lines_of(result.out).size() == 1);
}

TEST_CASE("status changes nothing: no content or time stamp or lock is touched", "[status]") {
    TempDir directory;
    const std::string lock = directory / "same.lock";
    write_file(lock, "keep\n");
    const struct stat before = stat_of(lock);
    Gate gate(directory);
    Process holder = Process::start({"flock", "-s", lock, "sh", "-c", gate.hold_command()});
    REQUIRE(gate.wait_ready());
    CHECK(run_plock({"status", lock}).status == 1);
    CHECK(run_plock({"status", "--json", lock}).status == 1);
    const struct stat after = stat_of(lock);
    CHECK(read_file(lock) == "keep\n");
    CHECK(after.st_ino == before.st_ino);
    CHECK(after.st_mtim.tv_sec == before.st_mtim.tv_sec);
    CHECK(after.st_mtim.tv_nsec == before.st_mtim.tv_nsec);
    CHECK(after.st_ctim.tv_nsec == before.st_ctim.tv_nsec);
    // Had status taken even a shared lock, this exclusive attempt could race it;
    // the only holder is the shared one above.
    CHECK(run({"flock", "-n", "-s", lock, "true"}).status == 0);
    gate.open();
    CHECK(holder.wait() == 0);
}

TEST_CASE("status of a missing path exits 66 and does not create it", "[status]") {
    TempDir directory;
    const std::string missing = directory / "missing.lock";
    const std::string present = directory / "present.lock";
    write_file(present, "");
    const Result result = run_plock({"status", present, missing});
    CHECK(result.status == 66);
    CHECK(result.out == present + ": free\n");
    CHECK(result.err == "plock: error: cannot open " + missing + ": No such file or directory\n");
    CHECK_FALSE(exists(missing));

    const json document = status_json({missing}, 66);
    CHECK(document["locks"][0]["state"] == "error");
    CHECK(document["locks"][0]["exit_status"] == 66);
    CHECK_FALSE(exists(missing));
}

TEST_CASE("status of a path in a directory we may not search exits 77", "[status]") {
    INFO("run the suite as root (as .ci/run does): the test switches to user nobody");
    REQUIRE(running_as_root());
    TempDir directory;
    const std::string private_directory = directory / "private";
    REQUIRE(mkdir(private_directory.c_str(), 0700) == 0);
    write_file(private_directory + "/x.lock", "");
    RunOptions as_nobody;
    as_nobody.user = k_nobody;
    const Result result = run_plock({"status", private_directory + "/x.lock"}, as_nobody);
    CHECK(result.status == 77);
    CHECK_THAT(result.err, Catch::Contains("Permission denied") && Catch::Contains(private_directory));
}

TEST_CASE("status of a held lock exits 1 and names the holder with its mode and method and command", "[status]") {
    TempDir directory;
    const std::string lock = directory / "held.lock";
    Gate gate(directory);
    Process holder = Process::start_plock({"exec", lock, "--", "sh", "-c", gate.hold_command()});
    REQUIRE(gate.wait_ready());
    const Result result = run_plock({"status", lock});
    CHECK(result.status == 1);
    CHECK_THAT(result.out, Catch::StartsWith(lock + ": held by 1 process\n"));
    CHECK_THAT(result.out, Catch::Contains("holder  PID " + std::to_string(holder.pid())) &&
                               Catch::Contains("exclusive flock") &&
                               Catch::Contains("exec " + lock + " -- sh -c"));
    CHECK(run_plock({"status", "-q", lock}).status == 1);
    CHECK(run_plock({"status", "-q", lock}).out.empty());
    gate.open();
    CHECK(holder.wait() == 0);
    CHECK(run_plock({"status", lock}).status == 0);
}

TEST_CASE("status lists both holders of a shared lock", "[status]") {
    TempDir directory;
    const std::string lock = directory / "shared.lock";
    Gate first_gate(directory, "first");
    Gate second_gate(directory, "second");
    Process first = Process::start_plock({"exec", "-s", lock, "--", "sh", "-c", first_gate.hold_command()});
    Process second = Process::start({"flock", "-s", lock, "sh", "-c", second_gate.hold_command()});
    REQUIRE(first_gate.wait_ready());
    REQUIRE(second_gate.wait_ready());
    const json document = status_json({lock}, 1);
    const json& holders = document["locks"][0]["holders"];
    REQUIRE(holders.size() == 2);
    std::vector<pid_t> pids;
    for (const json& holder : holders) {
        CHECK(holder["mode"] == "shared");
        CHECK(holder["method"] == "flock");
        pids.push_back(holder["pid"].get<pid_t>());
    }
    CHECK_THAT(pids, Catch::UnorderedEquals(std::vector<pid_t>{first.pid(), second.pid()}));
    const Result text = run_plock({"status", lock});
    CHECK_THAT(text.out, Catch::StartsWith(lock + ": held by 2 processes\n"));
    first_gate.open();
    second_gate.open();
}

TEST_CASE("status counts and names the processes waiting for a lock", "[status]") {
    TempDir directory;
    const std::string lock = directory / "queue.lock";
    Gate gate(directory);
    Process holder = Process::start_plock({"exec", lock, "--", "sh", "-c", gate.hold_command()});
    REQUIRE(gate.wait_ready());
    Process exclusive_waiter = Process::start_plock({"exec", lock, "--", "true"});
    CHECK(wait_until([&] { return waiters_of(lock) == 1; }));
    Process shared_waiter = Process::start({"flock", "-s", lock, "true"});
    CHECK(wait_until([&] { return waiters_of(lock) == 2; }));

    const json document = status_json({lock}, 1);
    const json& entry = document["locks"][0];
    CHECK(entry["waiters"] == 2);
    REQUIRE(entry["waiting"].size() == 2);
    std::vector<pid_t> pids;
    std::vector<std::string> modes;
    for (const json& waiter : entry["waiting"]) {
        pids.push_back(waiter["pid"].get<pid_t>());
        modes.push_back(waiter["mode"].get<std::string>());
    }
    CHECK_THAT(pids, Catch::UnorderedEquals(std::vector<pid_t>{exclusive_waiter.pid(), shared_waiter.pid()}));
    CHECK_THAT(modes, Catch::UnorderedEquals(std::vector<std::string>{"exclusive", "shared"}));
    const Result text = run_plock({"status", lock});
    CHECK_THAT(text.out, Catch::StartsWith(lock + ": held by 1 process, 2 waiting\n"));
    CHECK_THAT(text.out, Catch::Contains("waiting PID " + std::to_string(shared_waiter.pid())));

    gate.open();
    CHECK(holder.wait() == 0);
    CHECK(exclusive_waiter.wait() == 0);
    CHECK(shared_waiter.wait() == 0);
    CHECK(run_plock({"status", lock}).status == 0);
}

TEST_CASE("status names the process that kept the lock after its taker vanished", "[status]") {
    TempDir directory;
    const std::string lock = directory / "orphan.lock";
    Gate gate(directory);
    Process taker = Process::start_plock({"exec", lock, "--", "sh", "-c", gate.hold_command()});
    REQUIRE(gate.wait_ready());
    const auto children = children_of(taker.pid());
    REQUIRE(children.size() == 1);
    taker.signal(SIGKILL);
    REQUIRE(taker.wait() == 128 + SIGKILL);
    // /proc/locks still names the dead plock; status must find the shell.
    const json document = status_json({lock}, 1);
    const json& holders = document["locks"][0]["holders"];
    REQUIRE(holders.size() == 1);
    CHECK(holders[0]["pid"] == children[0]);
    CHECK_THAT(holders[0]["command"].get<std::string>(), Catch::StartsWith("sh -c"));
    gate.open();
    CHECK(wait_until([&] { return !process_running(children[0]); }));
    CHECK(run_plock({"status", lock}).status == 0);
}

TEST_CASE("status reports a lock free once its holder is killed even before anyone reaps it", "[status]") {
    TempDir directory;
    const std::string lock = directory / "vanished.lock";
    Gate gate(directory);
    Process holder = Process::start({"flock", lock, "sh", "-c", gate.hold_command()});
    REQUIRE(gate.wait_ready());
    CHECK(run_plock({"status", lock}).status == 1);
    holder.kill_group(SIGKILL);
    // flock(1) is now a zombie: its PID still exists, its lock does not.
    CHECK(wait_until([&] { return !process_running(holder.pid()); }));
    const Result result = run_plock({"status", lock});
    CHECK(result.status == 0);
    CHECK(result.out == lock + ": free\n");
}

TEST_CASE("status tells ofd and posix locks apart and shows a byte range", "[status]") {
    TempDir directory;
    const std::string ofd_lock = directory / "ofd.lock";
    const std::string posix_lock = directory / "posix.lock";
    Gate ofd_gate(directory, "ofd");
    Gate posix_gate(directory, "posix");
    Process ofd_holder = Process::start_plock({"exec", "--method", "ofd", ofd_lock, "--", "sh", "-c", ofd_gate.hold_command()});
    const std::string script =
        "import fcntl, sys\n"
        "f = open(sys.argv[1], 'a+')\n"
        "fcntl.lockf(f, fcntl.LOCK_SH | fcntl.LOCK_NB, 10, 5)\n"
        "open(sys.argv[2], 'w').close()\n"
        "open(sys.argv[3]).read()\n";
    Process posix_holder = Process::start({k_python, "-c", script, posix_lock, posix_gate.ready_path(),
                                           directory / "posix.release"});
    REQUIRE(ofd_gate.wait_ready());
    REQUIRE(posix_gate.wait_ready());

    const json document = status_json({ofd_lock, posix_lock}, 1);
    const json& ofd = document["locks"][0]["holders"];
    REQUIRE(ofd.size() == 1);
    CHECK(ofd[0]["method"] == "ofd");
    CHECK(ofd[0]["pid"] == ofd_holder.pid());  // the kernel names none; plock finds it
    const json& posix = document["locks"][1]["holders"];
    REQUIRE(posix.size() == 1);
    CHECK(posix[0]["method"] == "posix");
    CHECK(posix[0]["mode"] == "shared");
    CHECK(posix[0]["pid"] == posix_holder.pid());
    CHECK(posix[0]["start"] == 5);
    CHECK(posix[0]["end"] == 14);
    CHECK(posix[0]["held_since_source"] == "process-start");
    CHECK_THAT(run_plock({"status", posix_lock}).out, Catch::Contains("bytes 5-14"));
    ofd_gate.open();
    posix_gate.open();
}

TEST_CASE("status --json output parses and has the documented fields and types", "[status]") {
    const auto test_start = std::chrono::steady_clock::now();
    TempDir directory;
    const std::string held = directory / "held.lock";
    const std::string free = directory / "free.lock";
    write_file(free, "");
    Gate gate(directory);
    Process holder = Process::start_plock({"exec", held, "--", "sh", "-c", gate.hold_command()});
    REQUIRE(gate.wait_ready());
    Process waiter = Process::start_plock({"exec", "-s", held, "--", "true"});
    REQUIRE(wait_until([&] { return waiters_of(held) == 1; }));

    const json document = status_json({held, free}, 1);
    CHECK(document["version"] == 1);
    REQUIRE(document["locks"].is_array());
    REQUIRE(document["locks"].size() == 2);

    const json& entry = document["locks"][0];
    CHECK(entry["type"] == "file");
    CHECK(entry["path"] == held);
    CHECK(entry["state"] == "held");
    CHECK(entry["device"].is_string());
    CHECK(entry["inode"].is_number_unsigned());
    REQUIRE(entry["holders"].size() == 1);
    const json& holder_entry = entry["holders"][0];
    CHECK(holder_entry["pid"] == holder.pid());
    CHECK_THAT(holder_entry["command"].get<std::string>(), Catch::Contains("exec " + held));
    CHECK(holder_entry["mode"] == "exclusive");
    CHECK(holder_entry["method"] == "flock");
    CHECK(holder_entry["start"] == 0);
    CHECK(holder_entry["end"].is_null());
    CHECK(holder_entry["held_for_seconds"].is_number());
    CHECK(holder_entry["held_for_seconds"].get<double>() >= 0);
    // At most the time since this test started the holder (0.05 s: the
    // clock tick of a start time, and rounding).
    CHECK(holder_entry["held_for_seconds"].get<double>() <=
          std::chrono::duration<double>(std::chrono::steady_clock::now() - test_start).count() + 0.05);
    CHECK_THAT(holder_entry["held_since"].get<std::string>(),
               Catch::Matches(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)"));
    CHECK(holder_entry["held_since_source"] == "command-start");
    // The time grows while the lock is held, and never exceeds the time
    // since the holder was started.
    double held_for = 0;
    CHECK(wait_until([&] {
        held_for = status_json({held}, 1)["locks"][0]["holders"][0]["held_for_seconds"].get<double>();
        return held_for >= 0.5;
    }));
    const std::chrono::duration<double> since_start = std::chrono::steady_clock::now() - test_start;
    CHECK(held_for <= since_start.count() + 0.05);
    CHECK(entry["waiters"] == 1);
    REQUIRE(entry["waiting"].size() == 1);
    CHECK(entry["waiting"][0]["pid"] == waiter.pid());
    CHECK(entry["waiting"][0]["mode"] == "shared");

    const json& free_entry = document["locks"][1];
    CHECK(free_entry["state"] == "free");
    CHECK(free_entry["holders"].empty());
    CHECK(free_entry["waiters"] == 0);
    CHECK(free_entry["waiting"].empty());
    gate.open();
    CHECK(waiter.wait() == 0);
}

TEST_CASE("status --json stays valid JSON for paths that are not UTF-8", "[status]") {
    TempDir directory;
    const std::string lock = directory / "caf\xe9.lock";
    write_file(lock, "");
    const json document = status_json({lock}, 0);
    CHECK(document["locks"][0]["path"] == directory / "caf\xef\xbf\xbd.lock");
}

TEST_CASE("status does not mistake a lock in another mount with the same inode number", "[status]") {
    INFO("needs root and unshare(1) to mount two tmpfs in a private mount namespace");
    REQUIRE(running_as_root());
    TempDir directory;
    const std::string first = directory / "first";
    const std::string second = directory / "second";
    REQUIRE(mkdir(first.c_str(), 0755) == 0);
    REQUIRE(mkdir(second.c_str(), 0755) == 0);
    // Two fresh tmpfs number their files alike; the script makes sure the two
    // lock files share an inode number, locks one, and asks about both.
    const std::string plock = plock_binary();
    const std::string script =
        "mount -t tmpfs tmpfs '" + first + "' && mount -t tmpfs tmpfs '" + second + "' || exit 99\n"
        "touch '" + first + "/x.lock'; target=$(stat -c %i '" + first + "/x.lock'); n=0\n"
        "while :; do touch \"" + second + "/f$n\"; [ $(stat -c %i \"" + second + "/f$n\") -ge $target ] && break; n=$((n+1)); done\n"
        "[ $(stat -c %i \"" + second + "/f$n\") -eq $target ] && mv \"" + second + "/f$n\" '" + second + "/x.lock'\n"
        "echo same=$([ $(stat -c %i '" + second + "/x.lock') -eq $target ] && echo yes)\n"
        "flock '" + first + "/x.lock' sh -c \"'" + plock + "' status -q '" + second + "/x.lock'; echo second=\\$?; '" +
        plock + "' status -q '" + first + "/x.lock'; echo first=\\$?\"\n"
        "umount '" + first + "'; umount '" + second + "'\n";
    Result result = run({"unshare", "--mount", "sh", "-c", script});
    if (result.err.find("cannot change root filesystem propagation") != std::string::npos) {
        result = run({"unshare", "--mount", "--propagation", "unchanged", "sh", "-c", script});
    }
    INFO(result.out << result.err);
    CHECK(result.status == 0);
    CHECK_THAT(result.out, Catch::Contains("same=yes"));
    CHECK_THAT(result.out, Catch::Contains("second=0"));
    CHECK_THAT(result.out, Catch::Contains("first=1"));
}

TEST_CASE("status rejects a command and an empty path", "[status]") {
    const Result with_command = run_plock({"status", "/tmp", "--", "true"});
    CHECK(with_command.status == 64);
    CHECK_THAT(with_command.err, Catch::Contains("runs no command"));
    CHECK(run_plock({"status"}).status == 64);
    CHECK(run_plock({"status", ""}).status == 64);
    CHECK(run_plock({"status", "--json", "-q", "/tmp"}).status == 64);
}

TEST_CASE("the README's jq example lists the held locks with their holders", "[status]") {
    TempDir directory;
    const std::string held = directory / "held.lock";
    const std::string free = directory / "free.lock";
    write_file(free, "");
    Gate gate(directory);
    Process holder = Process::start_plock({"exec", held, "--", "sh", "-c", gate.hold_command()});
    REQUIRE(gate.wait_ready());
    const std::string pipeline =
        "'" + plock_binary() + "' status --json '" + held + "' '" + free + "' |"
        " jq -r '.locks[] | select(.state == \"held\") | \"\\(.path) \\([.holders[].pid] | join(\",\"))\"'";
    const Result result = run({"sh", "-c", pipeline});
    CHECK(result.status == 0);
    CHECK(result.out == held + " " + std::to_string(holder.pid()) + "\n");
    gate.open();
}

TEST_CASE("status --sem lists each slot free or held with the holder's PID and command", "[status]") {
    TempDir directory;
    const std::vector<std::string> ask{"status", "--sem", "st", "-n", "2", "--dir", directory.path()};
    const Result empty = run_plock(ask);
    CHECK(empty.status == 0);
    CHECK(empty.out == "semaphore st in " + directory.path() + ": 2 slots, 0 held, 2 free, 0 waiting\n"
                       "  slot 0  free\n  slot 1  free\n");
    CHECK(empty.err.empty());
    CHECK_FALSE(exists(directory / "st.00.lock"));  // looking creates nothing

    Gate gate(directory);
    Process holder = hold_lock({plock_binary(), "sem", "-n", "2", "--dir", directory.path(), "st", "--"}, gate);
    const Result held = run_plock(ask);
    INFO(held.out << held.err);
    CHECK(held.status == 1);
    CHECK_THAT(held.out, Catch::StartsWith("semaphore st in " + directory.path() +
                                           ": 2 slots, 1 held, 1 free, 0 waiting\n"));
    CHECK_THAT(held.out, Catch::Contains("  slot 0  held by PID " + std::to_string(holder.pid()) + " (" +
                                         plock_binary() + " sem -n 2 --dir " + directory.path() + " st -- sh -c "));
    CHECK_THAT(held.out, Catch::Contains("  slot 1  free\n"));
    gate.open();
    CHECK(holder.wait() == 0);
    CHECK(run_plock(ask).status == 0);
}

TEST_CASE("status --sem --json parses and names the holder of each held slot", "[status]") {
    TempDir directory;
    Gate gate(directory);
    Process holder = hold_lock({plock_binary(), "sem", "-n", "3", "--dir", directory.path(), "js", "--"}, gate);
    const Result result = run_plock({"status", "--json", "--sem", "js", "-n", "3", "--dir", directory.path()});
    INFO(result.out << result.err);
    CHECK(result.status == 1);
    const json document = json::parse(result.out);
    CHECK(document["version"] == 1);
    REQUIRE(document["locks"].size() == 1);
    const json& semaphore = document["locks"][0];
    CHECK(semaphore["type"] == "semaphore");
    CHECK(semaphore["name"] == "js");
    CHECK(semaphore["directory"] == directory.path());
    CHECK(semaphore["state"] == "held");
    CHECK(semaphore["slots"] == 3);
    CHECK(semaphore["held"] == 1);
    CHECK(semaphore["free"] == 2);
    CHECK(semaphore["waiters"] == 0);
    CHECK(semaphore["other_slot_counts"].empty());
    const json& slots = semaphore["slot_states"];
    REQUIRE(slots.size() == 3);
    CHECK(slots[0]["index"] == 0);
    CHECK(slots[0]["path"] == directory / "js.00.lock");
    CHECK(slots[0]["state"] == "held");
    REQUIRE(slots[0]["holders"].size() >= 1);
    CHECK(slots[0]["holders"][0]["pid"] == holder.pid());
    CHECK_THAT(slots[0]["holders"][0]["command"].get<std::string>(), Catch::Contains(" sem -n 3 --dir "));
    CHECK(slots[0]["holders"][0]["mode"] == "exclusive");
    CHECK(slots[1]["state"] == "free");
    CHECK(slots[1]["holders"].empty());
    CHECK(slots[2]["state"] == "free");
    gate.open();
    CHECK(holder.wait() == 0);
    const json free = status_json({"--sem", "js", "-n", "3", "--dir", directory.path()}, 0);
    CHECK(free["locks"][0]["state"] == "free");
    CHECK(free["locks"][0]["held"] == 0);
}

TEST_CASE("status --sem of a missing directory exits 66 and a bad -n is a usage error", "[status]") {
    TempDir directory;
    const Result missing = run_plock({"status", "--sem", "s", "-n", "2", "--dir", directory / "nowhere"});
    CHECK(missing.status == 66);  // as for a missing PATH: status only looks
    CHECK_THAT(missing.err, Catch::Contains(directory / "nowhere"));
    CHECK(run_plock({"status", "--sem", "s", "--dir", directory.path()}).status == 64);
    CHECK(run_plock({"status", "--sem", "s", "-n", "0", "--dir", directory.path()}).status == 64);
    CHECK(run_plock({"status", "--sem", "a/b", "-n", "2", "--dir", directory.path()}).status == 64);
}

TEST_CASE("sem --status prints what status --sem prints and exits as it does for a free and a held semaphore", "[status]") {
    TempDir directory;
    // A name and a directory that must be escaped to stay one legible line.
    const std::string place = directory / "d\x1b[31m";
    REQUIRE(mkdir(place.c_str(), 0700) == 0);
    const std::string name = "n\xff";
    const std::vector<std::string> sem_status{"sem", "-n", "2", "--status", "--dir", place, name};
    const std::vector<std::string> status_sem{"status", "--sem", name, "-n", "2", "--dir", place};
    const auto same_answer = [&](int expected_status) {
        const Result sem = run_plock(sem_status);
        const Result status = run_plock(status_sem);
        INFO(sem.out << sem.err << status.out << status.err);
        CHECK(sem.status == expected_status);
        CHECK(sem.status == status.status);
        CHECK(sem.out == status.out);
        CHECK(sem.err == status.err);
        CHECK_THAT(sem.out, Catch::StartsWith("semaphore n\\xff in " + directory.path() + "/d\\x1b[31m: 2 slots, "));
    };
    same_answer(0);

    Gate gate(directory);
    Process holder = hold_lock({plock_binary(), "sem", "-n", "2", "--dir", place, name, "--"}, gate);
    same_answer(1);
    gate.open();
    CHECK(holder.wait() == 0);
    same_answer(0);
}

TEST_CASE("sem --status of a missing directory fails as status --sem does with the same message", "[status]") {
    TempDir directory;
    const Result sem = run_plock({"sem", "-n", "2", "--status", "--dir", directory / "nowhere", "s"});
    const Result status = run_plock({"status", "--sem", "s", "-n", "2", "--dir", directory / "nowhere"});
    CHECK(sem.status == 66);
    CHECK(sem.status == status.status);
    CHECK(sem.out.empty());
    CHECK(status.out.empty());
    CHECK(sem.err == status.err);
}

TEST_CASE("pidguard -v --status logs the line that status --pidfile prints and answers in its own table", "[status]") {
    TempDir directory;
    const std::string pidfile = directory / "job.pid";
    const auto same_line = [&](int guard_status, int report_status) {
        const Result guard = run_plock({"pidguard", "-v", "--status", pidfile});
        const Result report = run_plock({"status", "--pidfile", pidfile});
        INFO(guard.out << guard.err << report.out << report.err);
        CHECK(guard.status == guard_status);
        CHECK(report.status == report_status);
        CHECK_THAT(guard.err, Catch::Contains("plock: " + report.out));
    };
    same_line(3, 0);  // absent
    write_file(pidfile, "31337\n");
    same_line(1, 0);  // stale

    Gate gate(directory);
    Process guard = hold_lock({plock_binary(), "pidguard", directory / "held.pid", "--"}, gate);
    std::string pid;
    REQUIRE(wait_until([&] {
        pid = read_file(directory / "held.pid");
        return !pid.empty() && pid.back() == '\n';
    }));
    const Result running = run_plock({"pidguard", "-v", "--status", directory / "held.pid"});
    const Result report = run_plock({"status", "--pidfile", directory / "held.pid"});
    INFO(running.err << report.out);
    CHECK(running.status == 0);
    CHECK(running.out == pid);
    CHECK(report.status == 1);
    CHECK_THAT(running.err, Catch::Contains("plock: " + report.out));
    gate.open();
    CHECK(guard.wait() == 0);
}

TEST_CASE("status --pidfile says running with the PID and command of the guarded command", "[status]") {
    TempDir directory;
    const std::string pidfile = directory / "web.pid";
    Gate gate(directory);
    Process guard = hold_lock({plock_binary(), "pidguard", pidfile, "--"}, gate);
    std::string pid;
    REQUIRE(wait_until([&] {
        pid = read_file(pidfile);
        return !pid.empty() && pid.back() == '\n';
    }));
    pid.pop_back();
    const Result result = run_plock({"status", "--pidfile", pidfile});
    INFO(result.out << result.err);
    CHECK(result.status == 1);
    CHECK_THAT(result.out, Catch::StartsWith(pidfile + ": running, held by PID " + pid + " (sh -c "));
    CHECK_THAT(result.out, !Catch::Contains("not the PID in the file"));
    CHECK(result.err.empty());

    const json document = status_json({"--pidfile", pidfile}, 1);
    REQUIRE(document["locks"].size() == 1);
    const json& entry = document["locks"][0];
    CHECK(entry["type"] == "pidfile");
    CHECK(entry["path"] == pidfile);
    CHECK(entry["state"] == "held");
    CHECK(entry["pidfile"] == "running");
    CHECK(entry["content"] == "pid");
    CHECK(entry["pid_in_file"] == std::stoi(pid));
    CHECK(entry["holder"]["pid"] == std::stoi(pid));
    CHECK_THAT(entry["holder"]["command"].get<std::string>(), Catch::StartsWith("sh -c "));
    CHECK(entry["holder_from_file"] == true);
    gate.open();
    CHECK(guard.wait() == 0);
}

TEST_CASE("status --pidfile says stale or absent and exits 0 when no process holds it", "[status]") {
    TempDir directory;
    const std::string pidfile = directory / "old.pid";
    const Result absent = run_plock({"status", "--pidfile", pidfile});
    CHECK(absent.status == 0);
    CHECK(absent.out == pidfile + ": absent: nothing is running\n");
    CHECK_FALSE(exists(pidfile));
    const json none = status_json({"--pidfile", pidfile}, 0);
    CHECK(none["locks"][0]["pidfile"] == "absent");
    CHECK(none["locks"][0]["pid_in_file"].is_null());
    CHECK(none["locks"][0]["holder"].is_null());

    write_file(pidfile, "31337\n");
    const Result stale = run_plock({"status", "--pidfile", pidfile});
    CHECK(stale.status == 0);
    CHECK(stale.out == pidfile + ": stale: no process holds its lock (it names PID 31337)\n");
    const json document = status_json({"--pidfile", pidfile}, 0);
    CHECK(document["locks"][0]["state"] == "free");
    CHECK(document["locks"][0]["pidfile"] == "stale");
    CHECK(document["locks"][0]["pid_in_file"] == 31337);
    CHECK(read_file(pidfile) == "31337\n");  // looking changes nothing
}

TEST_CASE("status takes exactly one of PATH and --sem and --pidfile", "[status]") {
    TempDir directory;
    const std::string lock = directory / "a.lock";
    write_file(lock, "");
    const Result nothing = run_plock({"status"});
    CHECK(nothing.status == 64);
    CHECK_THAT(nothing.err, Catch::Contains("nothing to look at"));
    const Result both = run_plock({"status", "--pidfile", directory / "p.pid", lock});
    CHECK(both.status == 64);
    CHECK_THAT(both.err, Catch::Contains("only one of"));
    CHECK(run_plock({"status", "--pidfile", directory / "p.pid", "--sem", "s", "-n", "1"}).status == 64);
    const Result stray = run_plock({"status", "-n", "2", lock});
    CHECK(stray.status == 64);
    CHECK_THAT(stray.err, Catch::Contains("only go with --sem"));
    CHECK(run_plock({"status", "--pidfile", ""}).status == 64);
}
