// `plock redis` refuses bad input before it connects anywhere: exit 64 and
// one line on stderr that names the option or value and the reason.
#include <catch2/catch.hpp>

#include "plock/exit_code.hpp"
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
