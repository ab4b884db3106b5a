// A command is a tree of processes: the command, its children, background
// jobs, processes that left its process group or session, and orphans whose
// parent exited (they come back to a child subreaper). This header finds the
// processes of such a tree and stops all of them, the one way plock stops a
// command: SIGTERM (and SIGCONT, so that a stopped process sees it) to every
// process, up to a grace period for them to end, then SIGKILL to every
// process still there, again and again until none is left, also processes
// forked while the tree was being stopped.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <functional>
#include <vector>

#include "plock/sys/fd.hpp"
#include "plock/sys/wait.hpp"

namespace plock {

// Every descendant of `root` (not `root` itself), parents before children,
// from /proc/PID/task/TID/children. A process that ends meanwhile may be
// missing, or listed as it ends.
std::vector<pid_t> find_descendants(pid_t root);

// The processes of a tree, as its owner sees them.
class ProcessTree {
public:
    virtual ~ProcessTree() = default;
    // The processes of the tree now (a zombie counts until it is reaped).
    virtual std::vector<pid_t> members() = 0;
    // True when no process of the tree is left.
    virtual bool empty() { return members().empty(); }
    // Sends `signal` to one member; a member that has gone is ignored.
    virtual void send(pid_t member, int signal) = 0;
    // Sleeps until `until` at most, less when a member may have ended, and
    // reaps what is ours to reap.
    virtual void settle(Clock::time_point until) = 0;
};

// Sends `signal` to every member of the tree now.
void signal_tree(ProcessTree& tree, int signal);

// Waits until the tree has no members or `until` passes; true when empty.
bool wait_until_empty(ProcessTree& tree, Clock::time_point until);

// SIGKILL to every member, again, until there are none (true) or `until`
// passes (false: a process stuck in the kernel).
bool kill_tree(ProcessTree& tree, Deadline until = std::nullopt);

// The whole stop: SIGTERM and SIGCONT to every member, up to `grace` for the
// tree to end, then kill_tree(). With a grace of zero, kill_tree() at once.
// `before_kill`, when given, hears how many members are left when the grace
// has run out and SIGKILL is needed (not with a grace of zero).
void stop_tree(ProcessTree& tree, std::chrono::nanoseconds grace,
               const std::function<void(std::size_t left)>& before_kill = {});

// The descendants of the calling process, which must be their child
// subreaper (PR_SET_CHILD_SUBREAPER): every orphan of the tree comes back to
// it, so the tree has ended exactly when the caller has no child left.
// settle() reaps the caller's children; `on_reaped` is told of each one.
class OwnDescendants final : public ProcessTree {
public:
    using Reaped = void (*)(void* context, pid_t pid, int wait_status);
    OwnDescendants(Reaped on_reaped, void* context) noexcept : m_on_reaped(on_reaped), m_context(context) {}

    std::vector<pid_t> members() override;
    // No child left at all: the truth even where /proc cannot list the tree
    // (a kernel without CONFIG_PROC_CHILDREN), so that a stop never ends, and
    // the lock is never let go, while a process of the tree lives.
    bool empty() override { return reap(); }
    void send(pid_t member, int signal) override;
    void settle(Clock::time_point until) override;
    // Reaps every child that has ended; true when no child is left at all.
    bool reap();

private:
    Reaped m_on_reaped;
    void* m_context;
};

// The trees of other processes (the holder of a PID file that plock
// replaces): the roots and every descendant found since, each pinned by a
// pidfd when first seen, so that a reused PID is never signalled, and kept
// after its parent exits (an orphan that went to init still belongs to the
// tree).
class ForeignTrees final : public ProcessTree {
public:
    // Pins `root`, then asks `proof` whether it is the process meant (a PID
    // read before the pin may have been reused); if so, its descendants are
    // pinned too. False when `root` has gone or the proof failed.
    template <typename Proof>
    bool add_root(pid_t root, Proof&& proof) {
        if (contains(root)) {
            return true;  // found already, as a descendant of another root
        }
        if (!pin(root) || !proof(root)) {
            unpin(root);
            return false;
        }
        discover();
        return true;
    }
    bool contains(pid_t pid) const noexcept;

    std::vector<pid_t> members() override;
    void send(pid_t member, int signal) override;
    void settle(Clock::time_point until) override;

private:
    struct Pinned {
        pid_t pid;
        UniqueFd pidfd;
    };
    bool pin(pid_t pid);
    void unpin(pid_t pid) noexcept;
    void discover();
    bool has_ended(const Pinned& process) const;

    std::vector<Pinned> m_processes;
};

}  // namespace plock
