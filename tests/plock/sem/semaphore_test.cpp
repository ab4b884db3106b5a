// Tests of Semaphore: slot names, validation, taking slots in order, waiting
// for whichever slot frees first, timeouts, stop signals, the record of slot
// counts, reentrancy and inspection, against slots held by other processes.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <thread>

#include "forked_holder.hpp"
#include "plock/sys/error.hpp"
#include "plock/sem/semaphore.hpp"
#include "test_support.hpp"

using namespace plock;
using namespace std::chrono_literals;
using Status = SemaphoreAcquireResult::Status;

namespace {

SemaphoreSpec spec_in(const test::TempDir& directory, std::size_t count, const std::string& name = "jobs") {
    return SemaphoreSpec{directory.path(), name, count};
}

// Another process that takes one slot (the first free one) and holds it.
test::ForkedHolder hold_slot(const SemaphoreSpec& spec) {
    std::optional<Semaphore> kept;  // lives in the child until it exits
    return test::ForkedHolder([&] {
        kept.emplace(spec);
        return kept->try_acquire().acquired();
    });
}

// Another process that holds exactly slot `index`, as a plain flock would.
test::ForkedHolder hold_slot_file(const SemaphoreSpec& spec, std::size_t index) {
    std::optional<FileLock> kept;
    return test::ForkedHolder([&] {
        kept.emplace(FileLock::open(spec.slot_path(index), LockMethod::flock));
        return kept->try_acquire(LockMode::exclusive).acquired();
    });
}

}  // namespace

TEST_CASE("slot files are named as portalocker names them", "[semaphore]") {
    CHECK(slot_file_name("gpu", 0) == "gpu.00.lock");
    CHECK(slot_file_name("gpu", 7) == "gpu.07.lock");
    CHECK(slot_file_name("gpu", 99) == "gpu.99.lock");
    CHECK(slot_file_name("gpu", 100) == "gpu.100.lock");
    CHECK(slot_file_name("a.b", 1023) == "a.b.1023.lock");
    const SemaphoreSpec spec{"/var/tmp/", "gpu", 2};
    CHECK(spec.slot_path(1) == "/var/tmp/gpu.01.lock");
    CHECK(spec.queue_path() == "/var/tmp/gpu.queue.lock");
    CHECK(spec.size_path() == "/var/tmp/gpu.size.lock");
    CHECK(SemaphoreSpec{"/", "x", 1}.slot_path(0) == "/x.00.lock");
}

TEST_CASE("semaphore names that would escape the directory or hide are refused", "[semaphore]") {
    for (const std::string& bad : {std::string(), std::string("a/b"), std::string("/abs"), std::string(".hidden"),
                                   std::string(".."), std::string("new\nline"), std::string(201, 'x')}) {
        INFO("name: " << bad);
        CHECK_THROWS_AS(check_semaphore_name(bad), UsageError);
    }
    for (const std::string& good : {std::string("gpu"), std::string("a.b"), std::string("GPU-0_x"),
                                    std::string(200, 'x'), std::string("with space")}) {
        INFO("name: " << good);
        CHECK_NOTHROW(check_semaphore_name(good));
    }
    CHECK_THROWS_WITH(check_semaphore_name("a/b"), Catch::Contains("'/'"));
}

TEST_CASE("slot counts from 1 to 1024 are accepted and others refused", "[semaphore]") {
    CHECK_NOTHROW(check_slot_count(1));
    CHECK_NOTHROW(check_slot_count(1024));
    CHECK_THROWS_AS(check_slot_count(0), UsageError);
    CHECK_THROWS_AS(check_slot_count(1025), UsageError);
}

TEST_CASE("a missing directory or a file as directory is refused when the semaphore is made", "[semaphore]") {
    test::TempDir directory;
    test::write_file(directory / "file", "");
    CHECK_THROWS_WITH(Semaphore(SemaphoreSpec{directory / "missing", "s", 2}), Catch::Contains("does not exist"));
    CHECK_THROWS_WITH(Semaphore(SemaphoreSpec{directory / "file", "s", 2}), Catch::Contains("not a directory"));
    try {
        Semaphore(SemaphoreSpec{directory / "missing", "s", 2});
    } catch (const SystemError& error) {
        CHECK(error.error_number() == ENOENT);
        CHECK(error.operation() == Operation::create);
    }
}

