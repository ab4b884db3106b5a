// Tests of the lease schedule: renewal, termination and kill times, from a
// fixed starting point so that the arithmetic is exact.
#include <catch2/catch.hpp>

#include "plock/lease/lease_schedule.hpp"

using namespace plock;
using namespace std::chrono_literals;

namespace {
const Clock::time_point k_start = Clock::time_point() + 1000s;
}

TEST_CASE("a fresh lease is renewed after a third and ends a lease after it was asked for", "[lease_schedule]") {
    const LeaseSchedule schedule(30s, k_start);
    CHECK(schedule.expires_at() == k_start + 30s);
    CHECK(schedule.renew_at() == k_start + 10s);
    CHECK(schedule.terminate_at() == k_start + 30s - 7500ms);
    CHECK(schedule.drift_allowance() == 302ms);
    CHECK(schedule.kill_at() == k_start + 30s - 302ms);
    CHECK_FALSE(schedule.is_lost());
}

TEST_CASE("the command is stopped before the lease ends and killed before the server lets it go", "[lease_schedule]") {
    for (const auto lease : {1000ms, 2000ms, 30000ms, 3600000ms}) {
        const LeaseSchedule schedule(lease, k_start);
        CHECK(schedule.renew_at() < schedule.terminate_at());
        CHECK(schedule.terminate_at() < schedule.kill_at());
        CHECK(schedule.kill_at() < schedule.expires_at());
    }
}

TEST_CASE("a renewal moves every deadline to a lease after it was sent", "[lease_schedule]") {
    LeaseSchedule schedule(3s, k_start);
    schedule.renewed(k_start + 1s);
    CHECK(schedule.expires_at() == k_start + 4s);
    CHECK(schedule.renew_at() == k_start + 2s);
    CHECK(schedule.terminate_at() == k_start + 4s - 750ms);
}

TEST_CASE("a failed renewal is retried soon without moving the end of the lease", "[lease_schedule]") {
    LeaseSchedule schedule(12s, k_start);
    schedule.renewal_failed(k_start + 4s);
    CHECK(schedule.renew_at() == k_start + 5s);
    CHECK(schedule.expires_at() == k_start + 12s);
    CHECK(schedule.terminate_at() == k_start + 9s);
}

TEST_CASE("a lost lease stops the command at once and kills it a quarter lease later", "[lease_schedule]") {
    LeaseSchedule schedule(20s, k_start);
    schedule.lost(k_start + 2s);
    CHECK(schedule.is_lost());
    CHECK(schedule.terminate_at() == k_start + 2s);
    CHECK(schedule.kill_at() == k_start + 7s);
    CHECK(schedule.renew_at() == Clock::time_point::max());
    schedule.renewed(k_start + 3s);  // too late: a lost lease is not taken back
    CHECK(schedule.terminate_at() == k_start + 2s);
}

TEST_CASE("a loss near the end of the lease keeps the kill at the lease end", "[lease_schedule]") {
    LeaseSchedule schedule(4s, k_start);
    schedule.lost(k_start + 3900ms);
    CHECK(schedule.kill_at() == k_start + 4s - 42ms);
}
