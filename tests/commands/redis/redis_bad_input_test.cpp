// `plock redis` refuses bad input before it connects anywhere: exit 64 and
// one line on stderr that names the option or value and the reason. A server
// that misbehaves (closes mid-reply, speaks something else, stalls) gives 69.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <thread>

#include "bad_input.hpp"
#include "cli/exit_code.hpp"
#include "test_support.hpp"

using namespace plock;
using namespace plock::test;

namespace {

// Nothing listens there: reaching it would give 69, not 64.
const std::string k_dead_url = "redis://127.0.0.1:1";

void check_refused(const std::vector<std::string>& arguments, const std::string& reason,
                   const RunOptions& options = {}) {
    std::string shown;
    for (const std::string& argument : arguments) {
        shown += argument + " ";
    }
    INFO("plock " << shown);
    const Result result = run_plock(arguments, options);
    CHECK(result.status == exit_code::k_usage);
    CHECK(result.out.empty());
    CHECK_THAT(result.err, Catch::StartsWith("plock: error: ") && Catch::Contains(reason) && Catch::EndsWith("\n"));
    CHECK(std::count(result.err.begin(), result.err.end(), '\n') == 1);
}

}  // namespace

TEST_CASE("bad URLs are refused with 64 naming where the URL came from", "[redis_bad_input]") {
    check_refused({"redis", "--url", "127.0.0.1:6379", "job", "--", "true"}, "invalid --url: expected redis://");
    check_refused({"redis", "--url", "redis://h:70000", "job", "--", "true"}, "invalid --url: the port must be");
    check_refused({"redis", "--url", "rediss://h", "job", "--", "true"}, "TLS");
    check_refused({"redis", "--url", "redis://h/abc", "job", "--", "true"}, "database must be a number");
    check_refused({"redis", "job", "--", "true"}, "invalid PLOCK_REDIS_URL: unknown scheme 'http://'",
                  with_variable("PLOCK_REDIS_URL", "http://example.com"));
}

TEST_CASE("a password in a refused URL is not repeated", "[redis_bad_input]") {
    const Result result = run_plock({"redis", "--url", "redis://user:hunter2@h:0", "job", "--", "true"});
    CHECK(result.status == exit_code::k_usage);
    CHECK_THAT(result.err, !Catch::Contains("hunter2"));
}

TEST_CASE("bad leases permits and timeouts are refused with 64", "[redis_bad_input]") {
    check_refused({"redis", "--url", k_dead_url, "--lease", "0.5", "job", "--", "true"}, "'0.5' for --lease: must be at least 1 second");
    check_refused({"redis", "--url", k_dead_url, "--lease", "abc", "job", "--", "true"}, "'abc' for --lease");
    check_refused({"redis", "--url", k_dead_url, "--lease", "-3", "job", "--", "true"}, "must not be negative");
    check_refused({"redis", "--url", k_dead_url, "--permits", "0", "job", "--", "true"}, "'0' for --permits: expected a number from 1 to 10000");
    check_refused({"redis", "--url", k_dead_url, "--permits", "10001", "job", "--", "true"}, "for --permits");
    check_refused({"redis", "--url", k_dead_url, "--permits", "2x", "job", "--", "true"}, "for --permits");
    check_refused({"redis", "--url", k_dead_url, "--permits", "-1", "job", "--", "true"}, "for --permits");
    check_refused({"redis", "--url", k_dead_url, "-w", "soon", "job", "--", "true"}, "'soon' for -w/--timeout");
    check_refused({"redis", "--url", k_dead_url, "-E", "300", "job", "--", "true"}, "-E/--conflict-exit-code");
    check_refused({"redis", "--url", k_dead_url, "-n", "-w", "1", "job", "--", "true"}, "excludes");
    check_refused({"redis", "--url", k_dead_url, "--time-limit", "0", "job", "--", "true"},
                  "'0' for --time-limit: must be more than 0 seconds");
    check_refused({"redis", "--url", k_dead_url, "--time-limit", "1h", "job", "--", "true"}, "'1h' for --time-limit");
    check_refused({"redis", "--url", k_dead_url, "--grace", "-2", "job", "--", "true"},
                  "'-2' for --grace: must not be negative");
}

