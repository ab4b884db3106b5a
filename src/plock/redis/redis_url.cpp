// parse_redis_url: a strict parser that explains every refusal. Messages quote
// no part of the URL that could hold the password (the scheme and the host at
// most), since they end up in logs.
#include "plock/redis/redis_url.hpp"

#include <arpa/inet.h>
#include <sys/un.h>

#include <cctype>
#include <climits>

#include "plock/sys/error.hpp"

namespace plock {
namespace {

constexpr std::size_t k_max_socket_path = sizeof(sockaddr_un::sun_path) - 1;
constexpr std::size_t k_max_host_name = 253;
constexpr std::string_view k_tcp_form = "redis://HOST[:PORT][/DB]";
constexpr std::string_view k_unix_form = "unix:///PATH[?db=DB]";

class UrlParser {
public:
    UrlParser(std::string_view url, std::string_view origin) : m_url(url), m_origin(origin) {}

    RedisEndpoint parse() {
        if (m_url.empty()) {
            throw failure("the URL is empty");
        }
        for (const char character : m_url) {
            const auto code = static_cast<unsigned char>(character);
            if (code <= 0x20 || code == 0x7f) {
                throw failure("the URL contains a space or a control character");
            }
        }
        const auto scheme_end = m_url.find("://");
        if (scheme_end == std::string_view::npos) {
            throw failure("expected " + std::string(k_tcp_form) + " or " + std::string(k_unix_form));
        }
        const std::string_view scheme = m_url.substr(0, scheme_end);
        const std::string_view rest = m_url.substr(scheme_end + 3);
        if (rest.find('#') != std::string_view::npos) {
            throw failure("a fragment ('#') has no meaning in a Redis URL");
        }
        if (scheme == "redis") {
            return parse_tcp(rest);
        }
        if (scheme == "unix") {
            return parse_unix(rest);
        }
        if (scheme == "rediss") {
            throw failure("TLS (rediss://) is not supported: reach the server through a TLS tunnel "
                          "such as stunnel with a redis:// URL");
        }
        if (plain_word(scheme)) {
            throw failure("unknown scheme '" + std::string(scheme) + "://': expected redis:// or unix://");
        }
        throw failure("expected " + std::string(k_tcp_form) + " or " + std::string(k_unix_form));
    }

private:
    UsageError failure(const std::string& what) const {
        return UsageError("invalid " + std::string(m_origin) + ": " + what);
    }

    static bool plain_word(std::string_view text) {
        if (text.empty() || text.size() > 20) {
            return false;
        }
        for (const char character : text) {
            if (!std::isalnum(static_cast<unsigned char>(character)) && character != '+' &&
                character != '-' && character != '.') {
                return false;
            }
        }
        return true;
    }

    static int hex_value(char digit) {
        if (digit >= '0' && digit <= '9') return digit - '0';
        if (digit >= 'a' && digit <= 'f') return digit - 'a' + 10;
        if (digit >= 'A' && digit <= 'F') return digit - 'A' + 10;
        return -1;
    }

    std::string percent_decode(std::string_view text, std::string_view what) const {
        std::string decoded;
        for (std::size_t index = 0; index < text.size(); ++index) {
            if (text[index] != '%') {
                decoded += text[index];
                continue;
            }
            const int high = index + 1 < text.size() ? hex_value(text[index + 1]) : -1;
            const int low = index + 2 < text.size() ? hex_value(text[index + 2]) : -1;
            if (high < 0 || low < 0) {
                throw failure("a '%' in the " + std::string(what) +
                              " must start an escape of two hex digits, such as %40 for '@'");
            }
            decoded += static_cast<char>(high * 16 + low);
            index += 2;
        }
        return decoded;
    }

    // USER:PASSWORD, :PASSWORD or USER, percent-decoded.
    void parse_user_information(std::string_view text, RedisEndpoint& endpoint) const {
        if (text.find('@') != std::string_view::npos) {
            throw failure("write '@' in a user name or password as %40");
        }
        const auto colon = text.find(':');
        endpoint.user = percent_decode(text.substr(0, colon), "user name");
        if (colon == std::string_view::npos) {
            if (endpoint.user.empty()) {
                throw failure("nothing before '@': expected USER:PASSWORD@, :PASSWORD@ or USER@");
            }
            return;
        }
        endpoint.password = percent_decode(text.substr(colon + 1), "password");
        if (endpoint.password->empty()) {
            throw failure("the password after ':' is empty");
        }
    }

    std::uint16_t parse_port(std::string_view text) const {
        if (text.empty()) {
            throw failure("no port number after ':'");
        }
        unsigned long value = 0;
        for (const char character : text) {
            if (character < '0' || character > '9' || value > 65535) {
                throw failure("the port must be a number from 1 to 65535");
            }
            value = value * 10 + static_cast<unsigned long>(character - '0');
        }
        if (value == 0 || value > 65535) {
            throw failure("the port must be a number from 1 to 65535");
        }
        return static_cast<std::uint16_t>(value);
    }

    int parse_database(std::string_view text, std::string_view form) const {
        const auto invalid = [&] {
            return failure("the database must be a number from 0 to " + std::to_string(INT_MAX) +
                           ", as in " + std::string(form));
        };
        if (text.empty()) {
            throw invalid();
        }
        long long value = 0;
        for (const char character : text) {
            if (character < '0' || character > '9') {
                throw invalid();
            }
            value = value * 10 + (character - '0');
            if (value > INT_MAX) {
                throw invalid();
            }
        }
        return static_cast<int>(value);
    }

