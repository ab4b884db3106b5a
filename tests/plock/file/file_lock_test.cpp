// Tests of FileLock: modes, methods, waiting, timeouts and stop signals,
// each against a lock held by another process.
#include <catch2/catch.hpp>

#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <thread>

#include "forked_holder.hpp"
#include "plock/sys/error.hpp"
#include "plock/file/file_lock.hpp"
#include "test_support.hpp"

using namespace plock;
using namespace std::chrono_literals;
using Status = AcquireResult::Status;

namespace {

test::ForkedHolder hold(const std::string& path, LockMethod method, LockMode mode) {
    // In the child this frame lives until the child exits, and so does the lock.
    std::optional<FileLock> kept;
    return test::ForkedHolder([&] {
        kept.emplace(FileLock::open(path, method));
        return kept->try_acquire(mode).acquired();
    });
}

Status try_in_child(const std::string& path, LockMethod method, LockMode mode) {
    test::ForkedHolder probe([&] {
        FileLock lock = FileLock::open(path, method);
        return lock.try_acquire(mode).acquired();
    });
    return probe.took() ? Status::acquired : Status::busy;
}

}  // namespace

TEST_CASE("exclusive excludes exclusive across processes", "[file_lock]") {
    test::TempDir directory;
    const std::string path = directory / "x.lock";
    auto holder = hold(path, LockMethod::flock, LockMode::exclusive);
    REQUIRE(holder.took());
    FileLock lock = FileLock::open(path, LockMethod::flock);
    CHECK(lock.try_acquire(LockMode::exclusive).status == Status::busy);
    holder.release();
    CHECK(lock.try_acquire(LockMode::exclusive).status == Status::acquired);
    CHECK(lock.held());
}

TEST_CASE("shared holders coexist and exclude an exclusive one", "[file_lock]") {
    test::TempDir directory;
    const std::string path = directory / "s.lock";
    for (LockMethod method : {LockMethod::flock, LockMethod::ofd}) {
        auto holder = hold(path, method, LockMode::shared);
        REQUIRE(holder.took());
        CHECK(try_in_child(path, method, LockMode::shared) == Status::acquired);
        CHECK(try_in_child(path, method, LockMode::exclusive) == Status::busy);
    }
}

TEST_CASE("an exclusive holder excludes shared requests", "[file_lock]") {
    test::TempDir directory;
    const std::string path = directory / "e.lock";
    for (LockMethod method : {LockMethod::flock, LockMethod::ofd}) {
        auto holder = hold(path, method, LockMode::exclusive);
        REQUIRE(holder.took());
        CHECK(try_in_child(path, method, LockMode::shared) == Status::busy);
    }
}

TEST_CASE("ofd locks and flock locks are independent of each other", "[file_lock]") {
    test::TempDir directory;
    const std::string path = directory / "i.lock";
    auto ofd_holder = hold(path, LockMethod::ofd, LockMode::exclusive);
    REQUIRE(ofd_holder.took());
    CHECK(try_in_child(path, LockMethod::flock, LockMode::exclusive) == Status::acquired);
    CHECK(try_in_child(path, LockMethod::ofd, LockMode::exclusive) == Status::busy);
}

TEST_CASE("two descriptors of one process conflict like two processes", "[file_lock]") {
    test::TempDir directory;
    const std::string path = directory / "d.lock";
    for (LockMethod method : {LockMethod::flock, LockMethod::ofd}) {
        FileLock first = FileLock::open(path, method);
        FileLock second = FileLock::open(path, method);
        REQUIRE(first.try_acquire(LockMode::exclusive).acquired());
        CHECK(second.try_acquire(LockMode::exclusive).status == Status::busy);
        first.release();
        CHECK(second.try_acquire(LockMode::exclusive).acquired());
    }
}

TEST_CASE("a timed acquire gives up at its deadline and not before", "[file_lock]") {
    test::TempDir directory;
    const std::string path = directory / "t.lock";
    auto holder = hold(path, LockMethod::flock, LockMode::exclusive);
    REQUIRE(holder.took());
    FileLock lock = FileLock::open(path, LockMethod::flock);
    const auto start = Clock::now();
    const auto result = lock.acquire(LockMode::exclusive, start + 300ms, wait_ending_signals());
    const auto waited = Clock::now() - start;
    // The holder keeps the lock throughout, so only the deadline can end the
    // wait, and not before it. (No upper bound: how late a loaded machine
    // wakes the waiter says nothing about the lock; a wait that ignored its
    // deadline would never end, and ctest's time limit fails it.)
    CHECK(result.status == Status::timed_out);
    CHECK(waited >= 300ms);
    CHECK_FALSE(lock.held());
}

TEST_CASE("a waiter gets the lock once the holder lets go", "[file_lock]") {
    test::TempDir directory;
    const std::string path = directory / "w.lock";
    for (LockMethod method : {LockMethod::flock, LockMethod::ofd}) {
        auto holder = hold(path, method, LockMode::exclusive);
        REQUIRE(holder.took());
        // Released once the acquire below waits in the kernel, not after a
        // time a slow machine might not have reached the acquire in.
        std::thread releaser([&] {
            test::wait_until([&] { return test::blocked_waiters(path) == 1; });
            holder.release();
        });
        FileLock lock = FileLock::open(path, method);
        const auto result = lock.acquire(LockMode::exclusive, std::nullopt, wait_ending_signals());
        releaser.join();
        CHECK(result.acquired());
        CHECK(lock.held());
    }
}

