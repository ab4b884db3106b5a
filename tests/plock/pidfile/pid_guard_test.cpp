// Tests of the PID-file guard: parsing PID files, taking the guard (and
// taking it again when the file is replaced under us), what release leaves
// behind, and what a reader is told.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "forked_holder.hpp"
#include "plock/sys/error.hpp"
#include "plock/sys/fd.hpp"
#include "plock/pidfile/pid_guard.hpp"
#include "test_support.hpp"

using namespace plock;
using namespace std::chrono_literals;

namespace {

using Kind = PidFileContent::Kind;

FileIdentity identity_of(const std::string& path) {
    struct stat status {};
    REQUIRE(stat(path.c_str(), &status) == 0);
    return {status.st_dev, status.st_ino};
}

mode_t mode_of(const std::string& path) {
    struct stat status {};
    REQUIRE(stat(path.c_str(), &status) == 0);
    return status.st_mode & 07777;
}

// An flock holder on `path` in this process, through its own open file
// description (which conflicts with the guard's like another process's).
UniqueFd lock_directly(const std::string& path) {
    UniqueFd fd(open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
    REQUIRE(fd);
    REQUIRE(flock(fd.get(), LOCK_EX | LOCK_NB) == 0);
    return fd;
}

void set_modified_long_ago(const std::string& path) {
    const timespec times[2] = {{0, UTIME_OMIT}, {time(nullptr) - 3600, 0}};
    REQUIRE(utimensat(AT_FDCWD, path.c_str(), times, 0) == 0);
}

int error_number_of_acquire(const std::string& path) {
    PidGuard guard(path);
    try {
        guard.acquire(Clock::now(), {});
    } catch (const SystemError& error) {
        return error.error_number();
    }
    FAIL("acquire(" << path << ") did not fail");
    return 0;
}

}  // namespace

TEST_CASE("a PID with or without white space around it is parsed", "[pid_guard]") {
    CHECK(parse_pid_file("1234\n") == PidFileContent{Kind::pid, 1234});
    CHECK(parse_pid_file("1234") == PidFileContent{Kind::pid, 1234});
    CHECK(parse_pid_file("  1234\r\n") == PidFileContent{Kind::pid, 1234});
    CHECK(parse_pid_file("\t7\n\n") == PidFileContent{Kind::pid, 7});
    CHECK(parse_pid_file("1\n") == PidFileContent{Kind::pid, 1});
    CHECK(parse_pid_file("4194304\n") == PidFileContent{Kind::pid, k_max_pid});
}

TEST_CASE("an empty or blank PID file is empty", "[pid_guard]") {
    CHECK(parse_pid_file("").kind == Kind::empty);
    CHECK(parse_pid_file("\n").kind == Kind::empty);
    CHECK(parse_pid_file(" \t\r\n").kind == Kind::empty);
}

TEST_CASE("zero negative huge and malformed PIDs are invalid", "[pid_guard]") {
    for (const std::string_view text :
         {"0", "0\n", "00", "0123\n", "-5\n", "+5\n", "-0", "4194305\n", "9999999\n", "10000000\n",
          "99999999999999999999999999\n", "12a\n", "a12\n", "1 2\n", "1234\n5678\n", "0x10\n", "1e3\n",
          "12.0\n", "\xd9\xa1\n", "pid=12\n"}) {
        INFO("content: '" << text << "'");
        CHECK(parse_pid_file(text) == PidFileContent{Kind::invalid, 0});
    }
    using namespace std::string_view_literals;
    CHECK(parse_pid_file("12\0"sv).kind == Kind::invalid);
    CHECK(parse_pid_file("\0"sv).kind == Kind::invalid);
}

TEST_CASE("a PID file longer than the size limit is invalid even if it is blank around a PID", "[pid_guard]") {
    const std::string padded = std::string(k_max_pid_file_size - 5, ' ') + "1234\n";
    REQUIRE(padded.size() == k_max_pid_file_size);
    CHECK(parse_pid_file(padded).kind == Kind::pid);
    CHECK(parse_pid_file(" " + padded).kind == Kind::invalid);
}

TEST_CASE("what the guard writes parses back to the same PID", "[pid_guard]") {
    for (const pid_t pid : {1, 42, 65535, 4194304}) {
        CHECK(format_pid_file(pid) == std::to_string(pid) + "\n");
        CHECK(parse_pid_file(format_pid_file(pid)) == PidFileContent{Kind::pid, pid});
    }
}

TEST_CASE("the guard creates the file 0644 and it stays empty until the PID is written", "[pid_guard]") {
    test::TempDir directory;
    const std::string path = directory / "a.pid";
    const mode_t previous_mask = umask(022);
    PidGuard guard(path);
    const AcquireResult result = guard.acquire(Clock::now(), {});
    umask(previous_mask);
    REQUIRE(result.acquired());
    CHECK(guard.held());
    CHECK(mode_of(path) == 0644);
    CHECK(test::read_file(path).empty());
    CHECK(guard.identity() == identity_of(path));
    guard.write_pid(4321);
    CHECK(test::read_file(path) == "4321\n");
    CHECK(guard.release() == PidGuardRelease::removed);
    CHECK_FALSE(test::exists(path));
    CHECK_FALSE(guard.held());
}

TEST_CASE("a busy PID file is reported busy and its content is left untouched", "[pid_guard]") {
    test::TempDir directory;
    const std::string path = directory / "busy.pid";
    test::write_file(path, "777\n");
    const UniqueFd holder = lock_directly(path);
    PidGuard guard(path);
    CHECK(guard.acquire(Clock::now(), {}).status == AcquireResult::Status::busy);
    CHECK(guard.acquire(Clock::now() + 100ms, {}).status == AcquireResult::Status::timed_out);
    CHECK(test::read_file(path) == "777\n");
    CHECK(guard.release() == PidGuardRelease::not_held);
    CHECK(test::read_file(path) == "777\n");
}

TEST_CASE("a stale PID file left by a killed guard is taken and emptied", "[pid_guard]") {
    test::TempDir directory;
    const std::string path = directory / "stale.pid";
    test::write_file(path, "12345\n");
    PidGuard guard(path);
    REQUIRE(guard.acquire(Clock::now(), {}).acquired());
    CHECK(test::read_file(path).empty());
}

TEST_CASE("a file removed and replaced while the guard waited is not the one it keeps", "[pid_guard]") {
    test::TempDir directory;
    const std::string path = directory / "moving.pid";
    UniqueFd old_holder = lock_directly(path);
    const FileIdentity old_file = identity_of(path);

    PidGuard guard(path);
    AcquireResult result;
    std::thread waiter([&] { result = guard.acquire(Clock::now() + 20s, {}); });
    // What a guard does on its way out: remove the file, then release. Here
    // another file takes the name in between, as a new guard would create it.
    REQUIRE(test::wait_until([&] { return find_lock_holders(old_file).waiters.size() == 1; }));
    REQUIRE(unlink(path.c_str()) == 0);
    test::write_file(path, "555\n");
    old_holder.reset();
    waiter.join();

    REQUIRE(result.acquired());
    CHECK(guard.identity() == identity_of(path));
    CHECK_FALSE(guard.identity() == old_file);
    CHECK(test::read_file(path).empty());
}

TEST_CASE("a file removed while the guard waited is created again", "[pid_guard]") {
    test::TempDir directory;
    const std::string path = directory / "gone.pid";
    UniqueFd old_holder = lock_directly(path);
    const FileIdentity old_file = identity_of(path);
    PidGuard guard(path);
    AcquireResult result;
    std::thread waiter([&] { result = guard.acquire(Clock::now() + 20s, {}); });
    REQUIRE(test::wait_until([&] { return find_lock_holders(old_file).waiters.size() == 1; }));
    REQUIRE(unlink(path.c_str()) == 0);
    old_holder.reset();
    waiter.join();
    REQUIRE(result.acquired());
    REQUIRE(test::exists(path));
    CHECK(guard.identity() == identity_of(path));
}

TEST_CASE("release leaves a file that now has another inode at the path", "[pid_guard]") {
    test::TempDir directory;
    const std::string path = directory / "r.pid";
    PidGuard guard(path);
    REQUIRE(guard.acquire(Clock::now(), {}).acquired());
    guard.write_pid(99);
    test::write_file(directory / "new", "4242\n");
    REQUIRE(rename((directory / "new").c_str(), path.c_str()) == 0);
    CHECK(guard.release() == PidGuardRelease::replaced);
    CHECK(test::read_file(path) == "4242\n");
}

TEST_CASE("release leaves a file whose content is no longer what the guard wrote", "[pid_guard]") {
    test::TempDir directory;
    const std::string path = directory / "w.pid";
    PidGuard guard(path);
    REQUIRE(guard.acquire(Clock::now(), {}).acquired());
    guard.write_pid(99);
    test::write_file(path, "100\n");  // same inode, other content
    CHECK(guard.release() == PidGuardRelease::rewritten);
    CHECK(test::read_file(path) == "100\n");
}

TEST_CASE("release leaves the file to a process that still shares the lock", "[pid_guard]") {
    test::TempDir directory;
    const std::string path = directory / "shared.pid";
    PidGuard guard(path);
    REQUIRE(guard.acquire(Clock::now(), {}).acquired());
    guard.write_pid(getpid());
    // A forked process inherits the descriptor: what a command's daemon
    // left behind looks like.
    test::ForkedHolder leftover([] { return true; }, test::ForkedHolder::Descriptors::keep_inherited);
    REQUIRE(leftover.took());
    CHECK(guard.release() == PidGuardRelease::still_held);
    CHECK(test::exists(path));
    const FileIdentity file = identity_of(path);
    CHECK(process_holds_lock(leftover.pid(), file));
    leftover.release();
    CHECK(find_lock_holders(file).holders.empty());
}

TEST_CASE("the destructor removes a file that is still the guard's", "[pid_guard]") {
    test::TempDir directory;
    const std::string path = directory / "d.pid";
    {
        PidGuard guard(path);
        REQUIRE(guard.acquire(Clock::now(), {}).acquired());
        guard.write_pid(7);
    }
    CHECK_FALSE(test::exists(path));
}

TEST_CASE("the guard refuses a file that holds something other than a PID and leaves it as it was", "[pid_guard]") {
    test::TempDir directory;
    const std::string path = directory / "notes.txt";
    test::write_file(path, "important notes\n");
    CHECK(error_number_of_acquire(path) == EINVAL);
    CHECK(test::read_file(path) == "important notes\n");
    const std::string large = directory / "large";
    test::write_file(large, std::string(1000, '\n'));
    CHECK(error_number_of_acquire(large) == EINVAL);
    CHECK(test::read_file(large).size() == 1000);
    CHECK(find_lock_holders(identity_of(path)).holders.empty());
}

TEST_CASE("the guard refuses a file with another hard link", "[pid_guard]") {
    test::TempDir directory;
    const std::string path = directory / "linked.pid";
    test::write_file(path, "123\n");
    REQUIRE(link(path.c_str(), (directory / "other-name").c_str()) == 0);
    CHECK(error_number_of_acquire(path) == EMLINK);
    CHECK(test::read_file(path) == "123\n");
}

TEST_CASE("the guard refuses symbolic links directories and FIFOs", "[pid_guard]") {
    test::TempDir directory;
    test::write_file(directory / "target", "");
    REQUIRE(symlink((directory / "target").c_str(), (directory / "link.pid").c_str()) == 0);
    REQUIRE(mkdir((directory / "dir.pid").c_str(), 0755) == 0);
    REQUIRE(mkfifo((directory / "fifo.pid").c_str(), 0644) == 0);
    CHECK(error_number_of_acquire(directory / "link.pid") == ELOOP);
    CHECK(error_number_of_acquire(directory / "dir.pid") == EISDIR);
    CHECK(error_number_of_acquire(directory / "fifo.pid") == EINVAL);
}

TEST_CASE("a query finds no file stale file and a running guard", "[pid_guard]") {
    test::TempDir directory;
    const std::string path = directory / "q.pid";
    CHECK(query_pid_file(path, Clock::now()).status == PidFileState::Status::absent);
    CHECK(query_pid_file(directory / "missing/q.pid", Clock::now()).status == PidFileState::Status::absent);

    test::write_file(path, "31337\n");
    const PidFileState stale = query_pid_file(path, Clock::now());
    CHECK(stale.status == PidFileState::Status::stale);
    CHECK(stale.content == PidFileContent{Kind::pid, 31337});

    PidGuard guard(path);
    REQUIRE(guard.acquire(Clock::now(), {}).acquired());
    guard.write_pid(getpid());
    const PidFileState running = query_pid_file(path, Clock::now());
    CHECK(running.status == PidFileState::Status::running);
    CHECK(running.holder.pid == getpid());
    CHECK(running.pid_from_file);
}

TEST_CASE("a query never believes a PID in the file that the lock does not vouch for", "[pid_guard]") {
    test::TempDir directory;
    const std::string path = directory / "decoy.pid";
    PidGuard guard(path);
    REQUIRE(guard.acquire(Clock::now(), {}).acquired());
    guard.write_pid(1);  // alive, but holds nothing of ours
    set_modified_long_ago(path);
    const PidFileState state = query_pid_file(path, Clock::now() + 10s);
    CHECK(state.status == PidFileState::Status::running);
    CHECK_FALSE(state.pid_from_file);
    CHECK(state.holder.pid == getpid());  // the process the kernel says holds it
}

TEST_CASE("a query does not wait for a PID in a file held long without one", "[pid_guard]") {
    test::TempDir directory;
    const std::string path = directory / "old.pid";
    const UniqueFd holder = lock_directly(path);  // a program that never writes a PID
    set_modified_long_ago(path);
    // It never sets up the wait for a PID (the inotify watch a waiting query
    // opens), rather than a time bound a slow machine could exceed.
    std::atomic<bool> done{false};
    std::atomic<bool> waited{false};
    std::thread watcher([&] {
        while (!done) {
            waited = waited || test::has_inotify(getpid());
            std::this_thread::sleep_for(1ms);
        }
    });
    const PidFileState state = query_pid_file(path, Clock::now() + 10s);
    done = true;
    watcher.join();
    CHECK_FALSE(waited);
    CHECK(state.status == PidFileState::Status::running);
    CHECK(state.holder.pid == getpid());
    CHECK(state.content.kind == Kind::empty);
}

TEST_CASE("a query waits for the PID of a guard that has just taken the file", "[pid_guard]") {
    test::TempDir directory;
    const std::string path = directory / "starting.pid";
    PidGuard guard(path);
    REQUIRE(guard.acquire(Clock::now(), {}).acquired());
    // A guard still starting its command: it holds the file, still empty.
    // The PID is written once the query waits for it (its inotify watch is
    // open), as after the command's exec.
    std::thread writer([&] {
        test::wait_until([] { return test::has_inotify(getpid()); });
        guard.write_pid(getpid());
    });
    const PidFileState state = query_pid_file(path, Clock::now() + 10s);
    writer.join();
    CHECK(state.status == PidFileState::Status::running);
    CHECK(state.pid_from_file);
    CHECK(state.content == PidFileContent{Kind::pid, getpid()});
}

TEST_CASE("the holder of a busy guard is the PID its file names", "[pid_guard]") {
    test::TempDir directory;
    const std::string path = directory / "h.pid";
    test::ForkedHolder holder([path] {
        // Leaked on purpose: it must outlive this function, until the holder exits.
        auto* guard = new PidGuard(path);
        if (!guard->acquire(Clock::now(), {}).acquired()) {
            return false;
        }
        guard->write_pid(getpid());
        return true;
    });
    REQUIRE(holder.took());
    PidGuard contender(path);
    REQUIRE(contender.acquire(Clock::now(), {}).status == AcquireResult::Status::busy);
    const PidFileState state = contender.holder_state(Clock::now() + 5s);
    CHECK(state.status == PidFileState::Status::running);
    CHECK(state.holder.pid == holder.pid());
    CHECK(state.pid_from_file);
    CHECK(test::read_file(path) == std::to_string(holder.pid()) + "\n");
}
