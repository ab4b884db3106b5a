// Tests of cli::run_command: the hook that learns the command's PID.
#include <catch2/catch.hpp>

#include <signal.h>
#include <unistd.h>

#include <stdexcept>

#include "cli/command_runner.hpp"
#include "plock/sys/signals.hpp"
#include "test_support.hpp"

using namespace plock;

TEST_CASE("on_started gets the PID of the running command before it is waited for", "[command_runner]") {
    test::TempDir directory;
    const std::string own_pid = directory / "own-pid";
    const std::string told = directory / "told";
    const ScopedSignalMask mask(handled_signals());
    cli::RunRequest request;
    // The command waits until the hook has spoken, so the hook provably runs
    // while the command does.
    request.command.argv = {"/bin/sh", "-c",
                    "echo $$ > '" + own_pid + "'; while [ ! -s '" + told + "' ]; do sleep 0.01; done; exit 5"};
    sigemptyset(&request.command.signal_mask);
    pid_t seen = -1;
    bool running_when_told = false;
    request.on_started = [&](pid_t pid) {
        seen = pid;
        running_when_told = test::process_running(pid);
        test::write_file(told, std::to_string(pid));
    };
    CHECK(cli::run_command(request) == 5);
    CHECK(running_when_told);
    CHECK(test::read_file(own_pid) == std::to_string(seen) + "\n");
}

TEST_CASE("a throwing on_started kills the command and the exception propagates", "[command_runner]") {
    const ScopedSignalMask mask(handled_signals());
    cli::RunRequest request;
    request.command.argv = {"/bin/sh", "-c", "exec sleep 30"};
    sigemptyset(&request.command.signal_mask);
    pid_t started = -1;
    request.on_started = [&](pid_t pid) {
        started = pid;
        throw std::runtime_error("cannot record the PID");
    };
    CHECK_THROWS_AS(cli::run_command(request), std::runtime_error);
    REQUIRE(started > 0);
    CHECK_FALSE(test::process_running(started));
}

TEST_CASE("the launch passes the lock's descriptors to the command or with -o keeps them in its supervisor", "[command_runner]") {
    sigset_t mask;
    sigemptyset(&mask);
    cli::CommandSettings settings;
    settings.argv = {"true"};
    const cli::RunRequest passed = cli::launch_request(settings, {{"PLOCK_FILE", "/x"}}, {7, 8}, mask);
    CHECK(passed.command.argv == settings.argv);
    CHECK(passed.command.environment == cli::Environment{{"PLOCK_FILE", "/x"}});
    CHECK(passed.command.inherited_fds == std::vector<int>{7, 8});
    CHECK(passed.command.held_fds.empty());
    CHECK_FALSE(passed.command.needs_supervisor());
    CHECK_FALSE(passed.replace_process);

    settings.close = true;
    const cli::RunRequest closed = cli::launch_request(settings, {}, {7}, mask);
    CHECK(closed.command.inherited_fds.empty());
    CHECK(closed.command.held_fds == std::vector<int>{7});
    CHECK(closed.command.stop_tree_if_plock_dies);

    settings.close = false;
    settings.no_fork = true;
    CHECK(cli::launch_request(settings, {}, {7}, mask).replace_process);
}
