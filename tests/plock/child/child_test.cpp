// Tests of ChildProcess and ExitStatus, each in both shapes of a run: the
// command as our own child, and under a supervisor (child.hpp).
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "plock/child/child.hpp"
#include "plock/sys/error.hpp"
#include "plock/sys/fd.hpp"
#include "command_tree.hpp"
#include "plock/child/process_tree.hpp"
#include "test_support.hpp"

using namespace plock;
using namespace std::chrono_literals;

namespace {

CommandSpec shell(const std::string& script, bool supervised) {
    CommandSpec spec;
    spec.argv = {"/bin/sh", "-c", script};
    spec.supervised = supervised;
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
    const bool supervised = GENERATE(false, true);
    INFO("supervised: " << supervised);
    CHECK(run_to_end(shell("exit 0", supervised)) == 0);
    CHECK(run_to_end(shell("exit 3", supervised)) == 3);
    CHECK(run_to_end(shell("exit 255", supervised)) == 255);
}

TEST_CASE("a command killed by signal N gives 128+N", "[child]") {
    const bool supervised = GENERATE(false, true);
    INFO("supervised: " << supervised);
    CHECK(run_to_end(shell("kill -TERM $$", supervised)) == 128 + SIGTERM);
    CHECK(run_to_end(shell("kill -KILL $$", supervised)) == 128 + SIGKILL);
}

TEST_CASE("a command that cannot be executed is reported with errno", "[child]") {
    const bool supervised = GENERATE(false, true);
    INFO("supervised: " << supervised);
    CommandSpec missing;
    missing.argv = {"/nonexistent/command"};
    missing.supervised = supervised;
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
    not_executable.supervised = supervised;
    try {
        ChildProcess::spawn(not_executable);
        FAIL("spawn succeeded");
    } catch (const SystemError& error) {
        CHECK(error.error_number() == EACCES);
    }
}

TEST_CASE("the environment gets the requested variables", "[child]") {
    const bool supervised = GENERATE(false, true);
    INFO("supervised: " << supervised);
    test::TempDir directory;
    CommandSpec spec = shell("printf '%s' \"$PLOCK_TEST_VALUE\" > \"$PLOCK_TEST_OUT\"", supervised);
    spec.environment = {{"PLOCK_TEST_VALUE", "a b"}, {"PLOCK_TEST_OUT", directory / "out"}};
    CHECK(run_to_end(spec) == 0);
    CHECK(test::read_file(directory / "out") == "a b");
}

TEST_CASE("only the listed descriptors are inherited", "[child]") {
    const bool supervised = GENERATE(false, true);
    INFO("supervised: " << supervised);
    test::TempDir directory;
    const UniqueFd passed(open((directory / "passed").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    const UniqueFd kept(open((directory / "kept").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    CommandSpec spec = shell("[ -e /proc/self/fd/" + std::to_string(passed.get()) + " ] && [ ! -e /proc/self/fd/" +
                             std::to_string(kept.get()) + " ]", supervised);
    spec.inherited_fds = {passed.get()};
    CHECK(run_to_end(spec) == 0);
    CHECK((fcntl(passed.get(), F_GETFD) & FD_CLOEXEC) != 0);  // untouched in the parent
}

TEST_CASE("a forwarded signal reaches the command", "[child]") {
    const bool supervised = GENERATE(false, true);
    INFO("supervised: " << supervised);
    test::TempDir directory;
    const std::string ready = directory / "ready";
    const ScopedSignalMask mask(handled_signals());
    ChildProcess child = ChildProcess::spawn(
        shell("trap 'exit 42' USR1; : > " + ready + "; while :; do sleep 0.01; done", supervised));
    REQUIRE(test::wait_until([&] { return test::exists(ready); }));
    kill(getpid(), SIGUSR1);  // to ourselves: the wait loop forwards it
    const auto status = child.wait(forwarded_signals(), Clock::now() + 20s);
    REQUIRE(status);
    CHECK(status->shell_status() == 42);
}

TEST_CASE("wait returns nothing when its deadline passes first and the destructor kills", "[child]") {
    const bool supervised = GENERATE(false, true);
    INFO("supervised: " << supervised);
    pid_t pid = 0;
    {
        const ScopedSignalMask mask(handled_signals());
        ChildProcess child = ChildProcess::spawn(shell("exec sleep 30", supervised));
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
    const bool supervised = GENERATE(false, true);
    INFO("supervised: " << supervised);
    test::TempDir directory;
    test::write_file(directory / "in", "from the file\n");
    const UniqueFd input(open((directory / "in").c_str(), O_RDONLY | O_CLOEXEC));
    const UniqueFd output(open((directory / "out").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
    REQUIRE(input);
    REQUIRE(output);
    CommandSpec spec = shell("cat; echo done", supervised);
    spec.standard_input = input.get();
    spec.standard_output = output.get();
    CHECK(run_to_end(spec) == 0);
    CHECK(test::read_file(directory / "out") == "from the file\ndone\n");
}

TEST_CASE("under a supervisor stop ends a tree that ignores SIGTERM with SIGKILL after the grace", "[child]") {
    test::TempDir directory;
    test::CommandTree tree(directory, test::CommandTree::OnTerm::ignore);
    const ScopedSignalMask mask(handled_signals());
    CommandSpec spec = shell(tree.script(), true);
    ChildProcess child = ChildProcess::spawn(spec);
    REQUIRE(tree.wait_started());
    const auto started = Clock::now();
    child.stop(200ms);
    const auto status = child.wait(forwarded_signals(), std::nullopt);
    REQUIRE(status);
    CHECK(status->shell_status() == 128 + SIGKILL);
    CHECK(Clock::now() - started >= 200ms);  // SIGTERM was ignored: only SIGKILL ended it
    CHECK(tree.running().empty());
}

TEST_CASE("under a supervisor stop with SIGTERM reaches every process of the tree", "[child]") {
    test::TempDir directory;
    test::CommandTree tree(directory, test::CommandTree::OnTerm::record_and_exit);
    const ScopedSignalMask mask(handled_signals());
    ChildProcess child = ChildProcess::spawn(shell(tree.script(), true));
    REQUIRE(tree.wait_started());
    child.stop(60s);
    REQUIRE(child.wait(forwarded_signals(), std::nullopt));
    CHECK(tree.running().empty());
    for (const std::string& name : test::CommandTree::names()) {
        INFO(name);
        CHECK(tree.got_term(name));
    }
}

TEST_CASE("a run until the tree ends lasts until its last background process ends", "[child]") {
    test::TempDir directory;
    test::CommandTree tree(directory, test::CommandTree::OnTerm::exit);
    const ScopedSignalMask mask(handled_signals());
    CommandSpec spec = shell(tree.script("exit 6"), false);
    spec.run_until_tree_ends = true;
    ChildProcess child = ChildProcess::spawn(spec);
    REQUIRE(tree.wait_started());
    // The command has ended; the run has not, while its tree runs.
    REQUIRE(test::wait_until([&] { return !test::process_running(tree.pid_of("main")); }));
    CHECK_FALSE(child.wait(forwarded_signals(), Clock::now() + 100ms));
    CHECK(child.command_ended());
    tree.signal_all(SIGTERM);
    const auto status = child.wait(forwarded_signals(), std::nullopt);
    REQUIRE(status);
    CHECK(status->shell_status() == 6);
    CHECK(tree.running().empty());
}

TEST_CASE("the supervisor is the subreaper of the tree and the command is its child", "[child]") {
    test::TempDir directory;
    test::CommandTree tree(directory, test::CommandTree::OnTerm::exit);
    const ScopedSignalMask mask(handled_signals());
    ChildProcess child = ChildProcess::spawn(shell(tree.script(), true));
    REQUIRE(tree.wait_started());
    CHECK(test::process_name(child.supervisor_pid()) == "plock-supervise");
    const std::vector<pid_t> descendants = find_descendants(child.supervisor_pid());
    for (const std::string& name : test::CommandTree::names()) {
        INFO(name);
        CHECK(std::find(descendants.begin(), descendants.end(), tree.pid_of(name)) != descendants.end());
    }
    // The double-forked orphan came back to it.
    const auto children = test::children_of(child.supervisor_pid());
    CHECK(std::find(children.begin(), children.end(), tree.pid_of("orphan")) != children.end());
    CHECK(std::find(children.begin(), children.end(), child.pid()) != children.end());
}

TEST_CASE("a tree that is not ours is stopped whole and a root that is not proven is left alone", "[process_tree]") {
    test::TempDir directory;
    test::CommandTree tree(directory, test::CommandTree::OnTerm::ignore);
    test::Process process = test::Process::start({"/bin/sh", "-c", tree.script()});
    REQUIRE(tree.wait_started());
    ForeignTrees refused;
    CHECK_FALSE(refused.add_root(process.pid(), [](pid_t) { return false; }));
    CHECK(refused.members().empty());
    ForeignTrees trees;
    REQUIRE(trees.add_root(process.pid(), [](pid_t) { return true; }));
    stop_tree(trees, 100ms);
    CHECK(process.wait() == 128 + SIGKILL);
    // The orphan had gone to init before the tree was pinned, as no
    // subreaper kept it (a supervised plock would have): out of reach.
    CHECK(tree.running() == std::vector<std::string>{"orphan"});
}
