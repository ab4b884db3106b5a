// open_lock_target: the one careful way plock opens a file it is told to lock.
//
// The file is looked at (fstatat, without following) before it is opened, so
// that a FIFO or device is refused without the side effects of opening it,
// and a symlink is judged by the rule of fs.protected_symlinks: in a sticky
// world-writable directory, follow it only when it belongs to us or to the
// directory's owner. Machines may have that sysctl off; plock applies it
// anyway. Whatever is opened is checked again with fstat, and a file that
// changes between look and open (a race with another process) is looked at
// again.
#include "plock/sys/safe_open.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <string_view>
#include <utility>

#include "plock/sys/error.hpp"

namespace plock {
namespace {

constexpr int k_max_attempts = 64;

struct SplitPath {
    std::string directory;
    std::string name;  // empty when the path itself must be a directory
};

SplitPath split_path(const std::string& path) {
    const auto slash = path.find_last_of('/');
    if (slash == std::string::npos) {
        if (path == "." || path == "..") {
            return {path, {}};
        }
        return {".", path};
    }
    std::string name = path.substr(slash + 1);
    if (name.empty() || name == "." || name == "..") {
        return {path, {}};
    }
    return {slash == 0 ? std::string("/") : path.substr(0, slash), std::move(name)};
}

const char* type_problem(mode_t mode, bool allow_directory) noexcept {
    if (S_ISREG(mode)) {
        return nullptr;
    }
    if (S_ISDIR(mode)) {
        return allow_directory ? nullptr : "it is a directory";
    }
    if (S_ISFIFO(mode)) {
        return "it is a FIFO, not a regular file";
    }
    if (S_ISCHR(mode)) {
        return "it is a character device, not a regular file";
    }
    if (S_ISBLK(mode)) {
        return "it is a block device, not a regular file";
    }
    if (S_ISSOCK(mode)) {
        return "it is a socket, not a regular file";
    }
    return "it is not a regular file";
}

void check_type(const std::string& path, mode_t mode, bool allow_directory) {
    if (const char* problem = type_problem(mode, allow_directory)) {
        throw SystemError(Operation::open, path, S_ISDIR(mode) ? EISDIR : EINVAL, problem);
    }
}

std::string read_link_target(int directory_fd, const std::string& name) {
    std::string target(4096, '\0');
    const ssize_t length = readlinkat(directory_fd, name.c_str(), target.data(), target.size());
    if (length < 0) {
        return "?";
    }
    target.resize(static_cast<std::size_t>(length));
    return target;
}

// Opens an existing entry; nullopt-like empty fd with errno set when it vanished
// or was swapped for a symlink since we looked (the caller looks again).
OpenedFile open_existing(int directory_fd, const std::string& name, const std::string& path,
                         bool follow, const OpenPolicy& policy) {
    const int common = O_CLOEXEC | O_NOCTTY | O_NONBLOCK | (follow ? 0 : O_NOFOLLOW);
    OpenedFile opened;
    if (policy.access != OpenAccess::read_only) {
        opened.fd.reset(openat(directory_fd, name.c_str(), O_RDWR | common));
        opened.writable = static_cast<bool>(opened.fd);
    }
    if (!opened.fd && policy.access != OpenAccess::read_only) {
        const int read_write_error = errno;
        const bool read_only_would_do =
            read_write_error == EACCES || read_write_error == EPERM || read_write_error == EROFS ||
            read_write_error == EISDIR || read_write_error == ETXTBSY;
        if (!read_only_would_do || policy.access == OpenAccess::read_write) {
            if (read_write_error == ENOENT || read_write_error == ELOOP) {
                return opened;  // changed under us: look again
            }
            throw SystemError(Operation::open, path, read_write_error);
        }
    }
    if (!opened.fd) {
        opened.fd.reset(openat(directory_fd, name.c_str(), O_RDONLY | common));
        if (!opened.fd) {
            if (errno == ENOENT || errno == ELOOP) {
                return opened;
            }
            throw SystemError(Operation::open, path, errno);
        }
    }
    if (fstat(opened.fd.get(), &opened.status) != 0) {
        throw SystemError(Operation::inspect, path, errno);
    }
    check_type(path, opened.status.st_mode, policy.allow_directory);
    // O_NONBLOCK only kept open() from hanging; the descriptor may be inherited.
    fcntl(opened.fd.get(), F_SETFL, fcntl(opened.fd.get(), F_GETFL) & ~O_NONBLOCK);
    return opened;
}

OpenedFile open_directory_path(const std::string& path, const OpenPolicy& policy) {
    if (!policy.allow_directory) {
        throw SystemError(Operation::open, path, EISDIR, "it is a directory");
    }
    OpenedFile opened;
    opened.fd.reset(open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOCTTY));
    if (!opened.fd) {
        throw SystemError(Operation::open, path, errno);
    }
    if (fstat(opened.fd.get(), &opened.status) != 0) {
        throw SystemError(Operation::inspect, path, errno);
    }
    return opened;
}

[[noreturn]] void throw_directory_error(const std::string& path, const std::string& directory,
                                        int error_number) {
    switch (error_number) {
    case ENOENT:
        throw SystemError(Operation::create, path, error_number,
                          "directory " + directory + " does not exist");
    case ENOTDIR:
        throw SystemError(Operation::create, path, error_number,
                          directory + " is not a directory");
    default:
        throw SystemError(Operation::open, path, error_number);
    }
}

}  // namespace

