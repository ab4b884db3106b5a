// The CLI's one logger: "plock: " on stderr, terse lines, built on first use
// so that a run that prints nothing pays nothing for it.
//
// Messages take "{}" placeholders, one per argument, checked when compiled.
// spdlog does the writing, inside log.cpp only: the rest of the CLI sees this
// small interface, not spdlog's and fmt's headers, which would otherwise be
// compiled again in every file that logs.
#pragma once

#include <concepts>
#include <cstddef>
#include <initializer_list>
#include <string>
#include <string_view>
#include <type_traits>

namespace plock::cli {

enum class Verbosity { quiet, normal, verbose };

// `off` is only a threshold (PLOCK_LOG=off): nothing is logged at it.
enum class LogLevel { debug, info, warn, error, off };

// -v/-q win over PLOCK_LOG, which wins over the default (warnings and errors).
void set_verbosity(Verbosity verbosity);

// A message as it is written: each control character (a newline in a file
// name or in an option's value) as \n, \r, \t or \xHH, so that a message
// is always one line and its quoted values can neither forge another line
// nor send escape sequences to the terminal.
std::string escape_control_characters(std::string_view message);

// A conflict is the expected outcome of a non-blocking run or a timeout:
// reported as a plain line unless -q, or only with -v when -E 0 makes it a
// success.
LogLevel conflict_level(int conflict_exit_code) noexcept;

namespace detail {

constexpr std::size_t count_placeholders(std::string_view pattern) noexcept {
    std::size_t count = 0;
    for (std::size_t at = pattern.find("{}"); at != std::string_view::npos; at = pattern.find("{}", at + 2)) {
        ++count;
    }
    return count;
}

// A message pattern whose "{}" count must match the arguments' (a compile
// error otherwise: the throw cannot run in a constant expression).
template <typename... Args>
struct Pattern {
    template <std::size_t Size>
    consteval Pattern(const char (&literal)[Size]) : text(literal, Size - 1) {
        if (count_placeholders(text) != sizeof...(Args)) {
            throw "the number of {} in a log message differs from the number of its arguments";
        }
    }
    std::string_view text;
};

// The arguments as text: strings as they are, numbers in decimal.
inline std::string_view as_text(std::string_view text) noexcept { return text; }
inline std::string_view as_text(const std::string& text) noexcept { return text; }
inline std::string_view as_text(const char* text) noexcept { return text; }
template <typename Number>
    requires std::integral<Number> && (!std::same_as<Number, char>) && (!std::same_as<Number, bool>)
std::string as_text(Number number) {
    return std::to_string(number);
}

// Replaces each "{}" of `pattern` by the next argument.
std::string substitute(std::string_view pattern, std::initializer_list<std::string_view> arguments);

}  // namespace detail

class Logger {
public:
    explicit Logger(LogLevel threshold) noexcept : m_threshold(threshold) {}

    void set_threshold(LogLevel threshold) noexcept { m_threshold = threshold; }
    bool should_log(LogLevel level) const noexcept { return level >= m_threshold && level != LogLevel::off; }

    template <typename... Args>
    void log(LogLevel level, detail::Pattern<std::type_identity_t<Args>...> pattern, const Args&... arguments) {
        if (should_log(level)) {
            write(level, detail::substitute(pattern.text, {std::string_view(detail::as_text(arguments))...}));
        }
    }
    template <typename... Args>
    void debug(detail::Pattern<std::type_identity_t<Args>...> pattern, const Args&... arguments) {
        log<Args...>(LogLevel::debug, pattern, arguments...);
    }
    template <typename... Args>
    void info(detail::Pattern<std::type_identity_t<Args>...> pattern, const Args&... arguments) {
        log<Args...>(LogLevel::info, pattern, arguments...);
    }
    template <typename... Args>
    void warn(detail::Pattern<std::type_identity_t<Args>...> pattern, const Args&... arguments) {
        log<Args...>(LogLevel::warn, pattern, arguments...);
    }
    template <typename... Args>
    void error(detail::Pattern<std::type_identity_t<Args>...> pattern, const Args&... arguments) {
        log<Args...>(LogLevel::error, pattern, arguments...);
    }

private:
    // One line on stderr: "plock: message", "plock: error: message".
    void write(LogLevel level, std::string_view message);

    LogLevel m_threshold;
};

Logger& logger();

}  // namespace plock::cli
