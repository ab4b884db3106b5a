// Running the command, which is a tree of processes (process_tree.hpp).
//
// plock does not start the command itself: it starts a small supervisor (a
// fork of plock) that is the child subreaper of the command's tree, starts
// the command, reaps every process of the tree, and reports the command's
// status over a socket. So the tree is known and can be stopped as a whole,
// and the supervisor, which outlives plock, can kill the tree if plock dies:
//
//   plock ── supervisor ── command ── its children, background jobs,
//        (socket)        (subreaper)    setsid'd processes, orphans
//
// Signals plock forwards go to the command alone. A run that needs none of
// this (CommandSpec::needs_supervisor) starts the command as plock's own
// child, and exec in place (--no-fork) has no child at all.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <csignal>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "plock/sys/fd.hpp"
#include "plock/sys/signals.hpp"
#include "plock/sys/wait.hpp"

namespace plock {

struct CommandSpec {
    std::vector<std::string> argv;  // argv[0] is looked up in PATH
    // Variables set for the command on top of the inherited environment.
    std::vector<std::pair<std::string, std::string>> environment;
    // Descriptors the command inherits (all others are close-on-exec).
    std::vector<int> inherited_fds;
    // Descriptors that become the command's standard input and output
    // (-1: it shares ours).
    int standard_input = -1;
    int standard_output = -1;
    // If plock dies while the command runs, the supervisor kills the whole
    // tree at once (SIGKILL) and exits only when no process of it is left,
    // keeping `held_fds` open until then: a lock they carry passes to no one
    // while the tree runs. Without it, plock's death leaves the tree alone
    // (it keeps the lock it inherited).
    bool stop_tree_if_plock_dies = false;
    // Kept open by the supervisor while the command runs; not the command's.
    std::vector<int> held_fds;
    // The run lasts until the whole tree has ended, not only the command:
    // wait() returns then, and stop_tree_if_plock_dies holds until then.
    bool run_until_tree_ends = false;
    // Start the command under a supervisor even without the two above, so
    // that its tree can be stopped (--time-limit) or found later (a PID-file
    // guard that --replace stops). Without any of the three, plock starts
    // the command as its own child and knows only it.
    bool supervised = false;
    // The signal mask the command starts with: the one plock was given.
    sigset_t signal_mask{};

    bool needs_supervisor() const noexcept {
        return supervised || stop_tree_if_plock_dies || run_until_tree_ends;
    }
};

class ExitStatus {
public:
    explicit ExitStatus(int wait_status) noexcept : m_wait_status(wait_status) {}
    bool exited() const noexcept;
    bool signaled() const noexcept;
    int code() const noexcept;    // valid when exited()
    int signal() const noexcept;  // valid when signaled()
    // What a shell would put in $?: the code, or 128+N for signal N.
    int shell_status() const noexcept;

private:
    int m_wait_status;
};

class ChildProcess {
public:
    // Starts the supervisor and, through it, the command. Throws
    // SystemError(Operation::execute, argv[0], errno) when the command cannot
    // be executed (everything has been reaped by then).
    static ChildProcess spawn(const CommandSpec& spec);

    ChildProcess(ChildProcess&& other) noexcept;
    ChildProcess& operator=(ChildProcess&&) = delete;
    ChildProcess(const ChildProcess&) = delete;
    // Kills (SIGKILL) the whole tree of a run that is not over, and reaps it.
    ~ChildProcess();

    // The command's PID; -1 when the supervisor was killed before it could
    // start the command (wait() then reports that signal).
    pid_t pid() const noexcept { return m_command; }
    pid_t supervisor_pid() const noexcept { return m_supervisor; }

    // Waits until the run is over (the command has ended, or with
    // run_until_tree_ends its whole tree) or `until` passes (nullopt),
    // forwarding to the command each signal of `forwarded` that arrives (see
    // send_signal). The
    // caller must block `forwarded` and SIGCHLD (ScopedSignalMask). A signal
    // the kernel sent to our whole process group (Ctrl-C at a terminal) has
    // reached the command already and is not sent twice. The status is the
    // command's; SIGKILL when the supervisor was killed before it could say.
    std::optional<ExitStatus> wait(const SignalSet& forwarded, Deadline until);

    // True once the command itself has ended (its tree may run on).
    bool command_ended() const noexcept { return m_status.has_value(); }

    // Sends `signal` to the command, if it still runs; once it has ended,
    // while the run goes on for its tree (run_until_tree_ends), to every
    // process left of the tree.
    void send_signal(int signal) noexcept;

    // Stops the whole tree (stop_tree: SIGTERM, `grace`, SIGKILL until none
    // is left); the supervisor does it, and wait() returns once it is done.
    // Without a supervisor, SIGKILL to the command alone.
    void stop(std::chrono::nanoseconds grace) noexcept;

    // True when stop() had to end the tree with SIGKILL (processes of it
    // outlasted the grace), or kill_now() was called.
    bool killed_after_grace() const noexcept { return m_killed_after_grace; }

    // Kills the whole tree now, from here as well as by the supervisor: for
    // when a lease ends and the supervisor may be held up (stopped).
    void kill_now() noexcept;

private:
    ChildProcess(pid_t supervisor, pid_t command, UniqueFd channel) noexcept
        : m_supervisor(supervisor), m_command(command), m_channel(std::move(channel)) {}
    static ChildProcess spawn_directly(const CommandSpec& spec);
    std::optional<ExitStatus> wait_directly(const SignalSet& forwarded, Deadline until);
    void reap_directly(bool block);
    void read_reports();
    void finish();

    pid_t m_supervisor = -1;          // -1: the command is our own child
    pid_t m_command = -1;
    UniqueFd m_channel;               // our end of the socket to the supervisor
    std::optional<int> m_status;      // the command's wait status, once reported
    bool m_over = false;              // the supervisor has exited and been reaped
    bool m_killed_after_grace = false;
};

// Replaces this process with the command (--no-fork). Returns only by
// throwing SystemError(Operation::execute, argv[0], errno).
[[noreturn]] void exec_command(const CommandSpec& spec);

}  // namespace plock
