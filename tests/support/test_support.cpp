// Implementation of the test helpers.
#include "test_support.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace plock::test {
namespace {

std::vector<std::string> build_environment(const RunOptions& options) {
    std::vector<std::string> result;
    for (char** variable = environ; *variable != nullptr; ++variable) {
        const std::string text(*variable);
        const std::string name = text.substr(0, text.find('='));
        bool dropped = false;
        for (const auto& [key, value] : options.environment) {
            dropped = dropped || key == name;
        }
        for (const auto& key : options.unset_environment) {
            dropped = dropped || key == name;
        }
        if (!dropped) {
            result.push_back(text);
        }
    }
    for (const auto& [key, value] : options.environment) {
        result.push_back(key + "=" + value);
    }
    return result;
}

struct PreparedExec {
    std::vector<std::string> argv_storage;
    std::vector<std::string> env_storage;
    std::vector<char*> argv;
    std::vector<char*> envp;

    PreparedExec(const std::vector<std::string>& command, const RunOptions& options)
        : argv_storage(command), env_storage(build_environment(options)) {
        for (auto& word : argv_storage) argv.push_back(word.data());
        argv.push_back(nullptr);
        for (auto& variable : env_storage) envp.push_back(variable.data());
        envp.push_back(nullptr);
    }
};

// In the child after fork: reset signals, drop privileges, exec.
[[noreturn]] void exec_child(const PreparedExec& prepared, const RunOptions& options) {
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    for (int signal = 1; signal < NSIG; ++signal) {
        ::signal(signal, SIG_DFL);
    }
    if (options.user) {
        const gid_t group = *options.user;
        if (setgroups(0, nullptr) != 0 || setresgid(group, group, group) != 0 ||
            setresuid(*options.user, *options.user, *options.user) != 0) {
            _exit(125);
        }
    }
    if (options.start_barrier_fd >= 0) {
        char go = 0;
        while (read(options.start_barrier_fd, &go, 1) < 0 && errno == EINTR) {
        }
    }
    execvpe(prepared.argv[0], prepared.argv.data(), prepared.envp.data());
    _exit(errno == ENOENT ? 127 : 126);
}

int shell_status(int wait_status) {
    return WIFSIGNALED(wait_status) ? 128 + WTERMSIG(wait_status) : WEXITSTATUS(wait_status);
}

}  // namespace

std::string plock_binary() {
    if (const char* configured = std::getenv("PLOCK_TEST_BINARY")) {
        return configured;
    }
    return PLOCK_BINARY;
}

TempDir::TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string pattern = std::string(base && *base ? base : "/tmp") + "/plock-test.XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) {
        throw std::runtime_error("mkdtemp failed: " + std::string(std::strerror(errno)));
    }
    m_path = pattern;
}

TempDir::~TempDir() {
    std::error_code ignored;
    // Tests may leave read-only directories behind; make them removable.
    for (auto it = std::filesystem::recursive_directory_iterator(
             m_path, std::filesystem::directory_options::skip_permission_denied, ignored);
         it != std::filesystem::recursive_directory_iterator(); it.increment(ignored)) {
        if (it->is_directory(ignored) && !it->is_symlink(ignored)) {
            ::chmod(it->path().c_str(), 0700);
        }
    }
    std::filesystem::remove_all(m_path, ignored);
}

