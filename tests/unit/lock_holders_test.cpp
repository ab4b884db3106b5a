// Tests of find_lock_holders against locks held by real processes.
#include <catch2/catch.hpp>

#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plock/file_lock.hpp"
#include "plock/lock_holders.hpp"
#include "test_support.hpp"

using namespace plock;
using namespace std::chrono_literals;

namespace {

FileIdentity identity_of(const std::string& path) {
    struct stat status {};
    REQUIRE(stat(path.c_str(), &status) == 0);
    return {status.st_dev, status.st_ino};
}

}  // namespace

TEST_CASE("a flock holder is named with its PID and command line", "[lock_holders]") {
    test::TempDir directory;
    const std::string path = directory / "h.lock";
    test::Gate gate(directory);
    auto holder = test::Process::start({"flock", path, "sh", "-c", gate.hold_command()});
    REQUIRE(gate.wait_ready());
    const LockHolders found = find_lock_holders(identity_of(path));
    REQUIRE(found.holders.size() == 1);
    CHECK(found.holders[0].pid == holder.pid());
    CHECK_THAT(found.holders[0].command_line, Catch::StartsWith("flock " + path));
    CHECK_THAT(describe_holder(found.holders[0]), Catch::StartsWith("PID " + std::to_string(holder.pid())));
    gate.open();
    CHECK(holder.wait() == 0);
}

TEST_CASE("an OFD holder that /proc/locks shows as PID -1 is found", "[lock_holders]") {
    test::TempDir directory;
    const std::string path = directory / "o.lock";
    test::Gate gate(directory);
    auto holder = test::Process::start_plock({"exec", "--method", "ofd", path, "--", "sh", "-c", gate.hold_command()});
    REQUIRE(gate.wait_ready());
    const LockHolders found = find_lock_holders(identity_of(path));
    REQUIRE_FALSE(found.holders.empty());
    bool plock_found = false;
    for (const LockHolder& entry : found.holders) {
        plock_found = plock_found || entry.pid == holder.pid();
        CHECK(entry.entry.kind == LockKind::ofd);
    }
    CHECK(plock_found);
    gate.open();
    CHECK(holder.wait() == 0);
}

TEST_CASE("when the locking process died the process that kept the descriptor is found", "[lock_holders]") {
    test::TempDir directory;
    const std::string path = directory / "k.lock";
    test::Gate gate(directory);
    auto holder = test::Process::start_plock({"exec", path, "--", "sh", "-c", gate.hold_command()});
    REQUIRE(gate.wait_ready());
    const auto children = test::children_of(holder.pid());
    REQUIRE(children.size() == 1);
    holder.signal(SIGKILL);
    REQUIRE(holder.wait() == 128 + SIGKILL);
    const LockHolders found = find_lock_holders(identity_of(path));
    REQUIRE(found.holders.size() == 1);
    CHECK(found.holders[0].pid == children[0]);
    gate.open();
}

TEST_CASE("waiting requests are counted", "[lock_holders]") {
    test::TempDir directory;
    const std::string path = directory / "q.lock";
    test::Gate gate(directory);
    auto holder = test::Process::start({"flock", path, "sh", "-c", gate.hold_command()});
    REQUIRE(gate.wait_ready());
    auto waiter = test::Process::start({"flock", path, "true"});
    CHECK(test::wait_until([&] { return find_lock_holders(identity_of(path)).waiters == 1; }));
    gate.open();
    CHECK(waiter.wait() == 0);
}

TEST_CASE("holders are found from a lock table read once for several files", "[lock_holders]") {
    test::TempDir directory;
    const std::string held = directory / "held.lock";
    const std::string free = directory / "free.lock";
    test::write_file(free, "");
    test::Gate gate(directory);
    auto holder = test::Process::start({"flock", held, "sh", "-c", gate.hold_command()});
    REQUIRE(gate.wait_ready());
    const std::vector<LockEntry> table = read_lock_table();
    const LockHolders of_held = find_lock_holders(identity_of(held), table);
    REQUIRE(of_held.holders.size() == 1);
    CHECK(of_held.holders[0].pid == holder.pid());
    CHECK(find_lock_holders(identity_of(free), table).holders.empty());
    gate.open();
    CHECK(holder.wait() == 0);
}
