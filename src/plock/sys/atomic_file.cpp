// FileReplacement: temporary file, fsync, rename, fsync of the directory.
#include "plock/sys/atomic_file.hpp"

#include <fcntl.h>
#include <sys/random.h>
#include <unistd.h>

#include <cerrno>

#include "plock/sys/error.hpp"

namespace plock {
namespace {

constexpr int k_max_name_attempts = 100;

// ".NAME.plock-" and 12 random characters, within NAME_MAX.
std::string temporary_name(const std::string& name) {
    static constexpr char k_alphabet[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    unsigned char random[12];
    std::size_t filled = 0;
    while (filled < sizeof random) {
        const ssize_t count = getrandom(random + filled, sizeof random - filled, 0);
        if (count < 0) {
            if (errno == EINTR) {
                continue;
            }
            throw SystemError(Operation::system, "random bytes for a temporary file name", errno);
        }
        filled += static_cast<std::size_t>(count);
    }
    std::string result = "." + name.substr(0, 200) + ".plock-";
    for (const unsigned char byte : random) {
        result += k_alphabet[byte % (sizeof k_alphabet - 1)];
    }
    return result;
}

void sync_or_throw(int fd, const std::string& subject) {
    if (retry_on_eintr([&] { return fsync(fd); }) != 0) {
        throw SystemError(Operation::write, subject, errno);
    }
}

}  // namespace

FileReplacement::FileReplacement(std::string target, std::string name, UniqueFd directory)
    : m_target(std::move(target)), m_name(std::move(name)), m_directory(std::move(directory)) {}

FileReplacement FileReplacement::create(const std::string& target) {
    const auto slash = target.find_last_of('/');
    const std::string directory_path =
        slash == std::string::npos ? "." : (slash == 0 ? "/" : target.substr(0, slash));
    std::string name = slash == std::string::npos ? target : target.substr(slash + 1);
    if (name.empty() || name == "." || name == "..") {
        throw SystemError(Operation::create, target, EISDIR, "it names a directory, not a file");
    }
    UniqueFd directory(open(directory_path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!directory) {
        throw SystemError(Operation::create, target, errno,
                          errno == ENOENT ? "directory " + directory_path + " does not exist" : "");
    }
    FileReplacement replacement(target, std::move(name), std::move(directory));
    replacement.m_fd.reset(openat(replacement.m_directory.get(), ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600));
    if (replacement.m_fd) {
        return replacement;
    }
    if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL && errno != ENOENT) {
        throw SystemError(Operation::create, "a temporary file beside " + target, errno);
    }
    // No O_TMPFILE here (NFS, some FUSE file systems): a named temporary file.
    for (int attempt = 0; attempt < k_max_name_attempts; ++attempt) {
        std::string candidate = temporary_name(replacement.m_name);
        replacement.m_fd.reset(openat(replacement.m_directory.get(), candidate.c_str(),
                                      O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
        if (replacement.m_fd) {
            replacement.m_temporary_name = std::move(candidate);
            return replacement;
        }
        if (errno != EEXIST) {
            throw SystemError(Operation::create, "a temporary file beside " + target, errno);
        }
    }
    throw SystemError(Operation::create, "a temporary file beside " + target, EEXIST);
}

FileReplacement::~FileReplacement() {
    if (!m_committed && !m_temporary_name.empty() && m_directory) {
        unlinkat(m_directory.get(), m_temporary_name.c_str(), 0);
    }
}

// An anonymous file gets a name only now, when it is complete: rename(2)
// needs one. linkat through /proc/self/fd needs no privilege (AT_EMPTY_PATH
// would need CAP_DAC_READ_SEARCH).
void FileReplacement::link_anonymous_file() {
    const std::string self = "/proc/self/fd/" + std::to_string(m_fd.get());
    for (int attempt = 0; attempt < k_max_name_attempts; ++attempt) {
        std::string candidate = temporary_name(m_name);
        if (linkat(AT_FDCWD, self.c_str(), m_directory.get(), candidate.c_str(), AT_SYMLINK_FOLLOW) == 0) {
            m_temporary_name = std::move(candidate);
            return;
        }
        if (errno != EEXIST) {
            throw SystemError(Operation::create, "a temporary file beside " + m_target, errno);
        }
    }
    throw SystemError(Operation::create, "a temporary file beside " + m_target, EEXIST);
}

void FileReplacement::commit(const struct stat& old) {
    // Owner first: chown(2) clears the set-user-ID and set-group-ID bits.
    if (geteuid() == 0 && fchown(m_fd.get(), old.st_uid, old.st_gid) != 0) {
        throw SystemError(Operation::write, m_target, errno, "cannot give the new file the old one's owner");
    }
    if (fchmod(m_fd.get(), old.st_mode & 07777) != 0) {
        throw SystemError(Operation::write, m_target, errno);
    }
    sync_or_throw(m_fd.get(), m_target);
    if (m_temporary_name.empty()) {
        link_anonymous_file();
    }
    if (renameat(m_directory.get(), m_temporary_name.c_str(), m_directory.get(), m_name.c_str()) != 0) {
        throw SystemError(Operation::create, m_target, errno);
    }
    m_committed = true;
    sync_or_throw(m_directory.get(), "the directory of " + m_target);
}

}  // namespace plock
