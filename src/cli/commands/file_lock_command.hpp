// What `plock exec` and `plock try` share: their options and the run
// "open the lock file, take the lock (or find we hold it already), run the
// command, return its status".
#pragma once

#include <CLI/CLI.hpp>

#include <optional>
#include <string>

#include "cli/app.hpp"
#include "cli/options.hpp"
#include "cli/file_lock_report.hpp"

namespace plock::cli {

enum class FileLockRole {
    exec,  // waits unless told not to; needs a command
    try_,  // never waits; without a command it only tests the lock
};

struct FileLockOptions {
    std::string path;
    bool exclusive = false;
    bool shared = false;
    WaitOptions wait;
    std::optional<std::string> conflict_exit_code;
    CommandOptions command;
    std::string method = "flock";
    bool follow = false;
    OutputOptions output;
};

void add_file_lock_options(CLI::App& command, FileLockOptions& options, FileLockRole role);

// Validates the options of exec or try (UsageError) and returns the run.
Run prepare_file_lock_command(const FileLockOptions& options, const CommandWords& words,
                              FileLockRole role);

}  // namespace plock::cli
