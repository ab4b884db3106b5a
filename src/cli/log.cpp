// The logger's output: spdlog with one stderr sink and the pattern
// "plock: [error: ]message"; the threshold lives in Logger.
#include "cli/log.hpp"

#include <spdlog/logger.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <cstdlib>
#include <memory>

namespace plock::cli {
namespace {

// Writes "error: " before errors; other levels carry no tag, so that the
// ordinary messages (conflicts, -v narration) read as sentences.
class LevelTag final : public spdlog::custom_flag_formatter {
public:
    void format(const spdlog::details::log_msg& message, const std::tm&,
                spdlog::memory_buf_t& destination) override {
        if (message.level >= spdlog::level::err) {
            constexpr std::string_view tag = "error: ";
            destination.append(tag.data(), tag.data() + tag.size());
        }
    }
    std::unique_ptr<custom_flag_formatter> clone() const override {
        return std::make_unique<LevelTag>();
    }
};

// PLOCK_LOG, in spdlog's names (trace, debug, info, warning/warn, error/err,
// critical, off); the default for anything else.
LogLevel configured_threshold() {
    const char* configured = std::getenv("PLOCK_LOG");
    if (configured == nullptr || *configured == '\0') {
        return LogLevel::warn;
    }
    const std::string_view name = configured;
    if (name == "off") {
        return LogLevel::off;
    }
    // from_str answers "off" for anything it does not know.
    switch (spdlog::level::from_str(std::string(name))) {
    case spdlog::level::trace:
    case spdlog::level::debug:
        return LogLevel::debug;
    case spdlog::level::info:
        return LogLevel::info;
    case spdlog::level::err:
    case spdlog::level::critical:
        return LogLevel::error;
    default:
        return LogLevel::warn;
    }
}

spdlog::level::level_enum spdlog_level(LogLevel level) noexcept {
    switch (level) {
    case LogLevel::debug:
        return spdlog::level::debug;
    case LogLevel::info:
        return spdlog::level::info;
    case LogLevel::warn:
        return spdlog::level::warn;
    case LogLevel::error:
        return spdlog::level::err;
    case LogLevel::off:
        break;
    }
    return spdlog::level::off;
}

// Built on the first message: most runs print none.
spdlog::logger& output() {
    static const std::unique_ptr<spdlog::logger> instance = [] {
        auto sink = std::make_shared<spdlog::sinks::stderr_sink_st>();
        auto made = std::make_unique<spdlog::logger>("plock", std::move(sink));
        auto formatter = std::make_unique<spdlog::pattern_formatter>();
        formatter->add_flag<LevelTag>('*').set_pattern("%n: %*%v");
        made->set_formatter(std::move(formatter));
        made->set_level(spdlog::level::trace);  // Logger decides what is written
        made->flush_on(spdlog::level::trace);
        return made;
    }();
    return *instance;
}

}  // namespace

namespace detail {

std::string substitute(std::string_view pattern, std::initializer_list<std::string_view> arguments) {
    std::string text;
    text.reserve(pattern.size() + 64);
    auto next = arguments.begin();
    for (std::size_t at = 0;;) {
        const std::size_t placeholder = pattern.find("{}", at);
        if (placeholder == std::string_view::npos || next == arguments.end()) {
            text.append(pattern.substr(at));
            return text;
        }
        text.append(pattern.substr(at, placeholder - at));
        text.append(*next++);
        at = placeholder + 2;
    }
}

}  // namespace detail

std::string escape_control_characters(std::string_view message) {
    static constexpr char k_hex_digits[] = "0123456789abcdef";
    std::string text;
    text.reserve(message.size());
    for (const char character : message) {
        const auto code = static_cast<unsigned char>(character);
        if (code >= 0x20 && code != 0x7f) {
            text += character;
        } else if (character == '\n') {
            text += "\\n";
        } else if (character == '\r') {
            text += "\\r";
        } else if (character == '\t') {
            text += "\\t";
        } else {
            text += "\\x";
            text += k_hex_digits[code >> 4];
            text += k_hex_digits[code & 0xf];
        }
    }
    return text;
}

void Logger::write(LogLevel level, std::string_view message) {
    const std::string line = escape_control_characters(message);
    output().log(spdlog_level(level), spdlog::string_view_t(line.data(), line.size()));
}

Logger& logger() {
    static Logger instance(configured_threshold());
    return instance;
}

void set_verbosity(Verbosity verbosity) {
    switch (verbosity) {
    case Verbosity::verbose:
        logger().set_threshold(LogLevel::debug);
        return;
    case Verbosity::quiet:
        logger().set_threshold(LogLevel::error);
        return;
    case Verbosity::normal:
        break;
    }
    logger().set_threshold(configured_threshold());
}

LogLevel conflict_level(int conflict_exit_code) noexcept {
    return conflict_exit_code == 0 ? LogLevel::info : LogLevel::warn;
}

}  // namespace plock::cli
