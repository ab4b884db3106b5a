// The documentation agrees with the binary: each subcommand's options in
// --help and in the man page, and the exit-status tables (k_table and the
// query statuses, k_query_table) in the header, the man page, --help and the
// README.
#include <catch2/catch.hpp>

#include <filesystem>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "cli/exit_code.hpp"
#include "test_support.hpp"

using namespace plock;
using namespace plock::test;

namespace {

const std::vector<std::string> k_subcommands{"exec", "try", "lock", "unlock", "sem", "pidguard", "redis", "update", "status"};
const std::string k_query_heading = R"(.SS "plock pidguard \-\-status")";
const std::string k_status_heading = ".SS \"Answers of plock status\"";

std::string man_page() { return read_file(std::string(PLOCK_SOURCE_DIR) + "/man/plock.1"); }
std::string readme() { return read_file(std::string(PLOCK_SOURCE_DIR) + "/README.md"); }

// The text of a man page section or subsection: from its heading to the next
// heading of the same or a higher level.
std::string man_section(const std::string& page, const std::string& heading) {
    const auto start = page.find(heading + "\n");
    REQUIRE(start != std::string::npos);
    const bool subsection = heading.rfind(".SS", 0) == 0;
    std::size_t end = page.find("\n.SH", start + 1);
    if (subsection) {
        end = std::min(end, page.find("\n.SS", start + 1));
    }
    return page.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

std::set<std::string> long_options_in_help(const std::string& help) {
    std::set<std::string> options;
    const std::regex definition(R"(^  (?:-[A-Za-z],)?(--[a-z][a-z-]*))");
    std::istringstream lines(help);
    for (std::string line; std::getline(lines, line);) {
        std::smatch match;
        if (std::regex_search(line, match, definition) && match[1] != "--help") {
            options.insert(match[1]);
        }
    }
    return options;
}

std::set<std::string> long_options_in_roff(const std::string& text) {
    std::set<std::string> options;
    const std::regex option(R"(\\-\\-([a-z](?:[a-z]|\\-)*))");
    for (auto it = std::sregex_iterator(text.begin(), text.end(), option); it != std::sregex_iterator(); ++it) {
        options.insert("--" + std::regex_replace((*it)[1].str(), std::regex(R"(\\-)"), "-"));
    }
    return options;
}

// The ".TP / .B CODE / meaning" entries of a piece of the man page.
std::map<int, std::string> documented_codes(const std::string& text) {
    std::map<int, std::string> documented;
    const std::regex entry(R"(\.TP\n\.B (\d+)\n([^\n]*))");
    for (auto it = std::sregex_iterator(text.begin(), text.end(), entry); it != std::sregex_iterator(); ++it) {
        documented[std::stoi((*it)[1])] = (*it)[2];
    }
    return documented;
}

template <typename Table>
std::map<int, std::string> table_of(const Table& rows) {
    std::map<int, std::string> table;
    for (const exit_code::Entry& row : rows) {
        table[row.code] = std::string(row.meaning);
    }
    return table;
}

std::string roff_option(const std::string& option) {
    return std::regex_replace(option, std::regex("-"), "\\-");
}

}  // namespace

TEST_CASE("each subcommand's options in --help are the ones its man page section lists", "[docs]") {
    const std::string page = man_page();
    const std::string options_section = man_section(page, ".SH OPTIONS");
    for (const std::string& subcommand : k_subcommands) {
        INFO("plock " << subcommand);
        const Result help = run_plock({subcommand, "--help"});
        REQUIRE(help.status == 0);
        const auto from_help = long_options_in_help(help.out);
        CHECK_FALSE(from_help.empty());
        const auto from_man = long_options_in_roff(man_section(page, ".SS \"plock " + subcommand + "\""));
        CHECK(from_help == from_man);
        for (const std::string& option : from_help) {
            INFO(option);
            CHECK_THAT(options_section, Catch::Contains(".B") && Catch::Contains(roff_option(option)));
        }
    }
}

TEST_CASE("the man page's EXIT STATUS lists exactly the codes of exit_code.hpp", "[docs]") {
    const std::string page = man_page();
    const std::string whole = man_section(page, ".SH \"EXIT STATUS\"");
    // The main table comes first; the answers of queries have subsections.
    const std::string main_table = whole.substr(0, whole.find("\n.SS"));
    CHECK(documented_codes(main_table) == table_of(exit_code::k_table));
    CHECK_THAT(main_table, Catch::Contains("128+N"));
    REQUIRE_THAT(whole, Catch::Contains(k_query_heading));
    CHECK(documented_codes(man_section(page, k_query_heading)) == table_of(exit_code::k_query_table));
}

TEST_CASE("the man page's EXIT STATUS has the answers of plock status as a table of their own", "[docs]") {
    const std::string section = man_section(man_page(), k_status_heading);
    CHECK(documented_codes(section) == table_of(exit_code::k_status_table));
}

TEST_CASE("plock --help and the README show the same exit-status tables", "[docs]") {
    const Result help = run_plock({"--help"});
    REQUIRE(help.status == 0);
    const std::string text = readme();
    for (const exit_code::Entry& row : exit_code::k_table) {
        INFO(row.code);
        CHECK_THAT(help.out, Catch::Contains(std::to_string(row.code)) && Catch::Contains(std::string(row.meaning)));
        CHECK_THAT(text, Catch::Contains("| " + std::to_string(row.code) + " | " + std::string(row.meaning) + " |"));
    }
    // The answers of a query: after their own heading, in both.
    const auto help_start = help.out.find("A query (plock status) answers");
    const auto readme_start = text.find("`plock status` answers");
    REQUIRE(help_start != std::string::npos);
    REQUIRE(readme_start != std::string::npos);
    const std::string help_answers = help.out.substr(help_start);
    const std::string readme_answers = text.substr(readme_start);
    for (const exit_code::Entry& row : exit_code::k_status_table) {
        INFO(row.code);
        CHECK_THAT(help_answers, Catch::Contains("  " + std::to_string(row.code) + "              " + std::string(row.meaning)));
        CHECK_THAT(readme_answers, Catch::Contains("| " + std::to_string(row.code) + " | " + std::string(row.meaning) + " |"));
    }
}

TEST_CASE("plock pidguard --help and the README show the same query-status table", "[docs]") {
    const Result help = run_plock({"pidguard", "--help"});
    REQUIRE(help.status == 0);
    const std::string text = readme();
    for (const exit_code::Entry& row : exit_code::k_query_table) {
        INFO(row.code);
        CHECK_THAT(help.out, Catch::Contains("  " + std::to_string(row.code) + " ") &&
                                 Catch::Contains(std::string(row.meaning)));
        CHECK_THAT(text, Catch::Contains("| " + std::to_string(row.code) + " | " + std::string(row.meaning) + " |"));
    }
}

TEST_CASE("plock --version prints the project version", "[docs]") {
    const Result version = run_plock({"--version"});
    CHECK(version.status == 0);
    CHECK_THAT(version.out, Catch::Matches(R"(plock \d+\.\d+\.\d+\n)"));
    CHECK_THAT(man_page(), Catch::Contains("\"plock " + version.out.substr(6, version.out.size() - 7) + "\""));
}

TEST_CASE("plock --help gives each subcommand a one-line description and each subcommand's --help an example", "[docs]") {
    const Result help = run_plock({"--help"});
    CHECK(help.status == 0);
    for (const std::string& name : k_subcommands) {
        INFO(name);
        // "  NAME   Description ..." on one line of its own.
        CHECK_THAT(help.out, Catch::Matches("(.|\n)*\n  " + name + " +[A-Z][^\n]{10,}\n(.|\n)*"));
        const Result own = run_plock({name, "--help"});
        CHECK(own.status == 0);
        CHECK_THAT(own.out, Catch::Contains("Examples:\n  plock " + name + " "));
    }
}

TEST_CASE("docs/ARCHITECTURE.md names every library folder and every file of the CLI", "[docs]") {
    const std::string architecture = read_file(std::string(PLOCK_SOURCE_DIR) + "/docs/ARCHITECTURE.md");
    const std::filesystem::path source(std::string(PLOCK_SOURCE_DIR) + "/src");
    std::set<std::string> missing;
    for (const auto& folder : std::filesystem::directory_iterator(source / "plock")) {
        if (architecture.find("plock/" + folder.path().filename().string() + "/") == std::string::npos) {
            missing.insert(folder.path().string());
        }
    }
    for (const auto& file : std::filesystem::directory_iterator(source / "cli")) {
        // cli/options names options.cpp and options.hpp alike.
        const std::string stem = file.path().stem().string();
        if (file.is_regular_file() && architecture.find(stem) == std::string::npos) {
            missing.insert(file.path().string());
        }
    }
    for (const std::string& name : missing) {
        UNSCOPED_INFO("not in docs/ARCHITECTURE.md: " << name);
    }
    CHECK(missing.empty());
}

TEST_CASE("the library includes nothing of the CLI and its messages name no option", "[docs]") {
    std::set<std::string> offenders;
    const std::filesystem::path library(std::string(PLOCK_SOURCE_DIR) + "/src/plock");
    // A string literal with "--name" in it, on a line that is not a comment.
    const std::regex option_in_literal(R"re(^\s*[^/\s].*"[^"]*--[a-z][^"]*")re");
    for (const auto& file : std::filesystem::recursive_directory_iterator(library)) {
        if (!file.is_regular_file()) {
            continue;
        }
        std::istringstream lines(read_file(file.path().string()));
        std::string line;
        while (std::getline(lines, line)) {
            if (line.find("#include \"cli/") != std::string::npos || std::regex_search(line, option_in_literal)) {
                offenders.insert(file.path().string() + ": " + line);
            }
        }
    }
    for (const std::string& name : offenders) {
        UNSCOPED_INFO("the CLI's business in the library: " << name);
    }
    CHECK(offenders.empty());
}
