// `plock redis`: hold a lock (or one of N permits) kept in a Redis server
// while a command runs, renewing its lease, and stop the command before the
// lease can end if it cannot be renewed.
#include <memory>

#include "cli/app.hpp"
#include "cli/command_runner.hpp"
#include "cli/describe.hpp"
#include "cli/log.hpp"
#include "cli/redis_options.hpp"
#include "plock/child/child.hpp"
#include "plock/sys/error.hpp"
#include "cli/exit_code.hpp"
#include "plock/lease/lease_schedule.hpp"
#include "plock/redis/redis_lock.hpp"
#include "plock/sys/signals.hpp"

namespace plock::cli {
namespace {

struct RedisOptions {
    std::string name;
    RedisServerOptions server;
    std::optional<std::string> lease;
    std::optional<std::string> permits;
    WaitOptions wait;
    std::optional<std::string> conflict_exit_code;
    std::optional<std::string> command_string;
    bool close = false;
    StopOptions stop;
    OutputOptions output;
};

struct Settings {
    RedisEndpoint endpoint;
    RedisLockSpec spec;
    WaitPolicy wait;
    int conflict_exit_code = exit_code::k_conflict;
    std::vector<std::string> command;
    bool close = false;  // -o: the lock lasts as long as the command, not its whole tree
    StopPolicy stop;
};

unsigned parse_permits(const std::string& text) {
    const auto invalid = [&] {
        return UsageError("invalid value '" + text + "' for --permits: expected a number from 1 to " +
                          std::to_string(k_max_permits));
    };
    if (text.empty() || text.size() > 6) {
        throw invalid();
    }
    unsigned value = 0;
    for (const char character : text) {
        if (character < '0' || character > '9') {
            throw invalid();
        }
        value = value * 10 + static_cast<unsigned>(character - '0');
    }
    if (value < 1 || value > k_max_permits) {
        throw invalid();
    }
    return value;
}

Settings validate(const RedisOptions& options, const CommandWords& words) {
    Settings settings;
    settings.command = resolve_command(options.command_string, words);
    if (settings.command.empty()) {
        throw UsageError("no command given: put it after '--' or use -c STRING");
    }
    settings.endpoint = redis_endpoint(options.server);
    settings.spec = redis_lock_spec(options.name, options.server);
    if (options.lease) {
        const auto lease = parse_seconds("--lease", *options.lease);
        if (lease < k_minimum_lease) {
            throw UsageError("invalid value '" + *options.lease +
                             "' for --lease: must be at least 1 second, so that renewals have time "
                             "to reach the server");
        }
        settings.spec.lease = std::chrono::duration_cast<std::chrono::milliseconds>(lease);
    }
    if (options.permits) {
        settings.spec.permits = parse_permits(*options.permits);
    }
    validate(settings.spec);
    settings.wait = parse_wait_policy(options.wait);
    settings.conflict_exit_code = parse_conflict_exit_code(options.conflict_exit_code);
    settings.close = options.close;
    settings.stop = parse_stop_policy(options.stop);
    // --grace also applies when a lease that cannot be renewed makes plock stop the command.
    validate_stop_policy(settings.stop, false, false, true);
    return settings;
}

// The lock and its holders as describe.hpp words them, from what the lock knows.
std::string describe(const RedisLock& lock) {
    return describe_redis_lock(lock.spec().key(), lock.endpoint().display());
}

std::string describe_holders(const RedisLock& lock) {
    return describe_redis_holders(lock.spec(), lock.holder_remaining());
}

// Takes the lock as the settings say; an exit status when the run ends here.
std::optional<int> take_lock(RedisLock& lock, const Settings& settings) {
    const auto start = Clock::now();
    if (lock.try_acquire().acquired()) {
        return std::nullopt;
    }
    const auto level = conflict_level(settings.conflict_exit_code);
    if (settings.wait.nonblocking) {
        if (logger().should_log(level)) {
            logger().log(level, "{} is busy: {}", describe(lock), describe_holders(lock));
        }
        return settings.conflict_exit_code;
    }
    logger().info("waiting for {} ({}): {}", describe(lock), settings.wait.describe(), describe_holders(lock));
    const AcquireResult result = lock.acquire(settings.wait.deadline_from(start), wait_ending_signals());
    const auto waited = Clock::now() - start;
    switch (result.status) {
    case AcquireResult::Status::acquired:
        logger().info("acquired {} after {}", describe(lock), format_seconds(waited));
        return std::nullopt;
    case AcquireResult::Status::interrupted:
        logger().info("{} ended the wait for {}", signal_name(result.signal), describe(lock));
        return exit_code::k_signal_base + result.signal;
    case AcquireResult::Status::timed_out:
    case AcquireResult::Status::busy:
        break;
    }
    if (logger().should_log(level)) {
        logger().log(level, "timed out after {} waiting for {}: {}", format_seconds(waited), describe(lock),
                     describe_holders(lock));
    }
    return settings.conflict_exit_code;
}

CommandSpec command_for(const RedisLock& lock, const Settings& settings, const sigset_t& original_mask) {
    CommandSpec spec;
    spec.argv = settings.command;
    spec.environment = {{"PLOCK_REDIS_KEY", lock.spec().key()},
                        {"PLOCK_LOCK_TOKEN", lock.lease().token},
                        {"PLOCK_FENCING_TOKEN", std::to_string(lock.lease().fencing_token)}};
    if (lock.lease().slot) {
        spec.environment.emplace_back("PLOCK_SLOT", std::to_string(*lock.lease().slot));
    }
    // No one renews the lease once plock is gone: no process of the command
    // may outlive plock and run on after the lease has ended. The lock is
    // held until the whole tree has ended (as a file lock that the tree
    // inherited would be), or with -o until the command itself ends.
    spec.stop_tree_if_plock_dies = true;
    spec.run_until_tree_ends = !settings.close;
    spec.signal_mask = original_mask;
    return spec;
}

// Runs the command while renewing the lease; stops it when the lease cannot
// be kept. The command's status, or k_lock_lost.
int hold_while_running(RedisLock& lock, const Settings& settings, const sigset_t& original_mask) {
    LeaseSchedule schedule(settings.spec.lease, lock.lease().sent_at);
    // Short enough to leave time for another attempt before terminate_at.
    const auto io_deadline = [&] {
        const auto attempt = std::min<Clock::duration>(k_default_redis_io_timeout, settings.spec.lease / 4);
        return std::min(Clock::now() + attempt, schedule.terminate_at());
    };
    if (Clock::now() >= schedule.renew_at()) {
        // The grant took a third of the lease to arrive: confirm it first.
        const RenewResult renewal = lock.renew(io_deadline());
        if (renewal.status != RenewResult::Status::renewed) {
            lock.abandon();
            logger().error("took {} but could not keep it: {}", describe(lock), renewal.error);
            return exit_code::k_lock_lost;
        }
        schedule.renewed(renewal.sent_at);
    }

    logger().debug("holding {} (fencing token {}{}), lease {}", describe(lock), lock.lease().fencing_token,
                   lock.lease().slot ? ", permit " + std::to_string(*lock.lease().slot) : "",
                   format_seconds(settings.spec.lease));
    ChildProcess child = ChildProcess::spawn(command_for(lock, settings, original_mask));
    Deadline limit;
    if (settings.stop.time_limit) {
        limit = Clock::now() + std::chrono::duration_cast<Clock::duration>(*settings.stop.time_limit);
    }
    bool terminated = false;  // stopping the tree: the lease cannot be kept
    bool killed = false;
    bool over_time = false;   // stopping the tree: it ran past --time-limit
    std::chrono::nanoseconds grace{};  // of the stop for a lease that cannot be kept
    std::string trouble;      // why the last renewal failed
    std::optional<ExitStatus> status;
    for (;;) {
        Deadline next;
        if (!killed) {
            next = schedule.kill_at();
            if (!terminated) {
                next = std::min({*next, schedule.terminate_at(), schedule.renew_at()});
                if (limit && !over_time) {
                    next = std::min(*next, *limit);
                }
            }
        }
        status = child.wait(forwarded_signals(), next);
        if (status) {
            break;
        }
        const auto now = Clock::now();
        if (!killed && now >= schedule.kill_at()) {
            logger().error("the lease on {} ends now and processes of the command still run: killing them "
                           "(SIGKILL)",
                           describe(lock));
            child.kill_now();
            killed = true;
            terminated = true;  // also when plock itself was held up past terminate_at
        } else if (!terminated && now >= schedule.terminate_at()) {
            // SIGKILL by the time the lease ends at the latest.
            grace = std::min<std::chrono::nanoseconds>(settings.stop.grace, schedule.kill_at() - now);
            if (schedule.is_lost()) {
                logger().error("lost {}: {}; stopping the command and every process it started (SIGTERM)",
                               describe(lock), trouble);
            } else {
                logger().error("cannot renew the lease on {} ({}); stopping the command and every process it "
                               "started (SIGTERM) before the lease ends",
                               describe(lock), trouble);
            }
            child.stop(grace);
            terminated = true;
        } else if (limit && !over_time && !terminated && now >= *limit) {
            // The lease is still renewed while the tree stops.
            stop_for_time_limit(child, settings.stop);
            over_time = true;
        } else if (!terminated && now >= schedule.renew_at()) {
            const RenewResult renewal = lock.renew(io_deadline());
            switch (renewal.status) {
            case RenewResult::Status::renewed:
                if (!trouble.empty()) {
                    logger().warn("renewed the lease on {} again", describe(lock));
                    trouble.clear();
                }
                schedule.renewed(renewal.sent_at);
                break;
            case RenewResult::Status::lost:
                trouble = renewal.error;
                schedule.lost(Clock::now());
                break;
            case RenewResult::Status::unreachable:
                if (trouble.empty() && schedule.terminate_at() > Clock::now()) {
                    logger().warn("cannot renew the lease on {} ({}); retrying, the command will be stopped "
                                  "in {} if no renewal succeeds",
                                  describe(lock), renewal.error,
                                  format_seconds(std::max(schedule.terminate_at() - Clock::now(),
                                                          Clock::duration::zero())));
                }
                trouble = renewal.error;
                schedule.renewal_failed(Clock::now());
                break;
            }
        }
    }
    if (terminated) {
        if (child.killed_after_grace() && !killed) {
            logger().error("processes of the command still ran {} after SIGTERM{}: killed them (SIGKILL)",
                           format_seconds(grace),
                           grace < settings.stop.grace ? ", as the lease on " + describe(lock) + " was about to end"
                                                       : std::string());
        }
        lock.abandon();
        return exit_code::k_lock_lost;
    }

    const auto now = Clock::now();
    const auto release_deadline = std::min(now + k_default_redis_io_timeout, schedule.expires_at());
    try {
        if (release_deadline > now && !lock.release(release_deadline)) {
            logger().error("the command ended, but {} was no longer ours: another holder may have "
                           "overlapped with its run",
                           describe(lock));
            return exit_code::k_lock_lost;
        }
    } catch (const SystemError& error) {
        logger().warn("cannot release {} ({}); it expires within {}", describe(lock), error.what(),
                      format_seconds(std::max(schedule.expires_at() - Clock::now(), Clock::duration::zero())));
    }
    lock.abandon();
    if (over_time) {
        report_time_limit_kill(child, settings.stop);
        return exit_code::k_time_limit;
    }
    if (status->signaled()) {
        logger().debug("the command was killed by {}", signal_name(status->signal()));
    }
    return status->shell_status();
}

int run_redis_command(const Settings& settings) {
    // Block the signals we forward before anything can be interrupted; they
    // are taken synchronously from here on and restored for the command.
    const ScopedSignalMask mask(handled_signals());
    RedisLock lock(settings.endpoint, settings.spec);
    if (const auto status = take_lock(lock, settings)) {
        return *status;
    }
    return hold_while_running(lock, settings, mask.previous());
}

void define_redis(CLI::App& command, Dispatch& dispatch) {
    auto options = std::make_shared<RedisOptions>();
    command.add_option("NAME", options->name, "The lock's name; its Redis key is PREFIX+NAME")->required();
    add_redis_server_options(command, options->server);
    const auto text_option = [&](const char* name, std::optional<std::string>& target, const char* help) {
        return command.add_option_function<std::string>(
            name, [&target](const std::string& text) { target = text; }, help);
    };
    text_option("--lease", options->lease,
                "Lease in SECONDS (default 30, at least 1), renewed every third of it while the "
                "command runs")
        ->option_text("SECONDS");
    text_option("--permits", options->permits,
                "Let up to N holders run at once: a semaphore (default 1: a lock)")
        ->option_text("N");
    add_wait_options(command, options->wait);
    add_conflict_exit_option(command, options->conflict_exit_code);
    add_command_option(command, options->command_string);
    command.add_flag("-o,--close", options->close,
                     "Hold the lock while the command runs, not until every process it started "
                     "has ended");
    add_stop_options(command, options->stop, " (--time-limit, or a lease it cannot renew)");
    add_output_options(command, options->output);
    command.allow_extras();
    command.footer(
        "Usage: plock redis [OPTIONS] NAME -- COMMAND [ARG...]\n"
        "       plock redis [OPTIONS] NAME -c STRING\n\n"
        "Examples:\n"
        "  plock redis --url redis://ci-redis:6379 deploy -- ./deploy.sh     # one at a time, anywhere\n"
        "  plock redis -n nightly-report -- ./report.sh                      # skip if running elsewhere\n"
        "  plock redis --permits 4 --lease 60 gpu -- ./train.sh              # at most 4 at once\n\n"
        "The command sees PLOCK_REDIS_KEY, PLOCK_LOCK_TOKEN, PLOCK_FENCING_TOKEN (strictly\n"
        "increasing) and, with --permits, PLOCK_SLOT. The lock is held until the command and\n"
        "every process it started have ended (-o: the command alone). If the lease cannot be\n"
        "renewed, all of them get SIGTERM a quarter lease before it ends, SIGKILL after --grace\n"
        "or when it ends, and plock exits with 79 (124 when --time-limit stopped them).\n"
        "Password: PLOCK_REDIS_PASSWORD or --password-file. See plock(1).");
    run_when_chosen(command, dispatch, [options](const CommandWords& words) -> Run {
        apply_output_options(options->output);
        return [settings = validate(*options, words)] { return run_redis_command(settings); };
    });
}

}  // namespace

const SubcommandDefinition k_redis_command{
    "redis", "Run a command while holding a lock or semaphore kept in Redis, shared across machines",
    define_redis};

}  // namespace plock::cli
