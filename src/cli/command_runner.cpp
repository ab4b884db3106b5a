// run_command: fork + exec + signal forwarding, or exec in place.
#include "cli/command_runner.hpp"

#include <filesystem>

#include "cli/describe.hpp"
#include "cli/log.hpp"
#include "plock/child/child.hpp"
#include "cli/exit_code.hpp"
#include "plock/sys/signals.hpp"

namespace plock::cli {
namespace {

std::string join(const std::vector<std::string>& words) {
    std::string text;
    for (const std::string& word : words) {
        text += text.empty() ? "" : " ";
        text += word;
    }
    return text;
}

}  // namespace

std::string absolute_path(const std::string& path) {
    std::error_code error;
    const auto absolute = std::filesystem::absolute(path, error);
    return error ? path : absolute.lexically_normal().string();
}

int run_command(const RunRequest& request) {
    CommandSpec spec;
    spec.argv = request.argv;
    spec.environment = request.environment;
    spec.inherited_fds = request.inherited_fds;
    spec.standard_input = request.standard_input;
    spec.standard_output = request.standard_output;
    spec.stop_tree_if_plock_dies = request.stop_tree_if_plock_dies;
    spec.held_fds = request.held_fds;
    spec.supervised = request.supervised || request.stop.time_limit.has_value();
    spec.signal_mask = request.original_mask;

    if (logger().should_log(LogLevel::debug)) {
        logger().debug("running {}{}", join(request.argv),
                       request.replace_process ? " in place of plock" : "");
    }
    if (request.replace_process) {
        exec_command(spec);
    }
    ChildProcess child = ChildProcess::spawn(spec);
    if (request.on_started && child.pid() > 0) {
        request.on_started(child.pid());
    }
    Deadline limit;
    if (request.stop.time_limit) {
        limit = Clock::now() + std::chrono::duration_cast<Clock::duration>(*request.stop.time_limit);
    }
    auto status = child.wait(forwarded_signals(), limit);
    if (!status) {
        stop_for_time_limit(child, request.stop);
        child.wait(forwarded_signals(), std::nullopt);
        report_time_limit_kill(child, request.stop);
        return exit_code::k_time_limit;
    }
    if (status->signaled()) {
        logger().debug("the command was killed by {}", signal_name(status->signal()));
    }
    return status->shell_status();
}

void stop_for_time_limit(ChildProcess& child, const StopPolicy& stop) {
    logger().info("the command ran longer than its time limit of {}: stopping it and every process it "
                  "started (SIGTERM)",
                  format_seconds(*stop.time_limit));
    child.stop(stop.grace);
}

void report_time_limit_kill(const ChildProcess& child, const StopPolicy& stop) {
    if (child.killed_after_grace()) {
        logger().info("processes of the command still ran {} after SIGTERM: killed them (SIGKILL)",
                      format_seconds(stop.grace));
    }
}

}  // namespace plock::cli
