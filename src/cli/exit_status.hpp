// Mapping errors to plock's exit statuses (src/cli/exit_code.hpp).
#pragma once

#include "plock/sys/error.hpp"

namespace plock::cli {

int exit_code_for(const SystemError& error) noexcept;

}  // namespace plock::cli
