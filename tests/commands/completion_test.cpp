// The bash completion script: valid bash, and it completes subcommands,
// options, option values, file names and the command after "--", with
// bash-completion's helpers loaded (as on a Debian system) and without.
#include <catch2/catch.hpp>

#include "test_support.hpp"

using namespace plock::test;

namespace {

const std::string k_script = std::string(PLOCK_SOURCE_DIR) + "/completion/plock.bash";
const std::string k_bash_completion = "/usr/share/bash-completion/bash_completion";

// What the completion offers for the words typed so far (the last one is
// being completed), one per line, sorted and without duplicates.
std::string complete(const std::vector<std::string>& words, const std::string& directory,
                     bool with_bash_completion = true) {
    std::string typed;
    for (const std::string& word : words) {
        typed += " '" + word + "'";
    }
    const std::string script =
        "cd '" + directory + "' || exit 99\n" +
        (with_bash_completion ? "source " + k_bash_completion + " || exit 98\n" : std::string()) +
        "source '" + k_script + "' || exit 97\n"
        "COMP_WORDS=('" + plock_binary() + "'" + typed + ")\n"
        "COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))\n"
        "COMP_LINE=\"${COMP_WORDS[*]}\"; COMP_POINT=${#COMP_LINE}\n"
        "_plock plock \"${COMP_WORDS[COMP_CWORD]}\" \"${COMP_WORDS[COMP_CWORD-1]}\" 2>/dev/null\n"
        "[ ${#COMPREPLY[@]} -eq 0 ] || printf '%s\\n' \"${COMPREPLY[@]}\" | sort -u\n";
    const Result result = run({"bash", "-c", script});
    INFO(result.err);
    REQUIRE(result.status == 0);
    return result.out;
}

}  // namespace

TEST_CASE("the completion script is valid bash", "[completion]") {
    const Result result = run({"bash", "-n", k_script});
    CHECK(result.status == 0);
    CHECK(result.err.empty());
}

TEST_CASE("bash-completion is installed where the completion test loads it", "[completion]") {
    INFO("install the bash-completion package (.ci/packages/test lists it)");
    CHECK(exists(k_bash_completion));
}

TEST_CASE("the completion offers every subcommand of plock --help", "[completion]") {
    TempDir directory;
    for (const bool loaded : {true, false}) {
        INFO("with bash-completion's helpers: " << loaded);
        CHECK(complete({""}, directory.path(), loaded) == "--help\n--version\nexec\nlock\npidguard\nredis\nsem\nstatus\ntry\nunlock\nupdate\n");
        CHECK(complete({"st"}, directory.path(), loaded) == "status\n");
        CHECK(complete({"up"}, directory.path(), loaded) == "update\n");
    }
}

TEST_CASE("the completion offers a subcommand's options and their values", "[completion]") {
    TempDir directory;
    for (const bool loaded : {true, false}) {
        INFO("with bash-completion's helpers: " << loaded);
        CHECK(complete({"exec", "--ti"}, directory.path(), loaded) == "--time-limit\n--timeout\n");
        CHECK(complete({"status", "--"}, directory.path(), loaded) == "--dir\n--help\n--json\n--key-prefix\n--password-file\n--pidfile\n--quiet\n--redis\n--sem\n--slots\n--url\n");
        CHECK(complete({"exec", "--method", ""}, directory.path(), loaded) == "flock\nofd\n");
        CHECK(complete({"exec", "-w", ""}, directory.path(), loaded).empty());
    }
}

TEST_CASE("the completion offers file names and after -- a command", "[completion]") {
    TempDir directory;
    write_file(directory / "jobs.lock", "");
    write_file(directory / "jobs.txt", "");
    for (const bool loaded : {true, false}) {
        INFO("with bash-completion's helpers: " << loaded);
        CHECK(complete({"status", "jobs.l"}, directory.path(), loaded) == "jobs.lock\n");
        CHECK(complete({"exec", "-w", "5", "jobs.lock", "--", "plock-no-such-comm"}, directory.path(), loaded).empty());
        CHECK_THAT(complete({"exec", "jobs.lock", "--", "printen"}, directory.path(), loaded), Catch::Contains("printenv\n"));
        CHECK(complete({"update", "jobs.txt", "--", "cat", "jobs.t"}, directory.path(), loaded) == "jobs.txt\n");
    }
}
