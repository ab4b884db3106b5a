// Tests of find_inherited_lock: only a descriptor whose open file description
// owns the lock counts.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>

#include "plock/sys/fd.hpp"
#include "plock/file/file_lock.hpp"
#include "plock/file/inherited_lock.hpp"
#include "test_support.hpp"

using namespace plock;

TEST_CASE("a duplicate of the locking descriptor is recognised with its mode", "[inherited_lock]") {
    test::TempDir directory;
    const std::string path = directory / "r.lock";
    for (LockMode mode : {LockMode::exclusive, LockMode::shared}) {
        for (LockMethod method : {LockMethod::flock, LockMethod::ofd}) {
            FileLock outer = FileLock::open(path, method);
            REQUIRE(outer.try_acquire(mode).acquired());
            // What a child sees: another descriptor for the same open file description.
            const UniqueFd inherited(fcntl(outer.fd(), F_DUPFD_CLOEXEC, 0));
            FileLock inner = FileLock::open(path, method);
            const auto found = find_inherited_lock(inner.identity(), method, inner.fd());
            REQUIRE(found);
            CHECK((found->fd == inherited.get() || found->fd == outer.fd()));
            CHECK(found->mode == mode);
            CHECK(found->method == method);
        }
    }
}

TEST_CASE("another open of the same file does not count as holding the lock", "[inherited_lock]") {
    test::TempDir directory;
    const std::string path = directory / "n.lock";
    FileLock unlocked = FileLock::open(path, LockMethod::flock);
    FileLock inner = FileLock::open(path, LockMethod::flock);
    CHECK_FALSE(find_inherited_lock(inner.identity(), LockMethod::flock, inner.fd()));
}

TEST_CASE("a lock of the other method does not count", "[inherited_lock]") {
    test::TempDir directory;
    const std::string path = directory / "m.lock";
    FileLock outer = FileLock::open(path, LockMethod::ofd);
    REQUIRE(outer.try_acquire(LockMode::exclusive).acquired());
    FileLock inner = FileLock::open(path, LockMethod::flock);
    CHECK_FALSE(find_inherited_lock(inner.identity(), LockMethod::flock, inner.fd()));
}

TEST_CASE("every descriptor holding a lock of the method is listed with its file", "[inherited_lock]") {
    test::TempDir directory;
    FileLock first = FileLock::open(directory / "one.lock", LockMethod::flock);
    FileLock second = FileLock::open(directory / "two.lock", LockMethod::flock);
    FileLock unlocked = FileLock::open(directory / "three.lock", LockMethod::flock);
    FileLock other_method = FileLock::open(directory / "four.lock", LockMethod::ofd);
    REQUIRE(first.try_acquire(LockMode::exclusive).acquired());
    REQUIRE(second.try_acquire(LockMode::shared).acquired());
    REQUIRE(other_method.try_acquire(LockMode::exclusive).acquired());
    const auto found = find_inherited_locks(LockMethod::flock);
    const auto entry_for = [&](const FileLock& lock) {
        return std::find_if(found.begin(), found.end(), [&](const InheritedLock& held) { return held.fd == lock.fd(); });
    };
    REQUIRE(entry_for(first) != found.end());
    CHECK(entry_for(first)->file == first.identity());
    CHECK(entry_for(first)->mode == LockMode::exclusive);
    REQUIRE(entry_for(second) != found.end());
    CHECK(entry_for(second)->mode == LockMode::shared);
    CHECK(entry_for(unlocked) == found.end());
    CHECK(entry_for(other_method) == found.end());
}
