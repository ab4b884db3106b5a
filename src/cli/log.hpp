// The CLI's one logger: "plock" on stderr, terse lines, built on first use so
// that a run that prints nothing pays nothing for it.
#pragma once

#include <spdlog/logger.h>

namespace plock::cli {

enum class Verbosity { quiet, normal, verbose };

// -v/-q win over PLOCK_LOG, which wins over the default (warnings and errors).
void set_verbosity(Verbosity verbosity);

spdlog::logger& logger();

// A conflict is the expected outcome of a non-blocking run or a timeout:
// reported as a plain line unless -q, or only with -v when -E 0 makes it a
// success.
spdlog::level::level_enum conflict_level(int conflict_exit_code) noexcept;

}  // namespace plock::cli
