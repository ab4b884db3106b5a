// wait_for_first: several blocking lock calls, each on its own thread, and
// the calling thread asleep in sigtimedwait until one of them wins, the
// deadline passes, or a stop signal arrives.
//
// Why threads: flock(2) and F_OFD_SETLKW have no timeout and cannot be
// woken by anything but a signal. Blocking in them on a helper thread keeps
// the wait a pure kernel sleep (a release wakes us as fast as flock(1) is
// woken), while the calling thread takes the deadline and the user's signals
// synchronously, with no signal handler writing to shared state. Cancelling
// a helper sends it a signal whose handler does nothing: the blocked call
// returns EINTR. A helper may be between its "cancelled?" check and the
// system call when that signal lands, so the signal is repeated every
// millisecond until the helper reports back; this is the only loop, and it
// runs only while cancelling.
#include "plock/sys/wait.hpp"

#include <pthread.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <ctime>
#include <deque>

#include "plock/sys/error.hpp"

namespace plock {
namespace {

constexpr int k_running = -1;
constexpr std::size_t k_worker_stack_size = 256 * 1024;

int done_signal() noexcept { return SIGRTMIN + 2; }
int cancel_signal() noexcept { return SIGRTMIN + 3; }

extern "C" void interrupt_blocking_call(int) {}

class ScopedSignalAction {
public:
    ScopedSignalAction(int signal, void (*handler)(int)) : m_signal(signal) {
        struct sigaction action {};
        action.sa_handler = handler;
        sigemptyset(&action.sa_mask);
        action.sa_flags = 0;  // no SA_RESTART: the blocked call must return EINTR
        sigaction(signal, &action, &m_previous);
    }
    ~ScopedSignalAction() { sigaction(m_signal, &m_previous, nullptr); }
    ScopedSignalAction(const ScopedSignalAction&) = delete;
    ScopedSignalAction& operator=(const ScopedSignalAction&) = delete;

private:
    int m_signal;
    struct sigaction m_previous {};
};

struct Worker {
    const BlockingCall* call = nullptr;
    const std::atomic<bool>* cancelled = nullptr;
    pthread_t waiter{};  // the thread in wait_for_first
    pthread_t thread{};
    std::atomic<int> result{k_running};
};

void* run_worker(void* argument) {
    auto& worker = *static_cast<Worker*>(argument);
    sigset_t all_but_cancel;
    sigfillset(&all_but_cancel);
    sigdelset(&all_but_cancel, cancel_signal());
    pthread_sigmask(SIG_SETMASK, &all_but_cancel, nullptr);

    int result = EINTR;
    while (!worker.cancelled->load(std::memory_order_acquire)) {
        result = (*worker.call)();
        if (result != EINTR) {
            break;
        }
    }
    worker.result.store(result, std::memory_order_release);
    pthread_kill(worker.waiter, done_signal());
    return nullptr;
}

class WorkerGroup {
public:
    WorkerGroup(const std::vector<BlockingCall>& calls, std::atomic<bool>& cancelled)
        : m_cancelled(cancelled) {
        pthread_attr_t attributes;
        pthread_attr_init(&attributes);
        pthread_attr_setstacksize(&attributes, k_worker_stack_size);
        for (const BlockingCall& call : calls) {
            Worker& worker = m_workers.emplace_back();
            worker.call = &call;
            worker.cancelled = &cancelled;
            worker.waiter = pthread_self();
            const int error = pthread_create(&worker.thread, &attributes, run_worker, &worker);
            if (error != 0) {
                m_workers.pop_back();
                pthread_attr_destroy(&attributes);
                stop();
                throw SystemError(Operation::system, "a thread to wait for the lock", error);
            }
        }
        pthread_attr_destroy(&attributes);
    }
    WorkerGroup(const WorkerGroup&) = delete;
    WorkerGroup& operator=(const WorkerGroup&) = delete;
    ~WorkerGroup() { stop(); }

