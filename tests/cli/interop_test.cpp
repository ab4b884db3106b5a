// Interoperation with util-linux flock(1) and Python's portalocker (Debian's
// python3-portalocker, through /usr/bin/python3).
#include <catch2/catch.hpp>

#include "test_support.hpp"

using namespace plock::test;

namespace {

const std::string k_python = "/usr/bin/python3";

// A portalocker holder: locks, runs the gate's hold command, then exits.
Process portalocker_holder(const std::string& lock, const Gate& gate, const std::string& flags) {
    return Process::start({k_python, "-c",
                           "import portalocker, subprocess, sys\n"
                           "with portalocker.Lock(sys.argv[1], mode='a', timeout=10, flags=" + flags + "):\n"
                           "    subprocess.call(['sh', '-c', sys.argv[2]])\n",
                           lock, gate.hold_command()});
}

// portalocker's non-blocking attempt: exit 0 when it got the lock, 3 when busy.
Result portalocker_try(const std::string& lock, const std::string& flags) {
    return run({k_python, "-c",
                "import portalocker, sys\n"
                "try:\n"
                "    with portalocker.Lock(sys.argv[1], mode='a', timeout=0, fail_when_locked=True, flags=" + flags + "):\n"
                "        pass\n"
                "except portalocker.exceptions.BaseLockException:\n"
                "    sys.exit(3)\n",
                lock});
}

const std::string k_exclusive = "portalocker.LockFlags.EXCLUSIVE | portalocker.LockFlags.NON_BLOCKING";
const std::string k_shared = "portalocker.LockFlags.SHARED | portalocker.LockFlags.NON_BLOCKING";

}  // namespace

TEST_CASE("python3-portalocker is installed for /usr/bin/python3", "[interop]") {
    const Result result = run({k_python, "-c", "import portalocker; print(portalocker.__version__)"});
    INFO(result.err);
    REQUIRE(result.status == 0);
}

TEST_CASE("a lock held by flock(1) is busy for plock", "[interop]") {
    TempDir directory;
    const std::string lock = directory / "f.lock";
    Gate gate(directory);
    Process holder = hold_lock({"flock", lock}, gate);
    CHECK(run_plock({"try", lock}).status == 75);
    CHECK(run_plock({"exec", "-n", lock, "--", "true"}).status == 75);
    CHECK(run_plock({"exec", "-n", "-s", lock, "--", "true"}).status == 75);
    gate.open();
    CHECK(holder.wait() == 0);
}

TEST_CASE("a lock held by plock is busy for flock(1)", "[interop]") {
    TempDir directory;
    const std::string lock = directory / "p.lock";
    Gate gate(directory);
    Process holder = hold_lock({plock_binary(), "exec", lock, "--"}, gate);
    CHECK(run({"flock", "-n", lock, "true"}).status == 1);
    CHECK(run({"flock", "-n", "-s", lock, "true"}).status == 1);
    gate.open();
    CHECK(holder.wait() == 0);
    CHECK(run({"flock", "-n", lock, "true"}).status == 0);
}

TEST_CASE("flock(1) shared holders and plock shared holders coexist", "[interop]") {
    TempDir directory;
    const std::string lock = directory / "s.lock";
    Gate gate(directory);
    Process holder = hold_lock({"flock", "-s", lock}, gate);
    CHECK(run_plock({"exec", "-s", "-n", lock, "--", "true"}).status == 0);
    CHECK(run_plock({"exec", "-n", lock, "--", "true"}).status == 75);
    gate.open();
}

TEST_CASE("a lock held by portalocker is busy for plock", "[interop]") {
    TempDir directory;
    const std::string lock = directory / "pl.lock";
    Gate gate(directory);
    Process holder = portalocker_holder(lock, gate, k_exclusive);
    REQUIRE(gate.wait_ready());
    CHECK(run_plock({"try", lock}).status == 75);
    CHECK(run_plock({"exec", "-s", "-n", lock, "--", "true"}).status == 75);
    gate.open();
    CHECK(holder.wait() == 0);
    CHECK(run_plock({"try", lock}).status == 0);
}

TEST_CASE("a lock held by plock is busy for portalocker", "[interop]") {
    TempDir directory;
    const std::string lock = directory / "pp.lock";
    CHECK(portalocker_try(lock, k_exclusive).status == 0);
    Gate gate(directory);
    Process holder = hold_lock({plock_binary(), "exec", lock, "--"}, gate);
    CHECK(portalocker_try(lock, k_exclusive).status == 3);
    CHECK(portalocker_try(lock, k_shared).status == 3);
    gate.open();
    CHECK(holder.wait() == 0);
    CHECK(portalocker_try(lock, k_exclusive).status == 0);
}

TEST_CASE("portalocker shared readers and plock shared readers coexist", "[interop]") {
    TempDir directory;
    const std::string lock = directory / "ps.lock";
    Gate gate(directory);
    Process holder = hold_lock({plock_binary(), "exec", "-s", lock, "--"}, gate);
    CHECK(portalocker_try(lock, k_shared).status == 0);
    CHECK(portalocker_try(lock, k_exclusive).status == 3);
    gate.open();
}
