// Parsing /proc/locks and the "lock:" lines of /proc/PID/fdinfo/FD.
// The kernel writes them with lock_get_status() in fs/locks.c; the parser
// accepts what it can recognise and skips anything else, so a format change
// or a truncated read never yields a wrong entry, only a missing one.
#include "plock/proc/proc_locks.hpp"

#include <fcntl.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <charconv>

#include "plock/sys/error.hpp"
#include "plock/sys/fd.hpp"

namespace plock {
namespace {

class Tokens {
public:
    explicit Tokens(std::string_view text) : m_text(text) {}
    std::optional<std::string_view> next() {
        const auto begin = m_text.find_first_not_of(" \t");
        if (begin == std::string_view::npos) {
            m_text = {};
            return std::nullopt;
        }
        m_text.remove_prefix(begin);
        const auto end = m_text.find_first_of(" \t");
        const std::string_view token = m_text.substr(0, end);
        m_text.remove_prefix(end == std::string_view::npos ? m_text.size() : end);
        return token;
    }

private:
    std::string_view m_text;
};

template <typename Number>
std::optional<Number> to_number(std::string_view text, int base = 10) {
    Number value{};
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value, base);
    if (error != std::errc() || end != text.data() + text.size() || text.empty()) {
        return std::nullopt;
    }
    return value;
}

std::optional<LockKind> to_kind(std::string_view token) {
    if (token == "FLOCK") return LockKind::flock;
    if (token == "POSIX") return LockKind::posix;
    if (token == "OFDLCK") return LockKind::ofd;
    if (token == "LEASE") return LockKind::lease;
    if (token == "DELEG") return LockKind::delegation;
    if (token == "ACCESS" || token == "UNKNOWN") return LockKind::other;
    return std::nullopt;
}

std::string read_small_file(const std::string& path) {
    const UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) {
        throw SystemError(Operation::read, path, errno);
    }
    std::string content;
    char buffer[8192];
    for (;;) {
        const ssize_t count = retry_on_eintr([&] { return read(fd.get(), buffer, sizeof buffer); });
        if (count < 0) {
            throw SystemError(Operation::read, path, errno);
        }
        if (count == 0) {
            return content;
        }
        content.append(buffer, static_cast<std::size_t>(count));
    }
}

}  // namespace

std::optional<LockEntry> parse_lock_line(std::string_view line) {
    Tokens tokens(line);
    LockEntry entry;

    auto token = tokens.next();
    if (!token || token->size() < 2 || token->back() != ':') {
        return std::nullopt;
    }
    const auto id = to_number<long>(token->substr(0, token->size() - 1));
    if (!id) {
        return std::nullopt;
    }
    entry.id = *id;

    token = tokens.next();
    while (token && *token == "->") {
        entry.waiting = true;
        token = tokens.next();
    }
    if (!token) {
        return std::nullopt;
    }
    const auto kind = to_kind(*token);
    if (!kind) {
        return std::nullopt;
    }
    entry.kind = *kind;

    const auto flavour = tokens.next();  // ADVISORY, MANDATORY, ACTIVE, BREAKING, ...
    const auto access = tokens.next();   // READ, WRITE, UNLCK
    const auto pid = tokens.next();
    const auto file = tokens.next();     // major:minor:inode, or <none>:0
    const auto start = tokens.next();
    const auto end = tokens.next();
    if (!flavour || !access || !pid || !file || !start || !end) {
        return std::nullopt;
    }
    entry.exclusive = *access == "WRITE";

    const auto parsed_pid = to_number<pid_t>(*pid);
    if (!parsed_pid) {
        return std::nullopt;
    }
    entry.pid = *parsed_pid;

    const auto first_colon = file->find(':');
    const auto last_colon = file->rfind(':');
    if (first_colon == std::string_view::npos || first_colon == last_colon) {
        return std::nullopt;  // "<none>:0": a lock without an inode
    }
    const auto major = to_number<unsigned>(file->substr(0, first_colon), 16);
    const auto minor = to_number<unsigned>(file->substr(first_colon + 1, last_colon - first_colon - 1), 16);
    const auto inode = to_number<ino_t>(file->substr(last_colon + 1));
    const auto first_byte = to_number<std::uint64_t>(*start);
    if (!major || !minor || !inode || !first_byte) {
        return std::nullopt;
    }
    entry.device_major = *major;
    entry.device_minor = *minor;
    entry.inode = *inode;
    entry.start = *first_byte;
    if (*end != "EOF") {
        const auto last_byte = to_number<std::uint64_t>(*end);
        if (!last_byte) {
            return std::nullopt;
        }
        entry.end = *last_byte;
    }
    return entry;
}

std::vector<LockEntry> parse_lock_table(std::string_view text) {
    std::vector<LockEntry> entries;
    while (!text.empty()) {
        const auto newline = text.find('\n');
        const std::string_view line = text.substr(0, newline);
        if (auto entry = parse_lock_line(line)) {
            entries.push_back(*entry);
        }
        text.remove_prefix(newline == std::string_view::npos ? text.size() : newline + 1);
    }
    return entries;
}

std::vector<LockEntry> read_lock_table() {
    return parse_lock_table(read_small_file("/proc/locks"));
}

std::vector<LockEntry> read_descriptor_locks(pid_t pid, int fd) {
    std::string content;
    try {
        content = read_small_file("/proc/" + std::to_string(pid) + "/fdinfo/" + std::to_string(fd));
    } catch (const SystemError&) {
        return {};  // the process or descriptor went away, or is not ours to read
    }
    std::vector<LockEntry> entries;
    std::string_view text = content;
    constexpr std::string_view prefix = "lock:";
    while (!text.empty()) {
        const auto newline = text.find('\n');
        std::string_view line = text.substr(0, newline);
        if (line.substr(0, prefix.size()) == prefix) {
            line.remove_prefix(prefix.size());
            if (auto entry = parse_lock_line(line)) {
                entries.push_back(*entry);
            }
        }
        text.remove_prefix(newline == std::string_view::npos ? text.size() : newline + 1);
    }
    return entries;
}

bool same_file(const LockEntry& entry, dev_t device, ino_t inode) noexcept {
    return entry.inode == inode && entry.device_major == major(device) &&
           entry.device_minor == minor(device);
}

std::string_view to_string(LockKind kind) noexcept {
    switch (kind) {
    case LockKind::flock: return "flock";
    case LockKind::posix: return "posix";
    case LockKind::ofd: return "ofd";
    case LockKind::lease: return "lease";
    case LockKind::delegation: return "delegation";
    case LockKind::other: return "other";
    }
    return "other";
}

}  // namespace plock
