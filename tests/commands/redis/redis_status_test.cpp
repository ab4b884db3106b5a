// `plock status --redis` and the library's inspect_redis_lock against a
// private redis-server: a free name, a held lock, a semaphore's permits with
// their leases, expired permits, a foreign key, an unreachable server; text
// and JSON; and that looking changes nothing on the server.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "plock/sys/error.hpp"
#include "cli/exit_code.hpp"
#include "plock/redis/redis_status.hpp"
#include "redis_server.hpp"

using namespace plock;
using namespace plock::test;
using nlohmann::json;

namespace {

RedisLockSpec named(const std::string& name) {
    RedisLockSpec spec;
    spec.name = name;
    return spec;
}

RedisEndpoint endpoint_of(const RedisServer& server) { return parse_redis_url(server.url()); }

Result status_of(const RedisServer& server, std::vector<std::string> rest) {
    std::vector<std::string> arguments{"status", "--url", server.url()};
    arguments.insert(arguments.end(), rest.begin(), rest.end());
    return run_plock(arguments);
}

// Everything the server holds, to show that a status query changed nothing.
std::string snapshot(const RedisServer& server) {
    std::string text;
    for (const std::string& key : lines_of(server.cli({"KEYS", "*"}))) {
        text += key + "=" + server.cli({"TYPE", key}) + ":" + server.cli({"DUMP", key}) + "\n";
    }
    return text;
}

// How the text report shows a time left under a minute: 9.87s, 12.3s.
const std::string k_lease_shown = "([0-9]\\.[0-9]{2}|[1-5][0-9]\\.[0-9])s";

// The seconds of "lease ends in 12.3s" in a line of the text report.
double lease_seconds_in(const std::string& line) {
    const std::string label = "lease ends in ";
    const auto at = line.find(label);
    REQUIRE(at != std::string::npos);
    return std::stod(line.substr(at + label.size()));
}

}  // namespace

TEST_CASE("a name nobody took is free and has no fencing counter", "[redis_status]") {
    RedisServer server;
    const RedisLockState state = inspect_redis_lock(endpoint_of(server), named("idle"));
    CHECK(state.kind == RedisLockState::Kind::free);
    CHECK_FALSE(state.held());
    CHECK_FALSE(state.fencing_counter);

    const Result result = status_of(server, {"--redis", "idle"});
    INFO(result.err);
    CHECK(result.status == exit_code::k_status_free);
    CHECK(result.out == "plock:idle on " + server.url() + ": free (fencing counter none)\n");
    CHECK(result.err.empty());
}

