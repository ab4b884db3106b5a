// run_command: fork + exec + signal forwarding, or exec in place.
#include "cli/command_runner.hpp"

#include <filesystem>

#include "cli/log.hpp"
#include "plock/child.hpp"
#include "plock/signals.hpp"

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
    spec.die_with_parent = request.die_with_parent;
    spec.signal_mask = request.original_mask;

    if (logger().should_log(LogLevel::debug)) {
        logger().debug("running {}{}", join(request.argv),
                       request.replace_process ? " in place of plock" : "");
    }
    if (request.replace_process) {
        exec_command(spec);
    }
    ChildProcess child = ChildProcess::spawn(spec);
    if (request.on_started) {
        request.on_started(child.pid());
    }
    const auto status = child.wait(forwarded_signals(), std::nullopt);
    if (status->signaled()) {
        logger().debug("the command was killed by {}", signal_name(status->signal()));
    }
    return status->shell_status();
}

}  // namespace plock::cli
