// The options that say which Redis server and which keys (--url,
// --password-file, --key-prefix), shared by `plock redis` and
// `plock status --redis`, and their validation.
#pragma once

#include <optional>
#include <string>

#include "cli/options.hpp"
#include "plock/redis/redis_lock.hpp"
#include "plock/redis/redis_url.hpp"

namespace plock::cli {

struct RedisServerOptions {
    std::optional<std::string> url;
    std::optional<std::string> password_file;
    std::optional<std::string> key_prefix;

    bool any() const noexcept { return url || password_file || key_prefix; }
};

void add_redis_server_options(CLI::App& command, RedisServerOptions& options);

// The server: --url, else $PLOCK_REDIS_URL, else redis://127.0.0.1:6379; the
// password from --password-file, else $PLOCK_REDIS_PASSWORD, else the URL's.
// Throws UsageError for a bad URL, a user without a password, or a password
// file that is not one line; SystemError when it may not be read.
RedisEndpoint redis_endpoint(const RedisServerOptions& options);

// NAME with --key-prefix (lease and permits at their defaults).
RedisLockSpec redis_lock_spec(const std::string& name, const RedisServerOptions& options);

}  // namespace plock::cli
