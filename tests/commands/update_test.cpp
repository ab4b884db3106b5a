// Integration tests of `plock update`: the counter race with a reader that
// takes no lock, failure and signals leaving FILE untouched, mode and owner,
// symbolic links, missing directories, and interplay with `plock exec FILE`.
#include <catch2/catch.hpp>

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <set>

#include "test_support.hpp"

using namespace plock::test;

namespace {

constexpr uid_t k_nobody = 65534;

const std::string k_increment = "read n; echo $((${n:-0}+1))";

struct stat stat_of(const std::string& path) {
    struct stat status {};
    REQUIRE(lstat(path.c_str(), &status) == 0);
    return status;
}

std::set<std::string> names_in(const std::string& directory) {
    std::set<std::string> names;
    DIR* listing = opendir(directory.c_str());
    REQUIRE(listing != nullptr);
    while (const dirent* entry = readdir(listing)) {
        names.insert(entry->d_name);
    }
    closedir(listing);
    return names;
}

std::string quoted(const std::string& text) { return "'" + text + "'"; }

// Rounds of the long races. A sanitized plock takes several times as long to
// start and to check for leaks at exit (about 0.3 s with GCC's runtimes, which
// made the 8 x 100 race alone take five minutes; 15-25 ms with clang's); a
// quarter of the rounds runs the same code paths.
constexpr int k_updates_per_writer = PLOCK_TEST_SANITIZED ? 25 : 100;
constexpr int k_mixed_rounds = PLOCK_TEST_SANITIZED ? 10 : 40;

}  // namespace

TEST_CASE("8 processes doing 100 updates each (25 under the sanitizers) count exactly and a reader without a lock never sees a partial file", "[update]") {
    TempDir directory;
    const std::string counter = directory / "counter.txt";
    const std::string done = directory / "done";
    // The reader is plain cat in a loop. Before the first update FILE does not
    // exist, then exists empty until that update completes (plock update creates
    // a missing FILE to lock it; documented); from the first number on, every
    // read must be a whole number, never smaller than the one before. The
    // last read comes after `done` was seen, so after every update: it must
    // find the total (a read just before the last update finished would not,
    // and whether the reader's last read fell before it was timing luck).
    const std::string reader_script =
        "last=0; reads=0; seen=no; final=no\n"
        "while [ $final = no ]; do\n"
        "  [ -e " + quoted(done) + " ] && final=yes\n"
        "  v=$(cat " + quoted(counter) + " 2>/dev/null) || { [ $final = no ] || { echo 'no counter at the end'; exit 1; }; continue; }\n"
        "  if [ -z \"$v\" ] && [ $seen = no ]; then continue; fi\n"
        "  case \"$v\" in ''|*[!0-9]*) echo \"torn read: '$v'\"; exit 1;; esac\n"
        "  [ \"$v\" -ge \"$last\" ] || { echo \"went back: $v after $last\"; exit 1; }\n"
        "  last=$v; seen=yes; reads=$((reads+1))\n"
        "done\n"
        "echo \"reads=$reads last=$last\"\n";
    Process reader = Process::start({"sh", "-c", reader_script});
    const std::string writer_script =
        "i=0; while [ $i -lt " + std::to_string(k_updates_per_writer) + " ]; do " + quoted(plock_binary()) + " update " + quoted(counter) +
        " -- sh -c " + quoted(k_increment) + " || exit 1; i=$((i+1)); done";
    std::vector<Process> writers;
    for (int index = 0; index < 8; ++index) {
        writers.push_back(Process::start({"sh", "-c", writer_script}));
    }
    // Broad limits: 800 runs of plock and sh, serialised, take half a minute
    // on a loaded machine.
    for (Process& writer : writers) {
        INFO(writer.err());
        CHECK(writer.wait(480s) == 0);
    }
    write_file(done, "");
    CHECK(reader.wait() == 0);
    INFO(reader.out());
    const std::string total = std::to_string(8 * k_updates_per_writer);
    CHECK(read_file(counter) == total + "\n");
    CHECK_THAT(reader.out(), Catch::StartsWith("reads=") && Catch::EndsWith("last=" + total + "\n"));
    CHECK(reader.out() != "reads=0 last=0\n");
    CHECK(names_in(directory.path()) == std::set<std::string>{".", "..", "counter.txt", "done"});
}

TEST_CASE("a failing filter leaves the file untouched and its status is plock's", "[update]") {
    TempDir directory;
    const std::string file = directory / "data.txt";
    write_file(file, "original\n");
    REQUIRE(chmod(file.c_str(), 0640) == 0);
    const struct stat before = stat_of(file);
    const Result failed = run_plock({"update", file, "--", "sh", "-c", "cat; echo partial; exit 3"});
    CHECK(failed.status == 3);
    CHECK(failed.out.empty());
    const Result killed = run_plock({"update", file, "-c", "echo partial; kill -KILL $$"});
    CHECK(killed.status == 128 + SIGKILL);
    const Result missing = run_plock({"update", file, "--", "no-such-filter-program"});
    CHECK(missing.status == 127);
    const struct stat after = stat_of(file);
    CHECK(read_file(file) == "original\n");
    CHECK(after.st_ino == before.st_ino);
    CHECK((after.st_mode & 07777) == 0640);
    CHECK(after.st_mtim.tv_nsec == before.st_mtim.tv_nsec);
    CHECK(names_in(directory.path()) == std::set<std::string>{".", "..", "data.txt"});
}

