// `plock status`: who holds these locks, who waits for them. It only reads
// /proc: nothing is opened for writing, created or locked.
#include <cerrno>
#include <iostream>
#include <memory>

#include "cli/app.hpp"
#include "cli/exit_status.hpp"
#include "cli/log.hpp"
#include "cli/status_report.hpp"
#include "plock/error.hpp"

namespace plock::cli {
namespace {

struct StatusOptions {
    std::vector<std::string> paths;
    bool json = false;
    bool quiet = false;
};

// One entry per lock, in the order asked; an error is reported on stderr and
// kept in its place, so that the other locks are still answered.
std::vector<StatusEntry> query_files(const std::vector<std::string>& paths) {
    std::vector<StatusEntry> entries;
    for (const std::string& path : paths) {
        try {
            entries.emplace_back(query_file_lock(path));
        } catch (const SystemError& error) {
            logger().error("{}", error.what());
            entries.emplace_back(StatusError{"file", path, error.what(), exit_code_for(error)});
        }
    }
    return entries;
}

int run_status(const StatusOptions& options, const CommandWords& words) {
    if (words) {
        throw UsageError("plock status runs no command: nothing goes after '--'");
    }
    const auto now = std::chrono::system_clock::now();
    const std::vector<StatusEntry> entries = query_files(options.paths);
    if (options.json) {
        std::cout << status_json(entries, now);
    } else if (!options.quiet) {
        write_status_text(std::cout, entries);
    }
    std::cout.flush();
    if (!std::cout) {
        throw SystemError(Operation::write, "standard output", errno != 0 ? errno : EIO);
    }
    return status_exit_code(entries);
}

void define_status(CLI::App& command, Dispatch& dispatch) {
    auto options = std::make_shared<StatusOptions>();
    command.add_option("PATH", options->paths, "Lock files to look at (never created, opened or locked)")
        ->required();
    auto* json = command.add_flag("--json", options->json,
                                  "Print one JSON document (schema in plock(1), STATUS JSON)");
    auto* quiet = command.add_flag("-q,--quiet", options->quiet,
                                   "Print nothing: the exit status answers (errors still go to stderr)");
    json->excludes(quiet);
    command.footer(
        "Usage: plock status [--json | -q] PATH...\n\n"
        "Examples:\n"
        "  plock status /var/lock/backup.lock                   # who holds it, who waits\n"
        "  plock status -q /var/lock/backup.lock || echo busy   # exit 0: free, 1: held\n"
        "  plock status --json /var/lock/*.lock | jq -r '.locks[] | select(.state == \"held\") | .path'\n\n"
        "For each holder: mode, method, PID, command line, and how long it has held the lock\n"
        "(\"held <=\": since its process started, an upper bound). Exit status: 0 when every lock\n"
        "is free, 1 when one is held, 66 when a PATH does not exist; see 'plock --help'.");
    run_when_chosen(command, dispatch, [options](const CommandWords& words) { return run_status(*options, words); });
}

}  // namespace

const SubcommandDefinition k_status_command{
    "status", "Show who holds and who waits for the locks on PATH... (exit 0: all free, 1: held)",
    define_status};

}  // namespace plock::cli
