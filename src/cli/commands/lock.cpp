// `plock lock FD`: the shell's idiom. Takes the lock on the open file
// description behind the caller's descriptor FD and exits; the lock stays
// with the caller (the shell that ran `exec 9>FILE`) until it closes FD or
// runs `plock unlock FD`.
#include "cli/commands/file_lock_command.hpp"

namespace plock::cli {

std::unique_ptr<Subcommand> make_lock_command() {
    return make_file_lock_command(FileLockRole::lock_,
        "Usage: plock lock [OPTIONS] FD\n\n"
        "Examples:\n"
        "  plock lock -n 9 || { echo 'already running'; exit 1; }   # after exec 9>/var/lock/job.lock\n"
        "  plock lock -s -w 10 9                                  # a shared lock, waiting up to 10s\n"
        "  plock unlock 9                                         # let go early (or close fd 9)\n\n"
        "The lock belongs to the open file behind FD, which the calling shell shares: it lasts until\n"
        "every descriptor of it is closed, or plock unlock FD. Exit status: 0 when the lock is held,\n"
        "75 when it is busy or the timeout expires, 66 when FD is not open; see 'plock --help'.");
}

}  // namespace plock::cli