TEST_CASE("a signal to plock update reaches the filter and leaves the file untouched", "[update]") {
    TempDir directory;
    const std::string file = directory / "data.txt";
    write_file(file, "original\n");
    Gate gate(directory);
    Process update = Process::start_plock({"update", file, "-c", "echo partial; " + gate.hold_command()});
    REQUIRE(gate.wait_ready());
    update.signal(SIGTERM);
    CHECK(update.wait() == 128 + SIGTERM);
    CHECK(read_file(file) == "original\n");
    CHECK(names_in(directory.path()) == std::set<std::string>{".", "..", "data.txt", "gate.ready", "gate.release"});
}

TEST_CASE("update replaces the content atomically and keeps the mode", "[update]") {
    TempDir directory;
    const std::string file = directory / "conf";
    write_file(file, "b\na\nb\n");
    REQUIRE(chmod(file.c_str(), 0604) == 0);
    const struct stat before = stat_of(file);
    const Result result = run_plock({"update", file, "--", "sort", "-u"});
    CHECK(result.status == 0);
    CHECK(result.out.empty());
    CHECK(result.err.empty());
    CHECK(read_file(file) == "a\nb\n");
    const struct stat after = stat_of(file);
    CHECK(after.st_ino != before.st_ino);  // a new file, put in place by rename
    CHECK((after.st_mode & 07777) == 0604);
    CHECK(names_in(directory.path()) == std::set<std::string>{".", "..", "conf"});
}

TEST_CASE("update run as root keeps the file's owner and group", "[update]") {
    INFO("run the suite as root (as .ci/run does): the file is given to user nobody");
    REQUIRE(running_as_root());
    TempDir directory;
    const std::string file = directory / "owned";
    write_file(file, "1\n");
    REQUIRE(chown(file.c_str(), k_nobody, k_nobody) == 0);
    REQUIRE(chmod(file.c_str(), 02640) == 0);
    CHECK(run_plock({"update", file, "-c", k_increment}).status == 0);
    CHECK(read_file(file) == "2\n");
    const struct stat after = stat_of(file);
    CHECK(after.st_uid == k_nobody);
    CHECK(after.st_gid == k_nobody);
    CHECK((after.st_mode & 07777) == 02640);
}

TEST_CASE("update creates a missing file from the filter's output on empty input", "[update]") {
    TempDir directory;
    const std::string file = directory / "new.txt";
    CHECK(run_plock({"update", file, "-c", k_increment}).status == 0);
    CHECK(read_file(file) == "1\n");
}

TEST_CASE("update through a symbolic link replaces the target and keeps the link", "[update]") {
    TempDir directory;
    REQUIRE(mkdir((directory / "real").c_str(), 0755) == 0);
    const std::string target = directory / "real/counter";
    const std::string link = directory / "counter";
    write_file(target, "41\n");
    REQUIRE(symlink("real/counter", link.c_str()) == 0);
    CHECK(run_plock({"update", link, "-c", k_increment}).status == 0);
    CHECK(S_ISLNK(stat_of(link).st_mode));
    CHECK(read_file(target) == "42\n");
    CHECK(names_in(directory / "real") == std::set<std::string>{".", "..", "counter"});

    const std::string dangling = directory / "dangling";
    REQUIRE(symlink("real/none", dangling.c_str()) == 0);
    const Result refused = run_plock({"update", dangling, "-c", k_increment});
    CHECK(refused.status == 73);
    CHECK_THAT(refused.err, Catch::Contains("dangling symbolic link"));
    CHECK_FALSE(exists(directory / "real/none"));
}

TEST_CASE("update in a missing directory exits 73 and names the directory", "[update]") {
    TempDir directory;
    const Result result = run_plock({"update", directory / "no/such/file", "--", "cat"});
    CHECK(result.status == 73);
    CHECK(result.err == "plock: error: cannot create " + directory / "no/such/file" + ": directory " +
                            directory / "no/such" + " does not exist\n");
    const Result is_directory = run_plock({"update", directory.path(), "--", "cat"});
    CHECK(is_directory.status == 66);
}

