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

// plock sem and portalocker's BoundedSemaphore share slots.

namespace {

// A BoundedSemaphore user: takes a slot (waiting at most 10 s), writes the
// slot file's name to `taken`, runs the gate's hold command, then releases.
// (python3-portalocker 2.2 prints its progress on stdout; that goes nowhere.)
Process bounded_semaphore_holder(const TempDir& directory, int count, const std::string& name,
                                 const std::string& taken, const Gate& gate) {
    return Process::start({k_python, "-c",
                           "import portalocker, subprocess, sys\n"
                           "sem = portalocker.BoundedSemaphore(int(sys.argv[1]), name=sys.argv[2], directory=sys.argv[3])\n"
                           "sem.acquire(timeout=10)\n"
                           "open(sys.argv[4], 'w').write(str(sem.lock.filename))\n"
                           "subprocess.call(['sh', '-c', sys.argv[5]])\n"
                           "sem.release()\n",
                           std::to_string(count), name, directory.path(), taken, gate.hold_command()});
}

// One non-blocking BoundedSemaphore attempt: exit 0 and the slot file's name
// on stderr when it got a slot, 3 when all were taken.
Result bounded_semaphore_try(const TempDir& directory, int count, const std::string& name) {
    return run({k_python, "-c",
                "import portalocker, sys\n"
                "sem = portalocker.BoundedSemaphore(int(sys.argv[1]), name=sys.argv[2], directory=sys.argv[3])\n"
                "try:\n"
                "    sem.acquire(timeout=0)\n"
                "except portalocker.AlreadyLocked:\n"
                "    sys.exit(3)\n"
                "sys.stderr.write(str(sem.lock.filename))\n"
                "sem.release()\n",
                std::to_string(count), name, directory.path()});
}

std::vector<std::string> plock_sem(const TempDir& directory, int count, const std::string& name,
                                   const std::vector<std::string>& rest) {
    std::vector<std::string> arguments{"sem", "-n", std::to_string(count), "--dir", directory.path(), name};
    arguments.insert(arguments.end(), rest.begin(), rest.end());
    return arguments;
}

}  // namespace

TEST_CASE("portalocker names the slot files as plock sem does", "[interop]") {
    TempDir directory;
    const Result result = run({k_python, "-c",
                               "import portalocker, sys\n"
                               "sem = portalocker.BoundedSemaphore(1024, name='gpu', directory=sys.argv[1])\n"
                               "print(' '.join(sem.get_filename(n).name for n in (0, 7, 99, 100, 1023)))\n",
                               directory.path()});
    INFO(result.err);
    CHECK(result.status == 0);
    CHECK(result.out == "gpu.00.lock gpu.07.lock gpu.99.lock gpu.100.lock gpu.1023.lock\n");
}

TEST_CASE("slots held by portalocker's BoundedSemaphore are busy for plock sem", "[interop]") {
    TempDir directory;
    Gate gate0(directory, "g0"), gate1(directory, "g1");
    Process first = bounded_semaphore_holder(directory, 3, "py", directory / "taken0", gate0);
    REQUIRE(gate0.wait_ready());
    Process second = bounded_semaphore_holder(directory, 3, "py", directory / "taken1", gate1);
    REQUIRE(gate1.wait_ready());
    CHECK(read_file(directory / "taken0") == directory / "py.00.lock");
    CHECK(read_file(directory / "taken1") == directory / "py.01.lock");
    // plock gets the one slot left, and then finds none.
    Gate gate2(directory, "g2");
    Process third = Process::start_plock(plock_sem(directory, 3, "py", {"--", "sh", "-c", "echo $PLOCK_SLOT; " + gate2.hold_command()}));
    REQUIRE(gate2.wait_ready());
    CHECK(third.out() == "2\n");
    CHECK(run_plock(plock_sem(directory, 3, "py", {"--nonblock", "--", "true"})).status == 75);
    const Result status = run_plock(plock_sem(directory, 3, "py", {"--status"}));
    CHECK(status.status == 1);
    CHECK_THAT(status.out, Catch::Contains("slot 0  held by PID " + std::to_string(first.pid()) + " (" + k_python));
    // A plock waiter starts when a portalocker holder lets go.
    Process waiter = Process::start_plock(plock_sem(directory, 3, "py", {"--", "sh", "-c", "echo $PLOCK_SLOT"}));
    // Waiting in the kernel for the slot portalocker holds (it waits on every slot).
    REQUIRE(wait_until([&] { return blocked_waiters(directory / "py.01.lock") == 1; }));
    CHECK_FALSE(waiter.finished());
    gate1.open();
    CHECK(second.wait() == 0);
    CHECK(waiter.wait(std::chrono::seconds(20)) == 0);
    CHECK(waiter.out() == "1\n");
    gate0.open();
    gate2.open();
}

TEST_CASE("slots held by plock sem are busy for portalocker's BoundedSemaphore", "[interop]") {
    TempDir directory;
    Gate gate0(directory, "g0"), gate1(directory, "g1");
    Process first = Process::start_plock(plock_sem(directory, 2, "pl", {"--", "sh", "-c", gate0.hold_command()}));
    REQUIRE(gate0.wait_ready());
    const Result one_left = bounded_semaphore_try(directory, 2, "pl");
    CHECK(one_left.status == 0);
    CHECK(one_left.err == directory / "pl.01.lock");
    Process second = Process::start_plock(plock_sem(directory, 2, "pl", {"--", "sh", "-c", gate1.hold_command()}));
    REQUIRE(gate1.wait_ready());
    CHECK(bounded_semaphore_try(directory, 2, "pl").status == 3);
    gate0.open();
    CHECK(first.wait() == 0);
    const Result freed = bounded_semaphore_try(directory, 2, "pl");
    CHECK(freed.status == 0);
    CHECK(freed.err == directory / "pl.00.lock");
    gate1.open();
}
