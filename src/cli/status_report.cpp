// Rendering the status report: aligned text lines, or a JSON document built
// with nlohmann::json (never by concatenating strings).
#include "cli/status_report.hpp"

#include <sys/sysmacros.h>

#include <cerrno>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <nlohmann/json.hpp>
#include <ostream>
#include <sstream>

#include "cli/describe.hpp"
#include "cli/exit_code.hpp"
#include "cli/log.hpp"
#include "plock/sys/error.hpp"

namespace plock::cli {
namespace {

// ordered_json keeps the fields in the documented order.
using json = nlohmann::ordered_json;

// Version of the JSON document; bumped only when a field changes meaning or
// goes away (new fields may appear without a bump).
constexpr int k_json_version = 1;

template <typename... Handlers>
struct Overloaded : Handlers... {
    using Handlers::operator()...;
};
template <typename... Handlers>
Overloaded(Handlers...) -> Overloaded<Handlers...>;

std::string_view mode_of(const LockEntry& entry) { return entry.exclusive ? "exclusive" : "shared"; }

json optional_pid(pid_t pid) { return pid > 0 ? json(pid) : json(nullptr); }

json optional_text(const std::string& text) { return text.empty() ? json(nullptr) : json(text); }

std::string utc_timestamp(std::chrono::system_clock::time_point when) {
    const auto milliseconds =
        std::chrono::duration_cast<std::chrono::milliseconds>(when.time_since_epoch()).count();
    const std::time_t seconds = static_cast<std::time_t>(milliseconds / 1000);
    std::tm parts{};
    gmtime_r(&seconds, &parts);
    char text[64];
    std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", parts.tm_year + 1900,
                  parts.tm_mon + 1, parts.tm_mday, parts.tm_hour, parts.tm_min, parts.tm_sec,
                  static_cast<int>(milliseconds % 1000));
    return text;
}

json process_json(const LockHolder& process) {
    return json{{"pid", optional_pid(process.pid)},
                {"command", optional_text(process.command_line)},
                {"mode", mode_of(process.entry)},
                {"method", to_string(process.entry.kind)},
                {"start", process.entry.start},
                {"end", process.entry.end ? json(*process.entry.end) : json(nullptr)}};
}

json file_json(const FileLockStatus& status, std::chrono::system_clock::time_point now) {
    json holders = json::array();
    for (const HolderStatus& holder : status.holders) {
        json entry = process_json(holder.holder);
        if (holder.held_for) {
            entry["held_for_seconds"] = std::chrono::duration<double>(*holder.held_for).count();
            entry["held_since"] = utc_timestamp(
                now - std::chrono::duration_cast<std::chrono::system_clock::duration>(*holder.held_for));
            entry["held_since_source"] = to_string(holder.held_since);
        } else {
            entry["held_for_seconds"] = nullptr;
            entry["held_since"] = nullptr;
            entry["held_since_source"] = nullptr;
        }
        holders.push_back(std::move(entry));
    }
    json waiting = json::array();
    for (const LockHolder& waiter : status.waiters) {
        waiting.push_back(process_json(waiter));
    }
    return json{{"type", "file"},
                {"path", status.path},
                {"state", status.held() ? "held" : "free"},
                {"device", std::to_string(major(status.file.device)) + ":" +
                               std::to_string(minor(status.file.device))},
                {"inode", status.file.inode},
                {"holders", std::move(holders)},
                {"waiters", status.waiters.size()},
                {"waiting", std::move(waiting)}};
}

json error_json(const StatusError& error) {
    return json{{"type", error.type},
                {"path", error.name},
                {"state", "error"},
                {"error", error.message},
                {"exit_status", error.exit_status}};
}

std::string pid_text(pid_t pid) { return pid > 0 ? "PID " + std::to_string(pid) : "PID ?"; }

std::string padded(std::string text, std::size_t width) {
    if (text.size() < width) {
        text.resize(width, ' ');
    }
    return text;
}

// "holder  PID 4242    exclusive flock  held 12.3s          plock exec ..."
std::string process_line(std::string_view role, const LockHolder& process, const std::string& held) {
    std::string line = "  ";
    line += padded(std::string(role), 8);
    line += padded(pid_text(process.pid), 11);
    line += padded(std::string(mode_of(process.entry)), 10);
    line += padded(std::string(to_string(process.entry.kind)), 7);
    if (process.entry.start != 0 || process.entry.end) {
        line += "bytes " + std::to_string(process.entry.start) + "-" +
                (process.entry.end ? std::to_string(*process.entry.end) : std::string("EOF")) + "  ";
    }
    line += padded(held, 22);
    line += process.command_line.empty()
                ? (process.pid > 0 ? "(gone)" : "(a process plock cannot see)")
                : process.command_line;
    while (!line.empty() && line.back() == ' ') {
        line.pop_back();
    }
    return line;
}

std::string held_text(const HolderStatus& holder) {
    if (!holder.held_for) {
        return "held ?";
    }
    return (holder.held_since == HeldSince::command_start ? "held " : "held <= ") +
           format_duration(*holder.held_for);
}

void write_file_text(std::ostream& out, const FileLockStatus& status) {
    out << printable(status.path) << ": ";
    if (!status.held()) {
        out << "free";
    } else {
        out << "held by " << status.holders.size()
            << (status.holders.size() == 1 ? " process" : " processes");
    }
    if (!status.waiters.empty()) {
        out << ", " << status.waiters.size() << " waiting";
    }
    out << '\n';
    for (const HolderStatus& holder : status.holders) {
        out << process_line("holder", holder.holder, held_text(holder)) << '\n';
    }
    for (const LockHolder& waiter : status.waiters) {
        out << process_line("waiting", waiter, "") << '\n';
    }
}


json holders_json(const std::vector<LockHolder>& holders) {
    json list = json::array();
    for (const LockHolder& holder : holders) {
        list.push_back(process_json(holder));
    }
    return list;
}

std::string_view slot_state(const SlotState& slot) {
    return !slot.regular ? "unusable" : slot.held() ? "held" : "free";
}

json semaphore_json(const SemaphoreStatus& status) {
    json slots = json::array();
    for (const SlotState& slot : status.state.slots) {
        slots.push_back(json{{"index", slot.index},
                             {"path", slot.path},
                             {"state", slot_state(slot)},
                             {"holders", holders_json(slot.holders)}});
    }
    json other_counts = json::array();
    for (const SlotCountRecord& record : status.state.slot_counts) {
        if (record.slot_count != status.spec.slot_count) {
            other_counts.push_back(json{{"slots", record.slot_count}, {"holders", holders_json(record.holders)}});
        }
    }
    const std::size_t held = status.held_slots();
    return json{{"type", "semaphore"},
                {"name", status.spec.name},
                {"directory", status.spec.directory},
                {"state", held != 0 ? "held" : "free"},
                {"slots", status.spec.slot_count},
                {"held", held},
                {"free", status.spec.slot_count - held},
                {"waiters", status.state.waiting},
                {"slot_states", std::move(slots)},
                {"other_slot_counts", std::move(other_counts)}};
}

std::string_view pid_file_state(PidFileState::Status status) {
    switch (status) {
    case PidFileState::Status::running:
        return "running";
    case PidFileState::Status::stale:
        return "stale";
    case PidFileState::Status::absent:
        break;
    }
    return "absent";
}

json pid_file_json(const PidFileStatus& status) {
    const PidFileContent& content = status.state.content;
    json in_file = nullptr;
    if (status.state.status != PidFileState::Status::absent) {
        in_file = content.kind == PidFileContent::Kind::pid ? json(content.pid) : json(nullptr);
    }
    return json{{"type", "pidfile"},
                {"path", status.path},
                {"state", status.held() ? "held" : "free"},
                {"pidfile", pid_file_state(status.state.status)},
                {"content", status.state.status == PidFileState::Status::absent ? json(nullptr)
                            : content.kind == PidFileContent::Kind::pid     ? json("pid")
                            : content.kind == PidFileContent::Kind::empty   ? json("empty")
                                                                            : json("invalid")},
                {"pid_in_file", std::move(in_file)},
                // Only the process: when it is the file's PID, the kernel's
                // lock entry is its guard's, not its own.
                {"holder", status.held() ? json{{"pid", optional_pid(status.state.holder.pid)},
                                                {"command", optional_text(status.state.holder.command_line)}}
                                         : json(nullptr)},
                {"holder_from_file", status.held() && status.state.pid_from_file}};
}

void write_semaphore_text(std::ostream& out, const SemaphoreStatus& status) {
    const SemaphoreSpec& spec = status.spec;
    const std::size_t held = status.held_slots();
    out << printable(describe_semaphore(spec)) << ": " << spec.slot_count
        << (spec.slot_count == 1 ? " slot, " : " slots, ") << held << " held, " << spec.slot_count - held
        << " free, " << status.state.waiting << " waiting\n";
    const std::size_t width = std::to_string(spec.slot_count - 1).size();
    for (const SlotState& slot : status.state.slots) {
        std::string number = std::to_string(slot.index);
        number.insert(0, width - number.size(), ' ');
        out << "  slot " << number << "  ";
        if (!slot.regular) {
            out << "unusable: " << printable(slot.path) << " is not a regular file (plock refuses it)\n";
        } else if (slot.held()) {
            out << "held by " << describe_holders(slot.holders) << '\n';
        } else {
            out << "free\n";
        }
    }
    for (const SlotCountRecord& record : status.state.slot_counts) {
        if (record.slot_count != spec.slot_count) {
            out << "  also in use with -n " << record.slot_count << " by " << describe_holders(record.holders) << '\n';
        }
    }
}

void write_pid_file_text(std::ostream& out, const PidFileStatus& status) {
    const PidFileState& state = status.state;
    out << printable(status.path) << ": ";
    switch (state.status) {
    case PidFileState::Status::running:
        out << "running, held by " << describe_holder(state.holder)
            << (state.pid_from_file ? "" : " (not the PID in the file)") << '\n';
        return;
    case PidFileState::Status::stale:
        out << "stale: no process holds its lock";
        if (state.content.kind == PidFileContent::Kind::pid) {
            out << " (it names PID " << state.content.pid << ")";
        }
        out << '\n';
        return;
    case PidFileState::Status::absent:
        break;
    }
    out << "absent: nothing is running\n";
}

int pid_guard_exit_code(PidFileState::Status status) {
    switch (status) {
    case PidFileState::Status::running:
        return exit_code::k_query_running;
    case PidFileState::Status::stale:
        return exit_code::k_query_stale;
    case PidFileState::Status::absent:
        break;
    }
    return exit_code::k_query_not_running;
}

void flush_standard_output() {
    std::cout.flush();
    if (!std::cout) {
        throw SystemError(Operation::write, "standard output", errno != 0 ? errno : EIO);
    }
}

std::string_view redis_kind(RedisLockState::Kind kind) {
    switch (kind) {
    case RedisLockState::Kind::lock:
        return "lock";
    case RedisLockState::Kind::semaphore:
        return "semaphore";
    case RedisLockState::Kind::free:
        break;
    }
    return "none";
}

json optional_milliseconds(const std::optional<std::chrono::milliseconds>& value) {
    return value ? json(std::chrono::duration<double>(*value).count()) : json(nullptr);
}

json redis_json(const RedisStatus& status) {
    json holders = json::array();
    for (const RedisHolderState& holder : status.state.holders) {
        holders.push_back(json{{"token", holder.token},
                               {"permit", holder.permit ? json(*holder.permit) : json(nullptr)},
                               {"fencing_token", holder.fencing_token ? json(*holder.fencing_token) : json(nullptr)},
                               {"lease_remaining_seconds", optional_milliseconds(holder.remaining)}});
    }
    const auto& counter = status.state.fencing_counter;
    return json{{"type", "redis"},
                {"name", status.name},
                {"key", status.key},
                {"server", status.server},
                {"state", status.held() ? "held" : "free"},
                {"kind", redis_kind(status.state.kind)},
                {"fencing_counter", counter ? json(*counter) : json(nullptr)},
                {"holders", std::move(holders)},
                {"waiters", status.state.waiters}};
}

std::string lease_text(const std::optional<std::chrono::milliseconds>& remaining) {
    return remaining ? "lease ends in " + format_duration(*remaining) : std::string("no expiry");
}

void write_redis_text(std::ostream& out, const RedisStatus& status) {
    const RedisLockState& state = status.state;
    const std::string counter = state.fencing_counter ? std::to_string(*state.fencing_counter) : "none";
    const std::string waiting = state.waiters != 0 ? ", " + std::to_string(state.waiters) + " waiting" : "";
    out << printable(describe_redis_lock(status.key, status.server)) << ": ";
    switch (state.kind) {
    case RedisLockState::Kind::free:
        out << "free" << waiting << " (fencing counter " << counter << ")\n";
        return;
    case RedisLockState::Kind::lock: {
        const RedisHolderState& holder = state.holders.front();
        out << "held, " << lease_text(holder.remaining) << waiting << " (fencing counter " << counter << ")\n"
            << "  holder  token " << printable(holder.token) << '\n';
        return;
    }
    case RedisLockState::Kind::semaphore:
        break;
    }
    out << "semaphore, " << state.holders.size() << (state.holders.size() == 1 ? " permit" : " permits")
        << " held" << waiting << " (fencing counter " << counter << ")\n";
    for (const RedisHolderState& holder : state.holders) {
        out << "  permit " << (holder.permit ? std::to_string(*holder.permit) : std::string("?")) << "  token "
            << printable(holder.token) << "  fencing token "
            << (holder.fencing_token ? std::to_string(*holder.fencing_token) : std::string("?")) << "  "
            << lease_text(holder.remaining) << '\n';
    }
}

}  // namespace

