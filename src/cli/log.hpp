// The CLI's one logger: "plock" on stderr, terse lines, built on first use so
// that a run that prints nothing pays nothing for it.
#pragma once

#include <spdlog/logger.h>

namespace plock::cli {

enum class Verbosity { quiet, normal, verbose };

// -v/-q win over PLOCK_LOG, which wins over the default (warnings and errors).
void set_verbosity(Verbosity verbosity);

spdlog::logger& logger();

}  // namespace plock::cli
