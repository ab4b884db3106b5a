// The CLI's wording for holders, semaphores, Redis locks and durations.
#include "cli/describe.hpp"

#include <cstdio>

namespace plock::cli {
namespace {

// "a, b, c and 2 more": the first k_named_in_list of `total` items, which
// `names` holds (it may hold more).
std::string named_list(const std::vector<std::string>& names, std::size_t total) {
    std::string text;
    for (std::size_t index = 0; index < names.size() && index < k_named_in_list; ++index) {
        text += (text.empty() ? "" : ", ") + names[index];
    }
    if (total > k_named_in_list) {
        text += " and " + std::to_string(total - k_named_in_list) + " more";
    }
    return text;
}

// Fixed-point, never an exponent: "2.50", "3600".
std::string fixed(double seconds, int decimals) {
    char text[64];
    std::snprintf(text, sizeof text, "%.*f", decimals, seconds);
    return text;
}

std::string without_trailing_zeros(std::string number) {
    if (number.find('.') != std::string::npos) {
        while (number.back() == '0') {
            number.pop_back();
        }
        if (number.back() == '.') {
            number.pop_back();
        }
    }
    return number;
}

}  // namespace

std::string describe_holder(const LockHolder& holder) {
    if (holder.pid <= 0) {
        return "an unknown process";
    }
    std::string text = "PID " + std::to_string(holder.pid);
    if (!holder.command_line.empty()) {
        text += " (" + holder.command_line + ")";
    }
    return text;
}

std::string describe_holders(const std::vector<LockHolder>& holders) {
    if (holders.empty()) {
        return "an unknown process";
    }
    std::vector<std::string> names;
    for (std::size_t index = 0; index < holders.size() && index < k_named_in_list; ++index) {
        names.push_back(describe_holder(holders[index]));
    }
    return named_list(names, holders.size());
}

std::string describe_slot_holders(const SemaphoreState& state) {
    std::vector<std::string> names;
    std::size_t held = 0;
    for (const SlotState& slot : state.slots) {
        if (!slot.held()) {
            continue;
        }
        if (++held <= k_named_in_list) {
            names.push_back("slot " + std::to_string(slot.index) + " by " + describe_holders(slot.holders));
        }
    }
    return held == 0 ? "processes plock cannot name" : named_list(names, held);
}

std::string describe_semaphore(const SemaphoreSpec& spec) {
    return "semaphore " + spec.name + " in " + spec.directory;
}

std::string describe_pid_file_holder(const PidFileState& state) {
    if (state.status != PidFileState::Status::running) {
        return "a process that has just let go of it";
    }
    return describe_holder(state.holder);
}

std::string describe_redis_lock(std::string_view key, std::string_view server) {
    return std::string(key) + " on " + std::string(server);
}

std::string describe_redis_holders(const RedisLockSpec& spec, std::optional<std::chrono::milliseconds> remaining) {
    std::string text = spec.is_semaphore() ? "all " + std::to_string(spec.permits) + " permits are held"
                                           : "held by another client";
    if (remaining) {
        text += spec.is_semaphore() ? ", the first lease ends in " : ", whose lease ends in ";
        text += format_seconds(*remaining) + " unless renewed";
    }
    return text;
}

std::string format_duration(std::chrono::nanoseconds duration, DurationStyle style) {
    const double seconds = std::chrono::duration<double>(duration).count();
    if (style == DurationStyle::seconds) {
        // Three significant digits, milliseconds at most, as short as it gets.
        const int decimals = seconds >= 100 ? 0 : seconds >= 10 ? 1 : seconds >= 1 ? 2 : 3;
        return without_trailing_zeros(fixed(seconds, decimals)) + "s";
    }
    if (seconds < 60) {
        // Always the same width, to compare down a column.
        return fixed(seconds, seconds < 10 ? 2 : 1) + "s";
    }
    const auto whole = static_cast<long long>(seconds);
    char text[64];
    if (whole < 3600) {
        std::snprintf(text, sizeof text, "%lldm%02llds", whole / 60, whole % 60);
    } else if (whole < 86400) {
        std::snprintf(text, sizeof text, "%lldh%02lldm", whole / 3600, whole % 3600 / 60);
    } else {
        std::snprintf(text, sizeof text, "%lldd%02lldh", whole / 86400, whole % 86400 / 3600);
    }
    return text;
}

}  // namespace plock::cli