TEST_CASE("a held lock shows its holder's token and remaining lease and the fencing counter", "[redis_status]") {
    RedisServer server;
    TempDir directory;
    const Gate gate(directory);
    // Two runs before, so that the counter is not 1 by chance.
    for (int run = 0; run < 2; ++run) {
        REQUIRE(run_plock({"redis", "--url", server.url(), "deploy", "--", "true"}).status == 0);
    }
    Process holder = Process::start_plock(
        {"redis", "--url", server.url(), "--lease", "20", "deploy", "-c", "echo \"$PLOCK_LOCK_TOKEN\" > '" +
                                                                            directory / "token" + "'; " +
                                                                            gate.hold_command()});
    REQUIRE(gate.wait_ready());
    const std::string token = lines_of(read_file(directory / "token")).at(0);
    // A waiter subscribes to the release channel: status counts it.
    Process waiter = Process::start_plock({"redis", "--url", server.url(), "-w", "60", "deploy", "--", "true"});
    REQUIRE(wait_until([&] { return server.cli({"PUBSUB", "NUMSUB", "plock:deploy"}) == "plock:deploy\n1"; }));
    const std::string before = snapshot(server);

    const RedisLockState state = inspect_redis_lock(endpoint_of(server), named("deploy"));
    CHECK(state.kind == RedisLockState::Kind::lock);
    REQUIRE(state.holders.size() == 1);
    CHECK(state.holders[0].token == token);
    // The lease is renewed every third of it, so the time left is anything
    // up to the whole 20 s (20.0 right after a renewal); how much below
    // depends on when the last renewal ran, so only the bounds are exact.
    REQUIRE(state.holders[0].remaining);
    CHECK(state.holders[0].remaining->count() > 0);
    CHECK(state.holders[0].remaining->count() <= 20'000);
    CHECK(state.fencing_counter == 3);
    CHECK(state.waiters == 1);

    const Result text = status_of(server, {"--redis", "deploy"});
    INFO(text.err);
    CHECK(text.status == exit_code::k_status_held);
    const auto lines = lines_of(text.out);
    REQUIRE(lines.size() == 2);
    CHECK_THAT(lines[0], Catch::Matches("plock:deploy on redis://127\\.0\\.0\\.1:[0-9]+: held, lease ends in " +
                                        k_lease_shown + ", 1 waiting \\(fencing counter 3\\)"));
    const double shown = lease_seconds_in(lines[0]);
    CHECK(shown >= 0.0);
    CHECK(shown <= 20.0);
    CHECK(lines[1] == "  holder  token " + token);

    const Result as_json = status_of(server, {"--json", "--redis", "deploy"});
    CHECK(as_json.status == exit_code::k_status_held);
    const json document = json::parse(as_json.out);
    CHECK(document["version"] == 1);
    const json& lock = document["locks"].at(0);
    CHECK(lock["type"] == "redis");
    CHECK(lock["name"] == "deploy");
    CHECK(lock["key"] == "plock:deploy");
    CHECK(lock["server"] == server.url());
    CHECK(lock["state"] == "held");
    CHECK(lock["kind"] == "lock");
    CHECK(lock["fencing_counter"] == 3);
    REQUIRE(lock["holders"].size() == 1);
    CHECK(lock["holders"][0]["token"] == token);
    CHECK(lock["holders"][0]["permit"].is_null());
    CHECK(lock["holders"][0]["fencing_token"].is_null());
    CHECK(lock["holders"][0]["lease_remaining_seconds"].get<double>() > 0.0);
    CHECK(lock["holders"][0]["lease_remaining_seconds"].get<double>() <= 20.0);
    CHECK(lock["waiters"] == 1);

    // Looking is read-only: the same keys, values and types afterwards.
    CHECK(snapshot(server) == before);
    gate.open();
    CHECK(holder.wait() == 0);
    CHECK(waiter.wait() == 0);
    CHECK(status_of(server, {"-q", "--redis", "deploy"}).status == exit_code::k_status_free);
    CHECK(inspect_redis_lock(endpoint_of(server), named("deploy")).fencing_counter == 4);
}

TEST_CASE("a semaphore's permits are listed by permit with fencing tokens and leases", "[redis_status]") {
    RedisServer server;
    TempDir directory;
    const Gate first(directory, "first");
    const Gate second(directory, "second");
    Process one = Process::start_plock({"redis", "--url", server.url(), "--permits", "3", "--lease", "30", "pool",
                                        "-c", first.hold_command()});
    REQUIRE(first.wait_ready());
    Process two = Process::start_plock({"redis", "--url", server.url(), "--permits", "3", "--lease", "30", "pool",
                                        "-c", second.hold_command()});
    REQUIRE(second.wait_ready());

    const RedisLockState state = inspect_redis_lock(endpoint_of(server), named("pool"));
    CHECK(state.kind == RedisLockState::Kind::semaphore);
    REQUIRE(state.holders.size() == 2);
    CHECK(state.holders[0].permit == 0u);
    CHECK(state.holders[1].permit == 1u);
    CHECK(state.holders[0].fencing_token == 1);
    CHECK(state.holders[1].fencing_token == 2);
    CHECK(state.fencing_counter == 2);
    for (const RedisHolderState& holder : state.holders) {
        CHECK_THAT(holder.token, Catch::Matches("[0-9a-f]{32}"));
        REQUIRE(holder.remaining);
        CHECK(holder.remaining->count() > 0);  // renewed every 10 s: anything up to the lease
        CHECK(holder.remaining->count() <= 30'000);
    }

    const Result text = status_of(server, {"--redis", "pool"});
    CHECK(text.status == exit_code::k_status_held);
    const auto lines = lines_of(text.out);
    REQUIRE(lines.size() == 3);
    CHECK(lines[0] == "plock:pool on " + server.url() + ": semaphore, 2 permits held (fencing counter 2)");
    CHECK_THAT(lines[1], Catch::Matches("  permit 0  token " + state.holders[0].token +
                                        "  fencing token 1  lease ends in " + k_lease_shown));
    CHECK_THAT(lines[2], Catch::Matches("  permit 1  token " + state.holders[1].token +
                                        "  fencing token 2  lease ends in " + k_lease_shown));
    for (const std::string& line : {lines[1], lines[2]}) {
        CHECK(lease_seconds_in(line) >= 0.0);
        CHECK(lease_seconds_in(line) <= 30.0);
    }

    const json lock = json::parse(status_of(server, {"--json", "--redis", "pool"}).out)["locks"].at(0);
    CHECK(lock["kind"] == "semaphore");
    REQUIRE(lock["holders"].size() == 2);
    CHECK(lock["holders"][1]["permit"] == 1);
    CHECK(lock["holders"][1]["fencing_token"] == 2);
    first.open();
    second.open();
    CHECK(one.wait() == 0);
    CHECK(two.wait() == 0);
}

TEST_CASE("expired permits are not holders and members of other shapes are shown as they are", "[redis_status]") {
    RedisServer server;
    const long long now_ms = std::stoll(lines_of(server.cli({"TIME"})).at(0)) * 1000;
    server.cli({"ZADD", "plock:mixed", std::to_string(now_ms - 5000), "aaaa:0:7"});
    server.cli({"ZADD", "plock:mixed", std::to_string(now_ms + 60'000), "bbbb:1:8"});
    server.cli({"ZADD", "plock:mixed", std::to_string(now_ms + 60'000), "someone-else"});
    const RedisLockState state = inspect_redis_lock(endpoint_of(server), named("mixed"));
    REQUIRE(state.holders.size() == 2);
    CHECK(state.holders[0].token == "bbbb");
    CHECK(state.holders[0].permit == 1u);
    CHECK(state.holders[0].fencing_token == 8);
    CHECK(state.holders[1].token == "someone-else");
    CHECK_FALSE(state.holders[1].permit);
    CHECK_FALSE(state.holders[1].fencing_token);
    // The expired member is still there: status does not clean up.
    CHECK(server.cli({"ZCARD", "plock:mixed"}) == "3");
}

TEST_CASE("a lock set without expiry under another prefix and a key of another type", "[redis_status]") {
    RedisServer server;
    server.cli({"SET", "jobs/nightly", "hand-made"});
    const Result prefixed = status_of(server, {"--key-prefix", "jobs/", "--redis", "nightly"});
    CHECK(prefixed.status == exit_code::k_status_held);
    CHECK(prefixed.out == "jobs/nightly on " + server.url() + ": held, no expiry (fencing counter none)\n"
                          "  holder  token hand-made\n");

    server.cli({"HSET", "plock:odd", "field", "value"});
    const Result odd = status_of(server, {"--redis", "odd"});
    CHECK(odd.status == exit_code::k_usage);
    CHECK(odd.out.empty());
    CHECK(odd.err == "plock: error: the key plock:odd on " + server.url() +
                         " holds a hash, neither a lock (a string) nor a semaphore (a sorted set)\n");
}

TEST_CASE("status --redis reports an unreachable server or a refused password with its exit code", "[redis_status]") {
    const Result unreachable =
        run_plock({"status", "--url", "redis://127.0.0.1:" + std::to_string(unused_port()), "--redis", "x"});
    CHECK(unreachable.status == exit_code::k_unavailable);
    CHECK(lines_of(unreachable.err).size() == 1);
    CHECK_THAT(unreachable.err, Catch::Contains("Connection refused"));
    CHECK(unreachable.out.empty());

    RedisServer::Options options;
    options.password = "s3cret";
    RedisServer guarded(options);
    const Result refused = run_plock({"status", "--url", guarded.url(), "--redis", "x"});
    CHECK(refused.status == exit_code::k_permission);
    CHECK(lines_of(refused.err).size() == 1);
    RunOptions with_password = with_variable("PLOCK_REDIS_PASSWORD", "s3cret");
    const Result accepted = run_plock({"status", "--url", guarded.url(), "--redis", "x"}, with_password);
    INFO(accepted.err);
    CHECK(accepted.status == exit_code::k_status_free);

    const Result json_error = run_plock({"status", "--json", "--url", guarded.url(), "--redis", "x"});
    CHECK(json_error.status == exit_code::k_permission);
    const json lock = json::parse(json_error.out)["locks"].at(0);
    CHECK(lock["type"] == "redis");
    CHECK(lock["state"] == "error");
    CHECK(lock["exit_status"] == exit_code::k_permission);
}

TEST_CASE("status refuses Redis options without --redis and more than one kind of lock", "[redis_status]") {
    const Result stray = run_plock({"status", "--url", "redis://127.0.0.1:1", "/tmp/x.lock"});
    CHECK(stray.status == exit_code::k_usage);
    CHECK(stray.err == "plock: error: --url, --password-file and --key-prefix only go with --redis NAME\n");
    const Result both = run_plock({"status", "--redis", "a", "--sem", "b", "-n", "2"});
    CHECK(both.status == exit_code::k_usage);
    CHECK_THAT(both.err, Catch::Contains("give only one of"));
    const Result bad_name = run_plock({"status", "--redis", "x:fencing"});
    CHECK(bad_name.status == exit_code::k_usage);
    CHECK_THAT(bad_name.err, Catch::Contains("must not end in ':fencing'"));
    const Result bad_url = run_plock({"status", "--url", "http://x", "--redis", "x"});
    CHECK(bad_url.status == exit_code::k_usage);
    CHECK(lines_of(bad_url.err).size() == 1);
}
