// Mapping errors to plock's exit statuses (include/plock/exit_code.hpp).
#pragma once

#include "plock/error.hpp"

namespace plock::cli {

int exit_code_for(const SystemError& error) noexcept;

}  // namespace plock::cli
