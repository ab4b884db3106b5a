#include "cli/redis_options.hpp"

#include <CLI/CLI.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "cli/options.hpp"
#include "plock/sys/error.hpp"
#include "plock/sys/fd.hpp"

namespace plock::cli {
namespace {

constexpr std::size_t k_max_password_file_size = 64 * 1024;

std::optional<std::string> environment_value(const char* name) {
    const char* value = std::getenv(name);
    return value != nullptr && *value != '\0' ? std::optional<std::string>(value) : std::nullopt;
}

[[noreturn]] void password_file_unreadable(const std::string& path, int error) {
    if (error == EACCES || error == EPERM) {
        throw SystemError(Operation::read, "the password file " + path, error);
    }
    throw UsageError("cannot read --password-file " + path + ": " + std::strerror(error));
}

std::string read_password_file(const std::string& path) {
    const UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
    if (!fd) {
        password_file_unreadable(path, errno);
    }
    std::string content;
    char buffer[4096];
    for (;;) {
        const ssize_t count = retry_on_eintr([&] { return read(fd.get(), buffer, sizeof buffer); });
        if (count < 0) {
            password_file_unreadable(path, errno);
        }
        if (count == 0) {
            break;
        }
        content.append(buffer, static_cast<std::size_t>(count));
        if (content.size() > k_max_password_file_size) {
            throw UsageError("the password file " + path + " is larger than 64 KiB");
        }
    }
    // One line, as `echo secret > file` writes it.
    if (!content.empty() && content.back() == '\n') {
        content.pop_back();
        if (!content.empty() && content.back() == '\r') {
            content.pop_back();
        }
    }
    if (content.empty()) {
        throw UsageError("the password file " + path + " is empty");
    }
    if (content.find('\n') != std::string::npos) {
        throw UsageError("the password file " + path + " has more than one line");
    }
    return content;
}

}  // namespace

void add_redis_server_options(CLI::App& command, RedisServerOptions& options) {
    add_text_option(command, "--url", options.url,
                    "The server: redis://[USER[:PASSWORD]@]HOST[:PORT][/DB] or unix:///PATH[?db=DB] "
                    "(default: $PLOCK_REDIS_URL, or redis://127.0.0.1:6379)",
                    "URL");
    add_text_option(command, "--password-file", options.password_file,
                    "Read the password from FILE (default: $PLOCK_REDIS_PASSWORD, or the URL's)", "FILE");
    add_text_option(command, "--key-prefix", options.key_prefix, "Prefix of the Redis keys (default: plock:)",
                    "PREFIX");
}

RedisEndpoint redis_endpoint(const RedisServerOptions& options) {
    RedisEndpoint endpoint;
    if (options.url) {
        endpoint = parse_redis_url(*options.url, "--url");
    } else if (const auto from_environment = environment_value("PLOCK_REDIS_URL")) {
        endpoint = parse_redis_url(*from_environment, "PLOCK_REDIS_URL");
    } else {
        endpoint = parse_redis_url(k_default_redis_url);
    }
    if (options.password_file) {
        endpoint.password = read_password_file(*options.password_file);
    } else if (auto password = environment_value("PLOCK_REDIS_PASSWORD")) {
        endpoint.password = std::move(password);
    }
    if (!endpoint.user.empty() && !endpoint.password) {
        throw UsageError("the Redis URL names the user '" + endpoint.user +
                         "' but no password: give it in PLOCK_REDIS_PASSWORD or --password-file");
    }
    return endpoint;
}

RedisLockSpec redis_lock_spec(const std::string& name, const RedisServerOptions& options) {
    RedisLockSpec spec;
    spec.name = name;
    if (options.key_prefix) {
        spec.key_prefix = *options.key_prefix;
    }
    return spec;
}

}  // namespace plock::cli
