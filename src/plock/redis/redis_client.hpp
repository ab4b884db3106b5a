// RedisClient: one connection to a Redis server, with a deadline on every
// step. plock owns the socket (close-on-exec, non-blocking, TCP_NODELAY) and
// waits with poll(2); hiredis only encodes commands and parses replies.
//
// Failures to connect, send or receive throw SystemError(Operation::reach)
// and leave the client unusable (the caller reconnects); a refused login, or
// a server that demands one, throws SystemError(Operation::authenticate,
// EACCES). Error replies to commands are values (RedisValue::Type::error).
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "plock/sys/fd.hpp"
#include "plock/redis/redis_url.hpp"
#include "plock/sys/wait.hpp"

struct redisReader;  // hiredis

namespace plock {

// A reply, copied out of hiredis's structures.
struct RedisValue {
    enum class Type { string, array, integer, nil, status, error };
    Type type = Type::nil;
    std::string text;  // string, status, error
    long long integer = 0;
    std::vector<RedisValue> elements;

    bool is_error() const noexcept { return type == Type::error; }
    bool is_nil() const noexcept { return type == Type::nil; }
};

inline constexpr std::chrono::milliseconds k_default_redis_io_timeout{5000};

class RedisClient {
public:
    // Connects, then authenticates (when the endpoint has a password) and
    // selects the database, all before `deadline`.
    static RedisClient connect(const RedisEndpoint& endpoint, Clock::time_point deadline);

    RedisClient(RedisClient&&) noexcept;
    RedisClient& operator=(RedisClient&&) noexcept;
    RedisClient(const RedisClient&) = delete;
    RedisClient& operator=(const RedisClient&) = delete;
    ~RedisClient();

    // Sends one command and waits for its reply.
    RedisValue command(const std::vector<std::string>& arguments, Clock::time_point deadline);
    // The two halves of command(), for pipelines and subscriptions.
    void send(const std::vector<std::string>& arguments, Clock::time_point deadline);
    RedisValue receive(Clock::time_point deadline);
    // A reply that has arrived already, without waiting; nullopt when none has.
    std::optional<RedisValue> receive_ready();

    // True when the server has closed this connection while we did not
    // expect anything from it (an idle timeout, a restart): it must not be
    // used for a command whose effect we need to know.
    bool peer_closed() const;

    int fd() const noexcept { return m_fd.get(); }
    // "Redis at redis://127.0.0.1:6379", for messages.
    const std::string& description() const noexcept { return m_description; }

private:
    struct ReaderDeleter {
        void operator()(redisReader* reader) const noexcept;
    };

    RedisClient(UniqueFd fd, std::string description);
    std::optional<RedisValue> parsed_reply();
    bool read_available(bool wait, Clock::time_point deadline, Clock::time_point started);
    [[noreturn]] void fail(int error_number, const std::string& explanation = {});
    void authenticate(const RedisEndpoint& endpoint, Clock::time_point deadline);

    UniqueFd m_fd;
    std::unique_ptr<redisReader, ReaderDeleter> m_reader;
    std::string m_description;
};

}  // namespace plock
