// What `plock exec`, `plock try` and `plock lock` share: their options and
// the run "open the lock file (or take the caller's descriptor), take the
// lock (or find we hold it already), run the command, return its status";
// exec.cpp, try.cpp and lock.cpp add their help.
#pragma once

#include <memory>

#include "cli/app.hpp"

namespace plock::cli {

enum class FileLockRole {
    exec,   // waits unless told not to; needs a command
    try_,   // never waits; without a command it only tests the lock
    lock_,  // plock lock FD: takes the lock on a descriptor of the caller, runs nothing
};

// `plock exec`, `plock try` or `plock lock`, with its help footer.
std::unique_ptr<Subcommand> make_file_lock_command(FileLockRole role, const char* footer);

}  // namespace plock::cli
