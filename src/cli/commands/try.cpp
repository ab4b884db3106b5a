// `plock try`: `plock exec -n`, and without a command a test of the lock.
#include "cli/commands/file_lock_command.hpp"

namespace plock::cli {

std::unique_ptr<Subcommand> make_try_command() {
    return make_file_lock_command(FileLockRole::try_,
        "Usage: plock try [OPTIONS] LOCKFILE [-- COMMAND [ARG...]]\n\n"
        "Examples:\n"
        "  plock try -q /var/lock/report.lock -- ./report.sh   # cron: skip this run if busy\n"
        "  plock try -v /var/lock/report.lock                  # is it free? who holds it?\n\n"
        "Without a command: exit 0 if the lock is free (it is released at once), 75 if it is\n"
        "held (the holder is printed with -v). With a command, as plock exec -n: 124 when\n"
        "--time-limit stopped it.");
}

}  // namespace plock::cli
