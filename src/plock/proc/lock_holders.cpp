// find_lock_holders: /proc/locks first; a search of every process's open
// descriptors only when /proc/locks cannot name a live holder. And the
// proofs that a given process holds a lock, on which signalling it relies.
#include "plock/proc/lock_holders.hpp"

#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <optional>

#include "plock/sys/error.hpp"
#include "plock/sys/fd.hpp"
#include "plock/proc/process_info.hpp"

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

struct Candidate {
    LockHolder holder;
    pid_t parent = 0;
};

// Every process (but `skip_pid`) one of whose descriptors carries a granted
// lock on `file`, with its parent. Processes that vanish or that we may not
// inspect are skipped: the answer is "who we can see", which is all /proc
// offers.
std::vector<Candidate> search_descriptors(FileIdentity file, pid_t skip_pid) {
    std::vector<Candidate> found;
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
            if (const auto stat = read_process_stat(pid)) {
                found.push_back({{pid, read_command_line(pid), *entry}, stat->parent});
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
            continue;
        }
        ++result.granted;
        if (auto holder = live_holder(entry)) {
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

LockHolders find_lock_holders(FileIdentity file, const std::vector<LockEntry>& table, pid_t skip_pid) {
    bool first_read = true;
    return find_lock_holders(file, skip_pid, [&] {
        if (first_read) {
            first_read = false;
            return table;
        }
        return read_lock_table();
    });
}

std::vector<LockHolder> find_descriptor_holders(FileIdentity file, pid_t skip_pid) {
    std::vector<LockHolder> found;
    for (Candidate& candidate : search_descriptors(file, skip_pid)) {
        found.push_back(std::move(candidate.holder));
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

}  // namespace plock
