// Starting the command under its supervisor, forwarding signals to it,
// stopping its tree, and reaping it.
#include "plock/child/child.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <ctime>

#include "plock/sys/error.hpp"
#include "plock/sys/fd.hpp"
#include "plock/child/process_tree.hpp"

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


// What start_command() did: the command's PID, or the errno of the step
// that failed (`failed_step` names it; nullptr: exec itself).
struct Started {
    pid_t pid = -1;
    int error = 0;
    const char* failed_step = nullptr;
};

// Starts the command with vfork + exec, as the caller's child. An exec
// failure comes back as the errno on a close-on-exec pipe: a successful exec
// closes it, so the parent reads end-of-file. (Not a variable shared through
// vfork: under valgrind and ThreadSanitizer vfork is a fork, and the parent
// would never see the child's write.) vfork: the child borrows our memory
// until it execs, so nothing is copied however large plock is. The child
// makes only async-signal-safe calls and leaves by exec or _exit. A command
// that could not be executed has been reaped on return. Allocates nothing:
// the supervisor calls it too.
Started start_command(const CommandSpec& spec, const ExecArguments& arguments, bool die_with_parent) noexcept {
    int report[2];
    if (pipe2(report, O_CLOEXEC) != 0) {
        return {-1, errno, "a pipe for the command"};
    }
    const pid_t parent = getpid();
    const pid_t pid = vfork();
    if (pid < 0) {
        const int error = errno;
        close(report[0]);
        close(report[1]);
        return {-1, error, "a process for the command"};
    }
    if (pid == 0) {
        if (die_with_parent) {
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (getppid() != parent) {
                _exit(128 + SIGKILL);  // the parent died before the request took effect
            }
        }
        for (int fd : spec.inherited_fds) {
            clear_close_on_exec(fd);
        }
        int error = redirect_standard_streams(spec);
        if (error == 0) {
            sigprocmask(SIG_SETMASK, &spec.signal_mask, nullptr);
            execvpe(arguments.argv()[0], arguments.argv(), arguments.envp());
            error = errno;
        }
        [[maybe_unused]] const ssize_t written = write(report[1], &error, sizeof error);
        _exit(127);
    }
    close(report[1]);
    int error = 0;
    const ssize_t count = retry_on_eintr([&] { return read(report[0], &error, sizeof error); });
    close(report[0]);
    if (count == static_cast<ssize_t>(sizeof error) && error != 0) {
        int status = 0;
        retry_on_eintr([&] { return waitpid(pid, &status, 0); });
        return {-1, error, nullptr};
    }
    return {pid, 0, nullptr};
}

}  // namespace

bool ExitStatus::exited() const noexcept { return WIFEXITED(m_wait_status); }
bool ExitStatus::signaled() const noexcept { return WIFSIGNALED(m_wait_status); }
int ExitStatus::code() const noexcept { return WEXITSTATUS(m_wait_status); }
int ExitStatus::signal() const noexcept { return WTERMSIG(m_wait_status); }
int ExitStatus::shell_status() const noexcept {
    return signaled() ? 128 + signal() : code();
}

namespace {

// What plock and the supervisor say to each other: one datagram each.
struct Message {
    enum Kind : std::int32_t {
        started = 1,      // supervisor: the command runs; value: its PID
        exec_failed = 2,  // supervisor: value: the errno of exec
        exited = 3,       // supervisor: the command ended; value: its wait status
        forward = 4,      // plock: send signal `value` to the command (to what
                          // is left of the tree once the command has ended)
        stop = 5,         // plock: stop the tree, grace `value` milliseconds
        killing = 6,      // supervisor: the grace ran out, `value` processes get SIGKILL
    };
    std::int64_t kind = 0;
    std::int64_t value = 0;
};

bool send_message(int fd, Message message) noexcept {
    // MSG_NOSIGNAL: a peer that has gone must not kill us with SIGPIPE.
    return retry_on_eintr([&] { return send(fd, &message, sizeof message, MSG_NOSIGNAL); }) ==
           static_cast<ssize_t>(sizeof message);
}

// Closes every descriptor of the supervisor but those in `keep` (and 0-2).
void close_all_but(std::vector<int> keep) noexcept {
    keep.push_back(2);
    std::sort(keep.begin(), keep.end());
    unsigned first = 3;
    for (const int fd : keep) {
        if (fd >= static_cast<int>(first)) {
            if (static_cast<unsigned>(fd) > first) {
                close_range(first, static_cast<unsigned>(fd) - 1, 0);
            }
            first = static_cast<unsigned>(fd) + 1;
        }
    }
    close_range(first, ~0U, 0);
}

// The supervisor: the child subreaper of the command's tree. It runs in a
// fork of plock (single-threaded at that point) and leaves only by _exit.
class Supervisor {
public:
    Supervisor(const CommandSpec& spec, const ExecArguments& arguments, int channel) noexcept
        : m_spec(spec), m_arguments(arguments), m_channel(channel) {}

