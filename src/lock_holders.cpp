// find_lock_holders: /proc/locks first; a search of every process's open
// descriptors only when /proc/locks cannot name a live holder. And the
// proofs that a given process holds a lock, on which signalling it relies.
#include "plock/lock_holders.hpp"

#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <optional>

#include "plock/error.hpp"
#include "plock/fd.hpp"
#include "plock/process_info.hpp"

namespace plock {
namespace {

struct DirectoryCloser {
    void operator()(DIR* directory) const noexcept { closedir(directory); }
};
using Directory = std::unique_ptr<DIR, DirectoryCloser>;

std::optional<long> numeric_name(const dirent* entry) {
    char* end = nullptr;
    const long value = std::strtol(entry->d_name, &end, 10);
    if (end == entry->d_name || *end != '\0') {
        return std::nullopt;
    }
    return value;
}

// The lock that one of `pid`'s descriptors carries on `file`, if any. The
// kernel lists a lock in /proc/PID/fdinfo/FD only under the open file
// description that owns it, so a match proves that this process holds it.
std::optional<LockEntry> lock_through_descriptors(pid_t pid, FileIdentity file) {
    const std::string fd_directory = "/proc/" + std::to_string(pid) + "/fd";
    const Directory descriptors(opendir(fd_directory.c_str()));
    if (!descriptors) {
        return std::nullopt;  // gone, or not ours to inspect
    }
    while (const dirent* descriptor = readdir(descriptors.get())) {
        const auto fd = numeric_name(descriptor);
        struct stat status {};
        if (!fd || stat((fd_directory + "/" + descriptor->d_name).c_str(), &status) != 0 ||
            status.st_dev != file.device || status.st_ino != file.inode) {
            continue;
        }
        for (const LockEntry& entry : read_descriptor_locks(pid, static_cast<int>(*fd))) {
            if (!entry.waiting && same_file(entry, file.device, file.inode)) {
                return entry;
            }
        }
    }
    return std::nullopt;
}

}  // namespace

LockHolders find_lock_holders(FileIdentity file, pid_t skip_pid) {
    return find_lock_holders(file, read_lock_table(), skip_pid);
}

LockHolders find_lock_holders(FileIdentity file, const std::vector<LockEntry>& table, pid_t skip_pid) {
    LockHolders result;
    bool search_needed = false;
    for (const LockEntry& entry : table) {
        if (!same_file(entry, file.device, file.inode)) {
            continue;
        }
        if (entry.waiting) {
            ++result.waiters;
            continue;
        }
        ++result.granted;
        if (entry.pid > 0 && process_is_alive(entry.pid)) {
            result.holders.push_back({entry.pid, read_command_line(entry.pid), entry});
        } else {
            search_needed = true;
        }
    }
    if (search_needed) {
        for (LockHolder& holder : find_descriptor_holders(file, skip_pid)) {
            const bool known = std::any_of(result.holders.begin(), result.holders.end(),
                                           [&](const LockHolder& other) { return other.pid == holder.pid; });
            if (!known) {
                result.holders.push_back(std::move(holder));
            }
        }
    }
    return result;
}

std::vector<LockHolder> find_descriptor_holders(FileIdentity file, pid_t skip_pid) {
    std::vector<LockHolder> found;
    const Directory processes(opendir("/proc"));
    if (!processes) {
        return found;
    }
    while (const dirent* process = readdir(processes.get())) {
        const auto number = numeric_name(process);
        if (!number || *number == skip_pid) {
            continue;
        }
        const auto pid = static_cast<pid_t>(*number);
        if (auto entry = lock_through_descriptors(pid, file)) {
            found.push_back({pid, read_command_line(pid), *entry});
        }
    }
    return found;
}

bool process_holds_lock(pid_t pid, FileIdentity file) {
    return pid > 0 && lock_through_descriptors(pid, file).has_value();
}

bool signal_lock_holder(pid_t pid, FileIdentity file, int signal) {
    // The pidfd pins the process before we prove that it holds the lock: if
    // it exits and its PID is reused after the proof, the signal goes to the
    // dead process (ESRCH), never to the stranger.
    const UniqueFd process(static_cast<int>(syscall(SYS_pidfd_open, pid, 0)));
    if (!process && errno != ENOSYS) {
        if (errno == ESRCH) {
            return false;
        }
        throw SystemError(Operation::signal, "PID " + std::to_string(pid), errno);
    }
    if (!process_holds_lock(pid, file)) {
        return false;
    }
    const long result = process ? syscall(SYS_pidfd_send_signal, process.get(), signal, nullptr, 0)
                                : kill(pid, signal);  // kernels before 5.3
    if (result != 0) {
        if (errno == ESRCH) {
            return false;
        }
        throw SystemError(Operation::signal, "PID " + std::to_string(pid), errno);
    }
    return true;
}

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

}  // namespace plock
