// Fuzz target: plock's command line, every subcommand. The input is split
// into argv words at NUL bytes; the words go through what main() does before
// it runs anything: split_invocation, build_app, parse_command_line and the
// chosen subcommand's prepare step (validation), whose run is never called.
// Nothing is opened, locked, created, forked or executed; --password-file,
// the one option whose validation reads a file, is left out.
//
// Checked: "--" splits as documented; the outcome is one of a prepared run,
// a parse error (64), --help or --version (0), or a UsageError; no other
// exception escapes (main would report it as an internal error, exit 70);
// a UsageError's message, as the logger writes it, is one line of printable
// characters (values are quoted in messages, and may hold anything).
#include <CLI/CLI.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include "cli/app.hpp"
#include "cli/log.hpp"
#include "plock/sys/error.hpp"
#include "cli/exit_code.hpp"

namespace {

// Words beyond this are not interesting, and argv sizes stay small.
constexpr std::size_t k_max_words = 64;

void check(bool condition) {
    if (!condition) {
        std::abort();
    }
}

std::vector<std::string> split_words(std::string_view input) {
    std::vector<std::string> words{"plock"};
    while (!input.empty() && words.size() <= k_max_words) {
        const auto end = input.find('\0');
        words.emplace_back(input.substr(0, end));
        input.remove_prefix(end == std::string_view::npos ? input.size() : end + 1);
    }
    return words;
}

void check_invocation(const plock::cli::Invocation& invocation, const std::vector<std::string>& words) {
    const auto count = static_cast<int>(words.size());
    check(invocation.option_count >= 1 && invocation.option_count <= count);
    if (invocation.option_count < count) {
        check(words[static_cast<std::size_t>(invocation.option_count)] == "--");
        check(invocation.command.has_value());
        check(invocation.command->size() == words.size() - static_cast<std::size_t>(invocation.option_count) - 1);
    } else {
        check(!invocation.command.has_value());
    }
    for (int index = 1; index < invocation.option_count; ++index) {
        check(words[static_cast<std::size_t>(index)] != "--");
    }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    // --help and --version print to standard output: keep it quiet.
    std::cout.rdbuf(nullptr);
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace plock;
    std::vector<std::string> words = split_words(std::string_view(reinterpret_cast<const char*>(data), size));
    for (const std::string& word : words) {
        if (word.rfind("--password-file", 0) == 0) {
            return 0;
        }
    }
    std::vector<char*> argv;
    for (std::string& word : words) {
        argv.push_back(word.data());
    }
    argv.push_back(nullptr);
    const int argc = static_cast<int>(words.size());

    // Errors are logged on stderr; -v or -q of an earlier input changed the level.
    cli::logger().set_threshold(cli::LogLevel::off);
    CLI::App app{"", "plock"};
    try {
        const cli::Invocation invocation = cli::split_invocation(argc, argv.data());
        check_invocation(invocation, words);
        const cli::ChosenSubcommand chosen = cli::build_app(app, invocation);
        if (const auto status = cli::parse_command_line(app, invocation, argv.data())) {
            check(*status == exit_code::k_success || *status == exit_code::k_usage);
            return 0;
        }
        check(chosen.subcommand != nullptr && chosen.command != nullptr);
        cli::prepare_chosen(chosen, invocation);
    } catch (const UsageError& error) {
        check(std::strlen(error.what()) > 0);
        for (const char character : cli::printable(error.what())) {
            const auto code = static_cast<unsigned char>(character);
            check(code >= 0x20 && code != 0x7f);
        }
    }
    cli::logger().set_threshold(cli::LogLevel::off);
    return 0;
}
