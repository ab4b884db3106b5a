// `plock status`: who holds these locks (files, a semaphore's slots, a PID
// file, a lock or semaphore in Redis), who waits for them. It only reads
// /proc, the PID file and (with read-only commands) Redis: nothing is opened
// for writing, created or locked.
#include <CLI/CLI.hpp>

#include <memory>

#include "cli/app.hpp"
#include "cli/log.hpp"
#include "cli/redis_options.hpp"
#include "cli/semaphore_options.hpp"
#include "cli/status_query.hpp"
#include "cli/status_report.hpp"
#include "plock/sys/error.hpp"

namespace plock::cli {
namespace {

struct StatusOptions {
    std::vector<std::string> paths;
    std::optional<std::string> semaphore;
    SemaphoreLocationOptions location;
    std::optional<std::string> pid_file;
    std::optional<std::string> redis;
    RedisServerOptions server;
    bool json = false;
    bool quiet = false;
};

// What to look at: exactly one kind of lock per run.
struct Settings {
    std::vector<std::string> paths;
    std::optional<SemaphoreSpec> semaphore;
    std::optional<std::string> pid_file;
    std::optional<RedisTarget> redis;
    bool json = false;
    bool quiet = false;
};

Settings validate(const StatusOptions& options, const CommandWords& words) {
    if (words) {
        throw UsageError("plock status runs no command: nothing goes after '--'");
    }
    const int kinds = (options.paths.empty() ? 0 : 1) + (options.semaphore ? 1 : 0) + (options.pid_file ? 1 : 0) +
                      (options.redis ? 1 : 0);
    if (kinds != 1) {
        throw UsageError(kinds == 0 ? "nothing to look at: give lock files (PATH...), --sem NAME, --pidfile PIDFILE "
                                      "or --redis NAME"
                                    : "give only one of PATH..., --sem NAME, --pidfile PIDFILE and --redis NAME");
    }
    if (!options.semaphore && (options.location.slot_count || options.location.directory)) {
        throw UsageError("-n/--slots and --dir only go with --sem NAME");
    }
    if (!options.redis && options.server.any()) {
        throw UsageError("--url, --password-file and --key-prefix only go with --redis NAME");
    }
    Settings settings;
    settings.json = options.json;
    settings.quiet = options.quiet;
    if (settings.quiet) {
        set_verbosity(Verbosity::quiet);
    }
    if (options.redis) {
        settings.redis =
            RedisTarget{*options.redis, redis_endpoint(options.server), redis_lock_spec(*options.redis, options.server)};
    } else if (options.semaphore) {
        settings.semaphore = semaphore_spec(*options.semaphore, options.location);
    } else if (options.pid_file) {
        if (options.pid_file->empty()) {
            throw UsageError("the --pidfile name is empty");
        }
        settings.pid_file = options.pid_file;
    } else {
        settings.paths = options.paths;
    }
    return settings;
}

// The entries to report, in order.
std::vector<StatusEntry> query(const Settings& settings) {
    if (settings.redis) {
        return {query_redis(*settings.redis)};
    }
    if (settings.semaphore) {
        return {query_semaphore(*settings.semaphore)};
    }
    if (settings.pid_file) {
        return {query_pid_file_status(*settings.pid_file)};
    }
    return query_files(settings.paths);
}

int run_status(const Settings& settings) {
    const auto now = std::chrono::system_clock::now();
    const StatusFormat format = settings.json ? StatusFormat::json
                                : settings.quiet ? StatusFormat::none
                                                 : StatusFormat::text;
    return print_status(query(settings), format, now);
}

void define_options(CLI::App& command, StatusOptions& options) {
    command.add_option("PATH", options.paths, "Lock files to look at (never created, opened or locked)");
    add_text_option(
        command, "--sem", options.semaphore,
        "Instead of PATH...: show the slots of the semaphore NAME (as plock sem), each free or held by whom",
        "NAME");
    add_semaphore_location_options(command, options.location);
    add_text_option(
        command, "--pidfile", options.pid_file,
        "Instead of PATH...: show the PID file as plock pidguard sees it (running, stale or absent)",
        "PIDFILE");
    add_text_option(
        command, "--redis", options.redis,
        "Instead of PATH...: show the lock or semaphore NAME kept in Redis (as plock redis): holder "
        "tokens, remaining leases, fencing counter; read-only",
        "NAME");
    add_redis_server_options(command, options.server);
    auto* json = command.add_flag("--json", options.json,
                                  "Print one JSON document (schema in plock(1), STATUS JSON)");
    json->excludes(add_quiet_option(command, options.quiet));
    command.footer(
        "Usage: plock status [--json | -q] PATH...\n"
        "       plock status [--json | -q] --sem NAME -n N [--dir DIR]\n"
        "       plock status [--json | -q] --pidfile PIDFILE\n"
        "       plock status [--json | -q] --redis NAME [--url URL] [--password-file FILE] [--key-prefix PREFIX]\n\n"
        "Examples:\n"
        "  plock status /var/lock/backup.lock                   # who holds it, who waits\n"
        "  plock status -q /var/lock/backup.lock || echo busy   # exit 0: free, 1: held\n"
        "  plock status --sem gpu -n 2                          # which slots are held, by whom\n"
        "  plock status --pidfile /run/web.pid                  # running, stale or absent\n"
        "  plock status --redis deploy --url redis://ci:6379    # holder token, lease left, fencing counter\n"
        "  plock status --json /var/lock/*.lock | jq -r '.locks[] | select(.state == \"held\") | .path'\n\n"
        "For each holder: mode, method, PID, command line, and how long it has held the lock\n"
        "(\"held <=\": since its process started, an upper bound). Exit status: 0 when every lock\n"
        "is free (a PID file stale or absent, no slot held), 1 when one is held, 66 when a PATH\n"
        "does not exist, 69 when the Redis server cannot be reached; see 'plock --help'.");
}

}  // namespace

std::unique_ptr<Subcommand> make_status_command() {
    return make_subcommand(define_options, validate, run_status);
}

}  // namespace plock::cli
