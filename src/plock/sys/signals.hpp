// Signal sets and a scoped signal mask: plock blocks the signals it handles
// and takes them synchronously (sigtimedwait), so no handler touches state.
#pragma once

#include <csignal>
#include <initializer_list>
#include <string>

#include "plock/sys/fd.hpp"

namespace plock {

class SignalSet {
public:
    SignalSet() noexcept { sigemptyset(&m_set); }
    SignalSet(std::initializer_list<int> signals) noexcept;

    SignalSet& add(int signal) noexcept {
        sigaddset(&m_set, signal);
        return *this;
    }
    SignalSet& add(const SignalSet& other) noexcept;
    bool contains(int signal) const noexcept { return sigismember(&m_set, signal) == 1; }
    const sigset_t& native() const noexcept { return m_set; }

private:
    sigset_t m_set;
};

// Blocks `signals` in the calling thread for the lifetime of the object and
// restores the mask it found.
class ScopedSignalMask {
public:
    explicit ScopedSignalMask(const SignalSet& signals);
    ~ScopedSignalMask();
    ScopedSignalMask(const ScopedSignalMask&) = delete;
    ScopedSignalMask& operator=(const ScopedSignalMask&) = delete;

    // The mask that was in effect before: what a command we start should get.
    const sigset_t& previous() const noexcept { return m_previous; }

private:
    sigset_t m_previous;
};

// A descriptor that becomes readable while one of `signals` is pending, so a
// wait in poll(2) can end on a signal as well as on I/O. The signals must be
// blocked (ScopedSignalMask); take() consumes one.
class SignalFd {
public:
    explicit SignalFd(const SignalSet& signals);
    int fd() const noexcept { return m_fd.get(); }
    // The number of a pending signal of the set, consumed; 0 when none is pending.
    int take();

private:
    UniqueFd m_fd;
};

// Signals plock forwards to the command it runs.
SignalSet forwarded_signals() noexcept;
// Signals that end a wait for a lock with status 128+N (their default action
// would have terminated plock anyway).
SignalSet wait_ending_signals() noexcept;
// Everything plock takes synchronously while it runs a command.
SignalSet handled_signals() noexcept;

// "SIGTERM" for SIGTERM; "signal 40" for a signal without a name.
std::string signal_name(int signal);

}  // namespace plock
