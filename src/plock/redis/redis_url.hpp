// Where a Redis server is and how to log in to it, from a URL:
//   redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]     HOST: a name, IPv4, or [IPv6]
//   unix://[[USER]:PASSWORD@]/PATH[?db=DB]
// The parser is strict: anything it does not understand is a UsageError that
// says what is wrong, and no message ever repeats the password.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace plock {

inline constexpr std::string_view k_default_redis_url = "redis://127.0.0.1:6379";

struct RedisEndpoint {
    enum class Transport { tcp, unix_socket };
    Transport transport = Transport::tcp;
    std::string host = "127.0.0.1";  // tcp: a host name or an address (IPv6 without brackets)
    std::uint16_t port = 6379;       // tcp
    std::string socket_path;         // unix_socket: an absolute path
    std::string user;                // empty: no user name (AUTH PASSWORD)
    std::optional<std::string> password;
    int database = 0;

    // The URL without the password, for messages: "redis://127.0.0.1:6379/2".
    std::string display() const;
};

// Throws UsageError("invalid <origin>: <what is wrong>"); `origin` names where
// the URL came from, such as "--url" or "PLOCK_REDIS_URL".
RedisEndpoint parse_redis_url(std::string_view url, std::string_view origin = "Redis URL");

}  // namespace plock
