// `plock redis`: hold a lock (or one of N permits) kept in a Redis server
// while a command runs, renewing its lease, and stop the command before the
// lease can end if it cannot be renewed.
#include <CLI/CLI.hpp>

#include <memory>

#include "cli/acquire.hpp"
#include "cli/app.hpp"
#include "cli/command_runner.hpp"
#include "cli/exit_code.hpp"
#include "cli/lease_report.hpp"
#include "cli/describe.hpp"
#include "cli/log.hpp"
#include "cli/redis_options.hpp"
#include "plock/child/child.hpp"
#include "plock/lease/lease_keeper.hpp"
#include "plock/redis/redis_lock.hpp"
#include "plock/sys/error.hpp"
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
    CommandOptions command;
    OutputOptions output;
};

struct Settings {
    RedisEndpoint endpoint;
    RedisLockSpec spec;
    WaitPolicy wait;
    int conflict_exit_code = exit_code::k_conflict;
    CommandSettings command;  // -o: the lock lasts as long as the command, not its whole tree
};

Settings validate(const RedisOptions& options, const CommandWords& words) {
    apply_output_options(options.output);
    Settings settings;
    // --grace also applies when a lease that cannot be renewed makes plock stop the command.
    CommandRules rules;
    rules.grace_has_other_use = true;
    settings.command = parse_command_settings(options.command, words, rules);
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
        settings.spec.permits =
            static_cast<unsigned>(parse_integer("--permits", *options.permits, 1, k_max_permits));
    }
    validate(settings.spec);
    settings.wait = parse_wait_policy(options.wait);
    settings.conflict_exit_code = parse_conflict_exit_code(options.conflict_exit_code);
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
    LockWording wording;
    wording.target = describe(lock);
    wording.busy = [&lock] { return describe(lock) + " is busy: " + describe_holders(lock); };
    wording.holders = [&lock] { return describe_holders(lock); };
    const WaitReport report(std::move(wording), settings.wait, settings.conflict_exit_code);
    return report.outcome(lock.take(report.plan(), wait_ending_signals(), report.before_wait()));
}

CommandSpec command_for(const RedisLock& lock, const Settings& settings, const sigset_t& original_mask) {
    Environment environment = {{"PLOCK_REDIS_KEY", lock.spec().key()},
                               {"PLOCK_LOCK_TOKEN", lock.lease().token},
                               {"PLOCK_FENCING_TOKEN", std::to_string(lock.lease().fencing_token)}};
    if (lock.lease().slot) {
        environment.emplace_back("PLOCK_SLOT", std::to_string(*lock.lease().slot));
    }
    CommandSpec spec = launch_request(settings.command, std::move(environment), {}, original_mask).command;
    // No one renews the lease once plock is gone: no process of the command
    // may outlive plock and run on after the lease has ended. The lock is
    // held until the whole tree has ended (as a file lock that the tree
    // inherited would be), or with -o until the command itself ends.
    spec.stop_tree_if_plock_dies = true;
    spec.run_until_tree_ends = !settings.command.close;
    return spec;
}

// "fencing token 7, permit 2"
std::string describe_lease(const RedisLock& lock) {
    std::string text = "fencing token " + std::to_string(lock.lease().fencing_token);
    if (lock.lease().slot) {
        text += ", permit " + std::to_string(*lock.lease().slot);
    }
    return text;
}

// Runs the command while renewing the lease; stops it when the lease cannot
// be kept. The command's status, k_lock_lost or k_time_limit.
int hold_while_running(RedisLock& lock, const Settings& settings, const sigset_t& original_mask) {
    LeaseKeeperSettings keeping;
    keeping.lease = settings.spec.lease;
    keeping.granted_at = lock.lease().sent_at;
    keeping.io_timeout = k_default_redis_io_timeout;
    keeping.time_limit = settings.command.stop.time_limit;
    keeping.grace = settings.command.stop.grace;
    LeaseReport report(describe(lock), describe_lease(lock), settings.spec.lease, settings.command.stop);
    SteadyClockSource clock;
    LeaseKeeper keeper(lock, keeping, clock, report);
    KeptChild command(command_for(lock, settings, original_mask));
    return report.report_ending(keeper.run(command));
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

void define_options(CLI::App& command, RedisOptions& options) {
    command.add_option("NAME", options.name, "The lock's name; its Redis key is PREFIX+NAME")->required();
    add_redis_server_options(command, options.server);
    add_text_option(command, "--lease", options.lease,
                    "Lease in SECONDS (default 30, at least 1), renewed every third of it while the "
                    "command runs",
                    "SECONDS");
    add_text_option(command, "--permits", options.permits,
                    "Let up to N holders run at once: a semaphore (default 1: a lock)", "N");
    add_wait_options(command, options.wait);
    add_conflict_exit_option(command, options.conflict_exit_code);
    add_command_options(command, options.command,
                        {"Hold the lock while the command runs, not until every process it started "
                         "has ended",
                         nullptr, " (--time-limit, or a lease it cannot renew)"});
    add_output_options(command, options.output);
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
}

}  // namespace

std::unique_ptr<Subcommand> make_redis_command() {
    return make_subcommand(define_options, validate, run_redis_command);
}

}  // namespace plock::cli
