#include "cli/semaphore_options.hpp"

#include <CLI/CLI.hpp>

#include <cstdlib>

#include "cli/options.hpp"
#include "plock/sys/error.hpp"

namespace plock::cli {
namespace {

std::size_t parse_slot_count(const std::optional<std::string>& text) {
    if (!text) {
        throw UsageError("the number of slots is missing: give it with -n N");
    }
    return static_cast<std::size_t>(
        parse_integer("-n/--slots", *text, 1, static_cast<long long>(k_max_semaphore_slots), "slots"));
}

// Where portalocker puts its slots by default: Python's tempfile.gettempdir()
// takes the first of these variables that is set, then /tmp.
std::string default_directory() {
    for (const char* variable : {"TMPDIR", "TEMP", "TMP"}) {
        if (const char* value = std::getenv(variable); value != nullptr && *value != '\0') {
            return value;
        }
    }
    return "/tmp";
}

}  // namespace

void add_semaphore_location_options(CLI::App& command, SemaphoreLocationOptions& options) {
    add_text_option(
        command, "-n,--slots", options.slot_count,
        "How many processes may hold the semaphore at once (1 to 1024); every user must give the same N",
        "N");
    add_text_option(command, "--dir", options.directory,
                    "Where the slot files are (default: $TMPDIR, else /tmp, as portalocker)", "DIR");
}

SemaphoreSpec semaphore_spec(const std::string& name, const SemaphoreLocationOptions& options) {
    SemaphoreSpec spec;
    spec.slot_count = parse_slot_count(options.slot_count);
    spec.name = name;
    check_semaphore_name(spec.name);
    spec.directory = options.directory ? *options.directory : default_directory();
    if (spec.directory.empty()) {
        throw UsageError("the --dir directory name is empty");
    }
    return spec;
}

}  // namespace plock::cli
