// `plock try`: `plock exec -n`, and without a command a test of the lock.
#include <memory>

#include "cli/app.hpp"
#include "cli/commands/file_lock_command.hpp"

namespace plock::cli {
namespace {

void define_try(CLI::App& command, Dispatch& dispatch) {
    auto options = std::make_shared<FileLockOptions>();
    add_file_lock_options(command, *options, FileLockRole::try_);
    command.footer(
        "Usage: plock try [OPTIONS] LOCKFILE [-- COMMAND [ARG...]]\n\n"
        "Examples:\n"
        "  plock try -q /var/lock/report.lock -- ./report.sh   # cron: skip this run if busy\n"
        "  plock try -v /var/lock/report.lock                  # is it free? who holds it?\n\n"
        "Without a command: exit 0 if the lock is free (it is released at once), 75 if it is\n"
        "held (the holder is printed with -v). With a command, as plock exec -n: 124 when\n"
        "--time-limit stopped it.");
    run_when_chosen(command, dispatch, [options](const CommandWords& words) {
        return prepare_file_lock_command(*options, words, FileLockRole::try_);
    });
}

}  // namespace

const SubcommandDefinition k_try_command{
    "try", "Run a command if LOCKFILE's lock is free, never waiting; or only test the lock", define_try};

}  // namespace plock::cli
