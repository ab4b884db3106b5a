// Fuzz target: parse_redis_url. Every input either parses or is refused with
// a UsageError whose message does not repeat the password. A parsed endpoint
// is consistent, its display() does not depend on the password, and parsing
// display() again (a URL without the password) gives the same endpoint.
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "plock/sys/error.hpp"
#include "plock/redis/redis_url.hpp"

namespace {

void check(bool condition) {
    if (!condition) {
        std::abort();
    }
}

std::size_t occurrences(std::string_view text, std::string_view part) {
    std::size_t count = 0;
    for (auto at = text.find(part); at != std::string_view::npos; at = text.find(part, at + 1)) {
        ++count;
    }
    return count;
}

// The password as typed: between the first ':' of USER:PASSWORD and the last
// '@' of the authority. Empty when the URL has none.
std::string_view typed_password(std::string_view url) {
    const auto scheme_end = url.find("://");
    if (scheme_end == std::string_view::npos) {
        return {};
    }
    std::string_view rest = url.substr(scheme_end + 3);
    rest = rest.substr(0, rest.find_first_of("/?#"));
    const auto at = rest.rfind('@');
    if (at == std::string_view::npos) {
        return {};
    }
    const std::string_view user_information = rest.substr(0, at);
    const auto colon = user_information.find(':');
    return colon == std::string_view::npos ? std::string_view{} : user_information.substr(colon + 1);
}

bool plain(std::string_view text) {
    for (const char character : text) {
        if (!std::isalnum(static_cast<unsigned char>(character)) && character != '-' && character != '.' &&
            character != '_' && character != '~') {
            return false;
        }
    }
    return true;
}

void check_endpoint(const plock::RedisEndpoint& endpoint) {
    using Transport = plock::RedisEndpoint::Transport;
    check(endpoint.database >= 0);
    if (endpoint.transport == Transport::tcp) {
        check(!endpoint.host.empty());
        check(endpoint.port != 0);
        check(endpoint.socket_path.empty());
    } else {
        check(endpoint.host.empty());
        check(endpoint.port == 0);
        check(endpoint.socket_path.size() > 1 && endpoint.socket_path.front() == '/');
        check(endpoint.socket_path.size() < 108);  // sockaddr_un::sun_path, with its NUL
    }
    check(!endpoint.password || !endpoint.password->empty());

    const std::string display = endpoint.display();
    plock::RedisEndpoint other_password = endpoint;
    other_password.password = endpoint.password ? std::nullopt : std::optional<std::string>("x");
    check(other_password.display() == display);

    if (plain(endpoint.user)) {
        const plock::RedisEndpoint again = plock::parse_redis_url(display);
        check(again.transport == endpoint.transport);
        check(again.host == endpoint.host);
        check(again.port == endpoint.port);
        check(again.socket_path == endpoint.socket_path);
        check(again.user == endpoint.user);
        check(again.database == endpoint.database);
        check(!again.password);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view url(reinterpret_cast<const char*>(data), size);
    plock::RedisEndpoint endpoint;
    try {
        endpoint = plock::parse_redis_url(url, "--url");
    } catch (const plock::UsageError& error) {
        const std::string_view message = error.what();
        check(message.substr(0, 14) == "invalid --url:");
        // A refusal quotes the scheme or the host at most. Passwords that
        // could be a piece of a message's own words (short, or with a space:
        // the fuzzer finds those) or that the URL also spells elsewhere are
        // not checked.
        const std::string_view password = typed_password(url);
        if (password.size() >= 8 && password.find(' ') == std::string_view::npos &&
            occurrences(url, password) == 1) {
            check(message.find(password) == std::string_view::npos);
        }
        return 0;
    }
    check_endpoint(endpoint);
    return 0;
}
