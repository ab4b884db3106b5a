// Tests of the /proc/locks and fdinfo parser.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "plock/sys/fd.hpp"
#include "plock/proc/proc_locks.hpp"
#include "test_support.hpp"

using namespace plock;

TEST_CASE("a granted flock line is parsed field by field", "[proc_locks]") {
    const auto entry = parse_lock_line("1: FLOCK  ADVISORY  WRITE 3641 fe:00:10952886 0 EOF");
    REQUIRE(entry);
    CHECK(entry->id == 1);
    CHECK_FALSE(entry->waiting);
    CHECK(entry->kind == LockKind::flock);
    CHECK(entry->exclusive);
    CHECK(entry->pid == 3641);
    CHECK(entry->device_major == 0xfe);
    CHECK(entry->device_minor == 0);
    CHECK(entry->inode == 10952886);
    CHECK(entry->start == 0);
    CHECK_FALSE(entry->end);
}

TEST_CASE("an OFD lock has pid -1 and a shared READ lock is not exclusive", "[proc_locks]") {
    const auto entry = parse_lock_line("2: OFDLCK ADVISORY  READ  -1 00:2d:1234 0 EOF");
    REQUIRE(entry);
    CHECK(entry->kind == LockKind::ofd);
    CHECK_FALSE(entry->exclusive);
    CHECK(entry->pid == -1);
    CHECK(entry->device_minor == 0x2d);
}

TEST_CASE("a waiting request is marked and a byte range is kept", "[proc_locks]") {
    const auto waiter = parse_lock_line("3: -> POSIX  ADVISORY  WRITE 99 08:01:77 100 199");
    REQUIRE(waiter);
    CHECK(waiter->waiting);
    CHECK(waiter->kind == LockKind::posix);
    CHECK(waiter->start == 100);
    REQUIRE(waiter->end);
    CHECK(*waiter->end == 199);
}

TEST_CASE("lines the parser does not recognise are skipped and not misread", "[proc_locks]") {
    CHECK_FALSE(parse_lock_line(""));
    CHECK_FALSE(parse_lock_line("garbage"));
    CHECK_FALSE(parse_lock_line("1: FLOCK  ADVISORY  WRITE"));
    CHECK_FALSE(parse_lock_line("1: FLOCK  ADVISORY  WRITE 12 <none>:0 0 EOF"));
    CHECK_FALSE(parse_lock_line("x: FLOCK  ADVISORY  WRITE 12 08:01:5 0 EOF"));
    CHECK_FALSE(parse_lock_line("1: WEIRD  ADVISORY  WRITE 12 08:01:5 0 EOF"));
    CHECK_FALSE(parse_lock_line("1: FLOCK  ADVISORY  WRITE 12 zz:01:5 0 EOF"));
    CHECK_FALSE(parse_lock_line("1: FLOCK  ADVISORY  WRITE 12 08:01:5 0 nonsense"));
}

TEST_CASE("a whole table is split into entries and bad lines are skipped", "[proc_locks]") {
    const auto entries = parse_lock_table(
        "1: FLOCK  ADVISORY  WRITE 10 08:01:5 0 EOF\n"
        "1: -> FLOCK  ADVISORY  WRITE 11 08:01:5 0 EOF\n"
        "not a lock line\n"
        "2: LEASE  ACTIVE    READ  12 08:01:6 0 EOF");
    REQUIRE(entries.size() == 3);
    CHECK(entries[1].waiting);
    CHECK(entries[2].kind == LockKind::lease);
}

TEST_CASE("our own flock lock appears in /proc/locks and in our fdinfo", "[proc_locks]") {
    test::TempDir directory;
    const std::string path = directory / "held.lock";
    const UniqueFd fd(open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    REQUIRE(fd);
    REQUIRE(flock(fd.get(), LOCK_EX) == 0);
    struct stat status {};
    REQUIRE(fstat(fd.get(), &status) == 0);

    bool found = false;
    for (const LockEntry& entry : read_lock_table()) {
        if (same_file(entry, status.st_dev, status.st_ino)) {
            found = true;
            CHECK(entry.pid == getpid());
            CHECK(entry.exclusive);
        }
    }
    CHECK(found);

    const auto own = read_descriptor_locks(getpid(), fd.get());
    REQUIRE(own.size() == 1);
    CHECK(own[0].kind == LockKind::flock);
    CHECK(same_file(own[0], status.st_dev, status.st_ino));
}

TEST_CASE("fdinfo of a vanished process reads as no locks", "[proc_locks]") {
    CHECK(read_descriptor_locks(999999999, 3).empty());
}
