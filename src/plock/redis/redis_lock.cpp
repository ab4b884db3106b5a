// RedisLock: the Lua scripts that take, renew and give back a lock or a
// semaphore permit atomically on the server, and the wait for a release.
//
// Scripts go with EVAL, not EVALSHA: a few hundred bytes per command cost
// nothing next to a round trip, and there is no NOSCRIPT path to get wrong
// after a SCRIPT FLUSH, a restart or a failover.
//
// Every script can be sent twice with the same token: acquire recognises a
// lock that is already ours (an earlier attempt whose reply was lost with its
// connection), renew and release compare the token. So a command that fails
// with its connection is sent once more on a new connection.
#include "plock/redis/redis_lock.hpp"

#include <poll.h>
#include <sys/random.h>

#include <algorithm>

#include "plock/sys/error.hpp"

namespace plock {
namespace {

// The lock: KEYS[1] the lock, KEYS[2] its fencing counter; ARGV[1] the token,
// ARGV[2] the lease in ms. {1, fencing token} when taken, {0, the holder's
// remaining lease in ms (negative: unknown)} when busy.
constexpr const char* k_lock_acquire = R"lua(
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return {1, redis.call('INCR', KEYS[2])}
end
if redis.call('GET', KEYS[1]) == ARGV[1] then
  -- Ours since an attempt whose reply was lost: no one can have taken the
  -- lock since, so the counter still holds our fencing token.
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return {1, tonumber(redis.call('GET', KEYS[2]) or 0)}
end
return {0, redis.call('PTTL', KEYS[1])}
)lua";

// KEYS[1] the lock; ARGV[1] the token, ARGV[2] the lease in ms. 1 or 0.
constexpr const char* k_lock_renew = R"lua(
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
)lua";

// KEYS[1] the lock; ARGV[1] the token, ARGV[2] the channel. 1 or 0.
constexpr const char* k_lock_release = R"lua(
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  redis.call('PUBLISH', ARGV[2], 'released')
  return 1
end
return 0
)lua";

// The semaphore: a sorted set of "TOKEN:SLOT:FENCING" members scored by the
// server time (ms) at which each lease ends. The key itself expires with the
// last lease, and the server's clock decides expiry, as it does for PX.
// (replicate_commands: Redis before 5 needs it to write after TIME.)
#define PLOCK_SEMAPHORE_PRELUDE                                                   \
    "if redis.replicate_commands then redis.replicate_commands() end\n"           \
    "local time = redis.call('TIME')\n"                                           \
    "local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)\n" \
    "local function expire_with_last_lease(key)\n"                                \
    "  local last = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')\n"            \
    "  if last[2] then redis.call('PEXPIREAT', key, last[2]) end\n"               \
    "end\n"

// KEYS[1] the holders, KEYS[2] the fencing counter; ARGV[1] the token,
// ARGV[2] the lease in ms, ARGV[3] the number of permits.
// {1, fencing token, slot} when taken, {0, ms until the first lease ends}.
constexpr const char* k_semaphore_acquire = PLOCK_SEMAPHORE_PRELUDE R"lua(
local lease = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local holders = redis.call('ZRANGE', KEYS[1], 0, -1)
local used = {}
for _, member in ipairs(holders) do
  local token, slot, fencing = string.match(member, '^(%x+):(%d+):(%d+)$')
  if token == ARGV[1] then
    redis.call('ZADD', KEYS[1], now + lease, member)
    expire_with_last_lease(KEYS[1])
    return {1, tonumber(fencing), tonumber(slot)}
  end
  if slot then used[tonumber(slot)] = true end
end
if #holders >= tonumber(ARGV[3]) then
  local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return {0, tonumber(first[2]) - now}
end
local slot = 0
while used[slot] do slot = slot + 1 end
local fencing = redis.call('INCR', KEYS[2])
redis.call('ZADD', KEYS[1], now + lease, ARGV[1] .. ':' .. slot .. ':' .. fencing)
expire_with_last_lease(KEYS[1])
return {1, fencing, slot}
)lua";

// KEYS[1] the holders; ARGV[1] our member, ARGV[2] the lease in ms. 1 or 0.
constexpr const char* k_semaphore_renew = PLOCK_SEMAPHORE_PRELUDE R"lua(
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not score then return 0 end
if tonumber(score) <= now then
  redis.call('ZREM', KEYS[1], ARGV[1])
  return 0
end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
expire_with_last_lease(KEYS[1])
return 1
)lua";

