// A counting semaphore across processes: N slot files in a directory, each
// taken with an exclusive flock(2), named as Python's
// portalocker.BoundedSemaphore names them (NAME.00.lock, NAME.01.lock, ...),
// so that the two share the same slots. A slot is held by an open file
// description: it is free again the moment the last process holding it dies,
// whatever killed it.
//
// Beside the slots plock keeps two files of its own (portalocker never opens
// them): NAME.queue.lock, the line in which waiting plock processes stand,
// and NAME.size.lock, on which each plock user records the slot count it was
// given, so that users who disagree on N are told instead of silently
// exceeding each other's limit.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "plock/file/file_lock.hpp"
#include "plock/sys/acquire_result.hpp"
#include "plock/proc/lock_holders.hpp"
#include "plock/sys/safe_open.hpp"
#include "plock/sys/signals.hpp"
#include "plock/sys/wait.hpp"

namespace plock {

inline constexpr std::size_t k_max_semaphore_slots = 1024;
inline constexpr std::size_t k_max_semaphore_name_length = 200;

// Throws UsageError when `name` cannot name a semaphore: empty, longer than
// k_max_semaphore_name_length, containing '/' or a control character, or
// starting with '.'.
void check_semaphore_name(std::string_view name);
// Throws UsageError unless 1 <= count <= k_max_semaphore_slots.
void check_slot_count(std::size_t count);

// portalocker's '{name}.{number:02d}.lock': "gpu.07.lock", "gpu.123.lock".
std::string slot_file_name(std::string_view name, std::size_t index);

struct SemaphoreSpec {
    std::string directory;
    std::string name;
    std::size_t slot_count = 0;

    std::string slot_path(std::size_t index) const;
    std::string queue_path() const;  // DIR/NAME.queue.lock
    std::string size_path() const;   // DIR/NAME.size.lock
};

// How slot files (and plock's own two files) are opened: created if missing,
// never a symbolic link (they are names plock manages, in directories such
// as /tmp where anyone may plant one), never a directory, FIFO or device.
OpenPolicy semaphore_open_policy() noexcept;

struct SemaphoreAcquireResult {
    enum class Status {
        acquired,
        busy,           // every slot is held (a non-blocking attempt)
        timed_out,
        interrupted,    // a stop signal ended the wait; see `signal`
        size_conflict,  // another process uses the semaphore with a different slot count
    };
    Status status = Status::busy;
    int signal = 0;
    // size_conflict: the slot count the other process gave (0 when the record
    // is not plock's and the count cannot be told).
    std::size_t other_slot_count = 0;
    bool acquired() const noexcept { return status == Status::acquired; }
    // As every kind's outcome; a size_conflict, which only a semaphore has,
    // must be handled first (it reads as busy).
    AcquireResult common() const noexcept;
};

// One user of a semaphore: it records its slot count, takes one slot, and
// holds it for as long as it (or a process that inherited its descriptors)
// lives.
//
// Waiting. flock(2) cannot wait for "any of these files", so the wait is one
// blocking flock per slot, each on its own thread (wait_for_first): every
// thread sleeps in the kernel, the release of any slot wakes the thread
// waiting for it at once, the first to get its slot wins and the others are
// cancelled. No one polls, and an idle waiter uses no CPU.
//
// So that a crowd of waiters does not cost N threads and N descriptors each,
// waiters first stand in line: an exclusive flock on NAME.queue.lock. Only
// the process at the head of the line waits on the slots; when it has one it
// leaves the line and the next becomes the head. Linux grants a contended
// flock to its blocked waiters in the order they started waiting, so the
// process that has waited longest is the next to wait on the slots, and gets
// the next slot released. Only a process that does not stand in line can get
// ahead of it, and only in the instant between a release and the head's
// wake-up: a newcomer's first non-blocking look at the slots, plock's
// non-blocking mode, or another program such as portalocker (which polls).
class Semaphore {
public:
    // Checks the name and slot count (UsageError) and the directory: it must
    // exist and be a directory, and be writable unless every file plock needs
    // is there already (SystemError naming the file and the cause).
    explicit Semaphore(SemaphoreSpec spec);

