// `plock exec`: hold a file lock while a command runs.
#include "cli/commands/file_lock_command.hpp"

namespace plock::cli {

std::unique_ptr<Subcommand> make_exec_command() {
    return make_file_lock_command(FileLockRole::exec,
        "Usage: plock exec [OPTIONS] LOCKFILE -- COMMAND [ARG...]\n"
        "       plock exec [OPTIONS] LOCKFILE -c STRING\n\n"
        "Examples:\n"
        "  plock exec /var/lock/backup.lock -- ./backup.sh          # wait for the lock\n"
        "  plock exec -n /var/lock/backup.lock -- ./backup.sh       # skip if it is running\n"
        "  plock exec -w 30 -E 0 /tmp/deploy.lock -c 'make deploy'  # give up after 30s, quietly\n"
        "  plock exec --time-limit 3600 /var/lock/backup.lock -- ./backup.sh  # stop it after an hour\n\n"
        "The command sees PLOCK_FILE and PLOCK_MODE. Exit status: the command's, 75 when the lock\n"
        "is busy or the timeout expires, 124 when --time-limit stopped it, 128+N when killed by\n"
        "signal N; see 'plock --help'.");
}

}  // namespace plock::cli