std::size_t SemaphoreStatus::held_slots() const noexcept {
    std::size_t held = 0;
    for (const SlotState& slot : state.slots) {
        held += slot.held() ? 1 : 0;
    }
    return held;
}

int status_exit_code(const std::vector<StatusEntry>& entries) {
    bool held = false;
    for (const StatusEntry& entry : entries) {
        if (const auto* error = std::get_if<StatusError>(&entry)) {
            return error->exit_status;
        }
        // Every kind of lock says whether it is held.
        held = held || std::visit(Overloaded{[](const StatusError&) { return false; },
                                             [](const auto& status) { return status.held(); }},
                                  entry);
    }
    return held ? exit_code::k_status_held : exit_code::k_status_free;
}

void write_status_text(std::ostream& out, const std::vector<StatusEntry>& entries) {
    for (const StatusEntry& entry : entries) {
        std::visit(Overloaded{[&](const FileLockStatus& status) { write_file_text(out, status); },
                              [&](const SemaphoreStatus& status) { write_semaphore_text(out, status); },
                              [&](const PidFileStatus& status) { write_pid_file_text(out, status); },
                              [&](const RedisStatus& status) { write_redis_text(out, status); },
                              [](const StatusError&) {}},  // reported on stderr
                   entry);
    }
}

int print_status(const std::vector<StatusEntry>& entries, StatusFormat format,
                 std::chrono::system_clock::time_point now) {
    switch (format) {
    case StatusFormat::text:
        write_status_text(std::cout, entries);
        break;
    case StatusFormat::json:
        std::cout << status_json(entries, now);
        break;
    case StatusFormat::none:
        break;
    }
    flush_standard_output();
    return status_exit_code(entries);
}