TEST_CASE("a stop signal ends the wait and says which signal", "[file_lock]") {
    test::TempDir directory;
    const std::string path = directory / "sig.lock";
    auto holder = hold(path, LockMethod::flock, LockMode::exclusive);
    REQUIRE(holder.took());
    // Blocked here as the CLI blocks it; the wait takes it synchronously.
    const ScopedSignalMask mask(SignalSet{SIGUSR1});
    std::thread sender([&] {
        test::wait_until([&] { return test::blocked_waiters(path) == 1; });  // the wait has begun
        kill(getpid(), SIGUSR1);
    });
    FileLock lock = FileLock::open(path, LockMethod::flock);
    const auto result = lock.acquire(LockMode::exclusive, Clock::now() + 20s, SignalSet{SIGUSR1});
    sender.join();
    CHECK(result.status == Status::interrupted);
    CHECK(result.signal == SIGUSR1);
    CHECK_FALSE(lock.held());
}

TEST_CASE("a signal pending before the wait ends it at once", "[file_lock]") {
    test::TempDir directory;
    const std::string path = directory / "pending.lock";
    auto holder = hold(path, LockMethod::flock, LockMode::exclusive);
    REQUIRE(holder.took());
    const ScopedSignalMask mask(SignalSet{SIGUSR2});
    kill(getpid(), SIGUSR2);
    FileLock lock = FileLock::open(path, LockMethod::flock);
    const auto result = lock.acquire(LockMode::exclusive, Clock::now() + 20s, SignalSet{SIGUSR2});
    CHECK(result.status == Status::interrupted);
    CHECK(result.signal == SIGUSR2);
}

TEST_CASE("an exclusive ofd lock on a read-only descriptor is refused with EACCES", "[file_lock]") {
    test::TempDir directory;
    const std::string path = directory / "readonly-dir";
    REQUIRE(mkdir(path.c_str(), 0755) == 0);
    FileLock lock = FileLock::open(path, LockMethod::ofd);  // directories open read-only
    CHECK_FALSE(lock.writable());
    CHECK_THROWS_AS(lock.try_acquire(LockMode::exclusive), SystemError);
    CHECK(lock.try_acquire(LockMode::shared).acquired());
}

TEST_CASE("a directory can be flocked exclusively", "[file_lock]") {
    test::TempDir directory;
    FileLock lock = FileLock::open(directory.path(), LockMethod::flock);
    CHECK(lock.try_acquire(LockMode::exclusive).acquired());
}

TEST_CASE("release lets another process in while the file stays open", "[file_lock]") {
    test::TempDir directory;
    const std::string path = directory / "r.lock";
    FileLock lock = FileLock::open(path, LockMethod::flock);
    REQUIRE(lock.try_acquire(LockMode::exclusive).acquired());
    CHECK(try_in_child(path, LockMethod::flock, LockMode::exclusive) == Status::busy);
    lock.release();
    CHECK_FALSE(lock.held());
    CHECK(try_in_child(path, LockMethod::flock, LockMode::exclusive) == Status::acquired);
}

TEST_CASE("reopen_if_replaced keeps a file the path still names", "[file_lock]") {
    test::TempDir directory;
    const std::string path = directory / "same.lock";
    FileLock lock = FileLock::open(path, LockMethod::flock);
    REQUIRE(lock.try_acquire(LockMode::exclusive).acquired());
    const FileIdentity before = lock.identity();
    CHECK_FALSE(lock.reopen_if_replaced());
    CHECK(lock.identity() == before);
    CHECK(lock.held());
}

TEST_CASE("reopen_if_replaced drops the lock of a file renamed over and opens the new one", "[file_lock]") {
    test::TempDir directory;
    const std::string path = directory / "replaced.lock";
    test::write_file(path, "old");
    FileLock lock = FileLock::open(path, LockMethod::flock);
    REQUIRE(lock.try_acquire(LockMode::exclusive).acquired());
    const FileIdentity old_file = lock.identity();
    test::write_file(directory / "new", "new");
    REQUIRE(rename((directory / "new").c_str(), path.c_str()) == 0);
    CHECK(lock.reopen_if_replaced());
    CHECK_FALSE(lock.held());
    CHECK_FALSE(lock.identity() == old_file);
    struct stat now {};
    REQUIRE(stat(path.c_str(), &now) == 0);
    CHECK(lock.identity() == FileIdentity{now.st_dev, now.st_ino});
    CHECK(lock.try_acquire(LockMode::exclusive).acquired());
    CHECK_FALSE(lock.reopen_if_replaced());
}

TEST_CASE("reopen_if_replaced creates the file again when it was removed", "[file_lock]") {
    test::TempDir directory;
    const std::string path = directory / "removed.lock";
    FileLock lock = FileLock::open(path, LockMethod::ofd);
    REQUIRE(lock.try_acquire(LockMode::exclusive).acquired());
    REQUIRE(unlink(path.c_str()) == 0);
    CHECK(lock.reopen_if_replaced());
    CHECK(test::exists(path));
    CHECK(lock.created());
}
