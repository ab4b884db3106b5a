// find_lock_holders: /proc/locks first; a search of every process's open
// descriptors only when /proc/locks cannot name a live holder.
#include "plock/lock_holders.hpp"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <memory>

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

// Every (process, descriptor) whose open file description carries a granted
// lock on `file`. Processes that vanish or that we may not inspect are
// skipped: the answer is "who we can see", which is all /proc offers.
std::vector<LockHolder> search_descriptors(FileIdentity file, pid_t skip_pid) {
    std::vector<LockHolder> found;
    const Directory processes(opendir("/proc"));
    if (!processes) {
        return found;
    }
    while (const dirent* process = readdir(processes.get())) {
        const auto pid = numeric_name(process);
        if (!pid || *pid == skip_pid) {
            continue;
        }
        const std::string fd_directory = "/proc/" + std::string(process->d_name) + "/fd";
        const Directory descriptors(opendir(fd_directory.c_str()));
        if (!descriptors) {
            continue;
        }
        bool recorded = false;
        while (const dirent* descriptor = readdir(descriptors.get())) {
            const auto fd = numeric_name(descriptor);
            struct stat status {};
            if (!fd || recorded ||
                stat((fd_directory + "/" + descriptor->d_name).c_str(), &status) != 0 ||
                status.st_dev != file.device || status.st_ino != file.inode) {
                continue;
            }
            for (const LockEntry& entry : read_descriptor_locks(static_cast<pid_t>(*pid), static_cast<int>(*fd))) {
                if (!entry.waiting && same_file(entry, file.device, file.inode)) {
                    const auto holder_pid = static_cast<pid_t>(*pid);
                    found.push_back({holder_pid, read_command_line(holder_pid), entry});
                    recorded = true;
                    break;
                }
            }
        }
    }
    return found;
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
        } else if (entry.pid > 0 && process_is_alive(entry.pid)) {
            result.holders.push_back({entry.pid, read_command_line(entry.pid), entry});
        } else {
            search_needed = true;
        }
    }
    if (search_needed) {
        for (LockHolder& holder : search_descriptors(file, skip_pid)) {
            const bool known = std::any_of(result.holders.begin(), result.holders.end(),
                                           [&](const LockHolder& other) { return other.pid == holder.pid; });
            if (!known) {
                result.holders.push_back(std::move(holder));
            }
        }
    }
    return result;
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
