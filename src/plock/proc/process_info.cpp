// Reading what /proc says about a process. Every reader tolerates a process
// that vanishes at any moment: it answers "nothing" instead of failing.
#include "plock/proc/process_info.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <ctime>
#include <memory>
#include <string>

#include "plock/sys/fd.hpp"

namespace plock {
namespace {

std::string read_proc_file(const std::string& path, std::size_t limit) {
    const UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) {
        return {};
    }
    std::string content(limit, '\0');
    std::size_t used = 0;
    while (used < limit) {
        const ssize_t count =
            retry_on_eintr([&] { return read(fd.get(), content.data() + used, limit - used); });
        if (count <= 0) {
            break;
        }
        used += static_cast<std::size_t>(count);
    }
    content.resize(used);
    return content;
}

std::string process_file(pid_t pid, const char* name) {
    return "/proc/" + std::to_string(pid) + "/" + name;
}

template <typename Number>
std::optional<Number> to_number(std::string_view text) {
    Number value{};
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || error != std::errc() || end != text.data() + text.size()) {
        return std::nullopt;
    }
    return value;
}

}  // namespace

std::string read_command_line(pid_t pid, std::size_t max_length) {
    std::string raw = read_proc_file(process_file(pid, "cmdline"), max_length + 1);
    while (!raw.empty() && raw.back() == '\0') {
        raw.pop_back();
    }
    for (char& character : raw) {
        if (character == '\0') {
            character = ' ';
        } else if (static_cast<unsigned char>(character) < 0x20 || character == 0x7f) {
            character = '?';
        }
    }
    if (raw.size() > max_length) {
        raw.resize(max_length);
        raw += "...";
    }
    return raw;
}

std::optional<ProcessStat> parse_process_stat(std::string_view text) {
    const auto open_paren = text.find('(');
    const auto paren = text.rfind(')');
    if (open_paren == std::string_view::npos || paren == std::string_view::npos || paren < open_paren) {
        return std::nullopt;
    }
    ProcessStat stat;
    stat.name = text.substr(open_paren + 1, paren - open_paren - 1);
    // Fields from 3 (state) on, separated by single spaces.
    std::string_view rest = text.substr(paren + 1);
    int field = 2;
    while (!rest.empty() && field < 22) {
        while (!rest.empty() && rest.front() == ' ') {
            rest.remove_prefix(1);
        }
        const auto end = rest.find_first_of(" \n");
        const std::string_view value = rest.substr(0, end);
        rest.remove_prefix(end == std::string_view::npos ? rest.size() : end);
        ++field;
        if (field == 3) {
            if (value.size() != 1) {
                return std::nullopt;
            }
            stat.state = value.front();
        } else if (field == 4) {
            const auto parent = to_number<pid_t>(value);
            if (!parent) {
                return std::nullopt;
            }
            stat.parent = *parent;
        } else if (field == 22) {
            const auto start = to_number<std::uint64_t>(value);
            if (!start) {
                return std::nullopt;
            }
            stat.start_ticks = *start;
        }
    }
    if (field != 22) {
        return std::nullopt;
    }
    return stat;
}

std::optional<ProcessStat> read_process_stat(pid_t pid) {
    if (pid <= 0) {
        return std::nullopt;
    }
    return parse_process_stat(read_proc_file(process_file(pid, "stat"), 1024));
}

bool process_is_alive(pid_t pid) {
    const auto stat = read_process_stat(pid);
    return stat && stat->state != 'Z' && stat->state != 'X' && stat->state != 'x';
}

std::chrono::nanoseconds time_since_start(const ProcessStat& stat) {
    timespec now{};
    clock_gettime(CLOCK_BOOTTIME, &now);
    const auto since_boot = std::chrono::seconds(now.tv_sec) + std::chrono::nanoseconds(now.tv_nsec);
    const long ticks_per_second = sysconf(_SC_CLK_TCK);
    const auto ticks = static_cast<long double>(stat.start_ticks);
    const auto started = std::chrono::nanoseconds(
        static_cast<std::int64_t>(ticks * 1e9L / static_cast<long double>(ticks_per_second > 0 ? ticks_per_second : 100)));
    return std::max(since_boot - started, std::chrono::nanoseconds::zero());
}

std::vector<pid_t> process_children(pid_t pid) {
    std::vector<pid_t> children;
    struct DirectoryCloser {
        void operator()(DIR* directory) const noexcept { closedir(directory); }
    };
    const std::string tasks = process_file(pid, "task");
    const std::unique_ptr<DIR, DirectoryCloser> directory(opendir(tasks.c_str()));
    if (!directory) {
        return children;
    }
    while (const dirent* task = readdir(directory.get())) {
        if (task->d_name[0] == '.') {
            continue;
        }
        const std::string list = read_proc_file(tasks + "/" + task->d_name + "/children", 64 * 1024);
        std::string_view rest = list;
        while (!rest.empty()) {
            const auto end = rest.find(' ');
            if (const auto child = to_number<pid_t>(rest.substr(0, end))) {
                children.push_back(*child);
            }
            rest.remove_prefix(end == std::string_view::npos ? rest.size() : end + 1);
        }
    }
    return children;
}

std::optional<pid_t> parent_process(pid_t pid) {
    const auto stat = read_process_stat(pid);
    if (!stat) {
        return std::nullopt;
    }
    return stat->parent;
}

}  // namespace plock
