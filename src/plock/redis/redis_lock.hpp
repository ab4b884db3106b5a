// RedisLock: a lock (one holder) or a semaphore (up to N holders) kept in a
// Redis server, so that processes on different machines can share it.
//
// The lock is the key PREFIX+NAME set with SET NX PX to a random 128-bit
// token; the semaphore is a sorted set at the same key whose members are the
// holders' tokens scored by the server time (TIME) at which each lease ends.
// Every change is one Lua script, so it is atomic on the server:
//   acquire  takes the lock (for the semaphore: after dropping expired
//            holders) and INCRements the companion key PREFIX+NAME:fencing,
//            whose new value is the holder's fencing token;
//   renew    extends the lease only if the token is still the holder's;
//   release  deletes it only if the token is still the holder's, and
//            PUBLISHes on the channel PREFIX+NAME.
// Waiters SUBSCRIBE to that channel before they try, so a release wakes them
// in about one round trip; a slow retry (at most every second, or when the
// holder's lease ends) covers lost messages and holders that vanished.
//
// A lease is timed on our monotonic clock from the moment before the acquire
// (or renew) command was sent; see LeaseSchedule for what a holder does with it.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "plock/lease/lease.hpp"
#include "plock/sys/acquire_result.hpp"
#include "plock/redis/redis_client.hpp"
#include "plock/redis/redis_url.hpp"
#include "plock/sys/signals.hpp"
#include "plock/sys/wait.hpp"

namespace plock {

inline constexpr std::string_view k_default_key_prefix = "plock:";
inline constexpr std::chrono::milliseconds k_default_lease{30'000};
inline constexpr std::chrono::milliseconds k_minimum_lease{1'000};
inline constexpr unsigned k_max_permits = 10'000;
inline constexpr std::string_view k_fencing_suffix = ":fencing";

struct RedisLockSpec {
    std::string name;
    std::string key_prefix{k_default_key_prefix};
    std::chrono::milliseconds lease = k_default_lease;
    unsigned permits = 1;  // 1: a lock; more: a semaphore with that many holders

    std::string key() const { return key_prefix + name; }
    std::string fencing_key() const { return key() + std::string(k_fencing_suffix); }
    std::string channel() const { return key(); }
    bool is_semaphore() const noexcept { return permits > 1; }
};

// Throws UsageError for an empty name or one with control characters, a name
// ending in ":fencing" (that key is another name's counter), a lease shorter
// than a second, or permits outside 1..10000.
void validate(const RedisLockSpec& spec);

struct RedisLease {
    std::string token;          // 32 hex digits, also the value the server holds
    long long fencing_token = 0;
    std::optional<unsigned> slot;  // semaphore: which of the N permits (0-based)
    Clock::time_point sent_at;     // the moment before the granting command was sent
};

// A random 128-bit token from getrandom(2), as 32 lower-case hex digits.
std::string random_token();

class RedisLock final : public Lease {
public:
    // Connects (throws SystemError: reach, authenticate; UsageError).
    RedisLock(RedisEndpoint endpoint, RedisLockSpec spec,
              std::chrono::milliseconds io_timeout = k_default_redis_io_timeout);
    RedisLock(const RedisLock&) = delete;
    RedisLock& operator=(const RedisLock&) = delete;
    // Releases a lease still held, without waiting longer than the I/O
    // timeout and without throwing.
    ~RedisLock() override;

    // One attempt: `busy` when the lock (every permit) is held by others.
    AcquireResult try_acquire();
    // Waits for a release notification, the deadline, or one of
    // `stop_signals` (which must be blocked), retrying as described above.
    AcquireResult acquire(Deadline deadline, const SignalSet& stop_signals);
    // The way plock redis takes the lock: try_acquire(), and when it is busy
    // and the plan allows a wait, `before_wait`, then acquire().
    AcquireResult take(const WaitPlan& plan, const SignalSet& stop_signals, const BeforeWait& before_wait = {});

    // Extends the lease if it is still ours; never throws for Redis failures.
    RenewResult renew(Clock::time_point deadline) override;
    // Gives the lease back; false when it was not ours any more. Throws
    // SystemError when the server cannot be reached before `deadline`.
    bool release(Clock::time_point deadline) override;
    // Forgets the lease without telling the server (it is lost or expiring).
    void abandon() noexcept override { m_held = false; }

    bool held() const noexcept { return m_held; }
    const RedisLease& lease() const noexcept { return m_lease; }
    const RedisLockSpec& spec() const noexcept { return m_spec; }
    const RedisEndpoint& endpoint() const noexcept { return m_endpoint; }
    // For a busy lock: how long the current holder's lease has left, as the
    // server last said; nullopt when unknown.
    std::optional<std::chrono::milliseconds> holder_remaining() const noexcept { return m_holder_remaining; }

private:
    struct Attempt {
        bool acquired = false;
        std::optional<std::chrono::milliseconds> holder_remaining;
    };

    struct ScriptReply {
        RedisValue value;
        Clock::time_point sent_at;  // the moment before the answered send
        bool resent = false;        // the first send's answer was lost
    };

    RedisClient& connection(Clock::time_point deadline);
    ScriptReply run_script(const char* script, const std::vector<std::string>& keys,
                           const std::vector<std::string>& arguments, Clock::time_point deadline);
    std::string member() const;  // what the server holds for our lease
    Attempt attempt();
    RedisClient subscribe();
    [[noreturn]] void unexpected_reply(const RedisValue& reply, const char* action) const;

    RedisEndpoint m_endpoint;
    RedisLockSpec m_spec;
    std::chrono::milliseconds m_io_timeout;
    std::optional<RedisClient> m_client;
    RedisLease m_lease;
    bool m_held = false;
    std::optional<std::chrono::milliseconds> m_holder_remaining;
};

}  // namespace plock