    [[noreturn]] void run() noexcept {
        // `ps -o comm` and the tests tell it from the plock it serves.
        prctl(PR_SET_NAME, "plock-supervise");
        prctl(PR_SET_CHILD_SUBREAPER, 1);
        sigset_t everything;
        sigfillset(&everything);
        sigprocmask(SIG_BLOCK, &everything, nullptr);
        std::vector<int> keep = m_spec.inherited_fds;
        keep.insert(keep.end(), m_spec.held_fds.begin(), m_spec.held_fds.end());
        keep.push_back(m_channel);
        keep.push_back(m_spec.standard_input);
        keep.push_back(m_spec.standard_output);
        close_all_but(keep);

        sigset_t child_signal;
        sigemptyset(&child_signal);
        sigaddset(&child_signal, SIGCHLD);
        m_child_events = signalfd(-1, &child_signal, SFD_CLOEXEC | SFD_NONBLOCK);
        if (m_child_events < 0) {
            send_message(m_channel, {Message::exec_failed, static_cast<std::int64_t>(errno)});
            _exit(0);
        }
        if (const int error = start(); error != 0) {
            send_message(m_channel, {Message::exec_failed, error});
            _exit(0);
        }
        send_message(m_channel, {Message::started, m_command});
        for (;;) {
            pollfd events[2] = {{m_child_events, POLLIN, 0}, {m_channel, POLLIN, 0}};
            poll(events, 2, -1);
            if (events[0].revents != 0) {
                signalfd_siginfo info;
                while (read(m_child_events, &info, sizeof info) > 0) {
                }
            }
            const bool tree_empty = m_tree.reap();
            if (events[1].revents != 0) {
                handle_request();
            }
            if (m_command_ended && (!m_spec.run_until_tree_ends || tree_empty)) {
                _exit(0);
            }
        }
    }

private:
    // Starts the command as our child; 0, or the errno of what failed.
    int start() noexcept {
        // Should the supervisor itself be killed, the command goes too.
        const Started started = start_command(m_spec, m_arguments, m_spec.stop_tree_if_plock_dies);
        m_command = started.pid;
        return started.error;
    }

    static void on_reaped(void* context, pid_t pid, int wait_status) {
        auto* self = static_cast<Supervisor*>(context);
        if (pid != self->m_command || self->m_command_ended) {
            return;
        }
        self->m_command_ended = true;
        if (!self->m_spec.run_until_tree_ends) {
            // The lock goes with the command: leftovers run on without it.
            for (const int fd : self->m_spec.held_fds) {
                close(fd);
            }
        }
        send_message(self->m_channel, {Message::exited, wait_status});
    }

    void handle_request() noexcept {
        Message message;
        const ssize_t count =
            retry_on_eintr([&] { return recv(m_channel, &message, sizeof message, MSG_DONTWAIT); });
        if (count == 0) {
            plock_has_gone();
        }
        if (count != static_cast<ssize_t>(sizeof message)) {
            return;
        }
        if (message.kind == Message::forward && !m_command_ended) {
            kill(m_command, static_cast<int>(message.value));
        } else if (message.kind == Message::forward) {
            // The run goes on for the tree alone: the signal is for it.
            signal_tree(m_tree, static_cast<int>(message.value));
        } else if (message.kind == Message::stop) {
            stop_tree(m_tree, std::chrono::milliseconds(message.value), [this](std::size_t left) {
                send_message(m_channel, {Message::killing, static_cast<std::int64_t>(left)});
            });
            _exit(0);
        }
    }

    // plock died (or ended without waiting for us).
    [[noreturn]] void plock_has_gone() noexcept {
        const bool tree_runs = !m_command_ended || m_spec.run_until_tree_ends;
        if (m_spec.stop_tree_if_plock_dies && tree_runs) {
            // plock can no longer keep the lock: nothing of the tree may run on.
            kill_tree(m_tree);
        }
        _exit(0);
    }

