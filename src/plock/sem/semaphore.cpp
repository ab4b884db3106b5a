// Semaphore: slot files taken with flock(2), a line of waiters, and a record
// of each user's slot count made of byte-range locks.
//
// Why the waiting works as it does is told in semaphore.hpp. The record of
// slot counts: each user holds a shared open-file-description lock on one
// byte of NAME.size.lock, at the offset equal to its slot count, for as long
// as it waits or holds a slot (a command that inherits the slot inherits that
// lock too). A user then asks the kernel (F_OFD_GETLK) whether anyone locks a
// byte at any other offset. Because each records before it looks, of two
// users who disagree and arrive together at least one sees the other. Like the
// slots themselves, the record needs no cleaning up: the kernel drops it when
// its last holder dies. It lives in its own file because on NFS flock(2) is
// emulated with byte-range locks, which would collide with the line's flock.
#include "plock/sem/semaphore.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <set>

#include <sys/resource.h>

#include "plock/sys/error.hpp"
#include "plock/file/inherited_lock.hpp"
#include "plock/proc/proc_locks.hpp"

namespace plock {
namespace {

// Descriptors beyond the slots that a waiting process may need.
constexpr rlim_t k_spare_descriptors = 64;

// Raises the soft limit on open descriptors while a waiter keeps every slot
// file open, and restores it, so that a command started afterwards gets the
// limit its parent was given.
class ScopedDescriptorLimit {
public:
    explicit ScopedDescriptorLimit(rlim_t wanted) {
        if (getrlimit(RLIMIT_NOFILE, &m_original) != 0 || m_original.rlim_cur == RLIM_INFINITY ||
            m_original.rlim_cur >= wanted) {
            return;
        }
        rlimit raised = m_original;
        raised.rlim_cur = m_original.rlim_max == RLIM_INFINITY ? wanted : std::min(wanted, m_original.rlim_max);
        m_raised = setrlimit(RLIMIT_NOFILE, &raised) == 0;
    }
    ~ScopedDescriptorLimit() {
        if (m_raised) {
            setrlimit(RLIMIT_NOFILE, &m_original);
        }
    }
    ScopedDescriptorLimit(const ScopedDescriptorLimit&) = delete;
    ScopedDescriptorLimit& operator=(const ScopedDescriptorLimit&) = delete;

private:
    rlimit m_original{};
    bool m_raised = false;
};

std::string join_path(const std::string& directory, const std::string& name) {
    std::string path = directory;
    while (path.size() > 1 && path.back() == '/') {
        path.pop_back();
    }
    if (path != "/") {
        path += '/';
    }
    return path + name;
}

std::string describe(const SemaphoreSpec& spec) {
    return "semaphore " + spec.name + " in " + spec.directory;
}

std::optional<FileIdentity> identity_of(const std::string& path, struct stat& status) {
    if (lstat(path.c_str(), &status) != 0) {
        return std::nullopt;
    }
    return FileIdentity{status.st_dev, status.st_ino};
}

// The directory must exist and be a directory; with `need_write`, it must be
// writable too, unless every file plock may create in it exists already (an
// administrator may prepare them in a directory users cannot write to).
// A missing directory is one plock cannot create files in when it would
// take the semaphore, and one it cannot open when it only looks (as for a
// lock file: `plock exec` exits 73, `plock status` 66).
void check_directory(const SemaphoreSpec& spec, bool need_write) {
    const Operation failed = need_write ? Operation::create : Operation::open;
    struct stat status {};
    if (stat(spec.directory.c_str(), &status) != 0) {
        const int error = errno;
        if (error == ENOENT) {
            throw SystemError(failed, describe(spec), error, "directory " + spec.directory + " does not exist");
        }
        if (error == ENOTDIR) {
            throw SystemError(failed, describe(spec), error,
                              "a component of " + spec.directory + " is not a directory");
        }
        throw SystemError(Operation::open, spec.directory, error);
    }
    if (!S_ISDIR(status.st_mode)) {
        throw SystemError(failed, describe(spec), ENOTDIR, spec.directory + " is not a directory");
    }
    if (!need_write || faccessat(AT_FDCWD, spec.directory.c_str(), W_OK, AT_EACCESS) == 0) {
        return;
    }
    const int write_error = errno;
    std::vector<std::string> needed{spec.size_path(), spec.queue_path()};
    for (std::size_t index = 0; index < spec.slot_count; ++index) {
        needed.push_back(spec.slot_path(index));
    }
    for (const std::string& path : needed) {
        struct stat file {};
        if (lstat(path.c_str(), &file) != 0) {
            throw SystemError(Operation::create, path, write_error,
                              "directory " + spec.directory + " is not writable (" +
                                  std::strerror(write_error) + ")");
        }
    }
}

// Opens one of the semaphore's files, explaining the one failure that the
// number of slots can cause.
OpenedFile open_semaphore_file(const std::string& path, std::size_t slot_count) {
    try {
        return open_lock_target(path, semaphore_open_policy());
    } catch (const SystemError& error) {
        if (error.error_number() != EMFILE) {
            throw;
        }
        throw SystemError(Operation::open, path, EMFILE,
                          "too many open files: waiting for one of " + std::to_string(slot_count) +
                              " slots keeps them all open (raise the limit with ulimit -n)");
    }
}

int range_lock(int fd, short type, off_t start, off_t length) noexcept {
    struct flock range {};
    range.l_type = type;
    range.l_whence = SEEK_SET;
    range.l_start = start;
    range.l_len = length;
    return retry_on_eintr([&] { return fcntl(fd, F_OFD_SETLK, &range); });
}

// The lock another process holds somewhere in [start, start + length), if any
// (length 0: to the end of any file).
std::optional<struct flock> conflicting_range(int fd, off_t start, off_t length,
                                              const std::string& path) {
    struct flock probe {};
    probe.l_type = F_WRLCK;
    probe.l_whence = SEEK_SET;
    probe.l_start = start;
    probe.l_len = length;
    if (retry_on_eintr([&] { return fcntl(fd, F_OFD_GETLK, &probe); }) != 0) {
        throw SystemError(Operation::lock, path, errno);
    }
    if (probe.l_type == F_UNLCK) {
        return std::nullopt;
    }
    return probe;
}

}  // namespace

void check_semaphore_name(std::string_view name) {
    const std::string quoted = "'" + std::string(name) + "'";
    if (name.empty()) {
        throw UsageError("the semaphore name is empty");
    }
    if (name.size() > k_max_semaphore_name_length) {
        throw UsageError("the semaphore name is too long (" + std::to_string(name.size()) +
                         " bytes; at most " + std::to_string(k_max_semaphore_name_length) + ")");
    }
    if (name.find('/') != std::string_view::npos) {
        throw UsageError("invalid semaphore name " + quoted +
                         ": it names files in the directory, so it must not contain '/'",
                         Remedy::give_directory_apart);
    }
    if (name.front() == '.') {
        throw UsageError("invalid semaphore name " + quoted + ": it must not start with '.'");
    }
    for (const char character : name) {
        const auto code = static_cast<unsigned char>(character);
        if (code < 0x20 || code == 0x7f) {
            throw UsageError("invalid semaphore name " + quoted + ": it must not contain control characters");
        }
    }
}

void check_slot_count(std::size_t count) {
    if (count < 1 || count > k_max_semaphore_slots) {
        throw UsageError("invalid slot count " + std::to_string(count) + ": expected 1 to " +
                         std::to_string(k_max_semaphore_slots));
    }
}

std::string slot_file_name(std::string_view name, std::size_t index) {
    char number[24];
    std::snprintf(number, sizeof number, "%02zu", index);
    return std::string(name) + "." + number + ".lock";
}

std::string SemaphoreSpec::slot_path(std::size_t index) const {
    return join_path(directory, slot_file_name(name, index));
}

std::string SemaphoreSpec::queue_path() const { return join_path(directory, name + ".queue.lock"); }

std::string SemaphoreSpec::size_path() const { return join_path(directory, name + ".size.lock"); }

OpenPolicy semaphore_open_policy() noexcept {
    OpenPolicy policy;
    policy.refuse_symlinks = true;
    policy.allow_directory = false;
    return policy;
}

Semaphore::Semaphore(SemaphoreSpec spec) : m_spec(std::move(spec)) {
    check_semaphore_name(m_spec.name);
    check_slot_count(m_spec.slot_count);
    if (m_spec.directory.empty()) {
        throw UsageError("the semaphore directory name is empty");
    }
    check_directory(m_spec, true);
}

std::optional<SemaphoreAcquireResult> Semaphore::record_slot_count() {
    if (m_size_record) {
        return std::nullopt;
    }
    const std::string path = m_spec.size_path();
    OpenedFile record = open_semaphore_file(path, m_spec.slot_count);
    const auto count = static_cast<off_t>(m_spec.slot_count);
    if (range_lock(record.fd.get(), F_RDLCK, count, 1) != 0) {
        if (errno != EAGAIN && errno != EACCES) {
            throw SystemError(Operation::lock, path, errno);
        }
        // Someone holds a write lock there: not a plock user.
        return SemaphoreAcquireResult{SemaphoreAcquireResult::Status::size_conflict, 0, 0};
    }
    for (const auto& [start, length] : {std::pair<off_t, off_t>{0, count}, {count + 1, 0}}) {
        if (const auto other = conflicting_range(record.fd.get(), start, length, path)) {
            const std::size_t other_count =
                other->l_len == 1 && other->l_start > 0 ? static_cast<std::size_t>(other->l_start) : 0;
            return SemaphoreAcquireResult{SemaphoreAcquireResult::Status::size_conflict, 0, other_count};
        }
    }
    m_size_record = std::move(record);
    return std::nullopt;
}

std::optional<std::size_t> Semaphore::find_inherited_slot() const {
    const std::vector<InheritedLock> locks = find_inherited_locks(LockMethod::flock);
    struct stat directory {};
    if (locks.empty() || stat(m_spec.directory.c_str(), &directory) != 0) {
        return std::nullopt;
    }
    const bool on_this_device = std::any_of(locks.begin(), locks.end(), [&](const InheritedLock& lock) {
        return lock.file.device == directory.st_dev;
    });
    if (!on_this_device) {
        return std::nullopt;
    }
    for (std::size_t index = 0; index < m_spec.slot_count; ++index) {
        struct stat status {};
        const auto identity = identity_of(m_spec.slot_path(index), status);
        if (!identity || !S_ISREG(status.st_mode)) {
            continue;
        }
        for (const InheritedLock& lock : locks) {
            if (lock.file == *identity && lock.mode == LockMode::exclusive) {
                return index;
            }
        }
    }
    return std::nullopt;
}

std::optional<SemaphoreAcquireResult> Semaphore::prepare_attempt() {
    if (auto conflict = record_slot_count()) {
        return conflict;
    }
    if (m_reuse_inherited && !m_inherited_checked) {
        m_inherited_checked = true;
        if (const auto index = find_inherited_slot()) {
            m_slot = index;
            m_inherited = true;
            return SemaphoreAcquireResult{SemaphoreAcquireResult::Status::acquired, 0, 0};
        }
    }
    return std::nullopt;
}

bool Semaphore::try_open_slots(bool keep_busy_slots_open) {
    m_candidates.resize(m_spec.slot_count);
    for (std::size_t index = 0; index < m_spec.slot_count; ++index) {
        std::optional<FileLock>& candidate = m_candidates[index];
        if (!candidate) {
            std::string path = m_spec.slot_path(index);
            OpenedFile file = open_semaphore_file(path, m_spec.slot_count);
            candidate.emplace(std::move(path), LockMethod::flock, std::move(file));
        }
        if (candidate->try_acquire(LockMode::exclusive).acquired()) {
            keep_slot(index);
            return true;
        }
        if (!keep_busy_slots_open) {
            candidate.reset();
        }
    }
    return false;
}

void Semaphore::keep_slot(std::size_t index) {
    m_slot_lock = std::move(m_candidates[index]);
    m_slot = index;
    m_candidates.clear();
}

SemaphoreAcquireResult Semaphore::try_acquire() {
    using Status = SemaphoreAcquireResult::Status;
    if (held()) {
        return {Status::acquired, 0, 0};
    }
    if (auto early = prepare_attempt()) {
        return *early;
    }
    return {try_open_slots(false) ? Status::acquired : Status::busy, 0, 0};
}

AcquireResult SemaphoreAcquireResult::common() const noexcept {
    switch (status) {
    case Status::acquired:
        return {AcquireResult::Status::acquired, 0};
    case Status::timed_out:
        return {AcquireResult::Status::timed_out, 0};
    case Status::interrupted:
        return {AcquireResult::Status::interrupted, signal};
    case Status::busy:
    case Status::size_conflict:
        break;
    }
    return {AcquireResult::Status::busy, 0};
}

SemaphoreAcquireResult Semaphore::take(const WaitPlan& plan, const SignalSet& stop_signals,
                                       const BeforeWait& before_wait) {
    return take_as_planned<SemaphoreAcquireResult>(
        plan, before_wait, [&] { return try_acquire(); },
        [&](Deadline deadline) {
            const ScopedDescriptorLimit limit(m_spec.slot_count + k_spare_descriptors);
            return acquire(deadline, stop_signals);
        });
}

SemaphoreAcquireResult Semaphore::acquire(Deadline deadline, const SignalSet& stop_signals) {
    using Status = SemaphoreAcquireResult::Status;
    if (held()) {
        return {Status::acquired, 0, 0};
    }
    if (auto early = prepare_attempt()) {
        return *early;
    }

    // Stand in line; we leave it when `line` is closed, on every way out.
    FileLock line(m_spec.queue_path(), LockMethod::flock,
                  open_semaphore_file(m_spec.queue_path(), m_spec.slot_count));
    const AcquireResult turn = line.acquire(LockMode::exclusive, deadline, stop_signals);
    if (turn.status == AcquireResult::Status::interrupted) {
        return {Status::interrupted, turn.signal, 0};
    }
    if (!turn.acquired()) {
        return {Status::timed_out, 0, 0};
    }

    // At the head of the line: a slot may have come free meanwhile.
    if (try_open_slots(true)) {
        return {Status::acquired, 0, 0};
    }
    std::vector<BlockingCall> calls;
    calls.reserve(m_candidates.size());
    for (const std::optional<FileLock>& candidate : m_candidates) {
        calls.push_back(candidate->blocking_call(LockMode::exclusive));
    }
    const WaitOutcome outcome = wait_for_first(calls, deadline, stop_signals);

    // Which slot to keep: the winner, or one that came at the very moment the
    // deadline passed. Any other slot taken while the rest were being
    // cancelled is given back at once.
    std::optional<std::size_t> kept;
    if (outcome.status == WaitOutcome::Status::completed) {
        kept = outcome.winner;
    } else if (outcome.status == WaitOutcome::Status::timed_out) {
        const auto first = std::find(outcome.succeeded.begin(), outcome.succeeded.end(), true);
        if (first != outcome.succeeded.end()) {
            kept = static_cast<std::size_t>(first - outcome.succeeded.begin());
        }
    }
    for (std::size_t index = 0; index < m_candidates.size(); ++index) {
        if (outcome.succeeded[index]) {
            m_candidates[index]->mark_acquired(LockMode::exclusive);
            if (index != kept) {
                m_candidates[index]->release();
            }
        }
    }
    if (kept) {
        keep_slot(*kept);
        return {Status::acquired, 0, 0};
    }
    m_candidates.clear();
    switch (outcome.status) {
    case WaitOutcome::Status::failed:
        throw SystemError(Operation::lock, m_spec.slot_path(outcome.winner), outcome.error_number);
    case WaitOutcome::Status::interrupted:
        return {Status::interrupted, outcome.signal, 0};
    default:
        return {Status::timed_out, 0, 0};
    }
}

std::vector<int> Semaphore::descriptors_to_pass() const {
    if (!m_slot_lock || m_inherited) {
        return {};
    }
    std::vector<int> descriptors{m_slot_lock->fd()};
    if (m_size_record) {
        descriptors.push_back(m_size_record->fd.get());
    }
    return descriptors;
}

void Semaphore::release() {
    m_candidates.clear();
    m_slot_lock.reset();
    m_slot.reset();
    m_inherited = false;
    m_inherited_checked = false;
    m_size_record.reset();
}

SemaphoreState inspect_semaphore(const SemaphoreSpec& spec, pid_t skip_pid) {
    check_semaphore_name(spec.name);
    check_slot_count(spec.slot_count);
    check_directory(spec, false);

    const std::vector<LockEntry> table = read_lock_table();
    SemaphoreState state;
    std::set<pid_t> waiting;
    const auto count_waiters = [&](FileIdentity file) {
        for (const LockEntry& entry : table) {
            if (entry.waiting && same_file(entry, file.device, file.inode)) {
                waiting.insert(entry.pid);
            }
        }
    };

    for (std::size_t index = 0; index < spec.slot_count; ++index) {
        SlotState slot;
        slot.index = index;
        slot.path = spec.slot_path(index);
        struct stat status {};
        if (const auto identity = identity_of(slot.path, status)) {
            slot.exists = true;
            slot.regular = S_ISREG(status.st_mode);
            if (slot.regular) {
                slot.holders = find_lock_holders(*identity, table, skip_pid).holders;
                count_waiters(*identity);
            }
        }
        state.slots.push_back(std::move(slot));
    }

    struct stat status {};
    if (const auto queue = identity_of(spec.queue_path(), status); queue && S_ISREG(status.st_mode)) {
        count_waiters(*queue);
    }
    state.waiting = waiting.size();

    if (const auto record = identity_of(spec.size_path(), status); record && S_ISREG(status.st_mode)) {
        std::map<std::size_t, SlotCountRecord> counts;
        for (const LockEntry& entry : table) {
            if (!entry.waiting && entry.kind == LockKind::ofd && entry.start > 0 &&
                same_file(entry, record->device, record->inode)) {
                counts[entry.start].slot_count = entry.start;
            }
        }
        // Naming who recorded a count takes a search of every process's
        // descriptors (the kernel records no PID for OFD locks): done only
        // when someone disagrees with spec.slot_count.
        const bool disagreement = counts.size() > 1 || (counts.size() == 1 && !counts.contains(spec.slot_count));
        if (disagreement) {
            for (LockHolder& holder : find_lock_holders(*record, table, skip_pid).holders) {
                if (const auto found = counts.find(holder.entry.start); found != counts.end()) {
                    found->second.holders.push_back(std::move(holder));
                }
            }
        }
        for (auto& [count, recorded] : counts) {
            state.slot_counts.push_back(std::move(recorded));
        }
    }
    return state;
}

}  // namespace plock