    void parse_host(std::string_view text, RedisEndpoint& endpoint) const {
        std::string_view port_text;
        bool has_port = false;
        if (!text.empty() && text.front() == '[') {
            const auto close = text.find(']');
            if (close == std::string_view::npos) {
                throw failure("missing ']' after the IPv6 address");
            }
            endpoint.host = std::string(text.substr(1, close - 1));
            in6_addr address{};
            if (inet_pton(AF_INET6, endpoint.host.c_str(), &address) != 1) {
                throw failure("'" + endpoint.host + "' in brackets is not an IPv6 address");
            }
            const std::string_view after = text.substr(close + 1);
            if (!after.empty() && after.front() != ':') {
                throw failure("unexpected text after the IPv6 address: expected ':PORT'");
            }
            has_port = !after.empty();
            port_text = has_port ? after.substr(1) : std::string_view{};
        } else {
            const auto colon = text.find(':');
            if (colon != std::string_view::npos && text.find(':', colon + 1) != std::string_view::npos) {
                throw failure("an IPv6 address must be written in brackets, as in redis://[::1]:6379");
            }
            endpoint.host = std::string(text.substr(0, colon));
            has_port = colon != std::string_view::npos;
            port_text = has_port ? text.substr(colon + 1) : std::string_view{};
            if (endpoint.host.empty()) {
                throw failure("no host name: expected " + std::string(k_tcp_form));
            }
            if (endpoint.host.size() > k_max_host_name) {
                throw failure("the host name is longer than 253 characters");
            }
            for (const char character : endpoint.host) {
                if (!std::isalnum(static_cast<unsigned char>(character)) && character != '-' &&
                    character != '.' && character != '_') {
                    throw failure(std::string("the host name contains '") + character +
                                  "' (a '%' or '[' is not allowed in a host name)");
                }
            }
        }
        if (has_port) {
            endpoint.port = parse_port(port_text);
        }
    }

    RedisEndpoint parse_tcp(std::string_view rest) const {
        RedisEndpoint endpoint;
        endpoint.transport = RedisEndpoint::Transport::tcp;
        const auto authority_end = rest.find_first_of("/?");
        std::string_view authority = rest.substr(0, authority_end);
        const std::string_view tail =
            authority_end == std::string_view::npos ? std::string_view{} : rest.substr(authority_end);
        const auto at = authority.rfind('@');
        if (at != std::string_view::npos) {
            parse_user_information(authority.substr(0, at), endpoint);
            authority = authority.substr(at + 1);
        }
        parse_host(authority, endpoint);
        if (tail.find('?') != std::string_view::npos) {
            throw failure("query parameters are not supported; the database number goes in the "
                          "path, as in redis://HOST:PORT/2");
        }
        if (tail.size() > 1) {
            endpoint.database = parse_database(tail.substr(1), "redis://HOST:PORT/2");
        }
        return endpoint;
    }

    RedisEndpoint parse_unix(std::string_view rest) const {
        RedisEndpoint endpoint;
        endpoint.transport = RedisEndpoint::Transport::unix_socket;
        endpoint.host.clear();
        endpoint.port = 0;
        const auto path_start = rest.find('/');
        const std::string_view authority = rest.substr(0, path_start);
        if (!authority.empty()) {
            const auto at = authority.rfind('@');
            if (at == std::string_view::npos || at + 1 != authority.size()) {
                throw failure("a unix:// URL names no host: write the socket path after three "
                              "slashes, as in unix:///run/redis/redis.sock");
            }
            parse_user_information(authority.substr(0, at), endpoint);
        }
        if (path_start == std::string_view::npos) {
            throw failure("no socket path: expected " + std::string(k_unix_form));
        }
        const std::string_view path_and_query = rest.substr(path_start);
        const auto query = path_and_query.find('?');
        endpoint.socket_path = std::string(path_and_query.substr(0, query));
        if (endpoint.socket_path == "/") {
            throw failure("no socket path: expected " + std::string(k_unix_form));
        }
        if (endpoint.socket_path.size() > k_max_socket_path) {
            throw failure("the socket path is longer than " + std::to_string(k_max_socket_path) + " bytes");
        }
        if (query != std::string_view::npos) {
            const std::string_view parameter = path_and_query.substr(query + 1);
            if (parameter.substr(0, 3) != "db=") {
                throw failure("the only query parameter of a unix:// URL is db=DB");
            }
            endpoint.database = parse_database(parameter.substr(3), "unix:///PATH?db=2");
        }
        return endpoint;
    }

    std::string_view m_url;
    std::string_view m_origin;
};

}  // namespace

std::string RedisEndpoint::display() const {
    std::string text = transport == Transport::tcp ? "redis://" : "unix://";
    if (!user.empty()) {
        text += user + "@";
    }
    if (transport == Transport::unix_socket) {
        text += socket_path;
        if (database != 0) {
            text += "?db=" + std::to_string(database);
        }
        return text;
    }
    text += host.find(':') != std::string::npos ? "[" + host + "]" : host;
    text += ":" + std::to_string(port);
    if (database != 0) {
        text += "/" + std::to_string(database);
    }
    return text;
}

RedisEndpoint parse_redis_url(std::string_view url, std::string_view origin) {
    return UrlParser(url, origin).parse();
}

}  // namespace plock
