// Reading a process's command line and liveness from /proc.
#include "plock/process_info.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
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

// /proc/PID/stat from the field after "(comm) ": "S 1 ...". The name may
// hold spaces and ')', so the fields start after the last ')'. Empty when
// the process is gone.
std::string stat_fields_after_name(pid_t pid) {
    if (pid <= 0) {
        return {};
    }
    const std::string status = read_proc_file(pid, "stat", 1024);
    const auto paren = status.rfind(')');
    if (paren == std::string::npos || paren + 2 >= status.size()) {
        return {};
    }
    return status.substr(paren + 2);
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
    const std::string fields = stat_fields_after_name(pid);
    if (fields.empty()) {
        return false;
    }
    const char state = fields[0];
    return state != 'Z' && state != 'X' && state != 'x';
}

std::optional<pid_t> parent_process(pid_t pid) {
    const std::string fields = stat_fields_after_name(pid);
    // "S 1234 ...": the state, then the parent's PID.
    if (fields.size() < 3 || fields[1] != ' ') {
        return std::nullopt;
    }
    char* end = nullptr;
    const long parent = std::strtol(fields.c_str() + 2, &end, 10);
    if (end == fields.c_str() + 2 || *end != ' ' || parent < 0) {
        return std::nullopt;
    }
    return static_cast<pid_t>(parent);
}

}  // namespace plock
