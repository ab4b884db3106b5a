// Tests of RedisLock against a private redis-server: what the server holds,
// fencing tokens, renewal and release by token only, semaphore permits and
// slots, waiting for a release, and the conflicts between lock and semaphore.
#include <catch2/catch.hpp>

#include <pthread.h>
#include <signal.h>

#include <set>
#include <thread>

#include "plock/sys/error.hpp"
#include "plock/redis/redis_lock.hpp"
#include "redis_server.hpp"

using namespace plock;
using namespace plock::test;
using Status = AcquireResult::Status;

namespace {

RedisLockSpec lock_spec(const std::string& name, unsigned permits = 1,
                        std::chrono::milliseconds lease = std::chrono::milliseconds(10'000)) {
    RedisLockSpec spec;
    spec.name = name;
    spec.permits = permits;
    spec.lease = lease;
    return spec;
}

RedisEndpoint endpoint_of(const RedisServer& server) { return parse_redis_url(server.url()); }

long long remaining_ms(const RedisServer& server, const std::string& key) {
    return std::stoll(server.cli({"PTTL", key}));
}

// The least time a lease of `lease` ms, set on the server after `since`, can
// still have left now: the lease less the time gone by (rounded up), less
// what the server's clock may differ from ours: Redis reads its wall clock
// once per command or script and sets a semaphore's key expiry from scores
// computed in an earlier script, so its "now" may trail ours by a few
// milliseconds (3 ms was seen on a loaded machine). 100 ms covers that and is
// far below what the tests tell apart (a lease kept against one ended).
constexpr long long k_server_clock_allowance_ms = 100;
long long least_left_ms(long long lease, Clock::time_point since) {
    const auto gone = std::chrono::ceil<std::chrono::milliseconds>(Clock::now() - since);
    return lease - gone.count() - k_server_clock_allowance_ms;
}

}  // namespace

TEST_CASE("a random token is 32 hex digits and never repeats", "[redis_lock]") {
    std::set<std::string> tokens;
    for (int index = 0; index < 100; ++index) {
        const std::string token = random_token();
        CHECK_THAT(token, Catch::Matches("[0-9a-f]{32}"));
        tokens.insert(token);
    }
    CHECK(tokens.size() == 100);
}

TEST_CASE("a taken lock holds our token with the lease as expiry and is deleted on release", "[redis_lock]") {
    RedisServer server;
    RedisLock lock(endpoint_of(server), lock_spec("job"));
    const auto before = Clock::now();
    REQUIRE(lock.try_acquire().acquired());
    CHECK(server.cli({"GET", "plock:job"}) == lock.lease().token);
    const long long remaining = remaining_ms(server, "plock:job");
    CHECK(remaining >= least_left_ms(10000, before));
    CHECK(remaining <= 10000);
    CHECK(lock.lease().fencing_token == 1);
    CHECK_FALSE(lock.lease().slot);
    CHECK(lock.release(Clock::now() + 5s));
    CHECK(server.cli({"EXISTS", "plock:job"}) == "0");
    CHECK(server.cli({"GET", "plock:job:fencing"}) == "1");
}

TEST_CASE("a held lock is busy for others and free once released", "[redis_lock]") {
    RedisServer server;
    RedisLock first(endpoint_of(server), lock_spec("job"));
    RedisLock second(endpoint_of(server), lock_spec("job"));
    const auto before = Clock::now();
    REQUIRE(first.try_acquire().acquired());
    CHECK(second.try_acquire().status == Status::busy);
    REQUIRE(second.holder_remaining());
    const long long holder_left = second.holder_remaining()->count();
    CHECK(holder_left >= least_left_ms(10000, before));
    CHECK(holder_left <= 10000);
    first.release(Clock::now() + 5s);
    CHECK(second.try_acquire().acquired());
}

TEST_CASE("fencing tokens strictly increase across holders of a name", "[redis_lock]") {
    RedisServer server;
    long long previous = 0;
    for (int round = 0; round < 5; ++round) {
        RedisLock lock(endpoint_of(server), lock_spec("fenced"));
        REQUIRE(lock.try_acquire().acquired());
        CHECK(lock.lease().fencing_token > previous);
        previous = lock.lease().fencing_token;
    }  // each destructor releases
    CHECK(server.cli({"EXISTS", "plock:fenced"}) == "0");
}

TEST_CASE("renew extends the lease while the token is ours and reports a lost lock", "[redis_lock]") {
    RedisServer server;
    RedisLock lock(endpoint_of(server), lock_spec("renewed", 1, std::chrono::milliseconds(60'000)));
    REQUIRE(lock.try_acquire().acquired());
    server.cli({"PEXPIRE", "plock:renewed", "2000"});
    const auto before = Clock::now();
    const RenewResult renewed = lock.renew(Clock::now() + 5s);
    CHECK(renewed.status == RenewResult::Status::renewed);
    // The whole 60 s lease again, not what was left of the 2 s.
    const long long remaining = remaining_ms(server, "plock:renewed");  // read before the bound is taken
    CHECK(remaining >= least_left_ms(60'000, before));
    server.cli({"SET", "plock:renewed", "someone-else"});
    const RenewResult lost = lock.renew(Clock::now() + 5s);
    CHECK(lost.status == RenewResult::Status::lost);
    CHECK_FALSE(lock.held());
    CHECK(server.cli({"GET", "plock:renewed"}) == "someone-else");
}

TEST_CASE("release never deletes a lock that another token holds", "[redis_lock]") {
    RedisServer server;
    RedisLock lock(endpoint_of(server), lock_spec("taken"));
    REQUIRE(lock.try_acquire().acquired());
    server.cli({"SET", "plock:taken", "someone-else"});
    CHECK_FALSE(lock.release(Clock::now() + 5s));
    CHECK(server.cli({"GET", "plock:taken"}) == "someone-else");
}

TEST_CASE("a renewal to a server that is gone is unreachable and does not throw", "[redis_lock]") {
    RedisServer server;
    RedisLock lock(endpoint_of(server), lock_spec("gone"));
    REQUIRE(lock.try_acquire().acquired());
    server.kill();
    const RenewResult result = lock.renew(Clock::now() + 2s);
    CHECK(result.status == RenewResult::Status::unreachable);
    CHECK_THAT(result.error, Catch::Contains("cannot reach Redis"));
    CHECK(lock.held());
    lock.abandon();
}

TEST_CASE("a restarted server that lost the lock makes the renewal report it lost", "[redis_lock]") {
    RedisServer server;
    RedisLock lock(endpoint_of(server), lock_spec("restarted"));
    REQUIRE(lock.try_acquire().acquired());
    server.restart();
    CHECK(lock.renew(Clock::now() + 5s).status == RenewResult::Status::lost);
}

TEST_CASE("a semaphore lets N holders in with distinct slots and refuses the next", "[redis_lock]") {
    RedisServer server;
    std::vector<std::unique_ptr<RedisLock>> holders;
    std::set<unsigned> slots;
    std::set<long long> fencing;
    for (int index = 0; index < 3; ++index) {
        holders.push_back(std::make_unique<RedisLock>(endpoint_of(server), lock_spec("pool", 3)));
        REQUIRE(holders.back()->try_acquire().acquired());
        REQUIRE(holders.back()->lease().slot);
        slots.insert(*holders.back()->lease().slot);
        fencing.insert(holders.back()->lease().fencing_token);
    }
    CHECK(slots == std::set<unsigned>{0, 1, 2});
    CHECK(fencing == std::set<long long>{1, 2, 3});
    CHECK(server.cli({"ZCARD", "plock:pool"}) == "3");
    RedisLock fourth(endpoint_of(server), lock_spec("pool", 3));
    CHECK(fourth.try_acquire().status == Status::busy);
    holders[1]->release(Clock::now() + 5s);
    REQUIRE(fourth.try_acquire().acquired());
    CHECK(fourth.lease().slot == 1u);  // the slot that was freed
    CHECK(fourth.lease().fencing_token == 4);
}

TEST_CASE("an expired semaphore holder is dropped when the next one asks", "[redis_lock]") {
    RedisServer server;
    RedisLock stale(endpoint_of(server), lock_spec("leaky", 2, std::chrono::milliseconds(1000)));
    RedisLock live(endpoint_of(server), lock_spec("leaky", 2, std::chrono::milliseconds(60'000)));
    REQUIRE(stale.try_acquire().acquired());
    const auto live_taken = Clock::now();
    REQUIRE(live.try_acquire().acquired());
    stale.abandon();  // as if its holder had died
    RedisLock next(endpoint_of(server), lock_spec("leaky", 2));
    CHECK(next.try_acquire().status == Status::busy);
    CHECK(wait_until([&] { return next.try_acquire().acquired(); }, 10s));
    CHECK(next.lease().slot == stale.lease().slot);
    CHECK(server.cli({"ZCARD", "plock:leaky"}) == "2");
    // The key lives as long as its longest lease (60 s), not the newest (10 s).
    const long long remaining = remaining_ms(server, "plock:leaky");
    CHECK(remaining >= least_left_ms(60'000, live_taken));
}

TEST_CASE("a semaphore renewal keeps the permit and reports one that was removed", "[redis_lock]") {
    RedisServer server;
    RedisLock lock(endpoint_of(server), lock_spec("pool", 2));
    REQUIRE(lock.try_acquire().acquired());
    CHECK(lock.renew(Clock::now() + 5s).status == RenewResult::Status::renewed);
    server.cli({"DEL", "plock:pool"});
    CHECK(lock.renew(Clock::now() + 5s).status == RenewResult::Status::lost);
}

TEST_CASE("acquire waits for the holder to release and then takes the lock", "[redis_lock]") {
    RedisServer server;
    RedisLock holder(endpoint_of(server), lock_spec("handoff"));
    RedisLock waiter(endpoint_of(server), lock_spec("handoff"));
    REQUIRE(holder.try_acquire().acquired());
    std::thread releaser([&] {
        // Released only once the waiter is subscribed, so the wake-up is the message.
        wait_until([&] { return server.cli({"PUBSUB", "NUMSUB", "plock:handoff"}) == "plock:handoff\n1"; });
        holder.release(Clock::now() + 5s);
    });
    const auto result = waiter.acquire(Clock::now() + 20s, SignalSet{SIGUSR1});
    releaser.join();
    CHECK(result.acquired());
    CHECK(server.cli({"GET", "plock:handoff"}) == waiter.lease().token);
}

TEST_CASE("acquire gives up at its deadline", "[redis_lock]") {
    RedisServer server;
    RedisLock holder(endpoint_of(server), lock_spec("held"));
    RedisLock waiter(endpoint_of(server), lock_spec("held"));
    REQUIRE(holder.try_acquire().acquired());
    const auto start = Clock::now();
    CHECK(waiter.acquire(start + 300ms, SignalSet{SIGUSR1}).status == Status::timed_out);
    CHECK(Clock::now() - start >= 300ms);
    CHECK_FALSE(waiter.held());
}

TEST_CASE("a stop signal ends acquire", "[redis_lock]") {
    RedisServer server;
    RedisLock holder(endpoint_of(server), lock_spec("held"));
    RedisLock waiter(endpoint_of(server), lock_spec("held"));
    REQUIRE(holder.try_acquire().acquired());
    const ScopedSignalMask mask(SignalSet{SIGUSR1});
    const pthread_t self = pthread_self();
    std::thread signaller([&] {
        wait_until([&] { return server.cli({"PUBSUB", "NUMSUB", "plock:held"}) == "plock:held\n1"; });
        pthread_kill(self, SIGUSR1);
    });
    const auto result = waiter.acquire(Clock::now() + 20s, SignalSet{SIGUSR1});
    signaller.join();
    CHECK(result.status == Status::interrupted);
    CHECK(result.signal == SIGUSR1);
}

TEST_CASE("a lock and a semaphore of the same name conflict with a clear error", "[redis_lock]") {
    RedisServer server;
    RedisLock lock(endpoint_of(server), lock_spec("mixed"));
    REQUIRE(lock.try_acquire().acquired());
    RedisLock semaphore(endpoint_of(server), lock_spec("mixed", 2));
    try {
        semaphore.try_acquire();
        FAIL("a semaphore was taken over a lock");
    } catch (const UsageError& error) {
        CHECK_THAT(error.what(), Catch::Contains("plock:mixed") && Catch::Contains("lock or semaphore"));
    }
}

TEST_CASE("lock names and settings that cannot work are refused", "[redis_lock]") {
    CHECK_THROWS_AS(validate(lock_spec("")), UsageError);
    CHECK_THROWS_AS(validate(lock_spec("a\nb")), UsageError);
    CHECK_THROWS_AS(validate(lock_spec("job:fencing")), UsageError);
    CHECK_THROWS_AS(validate(lock_spec("job", 0)), UsageError);
    CHECK_THROWS_AS(validate(lock_spec("job", 10'001)), UsageError);
    CHECK_THROWS_AS(validate(lock_spec("job", 1, std::chrono::milliseconds(999))), UsageError);
    CHECK_NOTHROW(validate(lock_spec("deploy:prod/eu west", 10'000, std::chrono::milliseconds(1000))));
}

TEST_CASE("the key prefix names every key and the channel", "[redis_lock]") {
    RedisServer server;
    RedisLockSpec spec = lock_spec("job");
    spec.key_prefix = "team-a/";
    RedisLock lock(endpoint_of(server), spec);
    REQUIRE(lock.try_acquire().acquired());
    CHECK(server.cli({"EXISTS", "team-a/job"}) == "1");
    CHECK(server.cli({"EXISTS", "team-a/job:fencing"}) == "1");
    CHECK(spec.channel() == "team-a/job");
}