TEST_CASE("bad names and missing commands are refused with 64", "[redis_bad_input]") {
    check_refused({"redis", "--url", k_dead_url, "", "--", "true"}, "the lock name is empty");
    check_refused({"redis", "--url", k_dead_url, "a\nb", "--", "true"}, "control character");
    check_refused({"redis", "--url", k_dead_url, "job:fencing", "--", "true"}, "must not end in ':fencing'");
    check_refused({"redis", "--url", k_dead_url, "job"}, "no command given");
    check_refused({"redis", "--url", k_dead_url, "job", "--"}, "no command after '--'");
    check_refused({"redis", "--url", k_dead_url, "job", "-c", "true", "--", "true"}, "not both");
    check_refused({"redis", "--url", k_dead_url}, "NAME is required");
    check_refused({"redis", "--url", k_dead_url, "job", "true"}, "as in 'plock redis NAME -- COMMAND...'");
    check_refused({"redis", "--url", k_dead_url, "--shared", "job", "--", "true"}, "--shared");
}

TEST_CASE("bad password sources are refused with 64", "[redis_bad_input]") {
    TempDir directory;
    check_refused({"redis", "--url", k_dead_url, "--password-file", directory / "missing", "job", "--", "true"},
                  "cannot read --password-file " + directory / "missing" + ": No such file or directory");
    write_file(directory / "empty", "\n");
    check_refused({"redis", "--url", k_dead_url, "--password-file", directory / "empty", "job", "--", "true"},
                  "is empty");
    write_file(directory / "two", "one\ntwo\n");
    check_refused({"redis", "--url", k_dead_url, "--password-file", directory / "two", "job", "--", "true"},
                  "more than one line");
    check_refused({"redis", "--url", "redis://alice@127.0.0.1:1", "job", "--", "true"},
                  "names the user 'alice' but no password", without_variable("PLOCK_REDIS_PASSWORD"));
}

namespace {

// A Redis server that misbehaves, on a loopback port: each connection gets
// `reply` once the first bytes of a request arrive, and then, as `ending`
// says, is closed or left open with nothing more said (a server that stalls).
class FakeRedisServer {
public:
    enum class Ending { close, stall };

