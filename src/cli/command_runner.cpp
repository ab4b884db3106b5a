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

RunRequest launch_request(const CommandSettings& settings, Environment environment,
                          const std::vector<int>& lock_fds, const sigset_t& original_mask) {
    RunRequest request;
    request.command.argv = settings.argv;
    request.command.environment = std::move(environment);
    if (settings.close) {
        request.command.stop_tree_if_plock_dies = true;
        request.command.held_fds = lock_fds;
    } else {
        request.command.inherited_fds = lock_fds;
    }
    request.command.signal_mask = original_mask;
    request.stop = settings.stop;
    request.replace_process = settings.no_fork;
    return request;
}

int run_command(const RunRequest& request) {
    CommandSpec spec = request.command;
    // A time limit stops the whole tree, which only a supervisor can find.
    spec.supervised = spec.supervised || request.stop.time_limit.has_value();

    if (logger().should_log(LogLevel::debug)) {
        logger().debug("running {}{}", join(spec.argv),
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
        report_time_limit_reached(request.stop);
        child.stop(request.stop.grace);
        child.wait(forwarded_signals(), std::nullopt);
        report_time_limit_kill(child.killed_after_grace(), request.stop);
        return exit_code::k_time_limit;
    }
    if (status->signaled()) {
        logger().debug("the command was killed by {}", signal_name(status->signal()));
    }
    return status->shell_status();
}

void report_time_limit_reached(const StopPolicy& stop) {
    logger().info("the command ran longer than its time limit of {}: stopping it and every process it "
                  "started (SIGTERM)",
                  format_seconds(*stop.time_limit));
}

void report_time_limit_kill(bool killed_after_grace, const StopPolicy& stop) {
    if (killed_after_grace) {
        logger().info("processes of the command still ran {} after SIGTERM: killed them (SIGKILL)",
                      format_seconds(stop.grace));
    }
}

}  // namespace plock::cli
