// Fuzz target: parse_lock_table and parse_lock_line, the readers of
// /proc/locks and of the "lock:" lines of /proc/PID/fdinfo/FD. A line either
// yields nothing or an entry whose fields are what the line says: the table
// holds exactly the entries of its lines, and formatting an entry the
// kernel's way and parsing it again gives the same entry.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "plock/proc/proc_locks.hpp"

namespace {

void check(bool condition) {
    if (!condition) {
        std::abort();
    }
}

const char* kernel_name(plock::LockKind kind) {
    switch (kind) {
    case plock::LockKind::flock: return "FLOCK";
    case plock::LockKind::posix: return "POSIX";
    case plock::LockKind::ofd: return "OFDLCK";
    case plock::LockKind::lease: return "LEASE";
    case plock::LockKind::delegation: return "DELEG";
    case plock::LockKind::other: return "UNKNOWN";
    }
    return "UNKNOWN";
}

// The line as fs/locks.c prints it (lock_get_status).
std::string kernel_line(const plock::LockEntry& entry) {
    char text[256];
    std::snprintf(text, sizeof text, "%ld: %s%s ADVISORY  %s %d %02x:%02x:%llu %llu ", entry.id,
                  entry.waiting ? "-> " : "", kernel_name(entry.kind), entry.exclusive ? "WRITE" : "READ ",
                  static_cast<int>(entry.pid), entry.device_major, entry.device_minor,
                  static_cast<unsigned long long>(entry.inode), static_cast<unsigned long long>(entry.start));
    std::string line = text;
    line += entry.end ? std::to_string(*entry.end) : "EOF";
    return line;
}

bool same(const plock::LockEntry& left, const plock::LockEntry& right) {
    return left.id == right.id && left.waiting == right.waiting && left.kind == right.kind &&
           left.exclusive == right.exclusive && left.pid == right.pid && left.device_major == right.device_major &&
           left.device_minor == right.device_minor && left.inode == right.inode && left.start == right.start &&
           left.end == right.end;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    const std::vector<plock::LockEntry> table = plock::parse_lock_table(text);

    std::vector<plock::LockEntry> from_lines;
    while (!text.empty()) {
        const auto newline = text.find('\n');
        const std::string_view line = text.substr(0, newline);
        check(line.find('\n') == std::string_view::npos);
        if (const auto entry = plock::parse_lock_line(line)) {
            // The kernel's ids count from 1 and its PIDs are -1 (OFD) or positive.
            from_lines.push_back(*entry);
            const auto again = plock::parse_lock_line(kernel_line(*entry));
            check(again.has_value() && same(*again, *entry));
        }
        text.remove_prefix(newline == std::string_view::npos ? text.size() : newline + 1);
    }
    check(table.size() == from_lines.size());
    for (std::size_t index = 0; index < table.size(); ++index) {
        check(same(table[index], from_lines[index]));
    }
    return 0;
}
