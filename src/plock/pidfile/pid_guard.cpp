// PidGuard, and reading a PID file's content and state.
//
// Why each step of acquire() is where it is:
//  - Opening never truncates: a contender that loses must not wipe the
//    holder's PID (portalocker's mode 'w' does exactly that).
//  - The path is checked after the lock is held: a guard that exits removes
//    its file and then releases the lock, so a contender that opened the file
//    before the removal gets the lock on a file no one else will look at.
//  - The file is emptied at once after that check, before the command
//    starts: a PID left by a killed guard must not be read as the new one.
//  - The file is reserved space (fallocate) while still empty, so that a
//    full disk stops the guard before its command starts, not after.
#include "plock/pidfile/pid_guard.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <ctime>
#include <thread>

#include "plock/sys/error.hpp"
#include "plock/sys/fd.hpp"
#include "plock/proc/process_info.hpp"
#include "plock/child/process_tree.hpp"

namespace plock {
namespace {

// Removals between our open and our lock, in a row, before a guard that may
// not wait any more gives up; each one is another guard exiting.
constexpr int k_max_changes = 64;
// Holders replaced one after the other (each a new guard that took the file
// while we were replacing the previous one) before take_over gives up.
constexpr int k_max_take_over_rounds = 4;
// How long SIGKILLed holders get to die and free the lock.
constexpr std::chrono::seconds k_kill_wait{5};
// Without inotify, a reader waiting for a PID looks again this often.
constexpr std::chrono::milliseconds k_fallback_interval{10};
// How long a reader waits for the command line of a command just started.
constexpr std::chrono::milliseconds k_command_line_wait{100};

bool is_space(char character) noexcept {
    return character == ' ' || character == '\t' || character == '\r' || character == '\n';
}

OpenPolicy guard_open_policy() {
    OpenPolicy policy;
    // plock writes and removes the file: a symbolic link would make it write
    // to, and then remove, something other than the file it locked.
    policy.refuse_symlinks = true;
    policy.allow_directory = false;
    policy.create = true;
    policy.create_mode = 0644;
    policy.access = OpenAccess::read_write;
    return policy;
}

OpenPolicy query_open_policy() {
    OpenPolicy policy = guard_open_policy();
    policy.create = false;
    policy.access = OpenAccess::read_only;
    return policy;
}

struct stat file_status(int fd, const std::string& path) {
    struct stat status {};
    if (fstat(fd, &status) != 0) {
        throw SystemError(Operation::inspect, path, errno);
    }
    return status;
}

// Up to k_max_pid_file_size + 1 bytes from the start: enough to tell a PID
// file from anything longer.
std::string read_content(int fd, const std::string& path) {
    std::string content(k_max_pid_file_size + 1, '\0');
    std::size_t used = 0;
    while (used < content.size()) {
        const ssize_t count = retry_on_eintr([&] {
            return pread(fd, content.data() + used, content.size() - used, static_cast<off_t>(used));
        });
        if (count < 0) {
            throw SystemError(Operation::read, path, errno);
        }
        if (count == 0) {
            break;
        }
        used += static_cast<std::size_t>(count);
    }
    content.resize(used);
    return content;
}

void write_all(int fd, std::string_view text, const std::string& path) {
    std::size_t written = 0;
    while (written < text.size()) {
        const ssize_t count = retry_on_eintr([&] {
            return pwrite(fd, text.data() + written, text.size() - written, static_cast<off_t>(written));
        });
        if (count < 0) {
            throw SystemError(Operation::write, path, errno);
        }
        written += static_cast<std::size_t>(count);
    }
}

// True when `path` still names the file behind `fd`, which has a link.
bool still_named_by_path(int fd, FileIdentity locked, const std::string& path) {
    if (file_status(fd, path).st_nlink == 0) {
        return false;
    }
    struct stat named {};
    if (lstat(path.c_str(), &named) != 0) {
        if (errno == ENOENT) {
            return false;
        }
        throw SystemError(Operation::inspect, path, errno);
    }
    return FileIdentity{named.st_dev, named.st_ino} == locked;
}

// The guard holds the lock on the file its path names: make it ours.
void prepare_taken_file(int fd, const std::string& path) {
    const struct stat status = file_status(fd, path);
    if (status.st_nlink > 1) {
        throw SystemError(Operation::open, path, EMLINK,
                          "it has " + std::to_string(status.st_nlink) +
                              " hard links; plock only overwrites a PID file that has no other name");
    }
    if (parse_pid_file(read_content(fd, path)).kind == PidFileContent::Kind::invalid) {
        throw SystemError(Operation::open, path, EINVAL,
                          "it holds something other than a process ID, so plock will not overwrite "
                          "it (remove it if it is a stale PID file)");
    }
    if (retry_on_eintr([&] { return ftruncate(fd, 0); }) != 0) {
        throw SystemError(Operation::write, path, errno);
    }
    // The modification time says when the guard took the file: readers wait
    // for its PID only shortly after that (k_pid_write_window).
    if (futimens(fd, nullptr) != 0) {
        throw SystemError(Operation::write, path, errno);
    }
    if (fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, static_cast<off_t>(k_max_pid_file_size)) != 0 &&
        (errno == ENOSPC || errno == EDQUOT)) {
        throw SystemError(Operation::write, path, errno);
    }
}

bool deadline_passed(Deadline deadline) {
    return deadline && Clock::now() >= *deadline;
}

// Until when a reader may wait for the PID of the guard that took the file
// at its modification time: k_pid_write_window after that, and not after
// `limit`.
Clock::time_point pid_wait_end(const struct stat& status, Deadline limit) {
    timespec now_real{};
    clock_gettime(CLOCK_REALTIME, &now_real);
    const auto since_taken = std::chrono::seconds(now_real.tv_sec - status.st_mtim.tv_sec) +
                             std::chrono::nanoseconds(now_real.tv_nsec - status.st_mtim.tv_nsec);
    const auto left = std::chrono::duration_cast<Clock::duration>(k_pid_write_window - since_taken);
    const auto end = Clock::now() + std::min(left, std::chrono::duration_cast<Clock::duration>(k_pid_write_window));
    return limit ? std::min(end, *limit) : end;
}

// Sleeps until the file behind a descriptor changes (written, truncated,
// unlinked) or a time passes. Watching /proc/self/fd/N watches the very
// file we opened, whatever the path names by now.
class ChangeWatch {
public:
    explicit ChangeWatch(int fd) : m_inotify(inotify_init1(IN_CLOEXEC | IN_NONBLOCK)) {
        const std::string path = "/proc/self/fd/" + std::to_string(fd);
        if (m_inotify && inotify_add_watch(m_inotify.get(), path.c_str(),
                                           IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_DELETE_SELF |
                                               IN_MOVE_SELF) < 0) {
            m_inotify.reset();
        }
    }

