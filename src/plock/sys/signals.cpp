// Signal sets, the scoped mask, and which signals plock forwards or stops on.
#include "plock/sys/signals.hpp"

#include <pthread.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cstring>

#include "plock/sys/error.hpp"

namespace plock {

SignalSet::SignalSet(std::initializer_list<int> signals) noexcept {
    sigemptyset(&m_set);
    for (int signal : signals) {
        sigaddset(&m_set, signal);
    }
}

SignalSet& SignalSet::add(const SignalSet& other) noexcept {
    sigorset(&m_set, &m_set, &other.m_set);
    return *this;
}

ScopedSignalMask::ScopedSignalMask(const SignalSet& signals) {
    pthread_sigmask(SIG_BLOCK, &signals.native(), &m_previous);
}

ScopedSignalMask::~ScopedSignalMask() {
    pthread_sigmask(SIG_SETMASK, &m_previous, nullptr);
}

SignalFd::SignalFd(const SignalSet& signals)
    : m_fd(signalfd(-1, &signals.native(), SFD_CLOEXEC | SFD_NONBLOCK)) {
    if (!m_fd) {
        throw SystemError(Operation::system, "a descriptor for signals", errno);
    }
}

int SignalFd::take() {
    signalfd_siginfo info{};
    const ssize_t count = retry_on_eintr([&] { return read(m_fd.get(), &info, sizeof info); });
    if (count != static_cast<ssize_t>(sizeof info)) {
        if (count < 0 && errno != EAGAIN) {
            throw SystemError(Operation::system, "a descriptor for signals", errno);
        }
        return 0;
    }
    return static_cast<int>(info.ssi_signo);
}

SignalSet forwarded_signals() noexcept {
    return {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};
}

SignalSet wait_ending_signals() noexcept {
    return {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};
}

SignalSet handled_signals() noexcept {
    SignalSet signals = forwarded_signals();
    signals.add(SIGCHLD);
    return signals;
}

std::string signal_name(int signal) {
    if (const char* abbreviation = sigabbrev_np(signal)) {
        return std::string("SIG") + abbreviation;
    }
    return "signal " + std::to_string(signal);
}

}  // namespace plock
