// Running the command once its lock is held: as a child (under its
// supervisor) whose signals plock forwards, whose time limit plock keeps and
// whose status plock returns, or in place of plock (--no-fork).
#pragma once

#include <sys/types.h>

#include <csignal>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "cli/options.hpp"
#include "plock/child/child.hpp"

namespace plock::cli {

struct RunRequest {
    CommandSpec command;  // what starts, with what, and how its tree is held
    StopPolicy stop;      // --time-limit and --grace
    bool replace_process = false;  // --no-fork: exec without forking
    // Called with the command's PID once it runs (exec has succeeded), before
    // plock waits for it; not called with replace_process. If it throws, the
    // command is killed and the exception propagates.
    std::function<void(pid_t)> on_started;
};

using Environment = std::vector<std::pair<std::string, std::string>>;

// The one launch builder: the command of `settings` with `environment` on top
// of plock's own and the signal mask plock started with. `lock_fds` hold the
// lock: the command inherits them, or with -o its supervisor keeps them while
// the command runs without them, and stops its whole tree if plock dies.
RunRequest launch_request(const CommandSettings& settings, Environment environment,
                          const std::vector<int>& lock_fds, const sigset_t& original_mask);

// `path` made absolute and normal, as PLOCK_FILE gives it to the command.
std::string absolute_path(const std::string& path);

// The command's status as a shell reports it (code, or 128+N for signal N),
// or k_time_limit when it ran past its time limit and plock stopped its
// whole tree. With replace_process it returns only by throwing.
int run_command(const RunRequest& request);

// Says why the command's whole tree is being stopped (--time-limit).
void report_time_limit_reached(const StopPolicy& stop);
// Once the tree is gone: says whether SIGKILL was needed (-v).
void report_time_limit_kill(bool killed_after_grace, const StopPolicy& stop);

}  // namespace plock::cli