Result run(const std::vector<std::string>& argv, const RunOptions& options) {
    const PreparedExec prepared(argv, options);
    int input[2], output[2], error[2];
    if (pipe2(input, O_CLOEXEC) != 0 || pipe2(output, O_CLOEXEC) != 0 || pipe2(error, O_CLOEXEC) != 0) {
        throw std::runtime_error("pipe failed");
    }
    const auto start = std::chrono::steady_clock::now();
    const pid_t pid = fork();
    if (pid == 0) {
        dup2(input[0], 0);
        dup2(output[1], 1);
        dup2(error[1], 2);
        exec_child(prepared, options);
    }
    close(input[0]);
    close(output[1]);
    close(error[1]);
    // Feed stdin from a thread so that a large input cannot deadlock us.
    std::thread feeder([fd = input[1], text = options.input] {
        std::size_t written = 0;
        ::signal(SIGPIPE, SIG_IGN);
        while (written < text.size()) {
            const ssize_t count = write(fd, text.data() + written, text.size() - written);
            if (count <= 0) break;
            written += static_cast<std::size_t>(count);
        }
        close(fd);
    });

    Result result;
    pollfd fds[2] = {{output[0], POLLIN, 0}, {error[0], POLLIN, 0}};
    int open_streams = 2;
    const auto deadline = start + options.time_limit;
    while (open_streams > 0) {
        const auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (remaining.count() <= 0) {
            result.timed_out = true;
            kill(pid, SIGKILL);
            break;
        }
        if (poll(fds, 2, static_cast<int>(remaining.count())) < 0 && errno != EINTR) {
            break;
        }
        for (int index = 0; index < 2; ++index) {
            if (fds[index].fd >= 0 && (fds[index].revents & (POLLIN | POLLHUP | POLLERR))) {
                char buffer[4096];
                const ssize_t count = read(fds[index].fd, buffer, sizeof buffer);
                if (count <= 0) {
                    close(fds[index].fd);
                    fds[index].fd = -1;
                    --open_streams;
                } else {
                    (index == 0 ? result.out : result.err).append(buffer, static_cast<std::size_t>(count));
                }
            }
        }
    }
    for (auto& fd : fds) {
        if (fd.fd >= 0) close(fd.fd);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    feeder.join();
    result.status = shell_status(status);
    result.elapsed = std::chrono::steady_clock::now() - start;
    return result;
}

Result run_plock(const std::vector<std::string>& arguments, const RunOptions& options) {
    std::vector<std::string> argv{plock_binary()};
    argv.insert(argv.end(), arguments.begin(), arguments.end());
    return run(argv, options);
}

Process Process::start(const std::vector<std::string>& argv, const RunOptions& options) {
    const PreparedExec prepared(argv, options);
    static int counter = 0;
    char prefix[128];
    std::snprintf(prefix, sizeof prefix, "/tmp/plock-test-process.%d.%d", getpid(), ++counter);
    Process process;
    process.m_output_prefix = prefix;
    const std::string out_path = process.m_output_prefix + ".out";
    const std::string err_path = process.m_output_prefix + ".err";
    const pid_t pid = fork();
    if (pid == 0) {
        setpgid(0, 0);
        const int null = open("/dev/null", O_RDONLY);
        const int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        const int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        dup2(null, 0);
        dup2(out, 1);
        dup2(err, 2);
        exec_child(prepared, options);
    }
    setpgid(pid, pid);  // also here, so the group exists before we return
    process.m_pid = pid;
    return process;
}

Process Process::start_plock(const std::vector<std::string>& arguments, const RunOptions& options) {
    std::vector<std::string> argv{plock_binary()};
    argv.insert(argv.end(), arguments.begin(), arguments.end());
    return start(argv, options);
}

Process::Process(Process&& other) noexcept
    : m_pid(std::exchange(other.m_pid, -1)),
      m_status(other.m_status),
      m_output_prefix(std::move(other.m_output_prefix)) {}

Process::~Process() {
    if (m_pid > 0) {
        kill(-m_pid, SIGKILL);
        if (!m_status) {
            int status = 0;
            while (waitpid(m_pid, &status, 0) < 0 && errno == EINTR) {
            }
        }
        unlink((m_output_prefix + ".out").c_str());
        unlink((m_output_prefix + ".err").c_str());
    }
}

bool Process::finished() {
    if (m_status) return true;
    int status = 0;
    if (waitpid(m_pid, &status, WNOHANG) == m_pid) {
        m_status = shell_status(status);
        return true;
    }
    return false;
}

std::optional<int> Process::wait(std::chrono::milliseconds limit) {
    wait_until([this] { return finished(); }, limit);
    return m_status;
}

void Process::signal(int number) const { kill(m_pid, number); }
void Process::kill_group(int number) const { kill(-m_pid, number); }
std::string Process::out() const { return read_file(m_output_prefix + ".out"); }
std::string Process::err() const { return read_file(m_output_prefix + ".err"); }

bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!condition()) {
        if (std::chrono::steady_clock::now() >= deadline) {
            return false;
        }
        std::this_thread::sleep_for(1ms);
    }
    return true;
}

std::string read_file(const std::string& path) {
    std::ifstream stream(path, std::ios::binary);
    std::ostringstream content;
    content << stream.rdbuf();
    return content.str();
}

void write_file(const std::string& path, const std::string& content) {
    std::ofstream stream(path, std::ios::binary | std::ios::trunc);
    stream << content;
    if (!stream) {
        throw std::runtime_error("cannot write " + path);
    }
}

bool exists(const std::string& path) {
    struct stat status {};
    return lstat(path.c_str(), &status) == 0;
}

bool process_running(pid_t pid) {
    const std::string status = read_file("/proc/" + std::to_string(pid) + "/stat");
    const auto paren = status.rfind(')');
    if (paren == std::string::npos || paren + 2 >= status.size()) {
        return false;
    }
    return status[paren + 2] != 'Z' && status[paren + 2] != 'X';
}

std::vector<pid_t> children_of(pid_t pid) {
    std::vector<pid_t> children;
    const std::string path = "/proc/" + std::to_string(pid) + "/task/" + std::to_string(pid) + "/children";
    std::istringstream stream(read_file(path));
    pid_t child = 0;
    while (stream >> child) {
        children.push_back(child);
    }
    return children;
}

