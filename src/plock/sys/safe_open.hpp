// Opening (and creating) a lock file the way a careful tool must: never
// truncating, never creating through a dangling symlink, refusing symlinks
// planted by another user in sticky world-writable directories (/tmp), and
// refusing FIFOs, devices and sockets before opening them.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <string>

#include "plock/sys/fd.hpp"

namespace plock {

// How the file is opened.
enum class OpenAccess {
    read_write_if_allowed,  // read-write, else read-only (as flock(1) does)
    read_write,             // read-write or fail with the reason (the caller writes to it)
    read_only,              // read-only (a query that never writes)
};

struct OpenPolicy {
    // Follow a symlink even where fs.protected_symlinks would refuse it
    // (in a sticky world-writable directory, owned by someone else).
    bool follow_foreign_symlinks = false;
    // Refuse any symlink as the last component (O_NOFOLLOW).
    bool refuse_symlinks = false;
    // Allow the path to name a directory (it is opened read-only).
    bool allow_directory = true;
    // Create the file when it does not exist, with this mode & ~umask.
    bool create = true;
    mode_t create_mode = 0666;
    OpenAccess access = OpenAccess::read_write_if_allowed;
};

struct OpenedFile {
    UniqueFd fd;
    bool writable = false;   // opened O_RDWR; otherwise O_RDONLY
    bool created = false;    // this call created the file
    struct stat status {};   // fstat of the opened file
};

// Opens `path` for locking. By default tries read-write first and falls back
// to read-only (a file we may only read, a directory, a read-only mount),
// as flock(1) does; see OpenAccess. Throws SystemError naming the path and
// the cause.
OpenedFile open_lock_target(const std::string& path, const OpenPolicy& policy);

// True when `directory` is sticky and world-writable, like /tmp.
bool is_shared_sticky_directory(const struct stat& directory) noexcept;

}  // namespace plock