// KEYS[1] the holders; ARGV[1] our member, ARGV[2] the channel. 1 or 0.
constexpr const char* k_semaphore_release = R"lua(
if redis.call('ZREM', KEYS[1], ARGV[1]) == 1 then
  redis.call('PUBLISH', ARGV[2], 'released')
  return 1
end
return 0
)lua";

#undef PLOCK_SEMAPHORE_PRELUDE

// The slow retry while waiting, a safety net only: a broken subscription is
// noticed and renewed (and followed by an attempt), and a holder that vanished
// is retried when its lease ends. Every retry is a round trip for every
// waiter, so it is rare: 100 idle waiters cost well under 0.1 s of CPU over
// 10 s (bench/idle).
constexpr std::chrono::milliseconds k_fallback_retry{5000};
constexpr std::size_t k_max_name_length = 1024;

bool has_control_character(const std::string& text) {
    return std::any_of(text.begin(), text.end(), [](char character) {
        const auto code = static_cast<unsigned char>(character);
        return code < 0x20 || code == 0x7f;
    });
}

bool ends_with(const std::string& text, std::string_view suffix) {
    return text.size() >= suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}


bool is_integer(const RedisValue& value) { return value.type == RedisValue::Type::integer; }

}  // namespace

void validate(const RedisLockSpec& spec) {
    if (spec.name.empty()) {
        throw UsageError("the lock name is empty");
    }
    if (spec.name.size() > k_max_name_length) {
        throw UsageError("the lock name is longer than " + std::to_string(k_max_name_length) + " bytes");
    }
    if (has_control_character(spec.name)) {
        throw UsageError("invalid lock name '" + spec.name + "': it contains a control character");
    }
    if (ends_with(spec.name, k_fencing_suffix)) {
        throw UsageError("the lock name must not end in '" + std::string(k_fencing_suffix) +
                         "': that key is the fencing counter of the name without it");
    }
    if (has_control_character(spec.key_prefix)) {
        throw UsageError("invalid key prefix '" + spec.key_prefix + "': it contains a control character");
    }
    if (spec.lease < k_minimum_lease) {
        throw UsageError("the lease must be at least 1 second: renewals need time to reach the server");
    }
    if (spec.permits < 1 || spec.permits > k_max_permits) {
        throw UsageError("the number of permits must be from 1 to " + std::to_string(k_max_permits));
    }
}

std::string random_token() {
    unsigned char bytes[16];
    const ssize_t count = retry_on_eintr([&] { return getrandom(bytes, sizeof bytes, 0); });
    if (count != static_cast<ssize_t>(sizeof bytes)) {
        throw SystemError(Operation::system, "a random lock token", count < 0 ? errno : EIO);
    }
    static constexpr char k_digits[] = "0123456789abcdef";
    std::string token;
    for (const unsigned char byte : bytes) {
        token += k_digits[byte >> 4];
        token += k_digits[byte & 0x0f];
    }
    return token;
}

RedisLock::RedisLock(RedisEndpoint endpoint, RedisLockSpec spec, std::chrono::milliseconds io_timeout)
    : m_endpoint(std::move(endpoint)), m_spec(std::move(spec)), m_io_timeout(io_timeout) {
    validate(m_spec);
    m_client.emplace(RedisClient::connect(m_endpoint, Clock::now() + m_io_timeout));
}

RedisLock::~RedisLock() {
    if (m_held) {
        try {
            release(Clock::now() + m_io_timeout);
        } catch (const std::exception&) {
            // The lease runs out by itself.
        }
    }
}

RedisClient& RedisLock::connection(Clock::time_point deadline) {
    if (!m_client || m_client->peer_closed()) {
        m_client.reset();
        m_client.emplace(RedisClient::connect(m_endpoint, deadline));
    }
    return *m_client;
}

RedisLock::ScriptReply RedisLock::run_script(const char* script, const std::vector<std::string>& keys,
                                             const std::vector<std::string>& arguments,
                                             Clock::time_point deadline) {
    std::vector<std::string> command{"EVAL", script, std::to_string(keys.size())};
    command.insert(command.end(), keys.begin(), keys.end());
    command.insert(command.end(), arguments.begin(), arguments.end());
    ScriptReply reply;
    try {
        RedisClient& client = connection(deadline);
        reply.sent_at = Clock::now();
        reply.value = client.command(command, deadline);
        return reply;
    } catch (const SystemError& error) {
        m_client.reset();
        if (error.operation() != Operation::reach || Clock::now() >= deadline) {
            throw;
        }
    }
    reply.resent = true;
    RedisClient& client = connection(deadline);
    reply.sent_at = Clock::now();
    reply.value = client.command(command, deadline);
    return reply;
}

