// Tests of ChildProcess and ExitStatus.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plock/child.hpp"
#include "plock/error.hpp"
#include "plock/fd.hpp"
#include "test_support.hpp"

using namespace plock;
using namespace std::chrono_literals;

namespace {

CommandSpec shell(const std::string& script) {
    CommandSpec spec;
    spec.argv = {"/bin/sh", "-c", script};
    sigemptyset(&spec.signal_mask);
    return spec;
}

int run_to_end(const CommandSpec& spec) {
    const ScopedSignalMask mask(handled_signals());
    ChildProcess child = ChildProcess::spawn(spec);
    return child.wait(forwarded_signals(), std::nullopt)->shell_status();
}

}  // namespace

TEST_CASE("the command's exit code is returned unchanged", "[child]") {
    CHECK(run_to_end(shell("exit 0")) == 0);
    CHECK(run_to_end(shell("exit 3")) == 3);
    CHECK(run_to_end(shell("exit 255")) == 255);
}

TEST_CASE("a command killed by signal N gives 128+N", "[child]") {
    CHECK(run_to_end(shell("kill -TERM $$")) == 128 + SIGTERM);
    CHECK(run_to_end(shell("kill -KILL $$")) == 128 + SIGKILL);
}

TEST_CASE("a command that cannot be executed is reported with errno", "[child]") {
    CommandSpec missing;
    missing.argv = {"/nonexistent/command"};
    try {
        ChildProcess::spawn(missing);
        FAIL("spawn succeeded");
    } catch (const SystemError& error) {
        CHECK(error.operation() == Operation::execute);
        CHECK(error.error_number() == ENOENT);
    }
    test::TempDir directory;
    test::write_file(directory / "data", "not a program\n");
    REQUIRE(chmod((directory / "data").c_str(), 0644) == 0);
    CommandSpec not_executable;
    not_executable.argv = {directory / "data"};
    try {
        ChildProcess::spawn(not_executable);
        FAIL("spawn succeeded");
    } catch (const SystemError& error) {
        CHECK(error.error_number() == EACCES);
    }
}

TEST_CASE("the environment gets the requested variables", "[child]") {
    test::TempDir directory;
    CommandSpec spec = shell("printf '%s' \"$PLOCK_TEST_VALUE\" > \"$PLOCK_TEST_OUT\"");
    spec.environment = {{"PLOCK_TEST_VALUE", "a b"}, {"PLOCK_TEST_OUT", directory / "out"}};
    CHECK(run_to_end(spec) == 0);
    CHECK(test::read_file(directory / "out") == "a b");
}

TEST_CASE("only the listed descriptors are inherited", "[child]") {
    test::TempDir directory;
    const UniqueFd passed(open((directory / "passed").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    const UniqueFd kept(open((directory / "kept").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    CommandSpec spec = shell("[ -e /proc/self/fd/" + std::to_string(passed.get()) + " ] && [ ! -e /proc/self/fd/" +
                             std::to_string(kept.get()) + " ]");
    spec.inherited_fds = {passed.get()};
    CHECK(run_to_end(spec) == 0);
    CHECK((fcntl(passed.get(), F_GETFD) & FD_CLOEXEC) != 0);  // untouched in the parent
}

TEST_CASE("a forwarded signal reaches the command", "[child]") {
    test::TempDir directory;
    const std::string ready = directory / "ready";
    const ScopedSignalMask mask(handled_signals());
    ChildProcess child = ChildProcess::spawn(
        shell("trap 'exit 42' USR1; : > " + ready + "; while :; do sleep 0.01; done"));
    REQUIRE(test::wait_until([&] { return test::exists(ready); }));
    kill(getpid(), SIGUSR1);  // to ourselves: the wait loop forwards it
    const auto status = child.wait(forwarded_signals(), Clock::now() + 20s);
    REQUIRE(status);
    CHECK(status->shell_status() == 42);
}

TEST_CASE("wait returns nothing when its deadline passes first and the destructor kills", "[child]") {
    pid_t pid = 0;
    {
        const ScopedSignalMask mask(handled_signals());
        ChildProcess child = ChildProcess::spawn(shell("exec sleep 30"));
        pid = child.pid();
        CHECK_FALSE(child.wait(forwarded_signals(), Clock::now() + 100ms));
    }
    CHECK_FALSE(test::process_running(pid));
}

TEST_CASE("ExitStatus decodes wait statuses", "[child]") {
    CHECK(ExitStatus(7 << 8).exited());
    CHECK(ExitStatus(7 << 8).code() == 7);
    CHECK(ExitStatus(SIGINT).signaled());
    CHECK(ExitStatus(SIGINT).shell_status() == 130);
}

TEST_CASE("standard input and output can be given descriptors", "[child]") {
    test::TempDir directory;
    test::write_file(directory / "in", "from the file\n");
    const UniqueFd input(open((directory / "in").c_str(), O_RDONLY | O_CLOEXEC));
    const UniqueFd output(open((directory / "out").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
    REQUIRE(input);
    REQUIRE(output);
    CommandSpec spec = shell("cat; echo done");
    spec.standard_input = input.get();
    spec.standard_output = output.get();
    CHECK(run_to_end(spec) == 0);
    CHECK(test::read_file(directory / "out") == "from the file\ndone\n");
}
