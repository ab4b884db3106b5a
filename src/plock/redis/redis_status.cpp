// inspect_redis_lock: one read-only transaction, decoded by the key's type.
#include "plock/redis/redis_status.hpp"

#include <algorithm>
#include <charconv>
#include <utility>

#include "plock/sys/error.hpp"

namespace plock {
namespace {

// The replies of the queued commands, in this order.
enum Reply : std::size_t { type, value, ttl, members, fencing, time, subscribers, count };

std::optional<long long> to_integer(std::string_view text) {
    long long number = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), number);
    if (error != std::errc() || end != text.data() + text.size()) {
        return std::nullopt;
    }
    return number;
}

[[noreturn]] void unexpected(const RedisEndpoint& endpoint, const std::string& key, const std::string& what) {
    throw SystemError(Operation::reach, "Redis at " + endpoint.display(), EPROTO,
                      "unexpected reply while reading " + key + ": " + what);
}

// A semaphore member is "TOKEN:PERMIT:FENCING" (see redis_lock.cpp); anything
// else is shown as it is, without permit or fencing token.
RedisHolderState member_state(const std::string& member) {
    RedisHolderState holder;
    holder.token = member;
    const auto last = member.rfind(':');
    if (last == std::string::npos || last == 0) {
        return holder;
    }
    const auto middle = member.rfind(':', last - 1);
    if (middle == std::string::npos) {
        return holder;
    }
    const auto permit = to_integer(std::string_view(member).substr(middle + 1, last - middle - 1));
    const auto fencing = to_integer(std::string_view(member).substr(last + 1));
    if (!permit || !fencing || *permit < 0 || *permit >= k_max_permits) {
        return holder;
    }
    holder.token = member.substr(0, middle);
    holder.permit = static_cast<unsigned>(*permit);
    holder.fencing_token = *fencing;
    return holder;
}

// TIME's reply in milliseconds.
long long server_time_ms(const RedisValue& reply, const RedisEndpoint& endpoint, const std::string& key) {
    if (reply.type == RedisValue::Type::array && reply.elements.size() == 2) {
        const auto seconds = to_integer(reply.elements[0].text);
        const auto microseconds = to_integer(reply.elements[1].text);
        if (seconds && microseconds) {
            return *seconds * 1000 + *microseconds / 1000;
        }
    }
    unexpected(endpoint, key, "TIME");
}

}  // namespace

RedisLockState inspect_redis_lock(const RedisEndpoint& endpoint, const RedisLockSpec& spec,
                                  std::chrono::milliseconds io_timeout) {
    validate(spec);
    const auto deadline = Clock::now() + io_timeout;
    const std::string key = spec.key();
    RedisClient client = RedisClient::connect(endpoint, deadline);
    const std::vector<std::vector<std::string>> commands{
        {"MULTI"},
        {"TYPE", key},
        {"GET", key},  // an error reply for a semaphore: fine, TYPE decides
        {"PTTL", key},
        {"ZRANGE", key, "0", "-1", "WITHSCORES"},  // an error reply for a lock
        {"GET", spec.fencing_key()},
        {"TIME"},
        {"PUBSUB", "NUMSUB", spec.channel()},
        {"EXEC"}};
    for (const auto& command : commands) {
        client.send(command, deadline);
    }
    RedisValue result;
    for (std::size_t index = 0; index < commands.size(); ++index) {
        RedisValue reply = client.receive(deadline);
        if (reply.is_error()) {
            // MULTI, a queued command or EXEC refused: the whole read failed.
            throw SystemError(Operation::reach, "Redis at " + endpoint.display(), EPROTO,
                              "the server refused to read " + key + ": " + reply.text);
        }
        result = std::move(reply);
    }
    if (result.type != RedisValue::Type::array || result.elements.size() != Reply::count) {
        unexpected(endpoint, key, "EXEC");
    }
    const std::vector<RedisValue>& replies = result.elements;

    RedisLockState state;
    if (replies[fencing].type == RedisValue::Type::string) {
        state.fencing_counter = to_integer(replies[fencing].text);
    }
    // NUMSUB answers [channel, count].
    if (const RedisValue& numsub = replies[subscribers];
        numsub.type == RedisValue::Type::array && numsub.elements.size() == 2 &&
        numsub.elements[1].type == RedisValue::Type::integer) {
        state.waiters = numsub.elements[1].integer;
    }
    const std::string& key_type = replies[type].text;
    if (key_type == "none") {
        return state;
    }
    if (key_type == "string") {
        state.kind = RedisLockState::Kind::lock;
        RedisHolderState holder;
        holder.token = replies[value].text;
        if (replies[ttl].type == RedisValue::Type::integer && replies[ttl].integer >= 0) {
            holder.remaining = std::chrono::milliseconds(replies[ttl].integer);
        }
        state.holders.push_back(std::move(holder));
        return state;
    }
    if (key_type == "zset") {
        state.kind = RedisLockState::Kind::semaphore;
        const long long now = server_time_ms(replies[time], endpoint, key);
        const std::vector<RedisValue>& pairs = replies[members].elements;
        for (std::size_t index = 0; index + 1 < pairs.size(); index += 2) {
            const auto expires = to_integer(pairs[index + 1].text);
            if (expires && *expires <= now) {
                continue;  // an expired lease, removed by the next acquire
            }
            RedisHolderState holder = member_state(pairs[index].text);
            if (expires) {
                holder.remaining = std::chrono::milliseconds(*expires - now);
            }
            state.holders.push_back(std::move(holder));
        }
        std::stable_sort(state.holders.begin(), state.holders.end(),
                         [](const RedisHolderState& left, const RedisHolderState& right) {
                             // By permit; members without one last.
                             return std::pair(!left.permit, left.permit.value_or(0)) <
                                    std::pair(!right.permit, right.permit.value_or(0));
                         });
        return state;
    }
    throw UsageError("the key " + key + " on " + endpoint.display() + " holds a " + key_type +
                     ", neither a lock (a string) nor a semaphore (a sorted set)");
}

}  // namespace plock
