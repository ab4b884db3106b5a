// Tests of the CLI's wording for holders, semaphores, Redis locks and
// durations (src/cli/describe.hpp).
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include "cli/describe.hpp"
#include "plock/proc/lock_holders.hpp"
#include "test_support.hpp"

using namespace plock;
using namespace plock::cli;
using namespace std::chrono_literals;

namespace {

LockHolder holder(pid_t pid, std::string command_line) { return LockHolder{pid, std::move(command_line), {}}; }

SlotState slot(std::size_t index, std::vector<LockHolder> holders) {
    SlotState state;
    state.index = index;
    state.holders = std::move(holders);
    return state;
}

}  // namespace

TEST_CASE("a holder is named by its PID and command line when both are known", "[describe]") {
    CHECK(describe_holder(holder(1234, "sleep 10")) == "PID 1234 (sleep 10)");
    CHECK(describe_holder(holder(1234, "")) == "PID 1234");
    CHECK(describe_holder(holder(-1, "")) == "an unknown process");
    CHECK(describe_holder(holder(0, "init")) == "an unknown process");
}

TEST_CASE("a list of holders names the first three and counts the rest", "[describe]") {
    CHECK(describe_holders({}) == "an unknown process");
    CHECK(describe_holders({holder(1, "a")}) == "PID 1 (a)");
    CHECK(describe_holders({holder(1, "a"), holder(2, "b"), holder(3, "c")}) == "PID 1 (a), PID 2 (b), PID 3 (c)");
    CHECK(describe_holders({holder(1, "a"), holder(2, "b"), holder(3, "c"), holder(4, "d"), holder(-1, "")}) ==
          "PID 1 (a), PID 2 (b), PID 3 (c) and 2 more");
}

TEST_CASE("the held slots of a semaphore are named with their holders and the same limit of three", "[describe]") {
    SemaphoreState state;
    CHECK(describe_slot_holders(state) == "processes plock cannot name");
    state.slots = {slot(0, {holder(12, "sleep 9")}), slot(1, {}), slot(2, {holder(13, "sh"), holder(14, "x")})};
    CHECK(describe_slot_holders(state) == "slot 0 by PID 12 (sleep 9), slot 2 by PID 13 (sh), PID 14 (x)");
    for (std::size_t index = 3; index < 6; ++index) {
        state.slots.push_back(slot(index, {holder(static_cast<pid_t>(20 + index), "")}));
    }
    CHECK(describe_slot_holders(state) ==
          "slot 0 by PID 12 (sleep 9), slot 2 by PID 13 (sh), PID 14 (x), slot 3 by PID 23 and 2 more");
}

TEST_CASE("a semaphore is named by its name and directory", "[describe]") {
    SemaphoreSpec spec;
    spec.name = "gpu";
    spec.directory = "/tmp";
    spec.slot_count = 2;
    CHECK(describe_semaphore(spec) == "semaphore gpu in /tmp");
}

TEST_CASE("a PID file that is no longer running is said to have just been let go", "[describe]") {
    PidFileState state;
    state.status = PidFileState::Status::running;
    state.holder = holder(77, "./server");
    CHECK(describe_pid_file_holder(state) == "PID 77 (./server)");
    state.status = PidFileState::Status::stale;
    CHECK(describe_pid_file_holder(state) == "a process that has just let go of it");
}

TEST_CASE("a busy Redis lock or semaphore says whose lease ends when", "[describe]") {
    CHECK(describe_redis_lock("plock:deploy", "redis://10.0.0.5:6379") == "plock:deploy on redis://10.0.0.5:6379");
    RedisLockSpec spec;
    spec.name = "deploy";
    CHECK(describe_redis_holders(spec, std::nullopt) == "held by another client");
    CHECK(describe_redis_holders(spec, 12500ms) == "held by another client, whose lease ends in 12.5s unless renewed");
    spec.permits = 3;
    CHECK(describe_redis_holders(spec, std::nullopt) == "all 3 permits are held");
    CHECK(describe_redis_holders(spec, 2s) == "all 3 permits are held, the first lease ends in 2s unless renewed");
}

TEST_CASE("the seconds style is as short as it gets and the units style has a fixed width under a minute", "[describe]") {
    CHECK(format_duration(0ns, DurationStyle::seconds) == "0s");
    CHECK(format_duration(0ns, DurationStyle::units) == "0.00s");
    CHECK(format_duration(250ms, DurationStyle::seconds) == "0.25s");
    CHECK(format_duration(250ms, DurationStyle::units) == "0.25s");
    CHECK(format_duration(2500ms, DurationStyle::seconds) == "2.5s");
    CHECK(format_duration(2500ms, DurationStyle::units) == "2.50s");
    CHECK(format_duration(30s, DurationStyle::seconds) == "30s");
    CHECK(format_duration(30s, DurationStyle::units) == "30.0s");
}

TEST_CASE("past a minute the seconds style keeps counting seconds and the units style moves to minutes or hours or days", "[describe]") {
    CHECK(format_duration(90s, DurationStyle::seconds) == "90s");
    CHECK(format_duration(3600s, DurationStyle::seconds) == "3600s");
    CHECK(format_seconds(3600s) == format_duration(3600s, DurationStyle::seconds));
    CHECK(format_duration(90s, DurationStyle::units) == "1m30s");
    CHECK(format_duration(3600s, DurationStyle::units) == "1h00m");
    CHECK(format_duration(76h, DurationStyle::units) == "3d04h");
    CHECK(format_duration(76h) == "3d04h");  // the report's style is the default
}

TEST_CASE("a duration is never written with an exponent", "[describe]") {
    // With printf's %.3g these were "1.23e-05s" and "1e+03s".
    CHECK(format_seconds(12345ns) == "0s");
    CHECK(format_seconds(1600us) == "0.002s");
    CHECK(format_seconds(999600ms) == "1000s");
    CHECK(format_seconds(std::chrono::hours(24 * 400)) == "34560000s");
}

TEST_CASE("a flock holder found in /proc is named by its PID and command line", "[describe]") {
    test::TempDir directory;
    const std::string path = directory / "h.lock";
    test::Gate gate(directory);
    auto holder = test::hold_lock({"flock", path}, gate);
    struct stat status {};
    REQUIRE(stat(path.c_str(), &status) == 0);
    const LockHolders found = find_lock_holders(FileIdentity{status.st_dev, status.st_ino});
    REQUIRE(found.holders.size() == 1);
    CHECK_THAT(describe_holder(found.holders[0]),
               Catch::StartsWith("PID " + std::to_string(holder.pid()) + " (flock " + path));
    gate.open();
    CHECK(holder.wait() == 0);
}