    const CommandSpec& m_spec;
    const ExecArguments& m_arguments;
    int m_channel;
    int m_child_events = -1;
    pid_t m_command = -1;
    bool m_command_ended = false;
    OwnDescendants m_tree{&Supervisor::on_reaped, this};
};

}  // namespace

ChildProcess ChildProcess::spawn(const CommandSpec& spec) {
    if (spec.argv.empty()) {
        throw UsageError("no command to run");
    }
    // An ignored SIGCHLD (inherited from whoever started us) would make the
    // kernel reap our children itself and lose their exit status.
    signal(SIGCHLD, SIG_DFL);
    if (!spec.needs_supervisor()) {
        return spawn_directly(spec);
    }

    const ExecArguments arguments(spec);
    int channel[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, channel) != 0) {
        throw SystemError(Operation::system, "a socket for the command's supervisor", errno);
    }
    UniqueFd ours(channel[0]);
    UniqueFd theirs(channel[1]);
    const pid_t supervisor = fork();
    if (supervisor < 0) {
        throw SystemError(Operation::system, "a process for the command", errno);
    }
    if (supervisor == 0) {
        Supervisor(spec, arguments, theirs.get()).run();
    }
    theirs.reset();
    Message first;
    const ssize_t count = retry_on_eintr([&] { return recv(ours.get(), &first, sizeof first, 0); });
    if (count != static_cast<ssize_t>(sizeof first) || first.kind != Message::started) {
        int status = 0;
        retry_on_eintr([&] { return waitpid(supervisor, &status, 0); });
        if (count == static_cast<ssize_t>(sizeof first) && first.kind == Message::exec_failed) {
            throw SystemError(Operation::execute, spec.argv[0], static_cast<int>(first.value));
        }
        if (!WIFSIGNALED(status)) {
            throw SystemError(Operation::execute, spec.argv[0], EIO, "its supervisor ended without a word");
        }
        // Killed before it could say (by someone who signals our children):
        // a run killed by that signal, with no command to speak of.
        ChildProcess killed(supervisor, -1, UniqueFd());
        killed.m_status = WTERMSIG(status);
        killed.m_over = true;
        return killed;
    }
    return ChildProcess(supervisor, static_cast<pid_t>(first.value), std::move(ours));
}

ChildProcess ChildProcess::spawn_directly(const CommandSpec& spec) {
    const ExecArguments arguments(spec);
    const Started started = start_command(spec, arguments, false);
    if (started.failed_step != nullptr) {
        throw SystemError(Operation::system, started.failed_step, started.error);
    }
    if (started.error != 0) {
        throw SystemError(Operation::execute, spec.argv[0], started.error);
    }
    return ChildProcess(-1, started.pid, UniqueFd());
}

void ChildProcess::reap_directly(bool block) {
    int status = 0;
    const pid_t result = retry_on_eintr([&] { return waitpid(m_command, &status, block ? 0 : WNOHANG); });
    if (result == m_command) {
        m_status = status;
        m_over = true;
    } else if (result < 0 && errno == ECHILD) {
        // Someone else reaped it; report it as killed so that no one mistakes
        // the run for a success.
        m_status = SIGKILL;
        m_over = true;
    }
}

std::optional<ExitStatus> ChildProcess::wait_directly(const SignalSet& forwarded, Deadline until) {
    SignalSet wake = forwarded;
    wake.add(SIGCHLD);
    for (;;) {
        reap_directly(false);
        if (m_over) {
            return ExitStatus(*m_status);
        }
        timespec timeout{};
        if (until) {
            const auto left = *until - Clock::now();
            if (left <= Clock::duration::zero()) {
                return std::nullopt;
            }
            timeout = to_timespec(left);
        }
        siginfo_t info{};
        const int signal = sigtimedwait(&wake.native(), &info, until ? &timeout : nullptr);
        if (signal <= 0 || signal == SIGCHLD) {
            continue;  // timeout, EINTR or a child event: look again
        }
        // The kernel sends terminal signals (Ctrl-C, hangup, resize) to the
        // whole foreground process group: the command had its copy already.
        const bool group_signal = info.si_code == SI_KERNEL && getpgid(m_command) == getpgrp();
        if (forwarded.contains(signal) && !group_signal) {
            send_signal(signal);
        }
    }
}

