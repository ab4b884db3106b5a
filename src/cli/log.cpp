// Logger set-up: one stderr sink, pattern "plock: [error: ]message".
#include "cli/log.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <cstdlib>
#include <memory>
#include <string_view>

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

struct LoggerState {
    Verbosity verbosity = Verbosity::normal;
    bool verbosity_given = false;
    std::unique_ptr<spdlog::logger> logger;
};

LoggerState& state() {
    static LoggerState instance;
    return instance;
}

spdlog::level::level_enum level_for(const LoggerState& current) {
    if (current.verbosity_given && current.verbosity != Verbosity::normal) {
        return current.verbosity == Verbosity::verbose ? spdlog::level::debug : spdlog::level::err;
    }
    if (const char* configured = std::getenv("PLOCK_LOG"); configured != nullptr && *configured != '\0') {
        const auto level = spdlog::level::from_str(configured);
        // from_str answers "off" for anything it does not know; only take
        // "off" when it was asked for.
        if (level != spdlog::level::off || std::string_view(configured) == "off") {
            return level;
        }
    }
    return spdlog::level::warn;
}

}  // namespace

void set_verbosity(Verbosity verbosity) {
    LoggerState& current = state();
    current.verbosity = verbosity;
    current.verbosity_given = true;
    if (current.logger) {
        current.logger->set_level(level_for(current));
    }
}

spdlog::logger& logger() {
    LoggerState& current = state();
    if (!current.logger) {
        auto sink = std::make_shared<spdlog::sinks::stderr_sink_st>();
        current.logger = std::make_unique<spdlog::logger>("plock", std::move(sink));
        auto formatter = std::make_unique<spdlog::pattern_formatter>();
        formatter->add_flag<LevelTag>('*').set_pattern("%n: %*%v");
        current.logger->set_formatter(std::move(formatter));
        current.logger->set_level(level_for(current));
        current.logger->flush_on(spdlog::level::trace);
    }
    return *current.logger;
}

spdlog::level::level_enum conflict_level(int conflict_exit_code) noexcept {
    return conflict_exit_code == 0 ? spdlog::level::info : spdlog::level::warn;
}

}  // namespace plock::cli
