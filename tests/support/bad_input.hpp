// The bad-input check shared by the tests in tests/cli/ and tests/redis/:
// plock given one bad input must end with the status documented for it,
// write exactly one line on stderr that names the problem, write nothing on
// stdout, not run the command, and leave every file in the test's directory
// as it was (no file created, truncated, replaced or deleted).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "test_support.hpp"

namespace plock::test {

constexpr uid_t k_nobody = 65534;

struct BadInput {
    std::string name;                    // reported when a check fails
    std::vector<std::string> arguments;  // "@" stands for the temp directory; "MARK" for a command that leaves a mark
    int status;                          // a constant of plock/exit_code.hpp
    std::string message;                 // must appear in the one line on stderr; "@" as in arguments
};

// What each path under `directory` is: type, mode, size, inode, modification
// time, and a regular file's content or a symbolic link's target.
std::map<std::string, std::string> snapshot(const std::string& directory);

// The differences between two snapshots, one per line; empty when equal.
std::string differences(const std::map<std::string, std::string>& before,
                        const std::map<std::string, std::string>& after);

// Runs plock with `bad.arguments` and checks all of the above.
void check_bad_input(const BadInput& bad, const TempDir& directory, const RunOptions& options = {});
// check_bad_input for each case of a table.
void check_bad_inputs(const std::vector<BadInput>& cases, const TempDir& directory, const RunOptions& options = {});

}  // namespace plock::test
