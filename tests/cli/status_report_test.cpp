// Tests of the status report's rendering (text, JSON, exit status).
#include <catch2/catch.hpp>

#include <sys/sysmacros.h>

#include <sstream>

#include <nlohmann/json.hpp>

#include "cli/describe.hpp"
#include "cli/status_report.hpp"
#include "cli/exit_code.hpp"

using namespace plock;
using namespace plock::cli;
using namespace std::chrono_literals;

namespace {

FileLockStatus held_status() {
    FileLockStatus status;
    status.path = "/run/x.lock";
    status.file = {makedev(254, 1), 42};
    LockEntry entry;
    entry.kind = LockKind::ofd;
    entry.exclusive = true;
    status.holders.push_back({{4242, "job --now", entry}, 75s, HeldSince::command_start});
    status.holders.push_back({{-1, "", entry}, std::nullopt, HeldSince::process_start});
    entry.exclusive = false;
    entry.waiting = true;
    status.waiters.push_back({4243, "reader", entry});
    return status;
}

}  // namespace

TEST_CASE("durations read as seconds or minutes or hours or days", "[status_report]") {
    CHECK(format_duration(250ms) == "0.25s");
    CHECK(format_duration(12300ms) == "12.3s");
    CHECK(format_duration(307s) == "5m07s");
    CHECK(format_duration(2h + 3min + 59s) == "2h03m");
    CHECK(format_duration(76h) == "3d04h");
}

TEST_CASE("the exit status is 0 for free and 1 for held and the first error's status wins", "[status_report]") {
    FileLockStatus free;
    free.path = "free";
    CHECK(status_exit_code({free}) == exit_code::k_status_free);
    CHECK(status_exit_code({free, held_status()}) == exit_code::k_status_held);
    CHECK(status_exit_code({held_status(), StatusError{"file", "x", "no", 66}, StatusError{"file", "y", "no", 77}}) == 66);
}

TEST_CASE("the text report has one line per lock and one per holder and waiter", "[status_report]") {
    std::ostringstream out;
    write_status_text(out, {held_status(), StatusError{"file", "x", "no", 66}});
    const std::string text = out.str();
    CHECK_THAT(text, Catch::StartsWith("/run/x.lock: held by 2 processes, 1 waiting\n"));
    CHECK_THAT(text, Catch::Contains("  holder  PID 4242   exclusive ofd    held 1m15s") && Catch::Contains("job --now\n"));
    CHECK_THAT(text, Catch::Contains("  holder  PID ?      exclusive ofd    held ?") &&
                         Catch::Contains("(a process plock cannot see)\n"));
    CHECK_THAT(text, Catch::EndsWith("  waiting PID 4243   shared    ofd" + std::string(26, ' ') + "reader\n"));
}

TEST_CASE("the JSON report has a stable version and nulls for what is unknown", "[status_report]") {
    const auto now = std::chrono::system_clock::time_point(std::chrono::seconds(1'800'000'000));
    const auto document = nlohmann::json::parse(status_json({held_status()}, now));
    CHECK(document["version"] == 1);
    const auto& lock = document["locks"][0];
    CHECK(lock["device"] == "254:1");
    CHECK(lock["inode"] == 42);
    CHECK(lock["holders"][0]["held_for_seconds"] == 75.0);
    CHECK(lock["holders"][0]["held_since"] == "2027-01-15T07:58:45.000Z");
    CHECK(lock["holders"][0]["held_since_source"] == "command-start");
    CHECK(lock["holders"][1]["pid"].is_null());
    CHECK(lock["holders"][1]["command"].is_null());
    CHECK(lock["holders"][1]["held_for_seconds"].is_null());
    CHECK(lock["waiting"][0]["mode"] == "shared");
    const auto error = nlohmann::json::parse(status_json({StatusError{"file", "x", "cannot open x", 66}}, now));
    CHECK(error["locks"][0] == nlohmann::json{{"type", "file"}, {"path", "x"}, {"state", "error"},
                                              {"error", "cannot open x"}, {"exit_status", 66}});
}
