// What /proc tells about a process: its command line and whether it lives.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

namespace plock {

// The command line with arguments separated by spaces, control characters
// shown as '?', cut to `max_length`; empty when the process is gone.
std::string read_command_line(pid_t pid, std::size_t max_length = 200);

// True when `pid` names a live (not zombie) process.
bool process_is_alive(pid_t pid);

// The parent of `pid` (field 4 of /proc/PID/stat); nullopt when it is gone.
std::optional<pid_t> parent_process(pid_t pid);

}  // namespace plock
