// A command that is a real process tree, for the tests of containment: a
// shell that starts a background job, a process in a session of its own
// (setsid) and a double-forked orphan, each recording its PID in a file,
// then waits. Optionally every process ignores SIGTERM, or records that it
// got it. The destructor SIGKILLs whatever of the tree still runs, so a
// failed test leaves nothing behind.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "test_support.hpp"

namespace plock::test {

class CommandTree {
public:
    enum class OnTerm {
        exit,        // the default action
        ignore,      // trap '' TERM, inherited by every process of the tree
        record_and_exit,  // each shell writes NAME.term, then exits
    };

    CommandTree(const TempDir& directory, OnTerm on_term);
    ~CommandTree();
    CommandTree(const CommandTree&) = delete;
    CommandTree& operator=(const CommandTree&) = delete;

    // The sh -c argument. `then` runs in the main shell once the tree is
    // started (default: wait for SIGTERM or the end of the world).
    std::string script(const std::string& then = "") const;
    // Waits until every process of the tree has written its PID.
    bool wait_started() const;
    // Names of the processes: main, background, setsid, orphan.
    static const std::vector<std::string>& names();
    pid_t pid_of(const std::string& name) const;
    // The processes of the tree that still run (not zombies), by name.
    std::vector<std::string> running() const;
    // A shell command that writes to `output` the names of the processes of
    // the tree that run at that moment, one a line: for a plock that waits
    // for the tree's lock to run the moment it is let go.
    std::string probe(const std::string& output) const;
    // Sends `signal` to every process of the tree the test knows of.
    void signal_all(int signal) const;
    // Whether every process of the tree wrote its PID (it may have ended since).
    bool has_started() const;
    // Kills what runs of the tree and forgets it, to start it again.
    void forget();
    // Whether process `name` recorded a SIGTERM (OnTerm::record_and_exit).
    bool got_term(const std::string& name) const;

private:
    std::string pid_file(const std::string& name) const;
    std::vector<pid_t> recorded_pids() const;
    std::string member(const std::string& name) const;

    const TempDir& m_directory;
    OnTerm m_on_term;
};

// Runs plock with `arguments`, in which the word LIMIT stands for the time
// limit, starting from 0.25 seconds and doubling it until the whole tree had
// started before the limit struck: on a slow machine a short limit can stop
// the tree while it still starts, and the run would prove nothing.
Result run_time_limited(CommandTree& tree, const std::vector<std::string>& arguments);

}  // namespace plock::test
