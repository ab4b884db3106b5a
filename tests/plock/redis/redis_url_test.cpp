// Tests of the Redis URL parser: the forms it accepts, what it makes of
// them, and a clear refusal (that never repeats the password) for the rest.
#include <catch2/catch.hpp>

#include "plock/sys/error.hpp"
#include "plock/redis/redis_url.hpp"

using namespace plock;
using Transport = RedisEndpoint::Transport;

namespace {

std::string refusal(const std::string& url) {
    try {
        parse_redis_url(url, "--url");
    } catch (const UsageError& error) {
        return error.what();
    }
    FAIL("accepted: " << url);
    return {};
}

}  // namespace

TEST_CASE("a host and port URL gives TCP with database 0 and no login", "[redis_url]") {
    const RedisEndpoint endpoint = parse_redis_url("redis://10.1.2.3:6380");
    CHECK(endpoint.transport == Transport::tcp);
    CHECK(endpoint.host == "10.1.2.3");
    CHECK(endpoint.port == 6380);
    CHECK(endpoint.database == 0);
    CHECK(endpoint.user.empty());
    CHECK_FALSE(endpoint.password);
}

TEST_CASE("the port defaults to 6379 and the database comes from the path", "[redis_url]") {
    CHECK(parse_redis_url("redis://cache.example.com").port == 6379);
    CHECK(parse_redis_url("redis://cache.example.com/").database == 0);
    CHECK(parse_redis_url("redis://cache.example.com:7000/5").database == 5);
    CHECK(parse_redis_url("redis://h/2147483647").database == 2147483647);
}

TEST_CASE("user and password are taken from the URL and percent-decoded", "[redis_url]") {
    const RedisEndpoint both = parse_redis_url("redis://alice:p%40ss%3Aw0rd@h:1/3");
    CHECK(both.user == "alice");
    CHECK(both.password == "p@ss:w0rd");
    CHECK(both.host == "h");
    CHECK(both.port == 1);
    CHECK(both.database == 3);
    const RedisEndpoint password_only = parse_redis_url("redis://:secret@h");
    CHECK(password_only.user.empty());
    CHECK(password_only.password == "secret");
    const RedisEndpoint user_only = parse_redis_url("redis://bob@h");
    CHECK(user_only.user == "bob");
    CHECK_FALSE(user_only.password);
}

TEST_CASE("an IPv6 address is written in brackets", "[redis_url]") {
    const RedisEndpoint endpoint = parse_redis_url("redis://[::1]:6390/1");
    CHECK(endpoint.host == "::1");
    CHECK(endpoint.port == 6390);
    CHECK(endpoint.display() == "redis://[::1]:6390/1");
    CHECK_THAT(refusal("redis://::1:6379"), Catch::Contains("brackets"));
    CHECK_THAT(refusal("redis://[::1:6379"), Catch::Contains("']'"));
    CHECK_THAT(refusal("redis://[not-v6]:6379"), Catch::Contains("not an IPv6 address"));
    CHECK_THAT(refusal("redis://[::1]x"), Catch::Contains("after the IPv6 address"));
}

TEST_CASE("a unix socket URL takes an absolute path and an optional database", "[redis_url]") {
    const RedisEndpoint endpoint = parse_redis_url("unix:///run/redis/redis.sock");
    CHECK(endpoint.transport == Transport::unix_socket);
    CHECK(endpoint.socket_path == "/run/redis/redis.sock");
    CHECK(endpoint.database == 0);
    const RedisEndpoint with_login = parse_redis_url("unix://u:pw@/tmp/r.sock?db=4");
    CHECK(with_login.user == "u");
    CHECK(with_login.password == "pw");
    CHECK(with_login.socket_path == "/tmp/r.sock");
    CHECK(with_login.database == 4);
    CHECK(with_login.display() == "unix://u@/tmp/r.sock?db=4");
}

TEST_CASE("display shows the URL without the password", "[redis_url]") {
    CHECK(parse_redis_url("redis://alice:secret@h:7/2").display() == "redis://alice@h:7/2");
    CHECK(parse_redis_url("redis://:secret@h").display() == "redis://h:6379");
}

TEST_CASE("malformed URLs are refused with the reason and the option", "[redis_url]") {
    const std::vector<std::pair<std::string, std::string>> cases{
        {"", "empty"},
        {"127.0.0.1:6379", "expected redis://"},
        {"http://h:1", "unknown scheme 'http://'"},
        {"rediss://h:1", "TLS"},
        {"redis://", "no host"},
        {"redis://:6379", "no host"},
        {"redis://h:", "no port"},
        {"redis://h:0", "1 to 65535"},
        {"redis://h:65536", "1 to 65535"},
        {"redis://h:12345678901234567890", "1 to 65535"},
        {"redis://h:-1", "1 to 65535"},
        {"redis://h:6379x", "1 to 65535"},
        {"redis://h/x", "database must be a number"},
        {"redis://h/-1", "database must be a number"},
        {"redis://h/1/2", "database must be a number"},
        {"redis://h/99999999999", "database must be a number"},
        {"redis://h?db=1", "query parameters"},
        {"redis://h/1?timeout=2", "query parameters"},
        {"redis://h#x", "fragment"},
        {"redis://h ost", "space"},
        {"redis://h\tx", "control character"},
        {"redis://ho%73t", "host name contains '%'"},
        {"redis://a@b@h", "%40"},
        {"redis://@h", "nothing before '@'"},
        {"redis://u:@h", "password after ':' is empty"},
        {"redis://u:%zz@h", "escape"},
        {"redis://u:%4@h", "escape"},
        {"unix://", "no socket path"},
        {"unix:///", "no socket path"},
        {"unix://run/redis.sock", "three slashes"},
        {"unix:///r.sock?x=1", "db=DB"},
        {"unix:///r.sock?db=", "database must be a number"},
        {"unix:///" + std::string(200, 'a'), "longer than 107 bytes"},
    };
    for (const auto& [url, reason] : cases) {
        INFO("URL: " << url);
        const std::string message = refusal(url);
        CHECK_THAT(message, Catch::StartsWith("invalid --url: ") && Catch::Contains(reason));
    }
}

TEST_CASE("no refusal repeats the password", "[redis_url]") {
    for (const std::string url : {"redis://u:hunter2@h:99999", "redis://u:hunter2@h/x", "redis://:hunter2@h?a=b",
                                  "redis://:hunter2@", "redis://u:hunter2", "redis://:hunter2@[::1"}) {
        INFO("URL: " << url);
        CHECK_THAT(refusal(url), !Catch::Contains("hunter2"));
    }
}

TEST_CASE("the default URL is the local server on the standard port", "[redis_url]") {
    const RedisEndpoint endpoint = parse_redis_url(k_default_redis_url);
    CHECK(endpoint.display() == "redis://127.0.0.1:6379");
}