TEST_CASE("slots are taken in order from slot 0 until all are busy", "[semaphore]") {
    test::TempDir directory;
    const SemaphoreSpec spec = spec_in(directory, 3);
    auto first = hold_slot(spec);
    auto second = hold_slot(spec);
    REQUIRE(first.took());
    REQUIRE(second.took());
    Semaphore third(spec);
    REQUIRE(third.try_acquire().acquired());
    CHECK(third.slot() == 2);
    CHECK_FALSE(third.inherited());
    CHECK(third.descriptors_to_pass().size() == 2);  // the slot and the record of the count
    Semaphore fourth(spec);
    CHECK(fourth.try_acquire().status == Status::busy);
    CHECK_FALSE(fourth.held());
    first.release();
    REQUIRE(fourth.try_acquire().acquired());
    CHECK(fourth.slot() == 0);
}

TEST_CASE("releasing a slot lets another process take it", "[semaphore]") {
    test::TempDir directory;
    const SemaphoreSpec spec = spec_in(directory, 1);
    Semaphore mine(spec);
    REQUIRE(mine.try_acquire().acquired());
    {
        test::ForkedHolder probe([&] { return Semaphore(spec).try_acquire().acquired(); });
        CHECK_FALSE(probe.took());
    }
    mine.release();
    CHECK_FALSE(mine.held());
    test::ForkedHolder probe([&] { return Semaphore(spec).try_acquire().acquired(); });
    CHECK(probe.took());
}

TEST_CASE("a waiter takes whichever slot is released first", "[semaphore]") {
    test::TempDir directory;
    const SemaphoreSpec spec = spec_in(directory, 3);
    auto slot0 = hold_slot_file(spec, 0);
    auto slot1 = hold_slot_file(spec, 1);
    auto slot2 = hold_slot_file(spec, 2);
    REQUIRE((slot0.took() && slot1.took() && slot2.took()));
    std::thread releaser([&] {
        test::wait_until([&] { return test::blocked_waiters(spec.slot_path(1)) == 1; });  // it waits
        slot1.release();
    });
    Semaphore waiter(spec);
    const auto result = waiter.acquire(Clock::now() + 20s, SignalSet{SIGUSR1});
    releaser.join();
    REQUIRE(result.acquired());
    CHECK(waiter.slot() == 1);
    // The waiter holds slot 1 only: 0 and 2 are still the holders'.
    test::ForkedHolder probe([&] { return Semaphore(spec).try_acquire().acquired(); });
    CHECK_FALSE(probe.took());
}

TEST_CASE("a wait on 1024 slots ends when the last one is released", "[semaphore]") {
    test::TempDir directory;
    const SemaphoreSpec spec = spec_in(directory, 1024);
    // The waiter keeps every slot file open, as does the holder: make room
    // where the soft limit is the common 1024 (plock sem raises it itself).
    rlimit limit{};
    REQUIRE(getrlimit(RLIMIT_NOFILE, &limit) == 0);
    if (limit.rlim_cur < 1200 && (limit.rlim_max == RLIM_INFINITY || limit.rlim_max >= 1200)) {
        limit.rlim_cur = 1200;
        REQUIRE(setrlimit(RLIMIT_NOFILE, &limit) == 0);
    }
    // One process holds every slot, each through its own open file description.
    std::vector<std::optional<FileLock>> kept;
    test::ForkedHolder holder([&] {
        for (std::size_t index = 0; index < spec.slot_count; ++index) {
            kept.emplace_back(FileLock::open(spec.slot_path(index), LockMethod::flock));
            if (!kept.back()->try_acquire(LockMode::exclusive).acquired()) {
                return false;
            }
        }
        return true;
    });
    INFO("the test process needs about 1100 open files (ulimit -n)");
    REQUIRE(holder.took());
    std::thread releaser([&] {
        test::wait_until([&] { return test::blocked_waiters(spec.slot_path(spec.slot_count - 1)) == 1; });
        holder.release();
    });
    Semaphore waiter(spec);
    const auto result = waiter.acquire(Clock::now() + 30s, SignalSet{SIGUSR1});
    releaser.join();
    REQUIRE(result.acquired());
    CHECK(waiter.slot() < 1024);
}

TEST_CASE("a wait for a slot times out when none is released", "[semaphore]") {
    test::TempDir directory;
    const SemaphoreSpec spec = spec_in(directory, 2);
    auto first = hold_slot(spec);
    auto second = hold_slot(spec);
    REQUIRE((first.took() && second.took()));
    Semaphore waiter(spec);
    const auto start = Clock::now();
    const auto result = waiter.acquire(start + 200ms, SignalSet{SIGUSR1});
    CHECK(result.status == Status::timed_out);
    CHECK(Clock::now() - start >= 200ms);
    CHECK_FALSE(waiter.held());
    // Nothing of the waiter lingers: when a slot frees, another process gets it.
    first.release();
    test::ForkedHolder probe([&] { return Semaphore(spec).try_acquire().acquired(); });
    CHECK(probe.took());
}