    std::deque<Worker>& workers() noexcept { return m_workers; }

    // Cancels every call still blocked and joins all threads.
    void stop() noexcept {
        if (m_stopped) {
            return;
        }
        m_stopped = true;
        m_cancelled.store(true, std::memory_order_release);
        const SignalSet done{done_signal()};
        const timespec retry_interval{0, 1'000'000};
        for (;;) {
            bool all_finished = true;
            for (Worker& worker : m_workers) {
                if (worker.result.load(std::memory_order_acquire) == k_running) {
                    all_finished = false;
                    pthread_kill(worker.thread, cancel_signal());
                }
            }
            if (all_finished) {
                break;
            }
            sigtimedwait(&done.native(), nullptr, &retry_interval);
        }
        for (Worker& worker : m_workers) {
            pthread_join(worker.thread, nullptr);
        }
        // Leave no queued "done" signal behind to fire once the mask is restored.
        const timespec no_wait{0, 0};
        while (sigtimedwait(&done.native(), nullptr, &no_wait) > 0) {
        }
    }

private:
    std::atomic<bool>& m_cancelled;
    std::deque<Worker> m_workers;  // a deque: workers must not move once started
    bool m_stopped = false;
};

}  // namespace

timespec to_timespec(Clock::duration duration) noexcept {
    const auto nanoseconds = std::chrono::duration_cast<std::chrono::nanoseconds>(duration).count();
    return timespec{static_cast<time_t>(nanoseconds / 1'000'000'000),
                    static_cast<long>(nanoseconds % 1'000'000'000)};
}

timespec remaining_until(Clock::time_point deadline) noexcept {
    return to_timespec(std::max(deadline - Clock::now(), Clock::duration::zero()));
}

WaitOutcome wait_for_first(const std::vector<BlockingCall>& calls, Deadline deadline,
                           const SignalSet& stop_signals) {
    WaitOutcome outcome;
    outcome.succeeded.assign(calls.size(), false);

    SignalSet blocked = stop_signals;
    blocked.add(done_signal()).add(cancel_signal());
    const ScopedSignalMask mask(blocked);
    const ScopedSignalAction cancel_action(cancel_signal(), interrupt_blocking_call);

    std::atomic<bool> cancelled{false};
    WorkerGroup group(calls, cancelled);

    SignalSet wake_signals = stop_signals;
    wake_signals.add(done_signal());
    for (bool decided = false; !decided;) {
        for (std::size_t index = 0; index < group.workers().size() && !decided; ++index) {
            const int result = group.workers()[index].result.load(std::memory_order_acquire);
            if (result == 0) {
                outcome.status = WaitOutcome::Status::completed;
                outcome.winner = index;
                decided = true;
            } else if (result != k_running && result != EINTR) {
                outcome.status = WaitOutcome::Status::failed;
                outcome.winner = index;
                outcome.error_number = result;
                decided = true;
            }
        }
        if (decided) {
            break;
        }
        timespec timeout{};
        if (deadline) {
            const auto remaining = *deadline - Clock::now();
            if (remaining <= Clock::duration::zero()) {
                outcome.status = WaitOutcome::Status::timed_out;
                break;
            }
            timeout = to_timespec(remaining);
        }
        siginfo_t info{};
        const int signal =
            sigtimedwait(&wake_signals.native(), &info, deadline ? &timeout : nullptr);
        if (signal > 0 && stop_signals.contains(signal)) {
            outcome.status = WaitOutcome::Status::interrupted;
            outcome.signal = signal;
            break;
        }
        // Otherwise a helper finished, the timeout expired (EAGAIN) or an
        // unrelated handler ran (EINTR): look again.
    }

    group.stop();
    for (std::size_t index = 0; index < group.workers().size(); ++index) {
        outcome.succeeded[index] = group.workers()[index].result.load() == 0;
    }
    return outcome;
}

}  // namespace plock
