// A forked process that holds a lock until told to let go: the other
// process the library's locks are tested against.
#pragma once

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <functional>
#include <stdexcept>
#include <vector>

namespace plock::test {

class ForkedHolder {
public:
    // What the child keeps of the test's descriptors: by default only its
    // own pipe ends; keep_inherited models a process that inherited the
    // test's locked descriptors (a daemon a command left behind).
    enum class Descriptors { close_inherited, keep_inherited };

    // Runs `take` in a child; the child reports whether it succeeded and then
    // waits until release() or destruction.
    explicit ForkedHolder(const std::function<bool()>& take,
                          Descriptors descriptors = Descriptors::close_inherited) {
        int report[2], hold[2];
        if (pipe2(report, O_CLOEXEC) != 0 || pipe2(hold, O_CLOEXEC) != 0) {
            throw std::runtime_error("pipe failed");
        }
        m_pid = fork();
        if (m_pid == 0) {
            close(report[0]);
            close(hold[1]);
            if (descriptors == Descriptors::close_inherited) {
                close_other_descriptors(report[1], hold[0]);
            }
            char answer = 'n';
            try {
                answer = take() ? 'y' : 'n';
            } catch (...) {
                answer = 'e';  // never let an exception escape into the test runner
            }
            [[maybe_unused]] auto written = write(report[1], &answer, 1);
            char ignored;
            [[maybe_unused]] auto got = read(hold[0], &ignored, 1);  // EOF: released
            _exit(0);
        }
        close(report[1]);
        close(hold[0]);
        m_hold = hold[1];
        char answer = 'n';
        if (read(report[0], &answer, 1) != 1) {
            answer = 'n';
        }
        close(report[0]);
        m_took = answer == 'y';
    }
    ForkedHolder(const ForkedHolder&) = delete;
    ForkedHolder& operator=(const ForkedHolder&) = delete;
    ~ForkedHolder() { release(); }

    bool took() const noexcept { return m_took; }
    pid_t pid() const noexcept { return m_pid; }

    void release() {
        if (m_hold >= 0) {
            close(m_hold);
            m_hold = -1;
            int status = 0;
            waitpid(m_pid, &status, 0);
        }
    }

private:
    // The child keeps only its own two pipe ends (and 0-2): an inherited copy
    // of another holder's pipe would keep that holder from ever seeing EOF.
    // (Closing a copy of a descriptor never releases the lock it carries.)
    static void close_other_descriptors(int keep, int also_keep) {
        std::vector<int> others;
        if (DIR* descriptors = opendir("/proc/self/fd")) {
            while (const dirent* entry = readdir(descriptors)) {
                const int fd = std::atoi(entry->d_name);
                if (fd > 2 && fd != keep && fd != also_keep && fd != dirfd(descriptors)) {
                    others.push_back(fd);
                }
            }
            closedir(descriptors);
        }
        for (const int fd : others) {
            close(fd);
        }
    }

    pid_t m_pid = -1;
    int m_hold = -1;
    bool m_took = false;
};

}  // namespace plock::test