int print_pid_guard_status(const StatusEntry& entry) {
    if (const auto* error = std::get_if<StatusError>(&entry)) {
        return error->exit_status;  // logged by the query
    }
    const PidFileStatus& status = std::get<PidFileStatus>(entry);
    if (status.held() && status.state.holder.pid > 0) {
        std::cout << status.state.holder.pid << '\n';
    }
    if (logger().should_log(LogLevel::info)) {
        std::ostringstream line;
        write_pid_file_text(line, status);
        std::string text = line.str();
        text.pop_back();  // the logger ends the line
        logger().info("{}", text);
    }
    flush_standard_output();
    return pid_guard_exit_code(status.state.status);
}

std::string status_json(const std::vector<StatusEntry>& entries, std::chrono::system_clock::time_point now) {
    json locks = json::array();
    for (const StatusEntry& entry : entries) {
        locks.push_back(std::visit(Overloaded{[&](const FileLockStatus& status) { return file_json(status, now); },
                                              [](const SemaphoreStatus& status) { return semaphore_json(status); },
                                              [](const PidFileStatus& status) { return pid_file_json(status); },
                                              [](const RedisStatus& status) { return redis_json(status); },
                                              [](const StatusError& error) { return error_json(error); }},
                                   entry));
    }
    const json document{{"version", k_json_version}, {"locks", std::move(locks)}};
    // Paths and command lines need not be UTF-8: invalid bytes become U+FFFD.
    return document.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

}  // namespace plock::cli