std::string RedisLock::member() const {
    if (!m_spec.is_semaphore()) {
        return m_lease.token;
    }
    return m_lease.token + ":" + std::to_string(m_lease.slot.value_or(0)) + ":" +
           std::to_string(m_lease.fencing_token);
}

void RedisLock::unexpected_reply(const RedisValue& reply, const char* action) const {
    const std::string key = m_spec.key();
    if (reply.is_error() && reply.text.find("WRONGTYPE") != std::string::npos) {
        throw UsageError("the key " + key + " on " + m_endpoint.display() + " holds " +
                         (m_spec.is_semaphore() ? "something other than a semaphore (a sorted set)"
                                                : "something other than a lock (a string)") +
                         ": everyone must use " + m_spec.name + " as the same kind, lock or semaphore");
    }
    const std::string description = "Redis at " + m_endpoint.display();
    if (reply.is_error()) {
        throw SystemError(Operation::reach, description, EPROTO,
                          std::string("the server refused to ") + action + " " + key + ": " + reply.text);
    }
    throw SystemError(Operation::reach, description, EPROTO,
                      std::string("unexpected reply when trying to ") + action + " " + key);
}

RedisLock::Attempt RedisLock::attempt() {
    const auto deadline = Clock::now() + m_io_timeout;
    const std::string lease = std::to_string(m_spec.lease.count());
    const ScriptReply reply =
        m_spec.is_semaphore()
            ? run_script(k_semaphore_acquire, {m_spec.key(), m_spec.fencing_key()},
                         {m_lease.token, lease, std::to_string(m_spec.permits)}, deadline)
            : run_script(k_lock_acquire, {m_spec.key(), m_spec.fencing_key()}, {m_lease.token, lease},
                         deadline);
    const RedisValue& value = reply.value;
    const std::size_t expected = m_spec.is_semaphore() ? 3 : 2;
    if (value.type != RedisValue::Type::array || value.elements.size() < 2 ||
        !std::all_of(value.elements.begin(), value.elements.end(), is_integer)) {
        unexpected_reply(value, "take");
    }
    Attempt result;
    if (value.elements[0].integer == 1) {
        if (value.elements.size() != expected) {
            unexpected_reply(value, "take");
        }
        m_lease.fencing_token = value.elements[1].integer;
        m_lease.slot.reset();
        if (m_spec.is_semaphore()) {
            m_lease.slot = static_cast<unsigned>(value.elements[2].integer);
        }
        m_lease.sent_at = reply.sent_at;
        m_held = true;
        result.acquired = true;
        if (Clock::now() - reply.sent_at >= m_spec.lease / 3) {
            // The grant took a third of the lease to arrive (a stalled
            // server, a slow network): what is left of it cannot be trusted.
            // A renewal starts it afresh, or tells us it has gone already.
            result.acquired = renew(Clock::now() + std::min(m_io_timeout, m_spec.lease / 3)).status ==
                              RenewResult::Status::renewed;
            m_held = result.acquired;
        }
        return result;
    }
    if (value.elements[1].integer >= 0) {
        result.holder_remaining = std::chrono::milliseconds(value.elements[1].integer);
    }
    m_holder_remaining = result.holder_remaining;
    return result;
}

AcquireResult RedisLock::try_acquire() {
    if (!m_held) {
        m_lease = RedisLease{};
        m_lease.token = random_token();
    }
    return {attempt().acquired ? AcquireResult::Status::acquired : AcquireResult::Status::busy, 0};
}

RedisClient RedisLock::subscribe() {
    const auto deadline = Clock::now() + m_io_timeout;
    RedisClient subscriber = RedisClient::connect(m_endpoint, deadline);
    const RedisValue reply = subscriber.command({"SUBSCRIBE", m_spec.channel()}, deadline);
    if (reply.type != RedisValue::Type::array || reply.elements.size() != 3 ||
        reply.elements[0].text != "subscribe") {
        unexpected_reply(reply, "subscribe to the releases of");
    }
    return subscriber;
}

AcquireResult RedisLock::take(const WaitPlan& plan, const SignalSet& stop_signals, const BeforeWait& before_wait) {
    return take_as_planned<AcquireResult>(
        plan, before_wait, [&] { return try_acquire(); },
        [&](Deadline deadline) { return acquire(deadline, stop_signals); });
}

