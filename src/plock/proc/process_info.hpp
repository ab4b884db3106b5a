// What /proc tells about a process: its command line, whether it lives, its
// parent and children, and when it started.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace plock {

// The command line with arguments separated by spaces, control characters
// shown as '?', cut to `max_length`; empty when the process is gone.
std::string read_command_line(pid_t pid, std::size_t max_length = 200);

// The fields of /proc/PID/stat that plock uses.
struct ProcessStat {
    std::string name;               // field 2, the "comm": the executable's name, cut to 15 bytes
    char state = '?';               // R, S, D, Z, ...
    pid_t parent = 0;               // field 4
    std::uint64_t start_ticks = 0;  // field 22: start, in clock ticks after boot
};

// Parses the content of /proc/PID/stat; nullopt when it is malformed.
// The command name (field 2) may contain spaces and ')', so the fields are
// counted from the last ')'.
std::optional<ProcessStat> parse_process_stat(std::string_view text);

// nullopt when the process is gone (or vanishes while it is read).
std::optional<ProcessStat> read_process_stat(pid_t pid);

// True when `pid` names a live (not zombie) process.
bool process_is_alive(pid_t pid);

// How long ago a process with this start time started: CLOCK_BOOTTIME now,
// minus the start time, which the kernel counts on the same clock (in clock
// ticks, so to 1/CLK_TCK, usually 10 ms).
std::chrono::nanoseconds time_since_start(const ProcessStat& stat);

// The children of `pid` (/proc/PID/task/*/children); empty when the process is
// gone or the kernel does not offer the list.
std::vector<pid_t> process_children(pid_t pid);

// The parent of `pid` (field 4 of /proc/PID/stat); nullopt when it is gone.
std::optional<pid_t> parent_process(pid_t pid);

}  // namespace plock