    FakeRedisServer(std::string reply, Ending ending) : m_reply(std::move(reply)), m_ending(ending) {
        m_listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        REQUIRE(m_listener >= 0);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(bind(m_listener, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0);
        REQUIRE(listen(m_listener, 8) == 0);
        socklen_t length = sizeof address;
        REQUIRE(getsockname(m_listener, reinterpret_cast<sockaddr*>(&address), &length) == 0);
        m_port = ntohs(address.sin_port);
        REQUIRE(pipe2(m_stop, O_CLOEXEC) == 0);
        m_thread = std::thread([this] { serve(); });
    }
    ~FakeRedisServer() {
        const char stop = 1;
        [[maybe_unused]] const ssize_t written = write(m_stop[1], &stop, 1);
        m_thread.join();
        for (const int fd : {m_listener, m_stop[0], m_stop[1]}) {
            close(fd);
        }
    }
    FakeRedisServer(const FakeRedisServer&) = delete;
    FakeRedisServer& operator=(const FakeRedisServer&) = delete;

    std::string url() const { return "redis://127.0.0.1:" + std::to_string(m_port); }
    int requests() const { return m_requests.load(); }

private:
    // Waits for `fd` to be readable; false when the test is over.
    bool readable(int fd) const {
        pollfd entries[2] = {{fd, POLLIN, 0}, {m_stop[0], POLLIN, 0}};
        while (poll(entries, 2, -1) < 0 && errno == EINTR) {
        }
        return (entries[1].revents & POLLIN) == 0;
    }

    void serve() {
        std::vector<int> stalled;
        while (readable(m_listener)) {
            const int connection = accept4(m_listener, nullptr, nullptr, SOCK_CLOEXEC);
            if (connection < 0) {
                continue;
            }
            char request[4096];
            if (readable(connection) && recv(connection, request, sizeof request, 0) > 0) {
                ++m_requests;
                [[maybe_unused]] const ssize_t sent = send(connection, m_reply.data(), m_reply.size(), MSG_NOSIGNAL);
            }
            if (m_ending == Ending::close) {
                // A close with part of the request unread would be a reset
                // (or not, by timing): end our side, then read until plock
                // has given up and closed its own.
                shutdown(connection, SHUT_WR);
                while (readable(connection) && recv(connection, request, sizeof request, 0) > 0) {
                }
                close(connection);
            } else {
                stalled.push_back(connection);
            }
        }
        for (const int connection : stalled) {
            close(connection);
        }
    }

    std::string m_reply;
    Ending m_ending;
    int m_listener = -1;
    int m_stop[2] = {-1, -1};
    std::uint16_t m_port = 0;
    std::atomic<int> m_requests{0};
    std::thread m_thread;
};

}  // namespace

TEST_CASE("a Redis server that closes the connection in the middle of a reply gives 69 and the command does not run", "[redis_bad_input]") {
    TempDir directory;
    FakeRedisServer server("$20\r\nonly part of", FakeRedisServer::Ending::close);
    const std::string reason = "cannot reach Redis at " + server.url() + ": the server closed the connection";
    check_bad_input({"redis", {"redis", "--url", server.url(), "job", "-c", "MARK"}, exit_code::k_unavailable, reason}, directory);
    check_bad_input({"redis -n", {"redis", "-n", "--url", server.url(), "job", "-c", "MARK"}, exit_code::k_unavailable, reason},
                    directory);
    check_bad_input({"status --redis", {"status", "--redis", "job", "--url", server.url()}, exit_code::k_unavailable, reason},
                    directory);
    CHECK(server.requests() >= 3);
}

TEST_CASE("a server that does not speak Redis gives 69 naming the garbage", "[redis_bad_input]") {
    TempDir directory;
    FakeRedisServer server("HTTP/1.1 400 Bad Request\r\n\r\n", FakeRedisServer::Ending::close);
    check_bad_input({"redis", {"redis", "--url", server.url(), "job", "-c", "MARK"}, exit_code::k_unavailable,
                     "cannot reach Redis at " + server.url() + ": not a Redis reply"},
                    directory);
}

TEST_CASE("a Redis server that stops answering gives 69 after the I/O deadline", "[redis_bad_input]") {
    TempDir directory;
    FakeRedisServer server("", FakeRedisServer::Ending::stall);
    const auto started = std::chrono::steady_clock::now();
    check_bad_input({"stalled server", {"redis", "--url", server.url(), "job", "-c", "MARK"}, exit_code::k_unavailable,
                     "cannot reach Redis at " + server.url() + ": no reply within 5"},
                    directory);
    // It waited for the whole deadline (5 s from a moment after `started`);
    // that the deadline, not something else, ended it is the message above.
    // (No upper bound: a loaded machine may take longer to show the exit.)
    const auto elapsed = std::chrono::steady_clock::now() - started;
    CHECK(elapsed >= std::chrono::seconds(5));
}

TEST_CASE("more bad lease prefix and name values are refused with 64 naming the value", "[redis_bad_input]") {
    check_refused({"redis", "--url", k_dead_url, "--lease", "nan", "job", "--", "true"}, "invalid value 'nan' for --lease");
    check_refused({"redis", "--url", k_dead_url, "--lease", "1e300", "job", "--", "true"}, "invalid value '1e300' for --lease: too large");
    check_refused({"redis", "--url", k_dead_url, "--permits", "", "job", "--", "true"}, "invalid value '' for --permits");
    check_refused({"redis", "--url", k_dead_url, "--key-prefix", "a\nb", "job", "--", "true"},
                  "invalid key prefix 'a\\nb': it contains a control character");
    check_refused({"redis", "--url", k_dead_url, std::string(1025, 'x'), "--", "true"}, "the lock name is longer than 1024 bytes");
    check_refused({"redis", "--url", k_dead_url, "--unknown", "job", "--", "true"}, "unknown option '--unknown' for 'plock redis'");
    check_refused({"redis", "--url", "redis://127.0.0.1:1/99999999999999999999", "job", "--", "true"}, "invalid --url");
}
