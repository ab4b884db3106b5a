// Tests of what plock reads about processes from /proc.
#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include "plock/proc/process_info.hpp"
#include "test_support.hpp"

using namespace plock;
using namespace std::chrono_literals;

TEST_CASE("the stat line is parsed from the last parenthesis so a name may hold spaces and parentheses", "[process_info]") {
    const std::string line =
        "4242 (a) b (c)) S 17 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1 2 3\n";
    const auto stat = parse_process_stat(line);
    REQUIRE(stat);
    CHECK(stat->name == "a) b (c)");
    CHECK(stat->state == 'S');
    CHECK(stat->parent == 17);
    CHECK(stat->start_ticks == 987654);
}

TEST_CASE("a truncated or malformed stat line is rejected", "[process_info]") {
    CHECK_FALSE(parse_process_stat(""));
    CHECK_FALSE(parse_process_stat("4242 (sh) S 17 4242"));
    CHECK_FALSE(parse_process_stat("4242 (sh) S x 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 5"));
    CHECK_FALSE(parse_process_stat("4242 sh S 17"));
}

TEST_CASE("our own stat names our parent and a start in the past", "[process_info]") {
    const auto stat = read_process_stat(getpid());
    REQUIRE(stat);
    CHECK(stat->parent == getppid());
    CHECK(stat->state == 'R');
    CHECK(process_is_alive(getpid()));
    const auto age = time_since_start(*stat);
    CHECK(age > 0ns);
    CHECK(age < 24h);
}

TEST_CASE("a child started now is younger than we are and is listed among our children", "[process_info]") {
    const auto before_start = std::chrono::steady_clock::now();
    test::Process child = test::Process::start({"sleep", "30"});
    const auto children = process_children(getpid());
    CHECK_THAT(children, Catch::VectorContains(child.pid()));
    const auto child_stat = read_process_stat(child.pid());
    const auto own_stat = read_process_stat(getpid());
    REQUIRE(child_stat);
    REQUIRE(own_stat);
    // Started no earlier than we were (in the same clock tick, if the test
    // process is young: comparing two ages computed one after the other
    // would then depend on which was computed first).
    CHECK(child_stat->start_ticks >= own_stat->start_ticks);
    // At most the time since it was started, plus the clock tick to which
    // the kernel rounds a start time down.
    const auto child_age = time_since_start(*child_stat);
    const auto tick = std::chrono::nanoseconds(1'000'000'000 / sysconf(_SC_CLK_TCK));
    CHECK(child_age <= std::chrono::steady_clock::now() - before_start + tick);
}

TEST_CASE("a process that is gone reads as nothing", "[process_info]") {
    const pid_t pid = fork();
    if (pid == 0) {
        _exit(0);
    }
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    CHECK_FALSE(read_process_stat(pid));
    CHECK_FALSE(process_is_alive(pid));
    CHECK(read_command_line(pid).empty());
    CHECK(process_children(pid).empty());
}
