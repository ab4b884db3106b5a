// Running the command once its lock is held: as a child whose signals plock
// forwards and whose status plock returns, or in place of plock (--no-fork).
#pragma once

#include <sys/types.h>

#include <csignal>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace plock::cli {

struct RunRequest {
    std::vector<std::string> argv;
    std::vector<std::pair<std::string, std::string>> environment;
    std::vector<int> inherited_fds;
    int standard_input = -1;   // -1: the command shares plock's
    int standard_output = -1;
    bool die_with_parent = false;
    bool replace_process = false;  // --no-fork: exec without forking
    sigset_t original_mask{};      // the mask plock started with
    // Called with the command's PID once it runs (exec has succeeded), before
    // plock waits for it; not called with replace_process. If it throws, the
    // command is killed and the exception propagates.
    std::function<void(pid_t)> on_started;
};

// `path` made absolute and normal, as PLOCK_FILE gives it to the command.
std::string absolute_path(const std::string& path);

// The command's status as a shell reports it (code, or 128+N for signal N).
// With replace_process it returns only by throwing.
int run_command(const RunRequest& request);

}  // namespace plock::cli
