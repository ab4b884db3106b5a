// The options that name a semaphore's slots (-n/--slots N, --dir DIR), shared
// by `plock sem` and `plock status --sem`, and their validation into a
// SemaphoreSpec.
#pragma once

#include <optional>
#include <string>

#include "cli/options.hpp"
#include "plock/sem/semaphore.hpp"

namespace plock::cli {

struct SemaphoreLocationOptions {
    std::optional<std::string> slot_count;  // as typed
    std::optional<std::string> directory;
};

void add_semaphore_location_options(CLI::App& command, SemaphoreLocationOptions& options);

// Checks the slot count first (UsageError naming -n/--slots: 'plock sem -n
// NAME' is then reported as the mistake it is), then the name and directory.
// The directory defaults to portalocker's: $TMPDIR, $TEMP, $TMP, else /tmp.
SemaphoreSpec semaphore_spec(const std::string& name, const SemaphoreLocationOptions& options);

}  // namespace plock::cli
