// Tests of find_lock_holders, the descriptor proofs and signalling of lock
// holders, against locks held by real processes.
#include <catch2/catch.hpp>

#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>

#include "plock/file/file_lock.hpp"
#include "plock/proc/lock_holders.hpp"
#include "plock/proc/process_info.hpp"
#include "test_support.hpp"

using namespace plock;
// The CLI words a holder (the library gives data, not sentences); two tests
// here check that wording against real holders.
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
    auto holder = test::hold_lock({"flock", path}, gate);
    const LockHolders found = find_lock_holders(identity_of(path));
    REQUIRE(found.holders.size() == 1);
    CHECK(found.holders[0].pid == holder.pid());
    CHECK_THAT(found.holders[0].command_line, Catch::StartsWith("flock " + path));
    gate.open();
    CHECK(holder.wait() == 0);
}

TEST_CASE("an OFD holder that /proc/locks shows as PID -1 is found", "[lock_holders]") {
    test::TempDir directory;
    const std::string path = directory / "o.lock";
    test::Gate gate(directory);
    auto holder = test::hold_lock({test::plock_binary(), "exec", "--method", "ofd", path, "--"}, gate);
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
    auto holder = test::hold_lock({test::plock_binary(), "exec", path, "--"}, gate);
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
    auto holder = test::hold_lock({"flock", path}, gate);
    auto waiter = test::Process::start({"flock", path, "true"});
    CHECK(test::wait_until([&] { return find_lock_holders(identity_of(path)).waiters.size() == 1; }));
    gate.open();
    CHECK(waiter.wait() == 0);
}

TEST_CASE("every process sharing a locked descriptor is found and a mere opener is not", "[lock_holders]") {
    test::TempDir directory;
    const std::string path = directory / "d.lock";
    test::Gate gate(directory);
    // flock(1) keeps the descriptor and so does the shell it starts.
    auto holder = test::hold_lock({"flock", path}, gate);
    auto opener = test::Process::start({"sh", "-c", "exec 3<'" + path + "'; exec sleep 30"});
    REQUIRE(test::wait_until([&] { return test::read_file("/proc/" + std::to_string(opener.pid()) + "/cmdline").rfind("sleep", 0) == 0; }));
    const FileIdentity file = identity_of(path);
    std::vector<pid_t> found;
    for (const LockHolder& entry : find_descriptor_holders(file)) {
        found.push_back(entry.pid);
    }
    const auto children = test::children_of(holder.pid());
    REQUIRE(children.size() == 1);
    std::sort(found.begin(), found.end());
    std::vector<pid_t> expected{holder.pid(), children[0]};
    std::sort(expected.begin(), expected.end());
    CHECK(found == expected);
    CHECK(process_holds_lock(holder.pid(), file));
    CHECK_FALSE(process_holds_lock(opener.pid(), file));
    CHECK_FALSE(process_holds_lock(getpid(), file));
    gate.open();
    CHECK(holder.wait() == 0);
}

TEST_CASE("signal_lock_holder signals a holder and refuses a process that does not hold the lock", "[lock_holders]") {
    test::TempDir directory;
    const std::string path = directory / "s.lock";
    auto holder = test::Process::start({"flock", path, "sleep", "30"});
    REQUIRE(test::wait_until([&] { return test::exists(path) && !find_lock_holders(identity_of(path)).holders.empty(); }));
    const FileIdentity file = identity_of(path);
    auto bystander = test::Process::start({"sleep", "30"});
    CHECK_FALSE(signal_lock_holder(bystander.pid(), file, SIGTERM));
    CHECK_FALSE(bystander.finished());
    CHECK(signal_lock_holder(holder.pid(), file, SIGTERM));
    CHECK(holder.wait() == 128 + SIGTERM);
    CHECK_FALSE(signal_lock_holder(holder.pid(), file, SIGTERM));  // gone (reaped)
    CHECK(process_is_alive(bystander.pid()));
}

TEST_CASE("parent_process names the parent", "[lock_holders]") {
    CHECK(parent_process(getpid()) == getppid());
    CHECK_FALSE(parent_process(-1));
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

namespace {

// A PID that no process has any more (reaped), for canned lock tables.
pid_t vanished_pid() {
    const pid_t pid = fork();
    if (pid == 0) {
        _exit(0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    return pid;
}

LockEntry canned_entry(FileIdentity file, pid_t pid, bool waiting = false) {
    LockEntry entry;
    entry.id = 1;
    entry.waiting = waiting;
    entry.kind = LockKind::flock;
    entry.exclusive = true;
    entry.pid = pid;
    entry.device_major = major(file.device);
    entry.device_minor = minor(file.device);
    entry.inode = file.inode;
    return entry;
}

}  // namespace

TEST_CASE("a holder that vanished with its lock between two reads of the table is not reported", "[lock_holders]") {
    test::TempDir directory;
    const std::string path = directory / "gone.lock";
    test::write_file(path, "");
    const FileIdentity file = identity_of(path);
    int reads = 0;
    // The first read still shows the lock of a process that has exited; the
    // second, as the kernel would by then, no longer does.
    const LockHolders found = find_lock_holders(file, -1, [&] {
        return ++reads == 1 ? std::vector<LockEntry>{canned_entry(file, vanished_pid())}
                            : std::vector<LockEntry>{};
    });
    CHECK(found.holders.empty());
    CHECK(reads == 2);
}

TEST_CASE("a lock whose holder cannot be seen is reported with no PID", "[lock_holders]") {
    test::TempDir directory;
    const std::string path = directory / "hidden.lock";
    test::write_file(path, "");
    const FileIdentity file = identity_of(path);
    const LockEntry entry = canned_entry(file, vanished_pid());
    const LockHolders found = find_lock_holders(file, -1, [&] { return std::vector<LockEntry>{entry}; });
    REQUIRE(found.holders.size() == 1);
    CHECK(found.holders[0].pid == -1);
}

TEST_CASE("a waiter that has gone is not counted and an OFD waiter without a PID is", "[lock_holders]") {
    test::TempDir directory;
    const std::string path = directory / "w.lock";
    test::write_file(path, "");
    const FileIdentity file = identity_of(path);
    LockEntry ofd_waiter = canned_entry(file, -1, true);
    ofd_waiter.kind = LockKind::ofd;
    const std::vector<LockEntry> table{canned_entry(file, vanished_pid(), true), ofd_waiter,
                                       canned_entry(file, getpid(), true)};
    const LockHolders found = find_lock_holders(file, -1, [&] { return table; });
    REQUIRE(found.waiters.size() == 2);
    CHECK(found.waiters[0].pid == -1);
    CHECK(found.waiters[0].entry.kind == LockKind::ofd);
    CHECK(found.waiters[1].pid == getpid());
    CHECK_FALSE(found.waiters[1].command_line.empty());
}

TEST_CASE("an OFD lock shared by plock and its command is reported once: for plock", "[lock_holders]") {
    test::TempDir directory;
    const std::string path = directory / "once.lock";
    test::Gate gate(directory);
    auto holder = test::Process::start_plock({"exec", "--method", "ofd", path, "--", "sh", "-c", gate.hold_command()});
    REQUIRE(gate.wait_ready());
    const LockHolders found = find_lock_holders(identity_of(path));
    REQUIRE(found.holders.size() == 1);
    CHECK(found.holders[0].pid == holder.pid());
    gate.open();
    CHECK(holder.wait() == 0);
}
