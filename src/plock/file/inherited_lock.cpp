// find_inherited_lock: does one of our inherited descriptors already hold
// this lock? /proc/self/fdinfo/N lists a lock under a descriptor only when
// that descriptor's open file description owns it.
#include "plock/file/inherited_lock.hpp"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <functional>
#include <memory>

#include "plock/proc/proc_locks.hpp"

namespace plock {
namespace {

struct DirectoryCloser {
    void operator()(DIR* directory) const noexcept { closedir(directory); }
};

LockKind kind_of(LockMethod method) noexcept {
    return method == LockMethod::flock ? LockKind::flock : LockKind::ofd;
}

// Calls `visit` for each descriptor holding a lock of `method` whose file
// `wanted` accepts (checked with fstat before /proc is read for the locks);
// stops when `visit` returns false.
void for_each_locked_descriptor(LockMethod method, const std::function<bool(FileIdentity)>& wanted,
                                const std::function<bool(const InheritedLock&)>& visit) {
    const std::unique_ptr<DIR, DirectoryCloser> descriptors(opendir("/proc/self/fd"));
    if (!descriptors) {
        return;
    }
    const int listing_fd = dirfd(descriptors.get());
    const pid_t self = getpid();
    while (const dirent* entry = readdir(descriptors.get())) {
        char* end = nullptr;
        const long number = std::strtol(entry->d_name, &end, 10);
        if (end == entry->d_name || *end != '\0') {
            continue;
        }
        const int fd = static_cast<int>(number);
        struct stat status {};
        if (fd == listing_fd || fstat(fd, &status) != 0) {
            continue;
        }
        const FileIdentity file{status.st_dev, status.st_ino};
        if (!wanted(file)) {
            continue;
        }
        for (const LockEntry& lock : read_descriptor_locks(self, fd)) {
            if (!lock.waiting && lock.kind == kind_of(method) &&
                same_file(lock, file.device, file.inode)) {
                const InheritedLock found{fd, lock.exclusive ? LockMode::exclusive : LockMode::shared,
                                          method, file};
                if (!visit(found)) {
                    return;
                }
                break;
            }
        }
    }
}

}  // namespace

std::optional<InheritedLock> find_inherited_lock(FileIdentity file, LockMethod method, int own_fd) {
    std::optional<InheritedLock> result;
    for_each_locked_descriptor(
        method, [&](FileIdentity candidate) { return candidate == file; },
        [&](const InheritedLock& found) {
            if (found.fd == own_fd) {
                return true;
            }
            result = found;
            return false;
        });
    return result;
}

std::vector<InheritedLock> find_inherited_locks(LockMethod method) {
    std::vector<InheritedLock> result;
    for_each_locked_descriptor(
        method, [](FileIdentity) { return true; },
        [&](const InheritedLock& found) {
            result.push_back(found);
            return true;
        });
    return result;
}

}  // namespace plock
