// Finding and stopping the processes of a command's tree.
#include "plock/child/process_tree.hpp"

#include <poll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <unordered_set>

#include "plock/proc/process_info.hpp"

namespace plock {
namespace {

// How long a round of kill_tree() waits before it looks again: a killed
// process's children come back to the subreaper only once it has exited.
constexpr auto k_kill_round = std::chrono::milliseconds(10);
// How often a tree that is not ours is looked at for new members.
constexpr auto k_foreign_poll = std::chrono::milliseconds(20);
// A bound on one walk, should /proc ever report a cycle (a PID reused
// between two reads).
constexpr std::size_t k_max_walk = 1 << 20;

int milliseconds_until(Clock::time_point until) {
    const auto remaining = std::chrono::ceil<std::chrono::milliseconds>(until - Clock::now());
    return static_cast<int>(std::clamp<long long>(remaining.count(), 0, 60'000));
}

int open_pidfd(pid_t pid) noexcept {
    return static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
}

}  // namespace

std::vector<pid_t> find_descendants(pid_t root) {
    std::vector<pid_t> found;
    std::unordered_set<pid_t> seen{root};
    std::vector<pid_t> parents{root};
    while (!parents.empty() && found.size() < k_max_walk) {
        const pid_t parent = parents.back();
        parents.pop_back();
        for (const pid_t child : process_children(parent)) {
            if (seen.insert(child).second) {
                found.push_back(child);
                parents.push_back(child);
            }
        }
    }
    return found;
}

void signal_tree(ProcessTree& tree, int signal) {
    for (const pid_t member : tree.members()) {
        tree.send(member, signal);
    }
}

bool wait_until_empty(ProcessTree& tree, Clock::time_point until) {
    for (;;) {
        if (tree.empty()) {
            return true;
        }
        if (Clock::now() >= until) {
            return false;
        }
        tree.settle(until);
    }
}

bool kill_tree(ProcessTree& tree, Deadline until) {
    for (;;) {
        if (tree.empty()) {
            return true;
        }
        const std::vector<pid_t> members = tree.members();
        if (until && Clock::now() >= *until) {
            return false;
        }
        for (const pid_t member : members) {
            tree.send(member, SIGKILL);
        }
        tree.settle(std::min(until.value_or(Clock::time_point::max()), Clock::now() + k_kill_round));
    }
}

void stop_tree(ProcessTree& tree, std::chrono::nanoseconds grace,
               const std::function<void(std::size_t left)>& before_kill) {
    if (grace > std::chrono::nanoseconds::zero()) {
        for (const pid_t member : tree.members()) {
            tree.send(member, SIGTERM);
            tree.send(member, SIGCONT);
        }
        const auto until = Clock::now() + std::chrono::duration_cast<Clock::duration>(grace);
        if (wait_until_empty(tree, until)) {
            return;
        }
        if (before_kill) {
            before_kill(std::max<std::size_t>(tree.members().size(), 1));
        }
    }
    kill_tree(tree);
}

std::vector<pid_t> OwnDescendants::members() {
    reap();
    return find_descendants(getpid());
}

void OwnDescendants::send(pid_t member, int signal) {
    kill(member, signal);
}

bool OwnDescendants::reap() {
    for (;;) {
        int status = 0;
        const pid_t pid = waitpid(-1, &status, WNOHANG);
        if (pid > 0) {
            if (m_on_reaped != nullptr) {
                m_on_reaped(m_context, pid, status);
            }
            continue;
        }
        if (pid < 0 && errno == EINTR) {
            continue;
        }
        return pid < 0 && errno == ECHILD;
    }
}

void OwnDescendants::settle(Clock::time_point until) {
    // A child's end is SIGCHLD, blocked by the caller; wait for it, briefly
    // (a grandchild's end sends us nothing).
    const auto wake = std::min(until, Clock::now() + k_kill_round);
    sigset_t child_signal;
    sigemptyset(&child_signal);
    sigaddset(&child_signal, SIGCHLD);
    const timespec timeout = remaining_until(wake);
    sigtimedwait(&child_signal, nullptr, &timeout);
    reap();
}

bool ForeignTrees::contains(pid_t pid) const noexcept {
    return std::any_of(m_processes.begin(), m_processes.end(),
                       [pid](const Pinned& process) { return process.pid == pid; });
}

bool ForeignTrees::pin(pid_t pid) {
    if (contains(pid)) {
        return true;
    }
    UniqueFd pidfd(open_pidfd(pid));
    if (!pidfd) {
        return false;
    }
    m_processes.push_back({pid, std::move(pidfd)});
    return true;
}

void ForeignTrees::unpin(pid_t pid) noexcept {
    std::erase_if(m_processes, [pid](const Pinned& process) { return process.pid == pid; });
}

bool ForeignTrees::has_ended(const Pinned& process) const {
    pollfd entry{process.pidfd.get(), POLLIN, 0};
    return poll(&entry, 1, 0) > 0;
}

void ForeignTrees::discover() {
    // A child found after its parent's pidfd was taken is the parent's child
    // (a PID is reused only after the process is reaped, and the parent's
    // children are listed while it lives), so pinning it now is safe.
    for (std::size_t index = 0; index < m_processes.size(); ++index) {
        if (has_ended(m_processes[index])) {
            continue;
        }
        for (const pid_t child : process_children(m_processes[index].pid)) {
            pin(child);
        }
    }
}

std::vector<pid_t> ForeignTrees::members() {
    discover();
    std::vector<pid_t> alive;
    for (const Pinned& process : m_processes) {
        if (!has_ended(process)) {
            alive.push_back(process.pid);
        }
    }
    return alive;
}

void ForeignTrees::send(pid_t member, int signal) {
    for (const Pinned& process : m_processes) {
        if (process.pid == member) {
            syscall(SYS_pidfd_send_signal, process.pidfd.get(), signal, nullptr, 0);
            return;
        }
    }
}

void ForeignTrees::settle(Clock::time_point until) {
    // Any member's end wakes us; new members are found on the next look.
    std::vector<pollfd> live;
    for (const Pinned& process : m_processes) {
        if (!has_ended(process)) {
            live.push_back({process.pidfd.get(), POLLIN, 0});
        }
    }
    if (!live.empty()) {
        poll(live.data(), live.size(), milliseconds_until(std::min(until, Clock::now() + k_foreign_poll)));
    }
}

}  // namespace plock
