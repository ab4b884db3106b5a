// `plock unlock FD`: lets go of the lock that `plock lock FD` (or flock(1),
// or any other program) took on the open file description behind the
// caller's descriptor FD, whatever its method.
#include <CLI/CLI.hpp>

#include <climits>

#include "cli/app.hpp"
#include "cli/exit_code.hpp"
#include "cli/log.hpp"
#include "plock/file/file_lock.hpp"
#include "plock/sys/error.hpp"

namespace plock::cli {
namespace {

struct UnlockOptions {
    std::optional<std::string> descriptor;
    OutputOptions output;
};

struct Settings {
    int descriptor = -1;
};

void define_options(CLI::App& command, UnlockOptions& options) {
    add_text_option(command, "FD", options.descriptor, "The descriptor whose open file lets go of its lock", "")
        ->required();
    add_output_options(command, options.output);
    command.footer(
        "Usage: plock unlock FD\n\n"
        "Examples:\n"
        "  plock unlock 9       # after exec 9>FILE; plock lock 9; ./critical-part: the rest runs unlocked\n\n"
        "Releases the flock and open file description locks of the open file behind FD (held or not:\n"
        "exit 0). Exit status: 0, or 66 when FD is not open; see 'plock --help'.");
}

Settings validate(const UnlockOptions& options, const CommandWords& words) {
    apply_output_options(options.output);
    if (words) {
        throw UsageError("plock unlock runs no command: nothing goes after '--'");
    }
    return Settings{static_cast<int>(parse_integer("FD", *options.descriptor, 0, INT_MAX))};
}

int run(const Settings& settings) {
    unlock_descriptor(settings.descriptor);
    logger().debug("unlocked {}", describe_descriptor(settings.descriptor));
    return exit_code::k_success;
}

}  // namespace

std::unique_ptr<Subcommand> make_unlock_command() {
    return make_subcommand(define_options, validate, run);
}

}  // namespace plock::cli
