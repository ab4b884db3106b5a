// Integration tests of `plock try`.
#include <catch2/catch.hpp>

#include "test_support.hpp"

using namespace plock::test;

TEST_CASE("try without a command exits 0 on a free lock and releases it at once", "[try]") {
    TempDir directory;
    const std::string lock = directory / "free.lock";
    const Result result = run_plock({"try", lock});
    CHECK(result.status == 0);
    CHECK(result.out.empty());
    CHECK(result.err.empty());
    CHECK(run({"flock", "-n", lock, "true"}).status == 0);
}

TEST_CASE("try without a command exits 75 on a held lock and names the holder only with -v", "[try]") {
    TempDir directory;
    const std::string lock = directory / "held.lock";
    Gate gate(directory);
    Process holder = hold_lock({"flock", lock}, gate);
    const Result silent = run_plock({"try", lock});
    CHECK(silent.status == 75);
    CHECK(silent.err.empty());
    const Result verbose = run_plock({"try", "-v", lock});
    CHECK(verbose.status == 75);
    CHECK_THAT(verbose.err, Catch::Contains("PID " + std::to_string(holder.pid())) && Catch::Contains("flock"));
    CHECK(run_plock({"try", "-E", "1", lock}).status == 1);
    gate.open();
    CHECK(holder.wait() == 0);
    CHECK(run_plock({"try", lock}).status == 0);
}

TEST_CASE("try with a command runs it when free and skips it when held", "[try]") {
    TempDir directory;
    const std::string lock = directory / "cmd.lock";
    const std::string ran = directory / "ran";
    CHECK(run_plock({"try", lock, "--", "sh", "-c", "exit 6"}).status == 6);
    Gate gate(directory);
    Process holder = hold_lock({plock_binary(), "exec", lock, "--"}, gate);
    const Result skipped = run_plock({"try", lock, "--", "touch", ran});
    CHECK(skipped.status == 75);
    CHECK_THAT(skipped.err, Catch::Contains("is locked by"));
    CHECK_FALSE(exists(ran));
    gate.open();
}

TEST_CASE("try tests shared locks too", "[try]") {
    TempDir directory;
    const std::string lock = directory / "s.lock";
    Gate gate(directory);
    Process holder = hold_lock({plock_binary(), "exec", "-s", lock, "--"}, gate);
    CHECK(run_plock({"try", "-s", lock}).status == 0);
    CHECK(run_plock({"try", lock}).status == 75);
    gate.open();
}
