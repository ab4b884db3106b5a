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

namespace plock::cli {

struct RunRequest {
    std::vector<std::string> argv;
    std::vector<std::pair<std::string, std::string>> environment;
    std::vector<int> inherited_fds;
    int standard_input = -1;   // -1: the command shares plock's
    int standard_output = -1;
    // -o: the command does not get the lock; if plock dies, the supervisor
    // kills the command's whole tree, holding `held_fds` until it is gone.
    bool stop_tree_if_plock_dies = false;
    std::vector<int> held_fds;
    StopPolicy stop;  // --time-limit and --grace
    // Under a supervisor even without -o or a time limit, so that the whole
    // tree can be found and stopped by others (pidguard --replace).
    bool supervised = false;
    bool replace_process = false;  // --no-fork: exec without forking
    sigset_t original_mask{};      // the mask plock started with
    // Called with the command's PID once it runs (exec has succeeded), before
    // plock waits for it; not called with replace_process. If it throws, the
    // command is killed and the exception propagates.
    std::function<void(pid_t)> on_started;
};

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
