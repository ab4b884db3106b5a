// What `plock exec` and `plock try` share: their options and the run
// "open the lock file, take the lock (or find we hold it already), run the
// command, return its status"; exec.cpp and try.cpp add their help.
#pragma once

#include <memory>

#include "cli/app.hpp"

namespace plock::cli {

enum class FileLockRole {
    exec,  // waits unless told not to; needs a command
    try_,  // never waits; without a command it only tests the lock
};

// `plock exec` or `plock try`, with its help footer.
std::unique_ptr<Subcommand> make_file_lock_command(FileLockRole role, const char* footer);

}  // namespace plock::cli