    Semaphore(Semaphore&&) noexcept = default;
    Semaphore& operator=(Semaphore&&) noexcept = default;
    Semaphore(const Semaphore&) = delete;
    Semaphore& operator=(const Semaphore&) = delete;
    // Closes our descriptors: a slot they hold is released unless a command
    // inherited them.
    ~Semaphore() = default;

    // Takes a free slot, trying them in order from slot 0 as portalocker
    // does; never waits. `busy` when all are held.
    SemaphoreAcquireResult try_acquire();
    // Takes a free slot, waiting in line and then in the kernel until one is
    // free, the deadline passes or one of `stop_signals` arrives (the
    // preconditions of wait_for_first apply). Throws SystemError on failures
    // of the system, such as too many open files for the slots.
    SemaphoreAcquireResult acquire(Deadline deadline, const SignalSet& stop_signals);
    // The way plock sem takes a slot: try_acquire(), and when every slot is
    // held and the plan allows a wait, `before_wait`, then acquire() with the
    // soft limit on open descriptors raised for the slot files (restored
    // before it returns).
    SemaphoreAcquireResult take(const WaitPlan& plan, const SignalSet& stop_signals,
                                const BeforeWait& before_wait = {});

    // Both attempts first record the slot count and look for a different one
    // (size_conflict).

    // Reentrancy: when on, both attempts then look for a slot of this
    // semaphore that this process holds already through an inherited
    // descriptor (a plock sem run inside a command that holds a slot), and
    // use it instead of taking a second one. Off by default, because any
    // descriptor of the process counts: a process that holds a slot through
    // another Semaphore object would find that one.
    void reuse_inherited_slot(bool reuse) noexcept { m_reuse_inherited = reuse; }

    bool held() const noexcept { return m_slot.has_value(); }
    // Valid when held().
    std::size_t slot() const noexcept { return m_slot.value_or(0); }
    // True when the slot is held through an inherited descriptor, not by us.
    bool inherited() const noexcept { return m_inherited; }
    // The descriptors a command must inherit to keep holding the slot (and
    // the record of the slot count) after we are gone; empty when inherited().
    std::vector<int> descriptors_to_pass() const;
    // Lets go of the slot (if it is ours) and of the record of the slot count.
    void release();

    const SemaphoreSpec& spec() const noexcept { return m_spec; }

private:
    // What both attempts do first: record the slot count, look for an
    // inherited slot. nullopt: go on and look at the slots.
    std::optional<SemaphoreAcquireResult> prepare_attempt();
    std::optional<SemaphoreAcquireResult> record_slot_count();
    std::optional<std::size_t> find_inherited_slot() const;
    // One non-blocking pass over the slots, opening them as needed.
    bool try_open_slots(bool keep_busy_slots_open);
    void keep_slot(std::size_t index);

    SemaphoreSpec m_spec;
    std::optional<OpenedFile> m_size_record;
    bool m_reuse_inherited = false;
    bool m_inherited_checked = false;
    std::vector<std::optional<FileLock>> m_candidates;  // opened while looking and waiting
    std::optional<FileLock> m_slot_lock;
    std::optional<std::size_t> m_slot;
    bool m_inherited = false;
};

struct SlotState {
    std::size_t index = 0;
    std::string path;
    bool exists = false;
    bool regular = true;            // false: a symlink or other file plock refuses
    std::vector<LockHolder> holders;  // empty: free
    bool held() const noexcept { return !holders.empty(); }
};

struct SlotCountRecord {
    std::size_t slot_count = 0;       // the -n a plock user gave
    // The processes that recorded it; found (by a search of every process's
    // descriptors) only when some count differs from spec.slot_count.
    std::vector<LockHolder> holders;
};

struct SemaphoreState {
    std::vector<SlotState> slots;
    // The slot counts plock users have recorded, smallest first; more than
    // one, or one other than spec.slot_count, means users disagree.
    std::vector<SlotCountRecord> slot_counts;
    // Processes waiting for a slot: in plock's line or blocked on a slot file.
    std::size_t waiting = 0;
};

// Who holds which slot, read from /proc/locks without taking or creating
// anything. The directory must exist (SystemError otherwise). `skip_pid`
// (usually ourselves) is left out of the search for holders.
SemaphoreState inspect_semaphore(const SemaphoreSpec& spec, pid_t skip_pid = -1);

}  // namespace plock