TEST_CASE("update needs a filter and reports a busy file like exec", "[update]") {
    TempDir directory;
    const std::string file = directory / "busy";
    CHECK(run_plock({"update", file}).status == 64);
    CHECK(run_plock({"update", file, "--"}).status == 64);
    Gate gate(directory);
    Process holder = Process::start_plock({"exec", file, "--", "sh", "-c", gate.hold_command()});
    REQUIRE(gate.wait_ready());
    const Result busy = run_plock({"update", "-n", file, "--", "cat"});
    CHECK(busy.status == 75);
    CHECK_THAT(busy.err, Catch::Contains("is locked by PID " + std::to_string(holder.pid())));
    CHECK(run_plock({"update", "-w", "0.2", "-E", "9", "-q", file, "--", "cat"}).status == 9);
    gate.open();
    CHECK(holder.wait() == 0);
}

TEST_CASE("update inside plock exec of the same file uses the inherited lock", "[update]") {
    TempDir directory;
    const std::string file = directory / "nested";
    write_file(file, "1\n");
    const std::string plock = quoted(plock_binary());
    const Result result = run_plock(
        {"exec", "-w", "20", file, "-c", plock + " update -w 10 " + quoted(file) + " -c " + quoted(k_increment)});
    CHECK(result.status == 0);
    CHECK(read_file(file) == "2\n");
}

TEST_CASE("plock exec waits for the new file when the file it waited for was replaced", "[update]") {
    TempDir directory;
    const std::string file = directory / "shared.txt";
    write_file(file, "old\n");
    Gate old_gate(directory, "old");
    Process old_holder = Process::start({"flock", file, "sh", "-c", old_gate.hold_command()});
    REQUIRE(old_gate.wait_ready());
    Process reader = Process::start_plock({"exec", file, "--", "cat", file});
    const auto one_waiting = [&] { return run_plock({"status", file}).out.find(", 1 waiting\n") != std::string::npos; };
    REQUIRE(wait_until(one_waiting));
    // Replace the file while the reader waits, and lock the new one.
    write_file(directory / "next.txt", "new\n");
    REQUIRE(rename((directory / "next.txt").c_str(), file.c_str()) == 0);
    Gate new_gate(directory, "new");
    Process new_holder = Process::start({"flock", file, "sh", "-c", new_gate.hold_command()});
    REQUIRE(new_gate.wait_ready());
    old_gate.open();
    CHECK(old_holder.wait() == 0);
    // The reader got the old file's lock, saw it replaced, and now waits for
    // the new one, which the path names.
    CHECK(wait_until(one_waiting));
    CHECK_FALSE(reader.finished());
    new_gate.open();
    CHECK(new_holder.wait() == 0);
    CHECK(reader.wait() == 0);
    CHECK(reader.out() == "new\n");
}

TEST_CASE("updates and plock exec read-modify-write scripts on the same file lose nothing", "[update]") {
    TempDir directory;
    const std::string counter = directory / "mixed.txt";
    write_file(counter, "0\n");
    const std::string plock = quoted(plock_binary());
    const std::string updater = "i=0; while [ $i -lt " + std::to_string(k_mixed_rounds) + " ]; do " + plock + " update " + quoted(counter) +
                                " -c " + quoted(k_increment) + " || exit 1; i=$((i+1)); done";
    // In place, under plock exec: read, then truncate and write.
    const std::string in_place = "n=$(cat " + quoted(counter) + "); echo $((n+1)) > " + quoted(counter);
    const std::string exec_writer = "i=0; while [ $i -lt " + std::to_string(k_mixed_rounds) + " ]; do " + plock + " exec " + quoted(counter) +
                                    " -c " + quoted(in_place) + " || exit 1; i=$((i+1)); done";
    std::vector<Process> writers;
    for (int index = 0; index < 2; ++index) {
        writers.push_back(Process::start({"sh", "-c", updater}));
        writers.push_back(Process::start({"sh", "-c", exec_writer}));
    }
    for (Process& writer : writers) {
        INFO(writer.err());
        CHECK(writer.wait(480s) == 0);
    }
    CHECK(read_file(counter) == std::to_string(4 * k_mixed_rounds) + "\n");
}

TEST_CASE("the README's jq example edits JSON in place and a failing jq leaves it untouched", "[update]") {
    TempDir directory;
    const std::string state = directory / "state.json";
    write_file(state, "{\"runs\": 1}\n");
    CHECK(run_plock({"update", state, "--", "jq", "-c", ".runs += 1 | .last = now"}).status == 0);
    CHECK_THAT(read_file(state), Catch::Matches(R"(\{"runs":2,"last":[0-9.e+]+\}\n)"));
    const std::string before = read_file(state);
    const Result failed = run_plock({"update", state, "--", "jq", ".runs +="});
    CHECK(failed.status != 0);
    CHECK(read_file(state) == before);
    write_file(state, "not json\n");
    CHECK(run_plock({"update", state, "--", "jq", ".runs += 1"}).status != 0);
    CHECK(read_file(state) == "not json\n");
    const Result read_back = run_plock({"exec", state, "--", "cat", state});
    CHECK(read_back.out == "not json\n");
}
