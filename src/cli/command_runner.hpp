// Running the command once its lock is held: as a child whose signals plock
// forwards and whose status plock returns, or in place of plock (--no-fork).
#pragma once

#include <csignal>
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
};

// The command's status as a shell reports it (code, or 128+N for signal N).
// With replace_process it returns only by throwing.
int run_command(const RunRequest& request);

}  // namespace plock::cli