std::string process_name(pid_t pid) {
    std::string name = read_file("/proc/" + std::to_string(pid) + "/comm");
    while (!name.empty() && name.back() == '\n') {
        name.pop_back();
    }
    return name;
}

std::vector<pid_t> commands_of(pid_t plock) {
    std::vector<pid_t> commands;
    for (const pid_t child : children_of(plock)) {
        if (process_name(child) == "plock-supervise") {
            const auto grandchildren = children_of(child);
            commands.insert(commands.end(), grandchildren.begin(), grandchildren.end());
        } else {
            commands.push_back(child);
        }
    }
    return commands;
}

Gate::Gate(const TempDir& directory, const std::string& name)
    : m_ready(directory / (name + ".ready")), m_release(directory / (name + ".release")) {
    if (mkfifo(m_release.c_str(), 0666) != 0) {
        throw std::runtime_error("mkfifo failed: " + m_release);
    }
}

std::string Gate::hold_command() const {
    return ": > '" + m_ready + "'; read line < '" + m_release + "'";
}

bool Gate::wait_ready(std::chrono::milliseconds limit) const {
    return wait_until([this] { return exists(m_ready); }, limit);
}

void Gate::open() const {
    // Non-blocking, retried: a holder that died must not hang the test.
    int fd = -1;
    wait_until([&] {
        fd = ::open(m_release.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
        return fd >= 0;
    });
    if (fd >= 0) {
        [[maybe_unused]] const ssize_t ignored = write(fd, "go\n", 3);
        close(fd);
    }
}

Process hold_lock(const std::vector<std::string>& prefix, const Gate& gate) {
    std::vector<std::string> argv = prefix;
    argv.insert(argv.end(), {"sh", "-c", gate.hold_command()});
    Process holder = Process::start(argv);
    if (!gate.wait_ready()) {
        throw std::runtime_error("the lock holder did not get ready: " + holder.err());
    }
    return holder;
}

StartBarrier::StartBarrier() {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
        throw std::runtime_error("pipe failed");
    }
    m_read = fds[0];
    m_write = fds[1];
}

StartBarrier::~StartBarrier() {
    close(m_read);
    close(m_write);
}

void StartBarrier::release(int count) const {
    const std::string bytes(static_cast<std::size_t>(count), 'g');
    if (write(m_write, bytes.data(), bytes.size()) != static_cast<ssize_t>(bytes.size())) {
        throw std::runtime_error("cannot release the start barrier");
    }
}

bool running_as_root() { return geteuid() == 0; }

bool has_inotify(pid_t pid) {
    const std::string directory = "/proc/" + std::to_string(pid) + "/fd";
    DIR* descriptors = opendir(directory.c_str());
    if (!descriptors) {
        return false;  // gone
    }
    bool found = false;
    while (const dirent* entry = readdir(descriptors)) {
        char target[64];
        const std::string link = directory + "/" + entry->d_name;
        const ssize_t length = readlink(link.c_str(), target, sizeof target - 1);
        if (length > 0 && std::string(target, static_cast<std::size_t>(length)) == "anon_inode:inotify") {
            found = true;
            break;
        }
    }
    closedir(descriptors);
    return found;
}

std::size_t blocked_waiters(const std::string& path) {
    struct stat status {};
    if (stat(path.c_str(), &status) != 0) {
        return 0;
    }
    // /proc/locks names a file as MAJOR:MINOR:INODE, the device numbers in hex.
    char file[64];
    std::snprintf(file, sizeof file, "%02x:%02x:%llu", major(status.st_dev), minor(status.st_dev),
                  static_cast<unsigned long long>(status.st_ino));
    std::size_t count = 0;
    std::istringstream table(read_file("/proc/locks"));
    for (std::string line; std::getline(table, line);) {
        std::istringstream fields(line);
        std::string word;
        fields >> word >> word;  // "N:" then "->" for a waiter
        if (word != "->") {
            continue;
        }
        while (fields >> word) {
            if (word == file) {
                ++count;
                break;
            }
        }
    }
    return count;
}

std::string shell_quote(const std::string& text) {
    std::string quoted = "'";
    for (char character : text) {
        quoted += character == '\'' ? std::string("'\\''") : std::string(1, character);
    }
    return quoted + "'";
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream stream(text);
    for (std::string line; std::getline(stream, line);) {
        lines.push_back(line);
    }
    return lines;
}

RunOptions with_variable(const std::string& name, const std::string& value) {
    RunOptions options;
    options.environment.emplace_back(name, value);
    return options;
}

RunOptions without_variable(const std::string& name) {
    RunOptions options;
    options.unset_environment.push_back(name);
    return options;
}

}  // namespace plock::test