TEST_CASE("a stop signal ends a wait for a slot", "[semaphore]") {
    test::TempDir directory;
    const SemaphoreSpec spec = spec_in(directory, 1);
    auto holder = hold_slot(spec);
    REQUIRE(holder.took());
    const ScopedSignalMask mask(SignalSet{SIGUSR1});
    std::thread sender([&] {
        test::wait_until([&] { return test::blocked_waiters(spec.slot_path(0)) == 1; });  // the wait has begun
        kill(getpid(), SIGUSR1);
    });
    Semaphore waiter(spec);
    const auto result = waiter.acquire(Clock::now() + 20s, SignalSet{SIGUSR1});
    sender.join();
    CHECK(result.status == Status::interrupted);
    CHECK(result.signal == SIGUSR1);
    CHECK_FALSE(waiter.held());
}

TEST_CASE("users who give different slot counts are told of each other", "[semaphore]") {
    test::TempDir directory;
    Semaphore two(spec_in(directory, 2));
    REQUIRE(two.try_acquire().acquired());
    for (const std::size_t other : {1, 3, 1024}) {
        INFO("other count " << other);
        Semaphore different(spec_in(directory, other));
        const auto result = different.try_acquire();
        CHECK(result.status == Status::size_conflict);
        CHECK(result.other_slot_count == 2);
        CHECK_FALSE(different.held());
    }
    Semaphore same(spec_in(directory, 2));
    CHECK(same.try_acquire().acquired());
    two.release();
    same.release();
    Semaphore three(spec_in(directory, 3));
    CHECK(three.try_acquire().acquired());
}

TEST_CASE("a different slot count is refused to a waiter too", "[semaphore]") {
    test::TempDir directory;
    auto holder = hold_slot(spec_in(directory, 1));
    REQUIRE(holder.took());
    Semaphore bigger(spec_in(directory, 4));
    const auto result = bigger.acquire(Clock::now() + 20s, SignalSet{SIGUSR1});
    CHECK(result.status == Status::size_conflict);
    CHECK(result.other_slot_count == 1);
}

TEST_CASE("a symlink planted as a slot file is refused", "[semaphore]") {
    test::TempDir directory;
    const SemaphoreSpec spec = spec_in(directory, 2);
    test::write_file(directory / "target", "keep\n");
    REQUIRE(symlink((directory / "target").c_str(), spec.slot_path(0).c_str()) == 0);
    Semaphore semaphore(spec);
    CHECK_THROWS_WITH(semaphore.try_acquire(), Catch::Contains(spec.slot_path(0)) && Catch::Contains("symbolic link"));
    CHECK(test::read_file(directory / "target") == "keep\n");
}

TEST_CASE("with reuse on a slot held through another descriptor of the process is used", "[semaphore]") {
    test::TempDir directory;
    const SemaphoreSpec spec = spec_in(directory, 2);
    Semaphore outer(spec);
    REQUIRE(outer.try_acquire().acquired());
    REQUIRE(outer.slot() == 0);

    Semaphore plain(spec);
    REQUIRE(plain.try_acquire().acquired());
    CHECK(plain.slot() == 1);
    CHECK_FALSE(plain.inherited());
    plain.release();

    Semaphore nested(spec);
    nested.reuse_inherited_slot(true);
    REQUIRE(nested.try_acquire().acquired());
    CHECK(nested.slot() == 0);
    CHECK(nested.inherited());
    CHECK(nested.descriptors_to_pass().empty());
}

TEST_CASE("inspection names the holder of each slot and the waiters", "[semaphore]") {
    test::TempDir directory;
    const SemaphoreSpec spec = spec_in(directory, 3);
    auto holder = hold_slot(spec);
    REQUIRE(holder.took());
    SemaphoreState state = inspect_semaphore(spec, getpid());
    REQUIRE(state.slots.size() == 3);
    REQUIRE(state.slots[0].held());
    CHECK(state.slots[0].holders.front().pid == holder.pid());
    CHECK(state.slots[0].path == spec.slot_path(0));
    CHECK_FALSE(state.slots[1].held());
    CHECK_FALSE(state.slots[2].exists);
    CHECK(state.waiting == 0);
    REQUIRE(state.slot_counts.size() == 1);
    CHECK(state.slot_counts[0].slot_count == 3);
    // Seen with another count, the holder of the record is named.
    state = inspect_semaphore(spec_in(directory, 2), getpid());
    CHECK(state.slots.size() == 2);
    REQUIRE(state.slot_counts.size() == 1);
    CHECK(state.slot_counts[0].slot_count == 3);
    REQUIRE_FALSE(state.slot_counts[0].holders.empty());
    CHECK(state.slot_counts[0].holders.front().pid == holder.pid());
    // Inspecting takes and creates nothing.
    CHECK_FALSE(test::exists(spec.slot_path(2)));
    CHECK_FALSE(test::exists(spec.queue_path()));
}
