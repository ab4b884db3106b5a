// Running the command: one way to start it (fork + exec, reporting exec
// failures back through a close-on-exec pipe), one loop that forwards
// signals to it and reaps it, and exec in place for --no-fork.
#pragma once

#include <sys/types.h>

#include <csignal>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "plock/signals.hpp"
#include "plock/wait.hpp"

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
    // Kill the command with SIGKILL if plock dies (PR_SET_PDEATHSIG).
    bool die_with_parent = false;
    // The signal mask the command starts with: the one plock was given.
    sigset_t signal_mask{};
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
    // Starts the command. Throws SystemError(Operation::execute, argv[0], errno)
    // when it cannot be executed (the child has been reaped by then).
    static ChildProcess spawn(const CommandSpec& spec);

    ChildProcess(ChildProcess&& other) noexcept;
    ChildProcess& operator=(ChildProcess&&) = delete;
    ChildProcess(const ChildProcess&) = delete;
    // Kills (SIGKILL) and reaps a command that is still running.
    ~ChildProcess();

    pid_t pid() const noexcept { return m_pid; }

    // Waits until the command exits or `until` passes (nullopt), forwarding
    // each signal of `forwarded` that arrives to the command. The caller must
    // block `forwarded` and SIGCHLD (ScopedSignalMask). A signal the kernel
    // sent to our whole process group (Ctrl-C at a terminal) has reached the
    // command already and is not sent twice.
    std::optional<ExitStatus> wait(const SignalSet& forwarded, Deadline until);

    void send_signal(int signal) noexcept;

private:
    explicit ChildProcess(pid_t pid) noexcept : m_pid(pid) {}
    std::optional<ExitStatus> reap(bool block);

    pid_t m_pid = -1;
    bool m_reaped = false;
};

// Replaces this process with the command (--no-fork). Returns only by
// throwing SystemError(Operation::execute, argv[0], errno).
[[noreturn]] void exec_command(const CommandSpec& spec);

}  // namespace plock
