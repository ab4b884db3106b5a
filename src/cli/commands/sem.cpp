// `plock sem`: hold one of N slots of a counting semaphore while a command
// runs, or (--status) show who holds the slots.
#include <sys/resource.h>
#include <unistd.h>

#include <cstdlib>
#include <memory>

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

// Descriptors beyond the slots that a waiting plock may need.
constexpr rlim_t k_spare_descriptors = 64;

struct SemaphoreOptions {
    std::string name;
    SemaphoreLocationOptions location;
    WaitOptions wait;
    std::optional<std::string> conflict_exit_code;
    std::optional<std::string> command_string;
    bool close_descriptor = false;
    bool no_fork = false;
    bool status = false;
    StopOptions stop;
    OutputOptions output;
};

struct Settings {
    SemaphoreSpec spec;
    WaitPolicy wait;
    int conflict_exit_code = exit_code::k_conflict;
    std::vector<std::string> command;
    bool close_descriptor = false;
    bool no_fork = false;
    bool status = false;
    StopPolicy stop;
};

Settings validate(const SemaphoreOptions& options, const CommandWords& words) {
    Settings settings;
    settings.status = options.status;
    // The count first: 'plock sem -n NAME' (-n taken for --nonblock) is then
    // reported as the mistake it is, not as a missing name.
    settings.spec = semaphore_spec(options.name, options.location);
    settings.wait = parse_wait_policy(options.wait);
    settings.conflict_exit_code = parse_conflict_exit_code(options.conflict_exit_code);
    settings.command = resolve_command(options.command_string, words);
    settings.close_descriptor = options.close_descriptor;
    settings.no_fork = options.no_fork;
    if (settings.status) {
        if (!settings.command.empty() || options.wait.nonblock || options.wait.timeout ||
            options.conflict_exit_code || settings.close_descriptor || settings.no_fork ||
            options.stop.time_limit || options.stop.grace) {
            throw UsageError("--status only reports: it takes no command and none of --nonblock, -w, "
                             "-E, -o, --no-fork, --time-limit or --grace");
        }
        return settings;
    }
    if (settings.command.empty()) {
        throw UsageError("no command given: put it after '--' or use -c STRING");
    }
    if (settings.no_fork && settings.close_descriptor) {
        throw UsageError("--no-fork and -o/--close cannot be combined: with --no-fork the "
                         "command itself holds the slot");
    }
    settings.stop = parse_stop_policy(options.stop);
    validate_stop_policy(settings.stop, false, settings.no_fork);
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

// Raises the soft limit on open descriptors while a waiter keeps every slot
// file open, and restores it so that the command starts with the limit plock
// was given.
class ScopedDescriptorLimit {
public:
    explicit ScopedDescriptorLimit(rlim_t wanted) {
        if (getrlimit(RLIMIT_NOFILE, &m_original) != 0 || m_original.rlim_cur == RLIM_INFINITY ||
            m_original.rlim_cur >= wanted) {
            return;
        }
        rlimit raised = m_original;
        raised.rlim_cur = m_original.rlim_max == RLIM_INFINITY ? wanted : std::min(wanted, m_original.rlim_max);
        m_raised = setrlimit(RLIMIT_NOFILE, &raised) == 0;
    }
    ~ScopedDescriptorLimit() {
        if (m_raised) {
            setrlimit(RLIMIT_NOFILE, &m_original);
        }
    }
    ScopedDescriptorLimit(const ScopedDescriptorLimit&) = delete;
    ScopedDescriptorLimit& operator=(const ScopedDescriptorLimit&) = delete;

private:
    rlimit m_original{};
    bool m_raised = false;
};

// `plock sem --status`: the report of `plock status --sem NAME -n N --dir DIR`.
int print_status(const SemaphoreSpec& spec) {
    const auto now = std::chrono::system_clock::now();
    return cli::print_status({query_semaphore(spec)}, StatusFormat::text, now);
}

int run_semaphore(const Settings& settings) {
    using Status = SemaphoreAcquireResult::Status;
    const SemaphoreSpec& spec = settings.spec;
    if (settings.status) {
        return print_status(spec);
    }

    // Block the signals we forward before anything can be interrupted; they
    // are taken synchronously from here on and restored for the command.
    const ScopedSignalMask mask(handled_signals());

    Semaphore semaphore(spec);
    semaphore.reuse_inherited_slot(true);
    const auto start = Clock::now();
    SemaphoreAcquireResult result = semaphore.try_acquire();
    if (result.status == Status::busy && settings.wait.nonblocking) {
        const auto level = conflict_level(settings.conflict_exit_code);
        if (logger().should_log(level)) {
            logger().log(level, "no slot of {} is free: {}", describe(spec), describe_slot_holders(spec));
        }
        return settings.conflict_exit_code;
    }
    if (result.status == Status::busy) {
        if (logger().should_log(LogLevel::info)) {
            logger().info("waiting for a slot of {} ({}), held: {}", describe(spec), settings.wait.describe(),
                          describe_slot_holders(spec));
        }
        const ScopedDescriptorLimit limit(spec.slot_count + k_spare_descriptors);
        result = semaphore.acquire(settings.wait.deadline_from(start), wait_ending_signals());
    }

    switch (result.status) {
    case Status::acquired:
        break;
    case Status::size_conflict:
        return report_size_conflict(spec, result.other_slot_count);
    case Status::interrupted:
        logger().info("{} ended the wait for a slot of {}", signal_name(result.signal), describe(spec));
        return exit_code::k_signal_base + result.signal;
    case Status::busy:
    case Status::timed_out: {
        const auto level = conflict_level(settings.conflict_exit_code);
        if (logger().should_log(level)) {
            logger().log(level, "timed out after {} waiting for a slot of {}, held: {}",
                         format_seconds(Clock::now() - start), describe(spec), describe_slot_holders(spec));
        }
        return settings.conflict_exit_code;
    }
    }

    const std::string slot_path = spec.slot_path(semaphore.slot());
    if (semaphore.inherited()) {
        logger().debug("slot {} of {} is held already through an inherited descriptor; running the "
                       "command under it without taking another",
                       semaphore.slot(), describe(spec));
    } else {
        logger().info("took slot {} of {} after {}", semaphore.slot(), describe(spec),
                      format_seconds(Clock::now() - start));
    }

    RunRequest request;
    request.argv = settings.command;
    request.environment = {{"PLOCK_FILE", absolute_path(slot_path)},
                           {"PLOCK_SLOT", std::to_string(semaphore.slot())},
                           {"PLOCK_SEM", spec.name}};
    if (!settings.close_descriptor) {
        request.inherited_fds = semaphore.descriptors_to_pass();
    }
    if (settings.close_descriptor) {
        request.stop_tree_if_plock_dies = true;
        request.held_fds = semaphore.descriptors_to_pass();
    }
    request.stop = settings.stop;
    request.replace_process = settings.no_fork;
    request.original_mask = mask.previous();
    return run_command(request);
}

void define_sem(CLI::App& command, Dispatch& dispatch) {
    auto options = std::make_shared<SemaphoreOptions>();
    command.add_option("NAME", options->name,
                       "The semaphore: its slots are the files NAME.00.lock, NAME.01.lock, ... in DIR");
    add_semaphore_location_options(command, options->location);
    add_wait_options(command, options->wait, NonblockSpelling::long_only);
    add_conflict_exit_option(command, options->conflict_exit_code);
    command.add_flag("-o,--close", options->close_descriptor,
                     "Do not pass the slot to the command, so that processes it leaves behind "
                     "do not hold it; if plock dies, the command and every process it started are "
                     "killed before the slot is let go");
    add_command_option(command, options->command_string);
    command.add_flag("--no-fork", options->no_fork,
                     "Replace plock with the command, which inherits the slot (no parent process "
                     "stays behind)");
    command.add_flag("--status", options->status,
                     "Show each slot, free or held by which process, and exit 0 if all are free, 1 if any is held");
    add_stop_options(command, options->stop, " (--time-limit)");
    add_output_options(command, options->output);
    command.allow_extras();
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
    run_when_chosen(command, dispatch, [options](const CommandWords& words) -> Run {
        apply_output_options(options->output);
        return [settings = validate(*options, words)] { return run_semaphore(settings); };
    });
}

}  // namespace

const SubcommandDefinition k_sem_command{
    "sem", "Run a command while holding one of N slots of a counting semaphore NAME", define_sem};

}  // namespace plock::cli
