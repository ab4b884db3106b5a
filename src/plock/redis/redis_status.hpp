// What a Redis lock or semaphore looks like on the server, read without
// changing anything: for `plock status --redis`.
//
// One MULTI/EXEC transaction of read-only commands (TYPE, GET, PTTL, ZRANGE,
// TIME, GET of the fencing counter, PUBSUB NUMSUB of the release channel) gives a consistent snapshot in one
// round trip; it needs no script, so it also works against a replica and for
// an ACL user that may only read.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "plock/redis/redis_lock.hpp"

namespace plock {

struct RedisHolderState {
    std::string token;                 // the holder's token, as the server holds it
    std::optional<unsigned> permit;    // semaphore: which permit (0-based)
    std::optional<long long> fencing_token;  // semaphore: the holder's fencing token
    // How long the lease has left by the server's clock; nullopt: the key
    // has no expiry (not set by plock or portalocker's way of locking).
    std::optional<std::chrono::milliseconds> remaining;
};

struct RedisLockState {
    enum class Kind {
        free,       // no key: nobody holds it
        lock,       // a string: one holder
        semaphore,  // a sorted set: its unexpired members hold permits
    };
    Kind kind = Kind::free;
    std::vector<RedisHolderState> holders;  // semaphore: by permit
    // The last fencing token handed out (a lock's holder has this one);
    // nullopt when the counter does not exist yet.
    std::optional<long long> fencing_counter;
    // Clients subscribed to the release channel: plock redis runs waiting
    // for this lock (PUBSUB NUMSUB; a server-wide count, all databases).
    long long waiters = 0;

    bool held() const noexcept { return !holders.empty(); }
};

// Connects to `endpoint` and reads the state of `spec.key()` (spec.lease and
// spec.permits are not used). Throws SystemError (reach, authenticate) when
// the server cannot be asked, UsageError for an invalid name or a key that
// holds something other than a lock or a semaphore.
RedisLockState inspect_redis_lock(const RedisEndpoint& endpoint, const RedisLockSpec& spec,
                                  std::chrono::milliseconds io_timeout = k_default_redis_io_timeout);

}  // namespace plock