    void wait(Clock::time_point until) {
        const auto remaining = std::max(until - Clock::now(), Clock::duration::zero());
        if (!m_inotify) {
            // No inotify here (a file system that does not report changes):
            // look again shortly; the wait is bounded by k_pid_write_window.
            std::this_thread::sleep_for(std::min<Clock::duration>(remaining, k_fallback_interval));
            return;
        }
        const timespec timeout = to_timespec(remaining);
        pollfd events{m_inotify.get(), POLLIN, 0};
        if (ppoll(&events, 1, &timeout, nullptr) > 0) {
            std::array<char, 4096> buffer{};
            while (read(m_inotify.get(), buffer.data(), buffer.size()) > 0) {
            }
        }
    }

private:
    UniqueFd m_inotify;
};

// Whether the lock vouches for `pid`: it holds the lock, or its parent does.
bool vouched_for(pid_t pid, const LockHolders& holders, FileIdentity file) {
    if (!process_is_alive(pid)) {
        return false;
    }
    const auto is_holder = [&](pid_t candidate) {
        return std::any_of(holders.holders.begin(), holders.holders.end(),
                           [&](const LockHolder& holder) { return holder.pid == candidate; });
    };
    if (is_holder(pid)) {
        return true;
    }
    if (const auto parent = parent_process(pid); parent && *parent > 0 && is_holder(*parent)) {
        return true;
    }
    return process_holds_lock(pid, file);
}

// The command line of a command whose PID was just written. The kernel
// resumes a vfork parent (which then writes the PID) when the child's execve
// lets go of the parent's memory, a moment before it sets up the new command
// line, and no event tells when that is done: for that moment the command
// line reads empty. Look again shortly, for a bounded time.
std::string command_line_of_started(pid_t pid) {
    const auto until = Clock::now() + k_command_line_wait;
    for (;;) {
        std::string line = read_command_line(pid);
        if (!line.empty() || Clock::now() >= until || !process_is_alive(pid)) {
            return line;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
}

PidFileState inspect(int fd, FileIdentity file, const std::string& path, Deadline wait_for_pid) {
    std::optional<ChangeWatch> watch;
    for (;;) {
        const struct stat status = file_status(fd, path);
        PidFileState state;
        state.content = parse_pid_file(read_content(fd, path));
        const LockHolders holders = find_lock_holders(file, getpid());
        if (holders.granted == 0 && holders.holders.empty()) {
            // Unlinked: its guard removed it on the way out.
            state.status = status.st_nlink == 0 ? PidFileState::Status::absent
                                                : PidFileState::Status::stale;
            return state;
        }
        state.status = PidFileState::Status::running;
        if (state.content.kind == PidFileContent::Kind::pid &&
            vouched_for(state.content.pid, holders, file)) {
            const pid_t pid = state.content.pid;
            state.holder.pid = pid;
            state.holder.command_line = command_line_of_started(pid);
            state.pid_from_file = true;
            return state;
        }
        // An empty file is a guard starting its command: its PID is coming.
        // (A PID the lock does not vouch for is not: it is an exited
        // command's, or was written by someone else.)
        const Clock::time_point until = pid_wait_end(status, wait_for_pid);
        if (state.content.kind == PidFileContent::Kind::empty && Clock::now() < until) {
            if (!watch) {
                watch.emplace(fd);
                continue;  // read again: a change before the watch began is missed by it
            }
            watch->wait(until);
            continue;
        }
        if (!holders.holders.empty()) {
            state.holder = holders.holders.front();
        }
        return state;  // held by a process we may not inspect: holder.pid is -1
    }
}

bool is_holder_in(const std::vector<LockHolder>& holders, pid_t pid) {
    return std::any_of(holders.begin(), holders.end(),
                       [&](const LockHolder& holder) { return holder.pid == pid; });
}

// The holders whose parent is not a holder too: each is responsible for
// its descendants (a plock guard forwards SIGTERM to its command).
std::vector<LockHolder> top_most(const std::vector<LockHolder>& holders) {
    std::vector<LockHolder> tops;
    for (const LockHolder& holder : holders) {
        const auto parent = parent_process(holder.pid);
        if (!parent || !is_holder_in(holders, *parent)) {
            tops.push_back(holder);
        }
    }
    return tops;
}

// The commands that top-most holders which are plock guards forward SIGTERM
// to: a guard's command is the PID its file names, a child of the guard's
// supervisor (plock-supervise). Sent SIGTERM directly as well, it would get
// it twice.
std::vector<pid_t> commands_plock_forwards_to(const std::vector<LockHolder>& tops, const PidFileState& state) {
    std::vector<pid_t> commands;
    if (state.status != PidFileState::Status::running || !state.pid_from_file) {
        return commands;
    }
    for (const LockHolder& top : tops) {
        for (const pid_t child : process_children(top.pid)) {
            const auto stat = read_process_stat(child);
            if (!stat || stat->name != "plock-supervise") {
                continue;
            }
            const std::vector<pid_t> supervised = process_children(child);
            if (std::find(supervised.begin(), supervised.end(), state.holder.pid) != supervised.end()) {
                commands.push_back(state.holder.pid);
            }
        }
    }
    return commands;
}

bool still_busy(const AcquireResult& result) {
    return result.status == AcquireResult::Status::busy ||
           result.status == AcquireResult::Status::timed_out;
}

}  // namespace

PidFileContent parse_pid_file(std::string_view text) noexcept {
    if (text.size() > k_max_pid_file_size) {
        return {PidFileContent::Kind::invalid, 0};
    }
    while (!text.empty() && is_space(text.front())) {
        text.remove_prefix(1);
    }
    while (!text.empty() && is_space(text.back())) {
        text.remove_suffix(1);
    }
    if (text.empty()) {
        return {PidFileContent::Kind::empty, 0};
    }
    // Seven digits hold every PID up to k_max_pid, and cannot overflow.
    if (text.size() > 7 || text.front() == '0') {
        return {PidFileContent::Kind::invalid, 0};
    }
    pid_t value = 0;
    for (const char character : text) {
        if (character < '0' || character > '9') {
            return {PidFileContent::Kind::invalid, 0};
        }
        value = value * 10 + (character - '0');
    }
    if (value > k_max_pid) {
        return {PidFileContent::Kind::invalid, 0};
    }
    return {PidFileContent::Kind::pid, value};
}

std::string format_pid_file(pid_t pid) {
    return std::to_string(pid) + "\n";
}

PidFileState query_pid_file(const std::string& path, Deadline wait_for_pid) {
    OpenedFile opened;
    try {
        opened = open_lock_target(path, query_open_policy());
    } catch (const SystemError& error) {
        if (error.error_number() == ENOENT) {
            return {};  // absent, or its directory is
        }
        throw;
    }
    const FileIdentity file{opened.status.st_dev, opened.status.st_ino};
    return inspect(opened.fd.get(), file, path, wait_for_pid);
}

std::string_view to_string(PidGuardRelease outcome) noexcept {
    switch (outcome) {
    case PidGuardRelease::removed: return "removed";
    case PidGuardRelease::replaced: return "replaced by another file";
    case PidGuardRelease::rewritten: return "rewritten by someone else";
    case PidGuardRelease::still_held: return "still held by processes the command left behind";
    case PidGuardRelease::not_held: return "not held";
    }
    return "not held";
}

PidGuard::PidGuard(std::string path) : m_path(std::move(path)) {}

PidGuard::~PidGuard() {
    try {
        release();
    } catch (...) {
        // A file left behind is harmless: the next guard takes it over.
    }
}

AcquireResult PidGuard::take(const WaitPlan& plan, const SignalSet& stop_signals, const BeforeWait& before_wait) {
    return take_as_planned<AcquireResult>(
        plan, before_wait, [&] { return acquire(Clock::now(), stop_signals); },
        [&](Deadline deadline) { return acquire(deadline, stop_signals); });
}

AcquireResult PidGuard::acquire(Deadline deadline, const SignalSet& stop_signals) {
    if (held()) {
        return {AcquireResult::Status::acquired, 0};
    }
    for (int changes = 0;;) {
        FileLock lock = FileLock::open(m_path, LockMethod::flock, guard_open_policy());
        const bool may_wait = !deadline_passed(deadline);
        const AcquireResult result = may_wait ? lock.acquire(LockMode::exclusive, deadline, stop_signals)
                                              : lock.try_acquire(LockMode::exclusive);
        if (!result.acquired()) {
            m_lock.emplace(std::move(lock));  // kept open for holder_state()
            return result;
        }
        if (still_named_by_path(lock.fd(), lock.identity(), m_path)) {
            prepare_taken_file(lock.fd(), m_path);
            m_lock.emplace(std::move(lock));
            m_written.clear();
            return result;
        }
        // Removed or replaced between our open and our lock. Dropping this
        // lock (closing the file) is right: no one else will look at it.
        if (++changes >= k_max_changes && !may_wait) {
            throw SystemError(Operation::lock, m_path, EAGAIN,
                              "it was removed or replaced each time plock locked it");
        }
    }
}

AcquireResult PidGuard::take_over(std::chrono::nanoseconds grace, const SignalSet& stop_signals,
                                  const SignalReport& report) {
    const auto wait = std::chrono::duration_cast<Clock::duration>(grace);
    const pid_t self = getpid();
    AcquireResult result{AcquireResult::Status::busy, 0};
    for (int round = 0; round < k_max_take_over_rounds; ++round) {
        result = acquire(Clock::now(), stop_signals);
        if (!still_busy(result)) {
            return result;
        }
        const FileIdentity target = identity();
        const std::vector<LockHolder> holders = find_descriptor_holders(target, self);
        if (holders.empty()) {
            // Either the holder let go just now (look again), or it is a
            // process whose descriptors we may not inspect.
            result = acquire(Clock::now(), stop_signals);
            if (!still_busy(result)) {
                return result;
            }
            if (identity() == target && find_descriptor_holders(target, self).empty()) {
                throw SystemError(Operation::signal, "the holder of " + m_path, EPERM,
                                  "plock may not inspect the processes that hold its lock, so "
                                  "it cannot prove whom to signal");
            }
            continue;
        }
        // The old instance is a tree: every process the holders started,
        // also those that do not hold the lock, goes with them.
        ForeignTrees trees;
        for (const LockHolder& holder : holders) {
            trees.add_root(holder.pid, [&](pid_t pid) { return process_holds_lock(pid, target); });
        }
        const std::vector<LockHolder> tops = top_most(holders);
        const std::vector<pid_t> forwarded = commands_plock_forwards_to(tops, holder_state(Clock::now()));
        for (const pid_t member : trees.members()) {
            if (std::find(forwarded.begin(), forwarded.end(), member) == forwarded.end()) {
                trees.send(member, SIGTERM);
            }
        }
        for (const LockHolder& holder : tops) {
            if (trees.contains(holder.pid) && report) {
                report(holder, SIGTERM);
            }
        }
        signal_tree(trees, SIGCONT);
        const auto grace_ends = Clock::now() + wait;
        result = acquire(grace_ends, stop_signals);
        if (!still_busy(result)) {
            // Taken; what the old instance left behind gets the rest of the
            // grace period, then SIGKILL.
            if (!wait_until_empty(trees, grace_ends)) {
                kill_tree(trees, Clock::now() + k_kill_wait);
            }
            return result;
        }
        if (identity() != target) {
            continue;  // a new guard took a new file meanwhile: it gets SIGTERM first too
        }
        for (const LockHolder& holder : find_descriptor_holders(target, self)) {
            if (signal_lock_holder(holder.pid, target, SIGKILL) && report) {
                report(holder, SIGKILL);
            }
        }
        kill_tree(trees, Clock::now() + k_kill_wait);
        result = acquire(Clock::now() + k_kill_wait, stop_signals);
        if (!still_busy(result) || identity() == target) {
            return result;  // taken, or still held after SIGKILL (stuck in the kernel)
        }
    }
    return result;
}

PidFileState PidGuard::holder_state(Deadline wait_for_pid) const {
    if (!m_lock) {
        return query_pid_file(m_path, wait_for_pid);
    }
    return inspect(m_lock->fd(), m_lock->identity(), m_path, wait_for_pid);
}

void PidGuard::write_pid(pid_t pid) {
    if (!held()) {
        throw SystemError(Operation::write, m_path, EBADF, "the PID file is not held");
    }
    const std::string text = format_pid_file(pid);
    write_all(m_lock->fd(), text, m_path);
    // Cut anything longer that the command may have written first.
    if (retry_on_eintr([&] { return ftruncate(m_lock->fd(), static_cast<off_t>(text.size())); }) != 0 ||
        retry_on_eintr([&] { return fsync(m_lock->fd()); }) != 0) {
        throw SystemError(Operation::write, m_path, errno);
    }
    m_written = text;
}

PidGuardRelease PidGuard::removal_verdict() const {
    struct stat named {};
    if (lstat(m_path.c_str(), &named) != 0) {
        if (errno == ENOENT || errno == ENOTDIR) {
            return PidGuardRelease::replaced;
        }
        throw SystemError(Operation::inspect, m_path, errno);
    }
    if (FileIdentity{named.st_dev, named.st_ino} != m_lock->identity()) {
        return PidGuardRelease::replaced;
    }
    if (read_content(m_lock->fd(), m_path) != m_written) {
        return PidGuardRelease::rewritten;
    }
    // Our own open file description may be shared by processes the command
    // left running: the lock is theirs now, and so is the file.
    if (!find_descriptor_holders(m_lock->identity(), getpid()).empty()) {
        return PidGuardRelease::still_held;
    }
    return PidGuardRelease::removed;
}

PidGuardRelease PidGuard::release() {
    if (!held()) {
        m_lock.reset();
        return PidGuardRelease::not_held;
    }
    // Closing our descriptor is the last step whatever happens; not
    // flock(LOCK_UN), which would take the lock from the processes that
    // share our open file description too.
    struct CloseAtEnd {
        std::optional<FileLock>& lock;
        ~CloseAtEnd() { lock.reset(); }
    } close_at_end{m_lock};
    const PidGuardRelease outcome = removal_verdict();
    if (outcome == PidGuardRelease::removed && unlink(m_path.c_str()) != 0 && errno != ENOENT) {
        throw SystemError(Operation::remove, m_path, errno);
    }
    return outcome;
}

}  // namespace plock
