// Parsing the kernel's lock table, /proc/locks, and the "lock:" lines of
// /proc/PID/fdinfo/FD, which use the same format:
//   1: FLOCK  ADVISORY  WRITE 3641 fe:00:10952886 0 EOF
//   2: OFDLCK ADVISORY  READ  -1 00:2d:1234 0 EOF
//   2: -> FLOCK  ADVISORY  WRITE 3650 fe:00:10952886 0 EOF     (a waiter)
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace plock {

enum class LockKind { flock, posix, ofd, lease, delegation, other };

struct LockEntry {
    long id = 0;
    bool waiting = false;   // "->": blocked, waiting for the lock with this id
    LockKind kind = LockKind::other;
    bool exclusive = false;  // WRITE (or a write lease); READ is shared
    pid_t pid = -1;          // -1 for OFD locks, whose owner is not a process
    unsigned device_major = 0;
    unsigned device_minor = 0;
    ino_t inode = 0;
    std::uint64_t start = 0;
    std::optional<std::uint64_t> end;  // nullopt: EOF
};

std::optional<LockEntry> parse_lock_line(std::string_view line);
std::vector<LockEntry> parse_lock_table(std::string_view text);

// Reads /proc/locks; throws SystemError when it cannot be read.
std::vector<LockEntry> read_lock_table();

// Reads the "lock:" lines of /proc/<pid>/fdinfo/<fd>; empty when the process
// or descriptor is gone or not ours to read.
std::vector<LockEntry> read_descriptor_locks(pid_t pid, int fd);

bool same_file(const LockEntry& entry, dev_t device, ino_t inode) noexcept;

std::string_view to_string(LockKind kind) noexcept;

}  // namespace plock
