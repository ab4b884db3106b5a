// Mapping errors to their messages and plock's exit statuses (src/cli/exit_code.hpp), and the
// tables of those statuses as --help prints them.
#pragma once

#include <span>
#include <string>

#include "cli/exit_code.hpp"
#include "plock/sys/error.hpp"

namespace plock::cli {

int exit_code_for(const SystemError& error) noexcept;

// The error's one line on stderr: the library's message, and what the user
// can do about it in the CLI's words (its options).
std::string error_message(const SystemError& error);
std::string error_message(const UsageError& error);

// One line per entry, "  75             the lock is busy ...\n": the code in
// a column of its own, then what it means.
std::string exit_status_rows(std::span<const exit_code::Entry> table);

}  // namespace plock::cli
