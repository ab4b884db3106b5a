// CommandTree: see command_tree.hpp.
#include "command_tree.hpp"

#include <signal.h>

#include <cstdio>
#include <stdexcept>

namespace plock::test {
namespace {

// The PID a file holds; 0 while it is missing or not written whole.
pid_t read_pid(const std::string& file) {
    try {
        return std::stoi(read_file(file));
    } catch (const std::exception&) {
        return 0;
    }
}

}  // namespace

CommandTree::CommandTree(const TempDir& directory, OnTerm on_term) : m_directory(directory), m_on_term(on_term) {}

CommandTree::~CommandTree() {
    signal_all(SIGKILL);
}

std::vector<pid_t> CommandTree::recorded_pids() const {
    std::vector<pid_t> pids;
    for (const std::string& name : names()) {
        for (const std::string& file : {pid_file(name), pid_file(name + ".sleep")}) {
            if (const pid_t pid = read_pid(file); pid > 0) {
                pids.push_back(pid);
            }
        }
    }
    return pids;
}

void CommandTree::signal_all(int signal) const {
    for (const pid_t pid : recorded_pids()) {
        kill(pid, signal);
    }
}

const std::vector<std::string>& CommandTree::names() {
    static const std::vector<std::string> k_names{"main", "background", "setsid", "orphan"};
    return k_names;
}

std::string CommandTree::pid_file(const std::string& name) const {
    return m_directory / ("tree." + name + ".pid");
}

// The body of one process of the tree: record its PID, then wait, as the
// OnTerm choice says.
std::string CommandTree::member(const std::string& name) const {
    std::string body;
    if (m_on_term == OnTerm::record_and_exit) {
        body += "trap \"echo > " + shell_quote(m_directory / ("tree." + name + ".term")) + "; exit 0\" TERM; ";
    }
    body += "echo $$ > " + shell_quote(pid_file(name) + ".tmp") + "; mv " + shell_quote(pid_file(name) + ".tmp") +
            " " + shell_quote(pid_file(name)) + "; ";
    // `wait` returns at once when a trapped signal arrives.
    body += "sleep 300 & echo $! > " + shell_quote(pid_file(name + ".sleep")) + "; wait";
    return body;
}

std::string CommandTree::script(const std::string& then) const {
    std::string text;
    if (m_on_term == OnTerm::ignore) {
        text += "trap '' TERM; ";
    }
    // Not on plock's output: a test that reads it to its end must not wait
    // for the processes that outlive plock.
    const std::string quiet = " < /dev/null > /dev/null 2>&1";
    text += "sh -c " + shell_quote(member("background")) + quiet + " & ";
    text += "setsid sh -c " + shell_quote(member("setsid")) + quiet + " & ";
    text += "(sh -c " + shell_quote(member("orphan")) + quiet + " &); ";
    text += then.empty() ? member("main") : "echo $$ > " + shell_quote(pid_file("main")) + "; " + then;
    return text;
}

bool CommandTree::wait_started() const {
    return wait_until([&] {
        for (const std::string& name : names()) {
            if (!exists(pid_file(name)) || (name != "main" && !exists(pid_file(name + ".sleep")))) {
                return false;
            }
            // Until the shell's child has become `sleep`, it still has the
            // shell's trap handlers, and a SIGTERM caught then is lost at exec.
            const std::string sleeper = pid_file(name + ".sleep");
            if (exists(sleeper) && process_name(read_pid(sleeper)) != "sleep") {
                return false;
            }
        }
        return true;
    });
}

pid_t CommandTree::pid_of(const std::string& name) const {
    return read_pid(pid_file(name));
}

std::vector<std::string> CommandTree::running() const {
    std::vector<std::string> alive;
    for (const std::string& name : names()) {
        const pid_t pid = pid_of(name);
        const pid_t sleeper = read_pid(pid_file(name + ".sleep"));
        const bool runs = (pid > 0 && process_running(pid)) || (sleeper > 0 && process_running(sleeper));
        if (runs) {
            alive.push_back(name);
        }
    }
    return alive;
}

std::string CommandTree::probe(const std::string& output) const {
    std::string text = "for name in main background setsid orphan; do for file in " +
                       shell_quote(m_directory / "tree.") + "$name.pid " + shell_quote(m_directory / "tree.") +
                       "$name.sleep.pid; do ";
    // Field 3 of /proc/PID/stat is the state; a zombie has ended.
    text += "[ -f \"$file\" ] && p=$(cat \"$file\") && [ -r /proc/$p/stat ] && "
            "[ \"$(cut -d' ' -f3 /proc/$p/stat)\" != Z ] && echo $name; ";
    text += "done; done | uniq > " + shell_quote(output);
    return text;
}

bool CommandTree::has_started() const {
    for (const std::string& name : names()) {
        if (pid_of(name) <= 0 || (name != "main" && read_pid(pid_file(name + ".sleep")) <= 0)) {
            return false;
        }
    }
    return true;
}

void CommandTree::forget() {
    signal_all(SIGKILL);
    for (const std::string& name : names()) {
        for (const std::string& file : {pid_file(name), pid_file(name + ".sleep"),
                                        m_directory / ("tree." + name + ".term")}) {
            std::remove(file.c_str());
        }
    }
}

Result run_time_limited(CommandTree& tree, const std::vector<std::string>& arguments) {
    for (double limit = 0.25;; limit *= 2) {
        tree.forget();
        std::vector<std::string> words = arguments;
        for (std::string& word : words) {
            if (word == "LIMIT") {
                word = std::to_string(limit);
            }
        }
        Result result = run_plock(words);
        if (tree.has_started() || limit > 60) {
            return result;
        }
    }
}

bool CommandTree::got_term(const std::string& name) const {
    return exists(m_directory / ("tree." + name + ".term"));
}

}  // namespace plock::test
