// plock-bench-timer RUNS NAME1 -- CMD1... ::: NAME2 -- CMD2... [::: ...]
//
// Runs each command RUNS times, interleaved (A B A B ...) so that a noisy,
// shared machine disturbs every command alike, and prints one line per
// command: "NAME p50_ms p95_ms mean_ms max_rss_kb". Output of the commands
// goes to /dev/null; a command that fails aborts the measurement.
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

struct Command {
    std::string name;
    std::vector<char*> argv;
    std::vector<double> milliseconds;
    long max_rss_kb = 0;
};

double percentile(std::vector<double> values, double fraction) {
    std::sort(values.begin(), values.end());
    const auto index = static_cast<std::size_t>(fraction * static_cast<double>(values.size() - 1) + 0.5);
    return values[std::min(index, values.size() - 1)];
}

bool run_once(Command& command) {
    const auto start = std::chrono::steady_clock::now();
    const pid_t pid = fork();
    if (pid == 0) {
        const int null = open("/dev/null", O_RDWR);
        dup2(null, 1);
        dup2(null, 2);
        execvp(command.argv[0], command.argv.data());
        _exit(127);
    }
    int status = 0;
    rusage usage{};
    if (wait4(pid, &status, 0, &usage) != pid) {
        return false;
    }
    const auto elapsed = std::chrono::steady_clock::now() - start;
    command.milliseconds.push_back(std::chrono::duration<double, std::milli>(elapsed).count());
    command.max_rss_kb = std::max(command.max_rss_kb, usage.ru_maxrss);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        std::fprintf(stderr, "plock-bench-timer: '%s' failed (status %d)\n", command.name.c_str(), status);
        return false;
    }
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 4) {
        std::fprintf(stderr, "usage: plock-bench-timer RUNS NAME -- CMD... [::: NAME -- CMD...]\n");
        return 64;
    }
    const int runs = std::atoi(argv[1]);
    std::vector<Command> commands;
    for (int index = 2; index < argc;) {
        Command command;
        command.name = argv[index++];
        if (index >= argc || std::string(argv[index]) != "--") {
            std::fprintf(stderr, "plock-bench-timer: expected -- after %s\n", command.name.c_str());
            return 64;
        }
        ++index;
        while (index < argc && std::string(argv[index]) != ":::") {
            command.argv.push_back(argv[index++]);
        }
        ++index;
        command.argv.push_back(nullptr);
        commands.push_back(std::move(command));
    }
    for (int warmup = 0; warmup < 3; ++warmup) {
        for (Command& command : commands) {
            if (!run_once(command)) return 1;
            command.milliseconds.clear();
        }
    }
    for (int run = 0; run < runs; ++run) {
        for (Command& command : commands) {
            if (!run_once(command)) return 1;
        }
    }
    for (const Command& command : commands) {
        double sum = 0;
        for (double value : command.milliseconds) sum += value;
        std::printf("%s %.3f %.3f %.3f %ld\n", command.name.c_str(), percentile(command.milliseconds, 0.5),
                    percentile(command.milliseconds, 0.95), sum / static_cast<double>(command.milliseconds.size()),
                    command.max_rss_kb);
    }
    return 0;
}
