// `plock sem`: hold one of N slots of a counting semaphore while a command
// runs, or (--status) show who holds the slots.
#include <CLI/CLI.hpp>

#include <unistd.h>

#include <cstdlib>
#include <memory>

#include "cli/acquire.hpp"
#include "cli/app.hpp"
#include "cli/command_runner.hpp"
#include "cli/describe.hpp"
#include "cli/log.hpp"
#include "cli/semaphore_options.hpp"
#include "cli/status_query.hpp"
#include "cli/status_report.hpp"
#include "plock/sys/error.hpp"
#include "cli/exit_code.hpp"
#include "plock/sem/semaphore.hpp"

namespace plock::cli {
namespace {


struct SemaphoreOptions {
    std::string name;
    SemaphoreLocationOptions location;
    WaitOptions wait;
    std::optional<std::string> conflict_exit_code;
    CommandOptions command;
    bool status = false;
    OutputOptions output;
};

struct Settings {
    SemaphoreSpec spec;
    WaitPolicy wait;
    int conflict_exit_code = exit_code::k_conflict;
    CommandSettings command;
    bool status = false;
};

Settings validate(const SemaphoreOptions& options, const CommandWords& words) {
    apply_output_options(options.output);
    Settings settings;
    settings.status = options.status;
    // The count first: 'plock sem -n NAME' (-n taken for --nonblock) is then
    // reported as the mistake it is, not as a missing name.
    settings.spec = semaphore_spec(options.name, options.location);
    settings.wait = parse_wait_policy(options.wait);
    settings.conflict_exit_code = parse_conflict_exit_code(options.conflict_exit_code);
    if (settings.status) {
        const CommandOptions& command = options.command;
        if (command.command_string || words || options.wait.nonblock || options.wait.timeout ||
            options.conflict_exit_code || command.close || command.no_fork || command.stop.time_limit ||
            command.stop.grace) {
            throw UsageError("--status only reports: it takes no command and none of --nonblock, -w, "
                             "-E, -o, --no-fork, --time-limit or --grace");
        }
        return settings;
    }
    CommandRules rules;
    rules.held = "slot";
    settings.command = parse_command_settings(options.command, words, rules);
    return settings;
}

// The short name the messages below use.
std::string describe(const SemaphoreSpec& spec) { return describe_semaphore(spec); }

// Who holds the slots now, as cli::describe_slot_holders names them.
std::string describe_slot_holders(const SemaphoreSpec& spec) {
    SemaphoreState state;
    try {
        state = inspect_semaphore(spec, getpid());
    } catch (const std::exception&) {
        // Only a message is lost: no slot was free.
    }
    return cli::describe_slot_holders(state);
}

int report_size_conflict(const SemaphoreSpec& spec, std::size_t other_count) {
    if (other_count == 0) {
        logger().error("{} is in use with a different slot count: {} is locked by a program "
                       "other than plock",
                       describe(spec), spec.size_path());
        return exit_code::k_config;
    }
    std::string users;
    try {
        for (const SlotCountRecord& record : inspect_semaphore(spec, getpid()).slot_counts) {
            if (record.slot_count == other_count && !record.holders.empty()) {
                users = " by " + describe_holders(record.holders);
            }
        }
    } catch (const std::exception&) {
        users.clear();
    }
    logger().error("{} is in use with -n {}{}; every user of a semaphore must give the same -n",
                   describe(spec), other_count, users);
    return exit_code::k_config;
}

// `plock sem --status`: the report of `plock status --sem NAME -n N --dir DIR`.
int print_status(const SemaphoreSpec& spec) {
    const auto now = std::chrono::system_clock::now();
    return cli::print_status({query_semaphore(spec)}, StatusFormat::text, now);
}

int run_semaphore(const Settings& settings) {
    const SemaphoreSpec& spec = settings.spec;
    if (settings.status) {
        return print_status(spec);
    }

    // Block the signals we forward before anything can be interrupted; they
    // are taken synchronously from here on and restored for the command.
    const ScopedSignalMask mask(handled_signals());

    Semaphore semaphore(spec);
    semaphore.reuse_inherited_slot(true);
    LockWording wording;
    wording.target = "a slot of " + describe(spec);
    wording.busy = [&spec] { return "no slot of " + describe(spec) + " is free: " + describe_slot_holders(spec); };
    wording.holders = [&spec] { return "held: " + describe_slot_holders(spec); };
    const WaitReport report(std::move(wording), settings.wait, settings.conflict_exit_code);
    const SemaphoreAcquireResult result = semaphore.take(report.plan(), wait_ending_signals(), report.before_wait());
    if (result.status == SemaphoreAcquireResult::Status::size_conflict) {
        return report_size_conflict(spec, result.other_slot_count);
    }
    if (const auto status = report.outcome(result.common())) {
        return *status;
    }
    if (semaphore.inherited()) {
        logger().debug("slot {} of {} is held already through an inherited descriptor; running the "
                       "command under it without taking another",
                       semaphore.slot(), describe(spec));
    } else {
        logger().debug("holding slot {} of {}", semaphore.slot(), describe(spec));
    }
    const RunRequest request = launch_request(settings.command,
                                              {{"PLOCK_FILE", absolute_path(spec.slot_path(semaphore.slot()))},
                                               {"PLOCK_SLOT", std::to_string(semaphore.slot())},
                                               {"PLOCK_SEM", spec.name}},
                                              semaphore.descriptors_to_pass(), mask.previous());
    return run_command(request);
}

void define_options(CLI::App& command, SemaphoreOptions& options) {
    command.add_option("NAME", options.name,
                       "The semaphore: its slots are the files NAME.00.lock, NAME.01.lock, ... in DIR");
    add_semaphore_location_options(command, options.location);
    add_wait_options(command, options.wait, NonblockSpelling::long_only);
    add_conflict_exit_option(command, options.conflict_exit_code);
    add_command_options(command, options.command,
                        {"Do not pass the slot to the command, so that processes it leaves behind "
                         "do not hold it; if plock dies, the command and every process it started are "
                         "killed before the slot is let go",
                         "Replace plock with the command, which inherits the slot (no parent process "
                         "stays behind)",
                         " (--time-limit)"});
    command.add_flag("--status", options.status,
                     "Show each slot, free or held by which process, and exit 0 if all are free, 1 if any is held");
    add_output_options(command, options.output);
    command.footer(
        "Usage: plock sem -n N [OPTIONS] NAME -- COMMAND [ARG...]\n"
        "       plock sem -n N [OPTIONS] NAME -c STRING\n"
        "       plock sem -n N --status [--dir DIR] NAME\n\n"
        "Examples:\n"
        "  plock sem -n 4 encode -- ffmpeg -i in.mkv out.mp4    # at most 4 encoders at once\n"
        "  plock sem -n 2 gpu -c 'CUDA_VISIBLE_DEVICES=$PLOCK_SLOT ./train.sh'\n"
        "  plock sem -n 2 --status gpu                          # who holds which slot?\n\n"
        "The command sees PLOCK_SLOT (0 to N-1), PLOCK_SEM and PLOCK_FILE. Exit status: the command's,\n"
        "75 when no slot is free (--nonblock) or the timeout expires, 78 when others use NAME with\n"
        "another -n, 124 when --time-limit stopped it, 128+N when killed by signal N; see\n"
        "'plock --help'.");
}

}  // namespace

std::unique_ptr<Subcommand> make_sem_command() {
    return make_subcommand(define_options, validate, run_semaphore);
}

}  // namespace plock::cli
