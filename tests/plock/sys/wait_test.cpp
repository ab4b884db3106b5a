// Tests of wait_for_first with blocking calls the test controls: reads from
// pipes, which block in the kernel and return EINTR when interrupted.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <iterator>
#include <thread>

#include "plock/sys/fd.hpp"
#include "plock/sys/wait.hpp"
#include "test_support.hpp"

using namespace plock;
using namespace std::chrono_literals;
using Status = WaitOutcome::Status;

namespace {

struct Pipe {
    UniqueFd read_end;
    UniqueFd write_end;
    Pipe() {
        int fds[2];
        REQUIRE(pipe2(fds, O_CLOEXEC) == 0);
        read_end.reset(fds[0]);
        write_end.reset(fds[1]);
    }
    BlockingCall reader() const {
        return [fd = read_end.get()] {
            char byte;
            const ssize_t count = read(fd, &byte, 1);
            return count == 1 ? 0 : (count < 0 ? errno : EPIPE);
        };
    }
    void poke() const { REQUIRE(write(write_end.get(), "x", 1) == 1); }
};

// The threads of this process: wait_for_first runs one per call while it
// waits, so a test can act once the wait has begun rather than after a time.
std::size_t thread_count() {
    const std::filesystem::directory_iterator tasks("/proc/self/task");
    return static_cast<std::size_t>(std::distance(begin(tasks), end(tasks)));
}

}  // namespace

TEST_CASE("the first call to succeed wins and the others are cancelled", "[wait]") {
    Pipe first, second, third;
    const std::size_t threads_before = thread_count();
    std::thread poker([&] {
        // This thread, and the wait's three.
        test::wait_until([&] { return thread_count() >= threads_before + 4; });
        second.poke();
    });
    const auto outcome = wait_for_first({first.reader(), second.reader(), third.reader()},
                                        Clock::now() + 20s, SignalSet{SIGUSR1});
    poker.join();
    CHECK(outcome.status == Status::completed);
    CHECK(outcome.winner == 1);
    CHECK(outcome.succeeded == std::vector<bool>{false, true, false});
}

TEST_CASE("the deadline ends a wait that nothing completes", "[wait]") {
    Pipe idle;
    const auto start = Clock::now();
    const auto outcome = wait_for_first({idle.reader()}, start + 200ms, SignalSet{SIGUSR1});
    CHECK(outcome.status == Status::timed_out);
    CHECK(Clock::now() - start >= 200ms);
    CHECK_FALSE(outcome.succeeded[0]);
}

TEST_CASE("a deadline already past returns without waiting", "[wait]") {
    Pipe idle;
    const auto start = Clock::now();
    // The pipe is never written: only the deadline can end this, at once
    // (a wait that did not honour it would never end: ctest's time limit).
    const auto outcome = wait_for_first({idle.reader()}, start - 1s, SignalSet{SIGUSR1});
    CHECK(outcome.status == Status::timed_out);
    CHECK_FALSE(outcome.succeeded[0]);
}

TEST_CASE("a stop signal sent to the process ends the wait", "[wait]") {
    Pipe idle;
    const ScopedSignalMask mask(SignalSet{SIGUSR1});
    const std::size_t threads_before = thread_count();
    std::thread sender([&] {
        // This thread and the wait's one: the wait has begun.
        test::wait_until([&] { return thread_count() >= threads_before + 2; });
        kill(getpid(), SIGUSR1);
    });
    const auto outcome = wait_for_first({idle.reader()}, std::nullopt, SignalSet{SIGUSR1});
    sender.join();
    CHECK(outcome.status == Status::interrupted);
    CHECK(outcome.signal == SIGUSR1);
}

TEST_CASE("a call that fails ends the wait with its errno", "[wait]") {
    Pipe idle;
    const BlockingCall failing = [] { return EBADF; };
    const auto outcome = wait_for_first({idle.reader(), failing}, std::nullopt, SignalSet{SIGUSR1});
    CHECK(outcome.status == Status::failed);
    CHECK(outcome.winner == 1);
    CHECK(outcome.error_number == EBADF);
}

TEST_CASE("many waiters are cancelled and joined and no signal is left pending", "[wait]") {
    std::vector<Pipe> pipes(64);
    std::vector<BlockingCall> calls;
    for (const Pipe& pipe : pipes) {
        calls.push_back(pipe.reader());
    }
    for (int round = 0; round < 20; ++round) {
        const auto outcome = wait_for_first(calls, Clock::now() + 5ms, SignalSet{SIGUSR1});
        CHECK(outcome.status == Status::timed_out);
    }
    sigset_t pending;
    sigpending(&pending);
    for (int signal = SIGRTMIN; signal <= SIGRTMAX; ++signal) {
        CHECK(sigismember(&pending, signal) == 0);
    }
}