bool is_shared_sticky_directory(const struct stat& directory) noexcept {
    return S_ISDIR(directory.st_mode) && (directory.st_mode & S_ISVTX) != 0 &&
           (directory.st_mode & S_IWOTH) != 0;
}

OpenedFile open_lock_target(const std::string& path, const OpenPolicy& policy) {
    if (path.empty()) {
        throw UsageError("the lock file name is empty");
    }
    const SplitPath split = split_path(path);
    if (split.name.empty()) {
        return open_directory_path(path, policy);
    }

    const UniqueFd directory(open(split.directory.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!directory) {
        throw_directory_error(path, split.directory, errno);
    }
    struct stat directory_status {};
    if (fstat(directory.get(), &directory_status) != 0) {
        throw SystemError(Operation::inspect, split.directory, errno);
    }
    const bool shared_directory = is_shared_sticky_directory(directory_status);
    const char* name = split.name.c_str();

    for (int attempt = 0; attempt < k_max_attempts; ++attempt) {
        struct stat entry {};
        if (fstatat(directory.get(), name, &entry, AT_SYMLINK_NOFOLLOW) != 0) {
            if (errno != ENOENT) {
                throw SystemError(Operation::open, path, errno);
            }
            if (!policy.create) {
                throw SystemError(Operation::open, path, ENOENT);
            }
            // O_EXCL never follows a symlink, so nothing is created through one.
            OpenedFile created;
            created.fd.reset(openat(directory.get(), name,
                                    O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW,
                                    policy.create_mode));
            if (!created.fd) {
                if (errno == EEXIST) {
                    continue;  // someone else created it just now: open theirs
                }
                throw SystemError(Operation::create, path, errno);
            }
            created.writable = true;
            created.created = true;
            if (fstat(created.fd.get(), &created.status) != 0) {
                throw SystemError(Operation::inspect, path, errno);
            }
            return created;
        }

        bool follow = false;
        if (S_ISLNK(entry.st_mode)) {
            if (policy.refuse_symlinks) {
                throw SystemError(Operation::open, path, ELOOP,
                                  "it is a symbolic link (to " +
                                      read_link_target(directory.get(), split.name) +
                                      "), and symbolic links are refused here");
            }
            if (shared_directory && !policy.follow_foreign_symlinks &&
                entry.st_uid != geteuid() && entry.st_uid != directory_status.st_uid) {
                throw SystemError(Operation::open, path, ELOOP,
                                  "it is a symbolic link owned by uid " +
                                      std::to_string(entry.st_uid) +
                                      " in the sticky world-writable directory " +
                                      split.directory + "; refusing to follow it",
                                  Remedy::follow_foreign_symlink);
            }
            struct stat target {};
            if (fstatat(directory.get(), name, &target, 0) != 0) {
                if (errno == ENOENT) {
                    throw SystemError(Operation::create, path, ENOENT,
                                      "it is a dangling symbolic link (to " +
                                          read_link_target(directory.get(), split.name) +
                                          "); refusing to create its target");
                }
                throw SystemError(Operation::open, path, errno);
            }
            check_type(path, target.st_mode, policy.allow_directory);
            follow = true;
        } else {
            check_type(path, entry.st_mode, policy.allow_directory);
        }

        OpenedFile opened = open_existing(directory.get(), split.name, path, follow, policy);
        if (opened.fd) {
            return opened;
        }
    }
    throw SystemError(Operation::open, path, EAGAIN,
                      "it kept changing while plock tried to open it");
}

}  // namespace plock
