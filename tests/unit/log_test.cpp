// Tests of the CLI's logger: what a message looks like once written.
#include <catch2/catch.hpp>

#include <string>

#include "cli/log.hpp"

using plock::cli::escape_control_characters;

TEST_CASE("a message without control characters is written as it is", "[log]") {
    CHECK(escape_control_characters("") == "");
    CHECK(escape_control_characters("invalid value '5s' for -w/--timeout") == "invalid value '5s' for -w/--timeout");
    CHECK(escape_control_characters("caf\xc3\xa9 \xff lock") == "caf\xc3\xa9 \xff lock");  // bytes >= 0x80 stay
}

// Found while writing the fuzzer's checks (fuzz/cli_fuzzer.cpp):
// `plock exec -w $'1\nplock: error: ...'` quoted the value with its newline,
// which forged a second line of errors.
TEST_CASE("control characters in a message are escaped so that it stays one line", "[log]") {
    CHECK(escape_control_characters("invalid value '1\nplock: error: forged' for -w") ==
          "invalid value '1\\nplock: error: forged' for -w");
    CHECK(escape_control_characters("a\rb\tc") == "a\\rb\\tc");
    CHECK(escape_control_characters(std::string("\x1b[31mred\x7f\x01", 10)) == "\\x1b[31mred\\x7f\\x01");
    CHECK(escape_control_characters(std::string("nul\0end", 7)) == "nul\\x00end");
}
