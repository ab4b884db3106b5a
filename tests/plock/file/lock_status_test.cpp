// Tests of query_file_lock: the report behind `plock status`.
#include <catch2/catch.hpp>

#include <unistd.h>

#include "plock/sys/error.hpp"
#include "plock/file/lock_status.hpp"
#include "plock/proc/process_info.hpp"
#include "test_support.hpp"

using namespace plock;
using namespace std::chrono_literals;

TEST_CASE("querying a missing file throws an open error and creates nothing", "[lock_status]") {
    test::TempDir directory;
    const std::string path = directory / "none.lock";
    try {
        query_file_lock(path);
        FAIL("no error");
    } catch (const SystemError& error) {
        CHECK(error.operation() == Operation::open);
        CHECK(error.error_number() == ENOENT);
        CHECK(error.subject() == path);
    }
    CHECK_FALSE(test::exists(path));
}

TEST_CASE("a plock holder has held the lock since its command started", "[lock_status]") {
    test::TempDir directory;
    const std::string path = directory / "cmd.lock";
    test::Gate gate(directory);
    auto holder = test::Process::start_plock({"exec", path, "--", "sh", "-c", gate.hold_command()});
    REQUIRE(gate.wait_ready());
    const auto command = test::children_of(holder.pid());
    REQUIRE(command.size() == 1);
    const auto command_stat = read_process_stat(command[0]);
    const auto plock_stat = read_process_stat(holder.pid());
    REQUIRE(command_stat);
    REQUIRE(plock_stat);
    // The estimate is the command's age when the query ran: between its age
    // just before and just after (the same clock and start time, so exact
    // whatever the time between them), and at most plock's own age.
    const auto command_age_before = time_since_start(*command_stat);
    const FileLockStatus status = query_file_lock(path);
    const auto command_age_after = time_since_start(*command_stat);
    REQUIRE(status.holders.size() == 1);
    const HolderStatus& entry = status.holders[0];
    CHECK(entry.holder.pid == holder.pid());
    CHECK(entry.held_since == HeldSince::command_start);
    REQUIRE(entry.held_for);
    CHECK(command_stat->start_ticks >= plock_stat->start_ticks);
    CHECK(*entry.held_for >= command_age_before);
    CHECK(*entry.held_for <= command_age_after);
    CHECK(*entry.held_for <= time_since_start(*plock_stat));
    CHECK(status.held());
    gate.open();
    CHECK(holder.wait() == 0);
}

TEST_CASE("another holder has held the lock at most since its process started", "[lock_status]") {
    test::TempDir directory;
    const std::string path = directory / "proc.lock";
    test::Gate gate(directory);
    // sh takes the lock itself through flock(1) on an inherited descriptor:
    // the holder is the shell, which is neither plock nor flock(1).
    auto holder = test::Process::start(
        {"sh", "-c", "exec 9>>'" + path + "'; flock 9; " + gate.hold_command()});
    REQUIRE(gate.wait_ready());
    const auto shell_stat = read_process_stat(holder.pid());
    REQUIRE(shell_stat);
    const auto shell_age_before = time_since_start(*shell_stat);
    const FileLockStatus status = query_file_lock(path);
    const auto shell_age_after = time_since_start(*shell_stat);
    REQUIRE(status.holders.size() == 1);
    CHECK(status.holders[0].holder.pid == holder.pid());
    CHECK(status.holders[0].held_since == HeldSince::process_start);
    REQUIRE(status.holders[0].held_for);
    // The shell's age when the query ran, measured as the query measures it.
    CHECK(*status.holders[0].held_for >= shell_age_before);
    CHECK(*status.holders[0].held_for <= shell_age_after);
    gate.open();
    CHECK(holder.wait() == 0);
}
