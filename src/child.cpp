// Starting the command, forwarding signals to it, and reaping it.
#include "plock/child.hpp"

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <ctime>

#include "plock/error.hpp"
#include "plock/fd.hpp"

extern char** environ;

namespace plock {
namespace {

// argv and envp as exec wants them, built before fork so that the child only
// makes async-signal-safe calls between fork and exec.
class ExecArguments {
public:
    explicit ExecArguments(const CommandSpec& spec) {
        for (const std::string& word : spec.argv) {
            m_argv.push_back(const_cast<char*>(word.c_str()));
        }
        m_argv.push_back(nullptr);

        for (char** variable = environ; variable != nullptr && *variable != nullptr; ++variable) {
            const std::string_view text(*variable);
            const std::string_view name = text.substr(0, text.find('='));
            bool overridden = false;
            for (const auto& [key, value] : spec.environment) {
                overridden = overridden || name == key;
            }
            if (!overridden) {
                m_storage.emplace_back(text);
            }
        }
        for (const auto& [key, value] : spec.environment) {
            m_storage.push_back(key + "=" + value);
        }
        for (std::string& variable : m_storage) {
            m_envp.push_back(variable.data());
        }
        m_envp.push_back(nullptr);
    }

    char* const* argv() const noexcept { return m_argv.data(); }
    char* const* envp() const noexcept { return m_envp.data(); }

private:
    std::vector<std::string> m_storage;
    std::vector<char*> m_argv;
    std::vector<char*> m_envp;
};

void clear_close_on_exec(int fd) noexcept {
    const int flags = fcntl(fd, F_GETFD);
    if (flags >= 0) {
        fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC);
    }
}

// Puts the spec's descriptors in place as 0 and 1; only async-signal-safe
// calls (it runs between fork and exec). A source that is 0 or 1 itself is
// first moved out of the way, so that neither redirection undoes the other.
// Returns 0 or an errno value.
int redirect_standard_streams(const CommandSpec& spec) noexcept {
    int input = spec.standard_input;
    int output = spec.standard_output;
    if (input == 0 || input == 1) {
        input = fcntl(input, F_DUPFD_CLOEXEC, 3);
    }
    if (output == 0 || output == 1) {
        output = fcntl(output, F_DUPFD_CLOEXEC, 3);
    }
    if ((spec.standard_input >= 0 && input < 0) || (spec.standard_output >= 0 && output < 0)) {
        return errno;
    }
    if ((input >= 0 && dup2(input, 0) < 0) || (output >= 0 && dup2(output, 1) < 0)) {
        return errno;
    }
    return 0;
}

timespec until_deadline(Clock::time_point deadline) noexcept {
    const auto remaining = std::max(deadline - Clock::now(), Clock::duration::zero());
    const auto nanoseconds = std::chrono::duration_cast<std::chrono::nanoseconds>(remaining).count();
    return timespec{static_cast<time_t>(nanoseconds / 1'000'000'000),
                    static_cast<long>(nanoseconds % 1'000'000'000)};
}

}  // namespace

bool ExitStatus::exited() const noexcept { return WIFEXITED(m_wait_status); }
bool ExitStatus::signaled() const noexcept { return WIFSIGNALED(m_wait_status); }
int ExitStatus::code() const noexcept { return WEXITSTATUS(m_wait_status); }
int ExitStatus::signal() const noexcept { return WTERMSIG(m_wait_status); }
int ExitStatus::shell_status() const noexcept {
    return signaled() ? 128 + signal() : code();
}

ChildProcess ChildProcess::spawn(const CommandSpec& spec) {
    if (spec.argv.empty()) {
        throw UsageError("no command to run");
    }
    // An ignored SIGCHLD (inherited from whoever started us) would make the
    // kernel reap the command itself and lose its exit status.
    signal(SIGCHLD, SIG_DFL);

    const ExecArguments arguments(spec);
    const pid_t parent = getpid();
    // An exec failure comes back as the errno on a close-on-exec pipe: a
    // successful exec closes it, so the parent reads end-of-file. (Not a
    // variable shared through vfork: under valgrind and ThreadSanitizer vfork
    // is a fork, and the parent would never see the child's write.)
    int report_pipe[2];
    if (pipe2(report_pipe, O_CLOEXEC) != 0) {
        throw SystemError(Operation::system, "a pipe for the command", errno);
    }
    UniqueFd report_read(report_pipe[0]);
    UniqueFd report_write(report_pipe[1]);
    const auto report_and_exit = [fd = report_pipe[1]](int error) {
        // Async-signal-safe only: write(2) and _exit(2).
        [[maybe_unused]] const ssize_t written = write(fd, &error, sizeof error);
        _exit(127);
    };
    // vfork: the child borrows our memory until it execs, so nothing is
    // copied however large plock is. The child makes only async-signal-safe
    // system calls and leaves by exec or _exit, never by returning.
    const pid_t pid = vfork();
    if (pid < 0) {
        throw SystemError(Operation::system, "a process for the command", errno);
    }
    if (pid == 0) {
        if (spec.die_with_parent) {
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (getppid() != parent) {
                _exit(128 + SIGKILL);  // plock died before the request took effect
            }
        }
        for (int fd : spec.inherited_fds) {
            clear_close_on_exec(fd);
        }
        if (const int error = redirect_standard_streams(spec); error != 0) {
            report_and_exit(error);
        }
        sigprocmask(SIG_SETMASK, &spec.signal_mask, nullptr);
        execvpe(arguments.argv()[0], arguments.argv(), arguments.envp());
        report_and_exit(errno);
    }

    ChildProcess child(pid);
    report_write.reset();
    int exec_error = 0;
    const ssize_t count = retry_on_eintr([&] { return read(report_read.get(), &exec_error, sizeof exec_error); });
    if (count == static_cast<ssize_t>(sizeof exec_error) && exec_error != 0) {
        child.reap(true);
        throw SystemError(Operation::execute, spec.argv[0], exec_error);
    }
    return child;
}

ChildProcess::ChildProcess(ChildProcess&& other) noexcept
    : m_pid(std::exchange(other.m_pid, -1)), m_reaped(std::exchange(other.m_reaped, true)) {}

ChildProcess::~ChildProcess() {
    if (m_pid > 0 && !m_reaped) {
        send_signal(SIGKILL);
        reap(true);
    }
}

std::optional<ExitStatus> ChildProcess::reap(bool block) {
    int status = 0;
    const pid_t result = retry_on_eintr([&] { return waitpid(m_pid, &status, block ? 0 : WNOHANG); });
    if (result == m_pid) {
        m_reaped = true;
        return ExitStatus(status);
    }
    if (result < 0 && errno == ECHILD) {
        // Someone else reaped it; report it as killed so that no one mistakes
        // the run for a success.
        m_reaped = true;
        return ExitStatus(SIGKILL);
    }
    return std::nullopt;
}

void ChildProcess::send_signal(int signal) noexcept {
    if (m_pid > 0 && !m_reaped) {
        kill(m_pid, signal);
    }
}

std::optional<ExitStatus> ChildProcess::wait(const SignalSet& forwarded, Deadline until) {
    SignalSet wake = forwarded;
    wake.add(SIGCHLD);
    for (;;) {
        if (auto status = reap(false)) {
            return status;
        }
        timespec timeout{};
        if (until) {
            if (Clock::now() >= *until) {
                return std::nullopt;
            }
            timeout = until_deadline(*until);
        }
        siginfo_t info{};
        const int signal = sigtimedwait(&wake.native(), &info, until ? &timeout : nullptr);
        if (signal <= 0 || signal == SIGCHLD) {
            continue;  // timeout, EINTR or a child event: look again
        }
        // The kernel sends terminal signals (Ctrl-C, hangup, resize) to the
        // whole foreground process group: the command had its copy already.
        const bool group_signal = info.si_code == SI_KERNEL && getpgid(m_pid) == getpgrp();
        if (forwarded.contains(signal) && !group_signal) {
            send_signal(signal);
        }
    }
}

void exec_command(const CommandSpec& spec) {
    if (spec.argv.empty()) {
        throw UsageError("no command to run");
    }
    for (const auto& [key, value] : spec.environment) {
        setenv(key.c_str(), value.c_str(), 1);
    }
    for (int fd : spec.inherited_fds) {
        clear_close_on_exec(fd);
    }
    if (const int error = redirect_standard_streams(spec); error != 0) {
        throw SystemError(Operation::system, "the command's standard streams", error);
    }
    std::vector<char*> argv;
    for (const std::string& word : spec.argv) {
        argv.push_back(const_cast<char*>(word.c_str()));
    }
    argv.push_back(nullptr);
    sigprocmask(SIG_SETMASK, &spec.signal_mask, nullptr);
    execvp(argv[0], argv.data());
    const int error = errno;
    throw SystemError(Operation::execute, spec.argv[0], error);
}

}  // namespace plock