AcquireResult RedisLock::acquire(Deadline deadline, const SignalSet& stop_signals) {
    if (try_acquire().acquired()) {
        return {AcquireResult::Status::acquired, 0};
    }
    SignalFd signals(stop_signals);
    // Subscribed before the next attempt: a release after it cannot pass unseen.
    RedisClient subscriber = subscribe();
    for (;;) {
        const Attempt result = attempt();
        if (result.acquired) {
            return {AcquireResult::Status::acquired, 0};
        }
        if (deadline && Clock::now() >= *deadline) {
            return {AcquireResult::Status::timed_out, 0};
        }
        auto wake = Clock::now() + k_fallback_retry;
        if (result.holder_remaining) {
            // A holder that vanished without releasing: its lease ends then.
            wake = std::min(wake, Clock::now() + *result.holder_remaining + std::chrono::milliseconds(1));
        }
        if (deadline) {
            wake = std::min(wake, *deadline);
        }
        for (bool notified = false; !notified;) {
            try {
                while (subscriber.receive_ready()) {
                    notified = true;  // a release (or more): try again
                }
            } catch (const SystemError& error) {
                if (error.operation() != Operation::reach) {
                    throw;
                }
                // Messages may have been lost with the connection.
                subscriber = subscribe();
                notified = true;
            }
            if (notified) {
                break;
            }
            pollfd entries[2] = {{subscriber.fd(), POLLIN, 0}, {signals.fd(), POLLIN, 0}};
            const timespec timeout = remaining_until(wake);
            const int ready = ppoll(entries, 2, &timeout, nullptr);
            if (ready < 0 && errno != EINTR) {
                throw SystemError(Operation::system, "a wait for " + m_spec.key(), errno);
            }
            if (entries[1].revents != 0) {
                if (const int signal = signals.take()) {
                    return {AcquireResult::Status::interrupted, signal};
                }
            }
            if (ready == 0 && Clock::now() >= wake) {
                if (deadline && Clock::now() >= *deadline) {
                    return {AcquireResult::Status::timed_out, 0};
                }
                break;  // the holder's lease ended, or the slow retry is due
            }
        }
    }
}

RenewResult RedisLock::renew(Clock::time_point deadline) {
    RenewResult result;
    if (!m_held) {
        result.status = RenewResult::Status::lost;
        result.error = "the lock is not held";
        return result;
    }
    ScriptReply reply;
    try {
        reply = run_script(m_spec.is_semaphore() ? k_semaphore_renew : k_lock_renew, {m_spec.key()},
                           {member(), std::to_string(m_spec.lease.count())}, deadline);
    } catch (const std::runtime_error& error) {
        result.error = error.what();
        return result;
    }
    if (reply.value.is_error()) {
        if (reply.value.text.find("WRONGTYPE") != std::string::npos) {
            m_held = false;
            result.status = RenewResult::Status::lost;
            result.error = "the key " + m_spec.key() + " now holds another kind of value";
            return result;
        }
        // Busy scripts, a replica turned read-only, out of memory: it may pass.
        result.error = "Redis at " + m_endpoint.display() + " refused the renewal: " + reply.value.text;
        return result;
    }
    if (!is_integer(reply.value)) {
        result.error = "unexpected reply from Redis at " + m_endpoint.display() + " to a renewal";
        return result;
    }
    if (reply.value.integer != 1) {
        m_held = false;
        result.status = RenewResult::Status::lost;
        result.error = m_spec.is_semaphore() ? "our permit of " + m_spec.key() + " has expired or was removed"
                                             : "the key " + m_spec.key() + " has expired, was deleted or now "
                                               "holds another token";
        return result;
    }
    m_lease.sent_at = reply.sent_at;
    result.status = RenewResult::Status::renewed;
    result.sent_at = reply.sent_at;
    return result;
}

bool RedisLock::release(Clock::time_point deadline) {
    if (!m_held) {
        return false;
    }
    // Given up whatever happens next: a lease we cannot return runs out.
    m_held = false;
    const ScriptReply reply =
        run_script(m_spec.is_semaphore() ? k_semaphore_release : k_lock_release, {m_spec.key()},
                   {member(), m_spec.channel()}, deadline);
    if (!is_integer(reply.value)) {
        unexpected_reply(reply.value, "release");
    }
    // A second send finds nothing to release if the first one did release.
    return reply.value.integer == 1 || reply.resent;
}

}  // namespace plock
