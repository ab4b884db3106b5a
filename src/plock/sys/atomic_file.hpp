// Replacing a file's content atomically (what portalocker's open_atomic does):
// the new content goes to a temporary file in the same directory, which is
// flushed to disk, given the old file's mode (and owner), and renamed over
// the old file; then the directory is flushed. A reader sees the old file or
// the new one, complete, never a part of either, even after a crash.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <string>

#include "plock/sys/fd.hpp"

namespace plock {

class FileReplacement {
public:
    // Prepares a replacement for `target` (a path that is not a symbolic
    // link; its directory must exist). The temporary file is anonymous
    // (O_TMPFILE) where the file system allows it, so nothing is left behind
    // whatever happens to plock, even SIGKILL; elsewhere it is created with
    // O_EXCL under an unpredictable name (".NAME.plock-XXXXXXXXXXXX") and
    // removed on every failure. Throws SystemError(create, ...) when it
    // cannot be made.
    static FileReplacement create(const std::string& target);

    FileReplacement(FileReplacement&& other) noexcept = default;
    FileReplacement& operator=(FileReplacement&&) = delete;
    FileReplacement(const FileReplacement&) = delete;
    // Removes the temporary file unless commit() succeeded.
    ~FileReplacement();

    // The new content's descriptor, open for writing at offset 0.
    int fd() const noexcept { return m_fd.get(); }
    const std::string& target() const noexcept { return m_target; }

    // Gives the new file `old`'s permission bits, and its owner and group
    // when we are root; flushes it; renames it over the target; flushes the
    // directory. Throws SystemError on failure (the target is then untouched,
    // or replaced but the directory not yet flushed when only that fails).
    void commit(const struct stat& old);

private:
    FileReplacement(std::string target, std::string name, UniqueFd directory);
    void link_anonymous_file();

    std::string m_target;
    std::string m_name;            // the target's name in its directory
    UniqueFd m_directory;
    UniqueFd m_fd;
    std::string m_temporary_name;  // empty while the file is anonymous
    bool m_committed = false;
};

}  // namespace plock
