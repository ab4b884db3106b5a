// Fuzz target: parse_pid_file, what a PID file's content says. It never
// throws (noexcept); a PID it reports is in 1..k_max_pid and is exactly the
// number the trimmed content spells; what format_pid_file writes reads back.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "plock/pidfile/pid_guard.hpp"

namespace {

void check(bool condition) {
    if (!condition) {
        std::abort();
    }
}

bool is_space(char character) {
    return character == ' ' || character == '\t' || character == '\r' || character == '\n';
}

std::string_view trimmed(std::string_view text) {
    while (!text.empty() && is_space(text.front())) {
        text.remove_prefix(1);
    }
    while (!text.empty() && is_space(text.back())) {
        text.remove_suffix(1);
    }
    return text;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using Kind = plock::PidFileContent::Kind;
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const plock::PidFileContent content = plock::parse_pid_file(text);
    const std::string_view core = trimmed(text);
    switch (content.kind) {
    case Kind::empty:
        check(core.empty());
        check(content.pid == 0);
        break;
    case Kind::pid:
        check(content.pid >= 1 && content.pid <= plock::k_max_pid);
        check(size <= plock::k_max_pid_file_size);
        check(core == std::to_string(content.pid));
        check(plock::parse_pid_file(plock::format_pid_file(content.pid)) == content);
        break;
    case Kind::invalid:
        check(content.pid == 0);
        check(!core.empty() || size > plock::k_max_pid_file_size);
        break;
    }
    return 0;
}
