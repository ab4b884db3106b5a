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

struct Candidate {
    LockHolder holder;
    pid_t parent = 0;
};

// Every process with a descriptor whose open file description carries a
// granted lock on `file`. Processes that vanish or that we may not inspect
// are skipped: the answer is "who we can see", which is all /proc offers.
std::vector<Candidate> search_descriptors(FileIdentity file, pid_t skip_pid) {
    std::vector<Candidate> found;
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
            const auto holder_pid = static_cast<pid_t>(*pid);
            for (const LockEntry& entry : read_descriptor_locks(holder_pid, static_cast<int>(*fd))) {
                if (!entry.waiting && same_file(entry, file.device, file.inode)) {
                    const auto stat = read_process_stat(holder_pid);
                    if (stat) {
                        found.push_back({{holder_pid, read_command_line(holder_pid), entry}, stat->parent});
                    }
                    recorded = true;
                    break;
                }
            }
        }
    }
    return found;
}

bool same_lock(const LockEntry& left, const LockEntry& right) noexcept {
    return left.kind == right.kind && left.exclusive == right.exclusive && left.pid == right.pid &&
           left.start == right.start && left.end == right.end;
}

bool same_request(const LockEntry& left, const LockEntry& right) noexcept {
    return left.kind == right.kind && left.exclusive == right.exclusive &&
           left.start == right.start && left.end == right.end;
}

// A holder for a granted entry whose process is alive; nullopt otherwise.
std::optional<LockHolder> live_holder(const LockEntry& entry) {
    if (entry.pid <= 0) {
        return std::nullopt;
    }
    std::string command_line = read_command_line(entry.pid);
    // Liveness after the command line: a process that exits in between is
    // not reported with an empty command line.
    if (!process_is_alive(entry.pid)) {
        return std::nullopt;
    }
    return LockHolder{entry.pid, std::move(command_line), entry};
}

}  // namespace

LockHolders find_lock_holders(FileIdentity file, pid_t skip_pid, const LockTableReader& read_table) {
    LockHolders result;
    std::vector<LockEntry> unresolved;
    for (const LockEntry& entry : read_table()) {
        if (!same_file(entry, file.device, file.inode)) {
            continue;
        }
        if (entry.waiting) {
            if (entry.pid <= 0) {
                result.waiters.push_back({-1, {}, entry});
            } else if (auto waiter = live_holder(entry)) {
                result.waiters.push_back(std::move(*waiter));
            }
        } else if (auto holder = live_holder(entry)) {
            result.holders.push_back(std::move(*holder));
        } else {
            unresolved.push_back(entry);
        }
    }
    if (unresolved.empty()) {
        return result;
    }

    std::vector<Candidate> candidates = search_descriptors(file, skip_pid);
    const auto is_candidate = [&](pid_t pid) {
        return std::any_of(candidates.begin(), candidates.end(),
                           [&](const Candidate& other) { return other.holder.pid == pid; });
    };
    const auto is_holder = [&](pid_t pid) {
        return std::any_of(result.holders.begin(), result.holders.end(),
                           [&](const LockHolder& other) { return other.pid == pid; });
    };
    std::vector<Candidate> kept;
    for (Candidate& candidate : candidates) {
        if (!is_holder(candidate.holder.pid) && !is_candidate(candidate.parent)) {
            kept.push_back(std::move(candidate));
        }
    }

    // The entries that are still granted now; the others left with their process.
    std::vector<LockEntry> still_granted;
    for (const LockEntry& entry : read_table()) {
        if (!entry.waiting && same_file(entry, file.device, file.inode)) {
            still_granted.push_back(entry);
        }
    }
    std::erase_if(unresolved, [&](const LockEntry& entry) {
        return std::none_of(still_granted.begin(), still_granted.end(),
                            [&](const LockEntry& now) { return same_lock(entry, now); });
    });

    for (Candidate& candidate : kept) {
        const auto explained = std::find_if(unresolved.begin(), unresolved.end(), [&](const LockEntry& entry) {
            return same_request(entry, candidate.holder.entry);
        });
        if (explained != unresolved.end()) {
            unresolved.erase(explained);
        }
        result.holders.push_back(std::move(candidate.holder));
    }
    for (const LockEntry& entry : unresolved) {
        result.holders.push_back({-1, {}, entry});
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
