// FileLock: flock(2) and open-file-description locks over one open file.
#include "plock/file/file_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plock/sys/error.hpp"

namespace plock {

std::string_view to_string(LockMode mode) noexcept {
    return mode == LockMode::exclusive ? "exclusive" : "shared";
}

std::string_view to_string(LockMethod method) noexcept {
    return method == LockMethod::flock ? "flock" : "ofd";
}

FileLock FileLock::open(const std::string& path, LockMethod method, const OpenPolicy& policy) {
    return FileLock(path, method, open_lock_target(path, policy), policy);
}

namespace {

// The descriptor's own file, or an error naming it: a closed descriptor is
// the caller's mistake, told as "cannot open descriptor 9".
struct stat descriptor_status(int fd) {
    struct stat status {};
    if (fd < 0 || fstat(fd, &status) != 0) {
        throw SystemError(Operation::open, "descriptor " + std::to_string(fd), fd < 0 ? EBADF : errno,
                          "it is not an open descriptor of this process");
    }
    return status;
}

}  // namespace

std::string descriptor_target(int fd) {
    char target[4096];
    const std::string link = "/proc/self/fd/" + std::to_string(fd);
    const ssize_t length = readlink(link.c_str(), target, sizeof target);
    return length > 0 && static_cast<std::size_t>(length) < sizeof target
               ? std::string(target, static_cast<std::size_t>(length))
               : std::string();
}

std::string describe_descriptor(int fd) {
    const std::string target = descriptor_target(fd);
    return "descriptor " + std::to_string(fd) + (target.empty() ? "" : " (" + target + ")");
}

FileLock FileLock::of_descriptor(int fd, LockMethod method) {
    const struct stat status = descriptor_status(fd);
    OpenedFile file;
    file.fd = UniqueFd(fcntl(fd, F_DUPFD_CLOEXEC, 3));
    if (!file.fd) {
        throw SystemError(Operation::open, "descriptor " + std::to_string(fd), errno);
    }
    const int access = fcntl(fd, F_GETFL);
    file.writable = access >= 0 && (access & O_ACCMODE) != O_RDONLY;
    file.status = status;
    FileLock lock(describe_descriptor(fd), method, std::move(file));
    lock.m_descriptor = true;
    return lock;
}

void unlock_descriptor(int fd) {
    descriptor_status(fd);
    if (::flock(fd, LOCK_UN) != 0 && errno != EINVAL) {
        throw SystemError(Operation::lock, describe_descriptor(fd), errno);
    }
    struct flock range {};
    range.l_type = F_UNLCK;
    range.l_whence = SEEK_SET;
    if (fcntl(fd, F_OFD_SETLK, &range) != 0 && errno != EINVAL) {
        throw SystemError(Operation::lock, describe_descriptor(fd), errno);
    }
}

FileLock::FileLock(std::string path, LockMethod method, OpenedFile file, const OpenPolicy& policy)
    : m_path(std::move(path)),
      m_method(method),
      m_policy(policy),
      m_fd(std::move(file.fd)),
      m_identity{file.status.st_dev, file.status.st_ino},
      m_writable(file.writable),
      m_created(file.created) {}

int FileLock::lock_call(LockMode mode, bool wait) const noexcept {
    if (m_method == LockMethod::flock) {
        const int operation = (mode == LockMode::exclusive ? LOCK_EX : LOCK_SH) | (wait ? 0 : LOCK_NB);
        return ::flock(m_fd.get(), operation) == 0 ? 0 : errno;
    }
    struct flock range {};
    range.l_type = mode == LockMode::exclusive ? F_WRLCK : F_RDLCK;
    range.l_whence = SEEK_SET;
    range.l_start = 0;
    range.l_len = 0;  // the whole file, however long it grows
    return fcntl(m_fd.get(), wait ? F_OFD_SETLKW : F_OFD_SETLK, &range) == 0 ? 0 : errno;
}

void FileLock::check_mode_allowed(LockMode mode) const {
    if (m_method == LockMethod::ofd && mode == LockMode::exclusive && !m_writable) {
        // fcntl write locks need a descriptor open for writing.
        throw SystemError(Operation::lock, m_path, EACCES,
                          "an exclusive ofd lock needs write access, and the file could only "
                          "be opened read-only");
    }
}

AcquireResult FileLock::try_acquire(LockMode mode) {
    check_mode_allowed(mode);
    int error;
    do {
        error = lock_call(mode, false);
    } while (error == EINTR);
    if (error == 0) {
        mark_acquired(mode);
        return {AcquireResult::Status::acquired, 0};
    }
    if (error == EWOULDBLOCK || error == EAGAIN || error == EACCES) {
        return {AcquireResult::Status::busy, 0};
    }
    throw SystemError(Operation::lock, m_path, error);
}

BlockingCall FileLock::blocking_call(LockMode mode) const {
    return [this, mode] { return lock_call(mode, true); };
}

AcquireResult FileLock::acquire(LockMode mode, Deadline deadline, const SignalSet& stop_signals) {
    const AcquireResult first = try_acquire(mode);
    if (first.acquired()) {
        return first;
    }
    const WaitOutcome outcome = wait_for_first({blocking_call(mode)}, deadline, stop_signals);
    switch (outcome.status) {
    case WaitOutcome::Status::completed:
        mark_acquired(mode);
        return {AcquireResult::Status::acquired, 0};
    case WaitOutcome::Status::failed:
        throw SystemError(Operation::lock, m_path, outcome.error_number);
    case WaitOutcome::Status::timed_out:
        if (outcome.succeeded[0]) {
            // The lock came at the very moment the deadline passed: keep it.
            mark_acquired(mode);
            return {AcquireResult::Status::acquired, 0};
        }
        return {AcquireResult::Status::timed_out, 0};
    case WaitOutcome::Status::interrupted:
        if (outcome.succeeded[0]) {
            m_held = true;
            release();
        }
        return {AcquireResult::Status::interrupted, outcome.signal};
    }
    return {AcquireResult::Status::timed_out, 0};
}

void FileLock::release() {
    if (!m_held) {
        return;
    }
    int result;
    if (m_method == LockMethod::flock) {
        result = ::flock(m_fd.get(), LOCK_UN);
    } else {
        struct flock range {};
        range.l_type = F_UNLCK;
        range.l_whence = SEEK_SET;
        result = fcntl(m_fd.get(), F_OFD_SETLK, &range);
    }
    if (result != 0) {
        throw SystemError(Operation::lock, m_path, errno);
    }
    m_held = false;
}

bool FileLock::reopen_if_replaced() {
    if (m_descriptor) {
        return false;
    }
    struct stat now {};
    const int flags = m_policy.refuse_symlinks ? AT_SYMLINK_NOFOLLOW : 0;
    if (fstatat(AT_FDCWD, m_path.c_str(), &now, flags) == 0) {
        if (FileIdentity{now.st_dev, now.st_ino} == m_identity) {
            return false;
        }
    } else if (errno != ENOENT) {
        throw SystemError(Operation::inspect, m_path, errno);
    }
    // Closing our descriptor releases the lock on the old file.
    OpenedFile file = open_lock_target(m_path, m_policy);
    m_fd = std::move(file.fd);
    m_identity = {file.status.st_dev, file.status.st_ino};
    m_writable = file.writable;
    m_created = file.created;
    m_held = false;
    return true;
}

}  // namespace plock
