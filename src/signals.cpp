// Signal sets, the scoped mask, and which signals plock forwards or stops on.
#include "plock/signals.hpp"

#include <pthread.h>

#include <cstring>

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
