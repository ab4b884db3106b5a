// Helpers for plock's tests: temporary directories, running processes with
// captured output and a time limit, background processes that are killed
// (with their whole process group) when the test ends, and small file tools.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace plock::test {

using namespace std::chrono_literals;

// Path of the plock binary under test (set by CMake).
std::string plock_binary();

class TempDir {
public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::string& path() const noexcept { return m_path; }
    std::string operator/(const std::string& name) const { return m_path + "/" + name; }

private:
    std::string m_path;
};

struct RunOptions {
    std::string input;  // written to stdin
    std::vector<std::pair<std::string, std::string>> environment;  // added or replaced
    std::vector<std::string> unset_environment;
    std::chrono::milliseconds time_limit = 60s;
    std::optional<uid_t> user;  // run as this uid (and gid) after fork
    // When set, the child reads one byte from this descriptor just before
    // its exec: see StartBarrier.
    int start_barrier_fd = -1;
};

struct Result {
    int status = -1;  // exit code, or 128+N when killed by signal N
    std::string out;
    std::string err;
    bool timed_out = false;
    std::chrono::duration<double> elapsed{};
};

Result run(const std::vector<std::string>& argv, const RunOptions& options = {});
Result run_plock(const std::vector<std::string>& arguments, const RunOptions& options = {});

// A process running in the background, in its own process group, its output
// going to files. The destructor kills the group and reaps the process.
class Process {
public:
    static Process start(const std::vector<std::string>& argv, const RunOptions& options = {});
    static Process start_plock(const std::vector<std::string>& arguments,
                               const RunOptions& options = {});
    Process(Process&& other) noexcept;
    Process& operator=(Process&&) = delete;
    ~Process();

    pid_t pid() const noexcept { return m_pid; }
    // Status as run() reports it; nullopt when it did not end in time.
    std::optional<int> wait(std::chrono::milliseconds limit = 30s);
    bool finished();  // reaps if it has ended
    void signal(int number) const;
    void kill_group(int number) const;
    std::string out() const;
    std::string err() const;

private:
    Process() = default;
    pid_t m_pid = -1;
    std::optional<int> m_status;
    std::string m_output_prefix;
};

// Polls `condition` every millisecond until it holds or `limit` passes.
bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds limit = 20s);

// 'text' quoted for /bin/sh, whatever it holds.
std::string shell_quote(const std::string& text);
// The lines of `text`, without their newlines.
std::vector<std::string> lines_of(const std::string& text);
// Run options that set, or unset, one environment variable.
RunOptions with_variable(const std::string& name, const std::string& value);
RunOptions without_variable(const std::string& name);

std::string read_file(const std::string& path);
void write_file(const std::string& path, const std::string& content);
bool exists(const std::string& path);
// True while `pid` runs (not a zombie).
bool process_running(pid_t pid);
// The children of `pid`, from /proc.
std::vector<pid_t> children_of(pid_t pid);
// The commands a plock process runs: its children, except that a supervisor
// (the process named plock-supervise that plock puts between itself and the
// command, src/plock/child/child.hpp) stands for its own children.
std::vector<pid_t> commands_of(pid_t plock);
// The process name (/proc/PID/comm), empty when the process is gone.
std::string process_name(pid_t pid);

// A shell snippet that marks `ready` then blocks until `release` (a FIFO the
// test creates) is written to: a lock holder the test controls exactly.
class Gate {
public:
    explicit Gate(const TempDir& directory, const std::string& name = "gate");
    std::string hold_command() const;  // sh -c argument
    bool wait_ready(std::chrono::milliseconds limit = 20s) const;
    void open() const;  // lets the holder finish
    const std::string& ready_path() const noexcept { return m_ready; }

private:
    std::string m_ready;
    std::string m_release;
};

// Starts PREFIX... sh -c GATE_HOLD_COMMAND (for example {"flock", lock} or
// {plock, "exec", lock, "--"}) and returns once the holder holds the lock;
// throws if it does not get there in time.
Process hold_lock(const std::vector<std::string>& prefix, const Gate& gate);

// Holds back processes started with RunOptions::start_barrier_fd = read_fd()
// until release(): each waits just before its exec, so that several start at
// the same instant (to race them).
class StartBarrier {
public:
    StartBarrier();
    ~StartBarrier();
    StartBarrier(const StartBarrier&) = delete;
    StartBarrier& operator=(const StartBarrier&) = delete;
    int read_fd() const noexcept { return m_read; }
    void release(int count) const;  // lets `count` waiting processes go

private:
    int m_read = -1;
    int m_write = -1;
};

bool running_as_root();

// The processes blocked in the kernel waiting for a lock on the file at
// `path` (the "->" lines of /proc/locks for its device and inode): a test
// that needs a waiter to be waiting waits for this, not for a time.
std::size_t blocked_waiters(const std::string& path);

// True while process `pid` has an inotify instance open: plock's PID-file
// readers open one only to sleep until a starting guard writes its PID
// (pid_guard.hpp), so this tells that such a reader waits.
bool has_inotify(pid_t pid);

}  // namespace plock::test
