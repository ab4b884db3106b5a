// Tests of take_as_planned (the one order of taking any lock) and of
// take_file_lock: busy, timed out, reentrancy through an inherited
// descriptor, and a file replaced while we waited.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cstdio>
#include <vector>

#include "forked_holder.hpp"
#include "plock/file/take_file_lock.hpp"
#include "plock/sys/fd.hpp"
#include "test_support.hpp"

using namespace plock;
using namespace std::chrono_literals;

namespace {

// A kind of lock with an outcome of its own, as a semaphore's size conflict.
struct FakeResult {
    enum class Status { acquired, busy, timed_out, its_own };
    Status status = Status::busy;
};

struct Calls {
    int attempts = 0;
    int before_wait = 0;
    std::vector<Deadline> waits;
};

FakeResult take_fake(const WaitPlan& plan, FakeResult::Status first, Calls& calls) {
    return take_as_planned<FakeResult>(
        plan, [&] { ++calls.before_wait; },
        [&] {
            ++calls.attempts;
            return FakeResult{first};
        },
        [&](Deadline deadline) {
            calls.waits.push_back(deadline);
            return FakeResult{FakeResult::Status::timed_out};
        });
}

FileLockRequest exclusive_lock(const std::string& path) {
    FileLockRequest request;
    request.path = path;
    return request;
}

test::ForkedHolder hold(const std::string& path) {
    std::optional<FileLock> kept;
    return test::ForkedHolder([&] {
        kept.emplace(FileLock::open(path, LockMethod::flock));
        return kept->try_acquire(LockMode::exclusive).acquired();
    });
}

}  // namespace

TEST_CASE("take_as_planned waits only after a busy attempt and only when the plan allows", "[take_file_lock]") {
    const Deadline deadline = Clock::now() + 1h;
    Calls free_lock;
    CHECK(take_fake({false, deadline}, FakeResult::Status::acquired, free_lock).status == FakeResult::Status::acquired);
    CHECK(free_lock.before_wait == 0);
    CHECK(free_lock.waits.empty());

    Calls nonblocking;
    CHECK(take_fake({true, deadline}, FakeResult::Status::busy, nonblocking).status == FakeResult::Status::busy);
    CHECK(nonblocking.attempts == 1);
    CHECK(nonblocking.before_wait == 0);
    CHECK(nonblocking.waits.empty());

    Calls waiting;
    CHECK(take_fake({false, deadline}, FakeResult::Status::busy, waiting).status == FakeResult::Status::timed_out);
    CHECK(waiting.before_wait == 1);
    REQUIRE(waiting.waits.size() == 1);
    CHECK(waiting.waits.front() == deadline);

    Calls own_outcome;
    CHECK(take_fake({false, deadline}, FakeResult::Status::its_own, own_outcome).status == FakeResult::Status::its_own);
    CHECK(own_outcome.waits.empty());
}

TEST_CASE("take_file_lock holds a free lock and reports a busy one without waiting", "[take_file_lock]") {
    test::TempDir directory;
    const std::string path = directory / "a.lock";
    const ScopedSignalMask mask(wait_ending_signals());
    int told = 0;
    const auto count = [&](const FileLock&) { ++told; };
    {
        TakenFileLock free_lock = take_file_lock(exclusive_lock(path), {true, std::nullopt}, wait_ending_signals(), count);
        CHECK(free_lock.status == TakenFileLock::Status::held);
        CHECK(free_lock.lock.held());
        CHECK_FALSE(free_lock.inherited);
    }
    auto holder = hold(path);
    REQUIRE(holder.took());
    TakenFileLock busy = take_file_lock(exclusive_lock(path), {true, std::nullopt}, wait_ending_signals(), count);
    CHECK(busy.status == TakenFileLock::Status::busy);
    CHECK_FALSE(busy.lock.held());
    CHECK(told == 0);
}

TEST_CASE("take_file_lock tells before it waits and times out at a deadline already past", "[take_file_lock]") {
    test::TempDir directory;
    const std::string path = directory / "t.lock";
    const ScopedSignalMask mask(wait_ending_signals());
    auto holder = hold(path);
    REQUIRE(holder.took());
    std::vector<FileIdentity> told;
    TakenFileLock timed = take_file_lock(exclusive_lock(path), {false, Clock::now()}, wait_ending_signals(),
                                         [&](const FileLock& lock) { told.push_back(lock.identity()); });
    CHECK(timed.status == TakenFileLock::Status::timed_out);
    REQUIRE(told.size() == 1);
    CHECK(told.front() == timed.lock.identity());
}

TEST_CASE("take_file_lock recognises a lock this process holds through another descriptor", "[take_file_lock]") {
    test::TempDir directory;
    const std::string path = directory / "r.lock";
    const ScopedSignalMask mask(wait_ending_signals());
    for (const int mode : {LOCK_EX, LOCK_SH}) {
        UniqueFd inherited(open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
        REQUIRE(inherited);
        REQUIRE(flock(inherited.get(), mode | LOCK_NB) == 0);
        // Non-blocking, yet held: the lock is ours already.
        TakenFileLock same = take_file_lock(exclusive_lock(path), {true, std::nullopt}, wait_ending_signals());
        REQUIRE(same.inherited);
        CHECK(same.inherited->fd == inherited.get());
        CHECK_FALSE(same.lock.held());
        // A shared lock cannot become exclusive by waiting for ourselves.
        CHECK(same.status == (mode == LOCK_EX ? TakenFileLock::Status::held : TakenFileLock::Status::waits_for_itself));
    }
}

TEST_CASE("take_file_lock locks the new file when the path was replaced while it waited", "[take_file_lock]") {
    test::TempDir directory;
    const std::string path = directory / "p.lock";
    const ScopedSignalMask mask(wait_ending_signals());
    auto holder = hold(path);
    REQUIRE(holder.took());
    int waits = 0;
    int replaced = 0;
    TakenFileLock taken = take_file_lock(
        exclusive_lock(path), {false, std::nullopt}, wait_ending_signals(),
        [&](const FileLock&) {
            if (++waits == 1) {
                // As an atomic writer does: a new file renamed over the path,
                // then the holder of the old one lets go.
                const std::string fresh = directory / "p.new";
                UniqueFd created(open(fresh.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
                REQUIRE(std::rename(fresh.c_str(), path.c_str()) == 0);
                holder.release();
            }
        },
        [&] { ++replaced; });
    CHECK(taken.status == TakenFileLock::Status::held);
    CHECK(replaced == 1);
    struct stat now {};
    REQUIRE(stat(path.c_str(), &now) == 0);
    CHECK(taken.lock.identity() == FileIdentity{now.st_dev, now.st_ino});
    CHECK(taken.lock.held());
}
