// find_inherited_lock: does one of our inherited descriptors already hold
// this lock? /proc/self/fdinfo/N lists a lock under a descriptor only when
// that descriptor's open file description owns it.
#include "plock/inherited_lock.hpp"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <memory>

#include "plock/proc_locks.hpp"

namespace plock {
namespace {

struct DirectoryCloser {
    void operator()(DIR* directory) const noexcept { closedir(directory); }
};

LockKind kind_of(LockMethod method) noexcept {
    return method == LockMethod::flock ? LockKind::flock : LockKind::ofd;
}

}  // namespace

std::optional<InheritedLock> find_inherited_lock(FileIdentity file, LockMethod method, int own_fd) {
    const std::unique_ptr<DIR, DirectoryCloser> descriptors(opendir("/proc/self/fd"));
    if (!descriptors) {
        return std::nullopt;
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
        if (fd == own_fd || fd == listing_fd || fstat(fd, &status) != 0 ||
            status.st_dev != file.device || status.st_ino != file.inode) {
            continue;
        }
        for (const LockEntry& lock : read_descriptor_locks(self, fd)) {
            if (!lock.waiting && lock.kind == kind_of(method) &&
                same_file(lock, file.device, file.inode)) {
                return InheritedLock{fd, lock.exclusive ? LockMode::exclusive : LockMode::shared, method};
            }
        }
    }
    return std::nullopt;
}

}  // namespace plock
