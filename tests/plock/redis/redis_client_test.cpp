// Tests of RedisClient against a private redis-server: commands and replies,
// logins, unix sockets, deadlines on a stalled server, and failures that
// name the server and map to the right error.
#include <catch2/catch.hpp>

#include <fcntl.h>

#include "plock/sys/error.hpp"
#include "plock/redis/redis_client.hpp"
#include "redis_server.hpp"

using namespace plock;
using namespace plock::test;

namespace {

Clock::time_point soon() { return Clock::now() + 5s; }

RedisEndpoint endpoint_of(const RedisServer& server) { return parse_redis_url(server.url()); }

SystemError connect_error(const RedisEndpoint& endpoint) {
    try {
        RedisClient::connect(endpoint, soon()).command({"PING"}, soon());
    } catch (const SystemError& error) {
        return error;
    }
    FAIL("no error");
    return SystemError(Operation::system, "", 0);
}

}  // namespace

TEST_CASE("a client sends commands and reads strings integers nil arrays and errors", "[redis_client]") {
    RedisServer server;
    RedisClient client = RedisClient::connect(endpoint_of(server), soon());
    CHECK(client.command({"SET", "k", std::string("a\0b", 3)}, soon()).text == "OK");
    CHECK(client.command({"GET", "k"}, soon()).text == std::string("a\0b", 3));
    CHECK(client.command({"INCR", "n"}, soon()).integer == 1);
    CHECK(client.command({"GET", "missing"}, soon()).is_nil());
    const RedisValue list = client.command({"EVAL", "return {1, 'x', {2}}", "0"}, soon());
    REQUIRE(list.type == RedisValue::Type::array);
    REQUIRE(list.elements.size() == 3);
    CHECK(list.elements[1].text == "x");
    CHECK(list.elements[2].elements.at(0).integer == 2);
    const RedisValue error = client.command({"INCR", "k"}, soon());
    CHECK(error.is_error());
    CHECK_THAT(error.text, Catch::StartsWith("ERR"));
}

TEST_CASE("the connection is close-on-exec", "[redis_client]") {
    RedisServer server;
    RedisClient client = RedisClient::connect(endpoint_of(server), soon());
    CHECK((fcntl(client.fd(), F_GETFD) & FD_CLOEXEC) != 0);
}

TEST_CASE("a client reaches the server through its unix socket and selects the database", "[redis_client]") {
    RedisServer server;
    RedisClient client = RedisClient::connect(parse_redis_url("unix://" + server.socket_path() + "?db=3"), soon());
    CHECK(client.command({"SET", "in-three", "1"}, soon()).text == "OK");
    CHECK(server.cli({"-n", "3", "GET", "in-three"}) == "1");
    CHECK(server.cli({"-n", "0", "EXISTS", "in-three"}) == "0");
}

TEST_CASE("a database the server does not have is a usage error", "[redis_client]") {
    RedisServer server;
    CHECK_THROWS_AS(RedisClient::connect(parse_redis_url(server.url() + "/99"), soon()), UsageError);
}

TEST_CASE("a port where nothing listens cannot be reached", "[redis_client]") {
    const SystemError error = connect_error(parse_redis_url("redis://127.0.0.1:" + std::to_string(unused_port())));
    CHECK(error.operation() == Operation::reach);
    CHECK(error.error_number() == ECONNREFUSED);
    CHECK_THAT(error.what(), Catch::StartsWith("cannot reach Redis at redis://127.0.0.1:"));
}

TEST_CASE("a missing unix socket cannot be reached", "[redis_client]") {
    TempDir directory;
    const SystemError error = connect_error(parse_redis_url("unix://" + directory / "none.sock"));
    CHECK(error.operation() == Operation::reach);
    CHECK(error.error_number() == ENOENT);
}

TEST_CASE("a wrong password and a missing one are refused as authentication failures", "[redis_client]") {
    RedisServer server(RedisServer::Options{"right-password"});
    RedisEndpoint endpoint = endpoint_of(server);
    endpoint.password = "wrong-password";
    const SystemError wrong = connect_error(endpoint);
    CHECK(wrong.operation() == Operation::authenticate);
    CHECK_THAT(wrong.what(), !Catch::Contains("wrong-password"));
    endpoint.password.reset();
    const SystemError missing = connect_error(endpoint);
    CHECK(missing.operation() == Operation::authenticate);
    CHECK_THAT(missing.what(), Catch::Contains("requires a password"));
    endpoint.password = "right-password";
    CHECK(RedisClient::connect(endpoint, soon()).command({"PING"}, soon()).text == "PONG");
}

TEST_CASE("a stalled server makes a command fail at its deadline", "[redis_client]") {
    RedisServer server;
    RedisClient client = RedisClient::connect(endpoint_of(server), soon());
    server.pause();
    const auto start = Clock::now();
    try {
        client.command({"PING"}, start + 300ms);
        FAIL("a stopped server answered");
    } catch (const SystemError& error) {
        CHECK(error.operation() == Operation::reach);
        CHECK(error.error_number() == ETIMEDOUT);
        CHECK_THAT(error.what(), Catch::Contains("no reply within"));
    }
    const auto waited = Clock::now() - start;
    server.resume();
    CHECK(waited >= 300ms);
    CHECK(waited < 5s);
}

TEST_CASE("a connection the server closed is noticed before it is used", "[redis_client]") {
    RedisServer server;
    RedisClient client = RedisClient::connect(endpoint_of(server), soon());
    CHECK_FALSE(client.peer_closed());
    server.cli({"CLIENT", "KILL", "TYPE", "normal"});
    CHECK(wait_until([&] { return client.peer_closed(); }, 10s));
}

TEST_CASE("a failed client refuses further commands instead of reading stale replies", "[redis_client]") {
    RedisServer server;
    RedisClient client = RedisClient::connect(endpoint_of(server), soon());
    server.pause();
    CHECK_THROWS_AS(client.command({"PING"}, Clock::now() + 100ms), SystemError);
    server.resume();
    CHECK_THROWS_AS(client.command({"PING"}, soon()), SystemError);
}
