// Tests of the CLI logger's rendering of a message as one legible line.
#include <catch2/catch.hpp>

#include "cli/log.hpp"

using plock::cli::printable;

TEST_CASE("printable keeps plain text and valid UTF-8 as they are", "[log]") {
    CHECK(printable("cannot open /tmp/x.lock: Permission denied") == "cannot open /tmp/x.lock: Permission denied");
    CHECK(printable("naïve ☃ 𝄞") == "naïve ☃ 𝄞");
    CHECK(printable("back\\slash") == "back\\slash");
    CHECK(printable("") == "");
}

TEST_CASE("printable escapes control characters so a message stays one line", "[log]") {
    CHECK(printable("a\nb") == "a\\nb");
    CHECK(printable("a\r\tb") == "a\\r\\tb");
    CHECK(printable("\x1b[2J") == "\\x1b[2J");
    CHECK(printable("del\x7f") == "del\\x7f");
    CHECK(printable(std::string("nul\0x", 5)) == "nul\\x00x");
    CHECK(printable("csi\xc2\x9b" "1m") == "csi\\xc2\\x9b1m");  // U+009B, a C1 control
    CHECK(printable("nbsp\xc2\xa0") == "nbsp\xc2\xa0");          // U+00A0 is not
}

TEST_CASE("printable escapes each byte that is not part of valid UTF-8", "[log]") {
    CHECK(printable("caf\xe9") == "caf\\xe9");                   // Latin-1
    CHECK(printable("\xe2\x82") == "\\xe2\\x82");                // truncated sequence
    CHECK(printable("\xe2\x82x") == "\\xe2\\x82x");
    CHECK(printable("\xc0\xaf") == "\\xc0\\xaf");                // overlong '/'
    CHECK(printable("\xed\xa0\x80") == "\\xed\\xa0\\x80");       // surrogate
    CHECK(printable("\xf4\x90\x80\x80") == "\\xf4\\x90\\x80\\x80");  // past U+10FFFF
    CHECK(printable("\xff\xfe") == "\\xff\\xfe");
    CHECK(printable("\x80" "a") == "\\x80a");                    // lone continuation byte
}

// Found while writing the fuzzer's checks (fuzz/cli_fuzzer.cpp):
// `plock exec -w $'1\nplock: error: ...'` quoted the value with its newline,
// which forged a second line of errors.
TEST_CASE("a quoted value cannot forge a second error line", "[log]") {
    CHECK(printable("invalid value '1\nplock: error: forged' for -w") ==
          "invalid value '1\\nplock: error: forged' for -w");
    CHECK(printable(std::string("nul\0end", 7)) == "nul\\x00end");
}