ChildProcess::ChildProcess(ChildProcess&& other) noexcept
    : m_supervisor(std::exchange(other.m_supervisor, -1)),
      m_command(std::exchange(other.m_command, -1)),
      m_channel(std::move(other.m_channel)),
      m_status(other.m_status),
      m_over(std::exchange(other.m_over, true)),
      m_killed_after_grace(other.m_killed_after_grace) {}

ChildProcess::~ChildProcess() {
    if (m_over || m_command < 0) {
        return;
    }
    kill_now();
    if (m_supervisor > 0) {
        finish();
    } else {
        reap_directly(true);
    }
}

void ChildProcess::read_reports() {
    for (;;) {
        Message message;
        const ssize_t count =
            retry_on_eintr([&] { return recv(m_channel.get(), &message, sizeof message, MSG_DONTWAIT); });
        if (count == static_cast<ssize_t>(sizeof message)) {
            if (message.kind == Message::exited) {
                m_status = static_cast<int>(message.value);
            } else if (message.kind == Message::killing) {
                m_killed_after_grace = true;
            }
            continue;
        }
        if (count == 0 || (count < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
            finish();  // the supervisor has gone
        }
        return;
    }
}

void ChildProcess::finish() {
    int status = 0;
    retry_on_eintr([&] { return waitpid(m_supervisor, &status, 0); });
    m_over = true;
    m_channel.reset();
}

std::optional<ExitStatus> ChildProcess::wait(const SignalSet& forwarded, Deadline until) {
    if (m_supervisor < 0) {
        return wait_directly(forwarded, until);
    }
    SignalSet wake = forwarded;
    wake.add(SIGCHLD);
    const SignalFd signals(wake);
    for (;;) {
        if (!m_over) {
            read_reports();
        }
        if (m_over) {
            // Killed before it could tell: report a kill, never a success.
            return ExitStatus(m_status.value_or(SIGKILL));
        }
        int timeout = -1;
        if (until) {
            if (Clock::now() >= *until) {
                return std::nullopt;
            }
            const auto left = std::chrono::ceil<std::chrono::milliseconds>(*until - Clock::now());
            timeout = static_cast<int>(std::min<long long>(left.count(), 60'000));
        }
        pollfd events[2] = {{m_channel.get(), POLLIN, 0}, {signals.fd(), POLLIN, 0}};
        if (poll(events, 2, timeout) <= 0 || events[1].revents == 0) {
            continue;  // timeout, EINTR or a report: look again
        }
        signalfd_siginfo info{};
        if (read(signals.fd(), &info, sizeof info) != static_cast<ssize_t>(sizeof info)) {
            continue;
        }
        const int signal = static_cast<int>(info.ssi_signo);
        if (signal == SIGCHLD || !forwarded.contains(signal)) {
            continue;
        }
        // The kernel sends terminal signals (Ctrl-C, hangup, resize) to the
        // whole foreground process group: the command had its copy already.
        const bool group_signal = info.ssi_code == SI_KERNEL && !m_status && getpgid(m_command) == getpgrp();
        if (!group_signal) {
            send_signal(signal);
        }
    }
}

void ChildProcess::send_signal(int signal) noexcept {
    if (m_supervisor < 0) {
        if (!m_over) {
            kill(m_command, signal);
        }
        return;
    }
    if (!m_over) {
        send_message(m_channel.get(), {Message::forward, signal});
    }
}

void ChildProcess::stop(std::chrono::nanoseconds grace) noexcept {
    if (m_supervisor < 0) {
        send_signal(SIGKILL);
        return;
    }
    if (!m_over) {
        const auto milliseconds = std::chrono::duration_cast<std::chrono::milliseconds>(grace).count();
        send_message(m_channel.get(), {Message::stop, std::max<std::int64_t>(milliseconds, 0)});
    }
}

void ChildProcess::kill_now() noexcept {
    if (m_over || m_supervisor < 0) {
        send_signal(SIGKILL);
        return;
    }
    stop(std::chrono::nanoseconds::zero());
    // The supervisor may be stopped or slow: kill what it watches from here
    // too (it stays our child until we reap it, so its PID is its own), and
    // let it run to reap them.
    try {
        for (const pid_t member : find_descendants(m_supervisor)) {
            kill(member, SIGKILL);
        }
    } catch (...) {
        // The supervisor kills them all the same.
    }
    kill(m_supervisor, SIGCONT);
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
