// How the CLI names things in its messages and in the status report: the
// processes holding a lock (one, or a list of them), a semaphore, a PID
// file's holder, a Redis lock and its holders, and durations. Each is worded
// here once; the subcommands and the status report call these.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "plock/pidfile/pid_guard.hpp"
#include "plock/proc/lock_holders.hpp"
#include "plock/redis/redis_lock.hpp"
#include "plock/sem/semaphore.hpp"

namespace plock::cli {

// How many items (holders, slots) a list names before it counts the rest:
// "PID 1 (a), PID 2 (b), PID 3 (c) and 2 more".
inline constexpr std::size_t k_named_in_list = 3;

// "PID 1234 (sleep 10)", "PID 1234" when its command line is unknown, or
// "an unknown process" when no live process could be found for the lock.
std::string describe_holder(const LockHolder& holder);

// The holders of one lock, each as describe_holder names it, at most
// k_named_in_list of them and then how many more: "PID 12 (plock sem ...),
// PID 13 (sh -c ...)". "an unknown process" when the list is empty.
std::string describe_holders(const std::vector<LockHolder>& holders);

// The held slots of a semaphore, at most k_named_in_list of them: "slot 0 by
// PID 12 (sleep 9), slot 1 by PID 13 (...) and 4 more"; "processes plock
// cannot name" when no slot is held any more.
std::string describe_slot_holders(const SemaphoreState& state);

// "semaphore gpu in /tmp"
std::string describe_semaphore(const SemaphoreSpec& spec);

// Who holds a PID file that was found busy: its holder when it is running,
// else "a process that has just let go of it".
std::string describe_pid_file_holder(const PidFileState& state);

// "plock:deploy on redis://10.0.0.5:6379": the key and the server's URL
// without its password.
std::string describe_redis_lock(std::string_view key, std::string_view server);

// Why a Redis lock is busy: "held by another client, whose lease ends in
// 12.5s unless renewed", "all 3 permits are held, the first lease ends in
// ...". `remaining` is the holder's lease as the server last said.
std::string describe_redis_holders(const RedisLockSpec& spec, std::optional<std::chrono::milliseconds> remaining);

// The two ways a duration is written; neither uses an exponent.
enum class DurationStyle {
    // Seconds only, three significant digits at most, to the millisecond
    // ("0.25s", "2.5s", "0s", "90s", "3600s"): log messages, where a wait or
    // a limit is compared with the -w, --grace or --lease given in seconds.
    seconds,
    // A fixed width under a minute ("0.25s", "2.50s", "12.3s"), then minutes,
    // hours or days and the next unit ("5m07s", "2h03m", "3d04h"): the status
    // report, where a lock may have been held for days.
    units,
};

std::string format_duration(std::chrono::nanoseconds duration, DurationStyle style = DurationStyle::units);

// The duration as log messages write it: format_duration(duration, DurationStyle::seconds).
inline std::string format_seconds(std::chrono::nanoseconds duration) {
    return format_duration(duration, DurationStyle::seconds);
}

}  // namespace plock::cli
