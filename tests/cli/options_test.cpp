// Tests of the shared option validation of the CLI.
#include <catch2/catch.hpp>

#include <CLI/CLI.hpp>

#include "cli/describe.hpp"
#include "cli/options.hpp"
#include "plock/sys/error.hpp"

using namespace plock;
using namespace plock::cli;
using namespace std::chrono_literals;

TEST_CASE("seconds accept integers and fractions", "[options]") {
    CHECK(parse_seconds("-w", "0") == 0ns);
    CHECK(parse_seconds("-w", "2") == 2s);
    CHECK(parse_seconds("-w", "0.25") == 250ms);
    CHECK(parse_seconds("-w", "1e-3") == 1ms);
}

TEST_CASE("seconds reject what is not a non-negative finite number", "[options]") {
    for (const char* text : {"", "abc", "-1", "1s", "nan", "inf", "1e400", " 1", "0x", "1e12"}) {
        INFO(text);
        CHECK_THROWS_AS(parse_seconds("-w", text), UsageError);
    }
    CHECK_THROWS_WITH(parse_seconds("-w/--timeout", "-1"), Catch::Contains("-w/--timeout") && Catch::Contains("negative"));
}

TEST_CASE("a zero timeout means do not wait", "[options]") {
    WaitOptions options;
    options.timeout = "0";
    CHECK(parse_wait_policy(options).nonblocking);
    options.timeout = "1.5";
    const WaitPolicy policy = parse_wait_policy(options);
    CHECK_FALSE(policy.nonblocking);
    CHECK(policy.timeout == 1500ms);
    CHECK(policy.describe() == "timeout 1.5s");
}

TEST_CASE("the conflict exit code is 75 by default and 0-255 when given", "[options]") {
    CHECK(parse_conflict_exit_code(std::nullopt) == 75);
    CHECK(parse_conflict_exit_code(std::string("0")) == 0);
    CHECK(parse_conflict_exit_code(std::string("255")) == 255);
    for (const char* text : {"", "256", "-1", "x", "1.5", "300"}) {
        INFO(text);
        CHECK_THROWS_AS(parse_conflict_exit_code(std::string(text)), UsageError);
    }
}

TEST_CASE("the command comes from -c or from the words after -- but never both", "[options]") {
    CHECK(resolve_command(std::string("echo hi"), std::nullopt) ==
          std::vector<std::string>{"/bin/sh", "-c", "echo hi"});
    CHECK(resolve_command(std::nullopt, std::vector<std::string>{"ls", "-l"}) ==
          std::vector<std::string>{"ls", "-l"});
    CHECK(resolve_command(std::nullopt, std::nullopt).empty());
    CHECK_THROWS_AS(resolve_command(std::string("x"), std::vector<std::string>{"y"}), UsageError);
    CHECK_THROWS_AS(resolve_command(std::nullopt, std::vector<std::string>{}), UsageError);
    CHECK_THROWS_AS(resolve_command(std::string(""), std::nullopt), UsageError);
    CHECK_THROWS_AS(resolve_command(std::nullopt, std::vector<std::string>{""}), UsageError);
}

TEST_CASE("durations print in seconds", "[options]") {
    CHECK(format_seconds(2500ms) == "2.5s");
    CHECK(format_seconds(0ns) == "0s");
    CHECK(format_seconds(3600s) == "3600s");
}

TEST_CASE("the nonblock flag has a short -n unless the subcommand uses -n for something else", "[options]") {
    for (const auto spelling : {NonblockSpelling::short_and_long, NonblockSpelling::long_only}) {
        CLI::App app;
        WaitOptions options;
        add_wait_options(app, options, spelling);
        app.allow_extras();
        std::vector<std::string> arguments{"-n"};  // CLI11 parses the vector from its back
        app.parse(arguments);
        CHECK(options.nonblock == (spelling == NonblockSpelling::short_and_long));
        CHECK(app.remaining().size() == (spelling == NonblockSpelling::short_and_long ? 0u : 1u));

        WaitOptions long_form;
        CLI::App other;
        add_wait_options(other, long_form, spelling);
        std::vector<std::string> long_arguments{"--nonblock"};
        other.parse(long_arguments);
        CHECK(long_form.nonblock);
    }
}

TEST_CASE("whole numbers are decimal digits within their range and the error names the option", "[options]") {
    CHECK(parse_integer("--permits", "1", 1, 10) == 1);
    CHECK(parse_integer("--permits", "010", 1, 10) == 10);
    for (const char* text : {"", "0", "11", "+3", "-3", " 3", "3 ", "0x3", "3.0", "1e1", "99999999999999999999"}) {
        CHECK_THROWS_WITH(parse_integer("--permits", text, 1, 10),
                          Catch::Contains("'" + std::string(text) + "' for --permits: expected a number from 1 to 10"));
    }
    CHECK_THROWS_WITH(parse_integer("-n/--slots", "0", 1, 1024, "slots"),
                      Catch::Contains("expected a number of slots from 1 to 1024"));
}

TEST_CASE("the command group is validated in one step with the rules every subcommand shares", "[options]") {
    CommandOptions options;
    CHECK_THROWS_WITH(parse_command_settings(options, std::nullopt), Catch::Contains("no command given"));
    CommandRules optional_command;
    optional_command.missing = "";
    CHECK(parse_command_settings(options, std::nullopt, optional_command).argv.empty());

    options.close = true;
    CHECK_THROWS_WITH(parse_command_settings(options, std::nullopt, optional_command),
                      Catch::Contains("need a command"));
    options.no_fork = true;
    CommandRules slot;
    slot.held = "slot";
    CHECK_THROWS_WITH(parse_command_settings(options, std::vector<std::string>{"true"}, slot),
                      Catch::Contains("cannot be combined") && Catch::EndsWith("holds the slot"));

    CommandOptions timed;
    timed.command_string = "sleep 1";
    timed.stop.time_limit = "5";
    timed.stop.grace = "1";
    const CommandSettings settings = parse_command_settings(timed, std::nullopt);
    CHECK(settings.argv == std::vector<std::string>{"/bin/sh", "-c", "sleep 1"});
    CHECK(settings.stop.time_limit == 5s);
    CHECK(settings.stop.grace == 1s);
    timed.stop.time_limit.reset();
    CHECK_THROWS_WITH(parse_command_settings(timed, std::nullopt), Catch::Contains("--grace needs --time-limit"));
    CommandRules grace_elsewhere;
    grace_elsewhere.grace_has_other_use = true;
    CHECK(parse_command_settings(timed, std::nullopt, grace_elsewhere).stop.grace == 1s);
}
