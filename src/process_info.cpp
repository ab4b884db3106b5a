// Reading a process's command line and liveness from /proc.
#include "plock/process_info.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <string>

#include "plock/fd.hpp"

namespace plock {
namespace {

std::string read_proc_file(pid_t pid, const char* name, std::size_t limit) {
    const std::string path = "/proc/" + std::to_string(pid) + "/" + name;
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

}  // namespace

std::string read_command_line(pid_t pid, std::size_t max_length) {
    std::string raw = read_proc_file(pid, "cmdline", max_length + 1);
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

bool process_is_alive(pid_t pid) {
    if (pid <= 0) {
        return false;
    }
    const std::string status = read_proc_file(pid, "stat", 512);
    // "pid (comm) S ...": the state follows the last ')' (comm may hold ')').
    const auto paren = status.rfind(')');
    if (paren == std::string::npos || paren + 2 >= status.size()) {
        return false;
    }
    const char state = status[paren + 2];
    return state != 'Z' && state != 'X' && state != 'x';
}

}  // namespace plock
