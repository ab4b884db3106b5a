// The chaos harness (see chaos.hpp): runs the contenders, the killer and the
// Redis faults in one single-threaded loop, then checks the event log.
#include "chaos.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "chaos_counter.hpp"
#include "redis_server.hpp"
#include "test_support.hpp"

extern char** environ;

namespace plock::test::chaos {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

long long now_ns() {
    // steady_clock is CLOCK_MONOTONIC, the clock the worker logs.
    return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
}

// ---------------------------------------------------------------- processes

int pidfd_open(pid_t pid) { return static_cast<int>(syscall(SYS_pidfd_open, pid, 0)); }

bool pidfd_signal(int pidfd, int number) {
    return syscall(SYS_pidfd_send_signal, pidfd, number, nullptr, 0) == 0;
}

// The children of every thread of `pid`.
std::vector<pid_t> all_children(pid_t pid) {
    std::vector<pid_t> children;
    const std::string tasks = "/proc/" + std::to_string(pid) + "/task";
    DIR* directory = opendir(tasks.c_str());
    if (!directory) return children;
    while (const dirent* entry = readdir(directory)) {
        if (entry->d_name[0] == '.') continue;
        std::istringstream stream(read_file(tasks + "/" + entry->d_name + "/children"));
        pid_t child = 0;
        while (stream >> child) children.push_back(child);
    }
    closedir(directory);
    return children;
}

// Field 4 of /proc/PID/stat, or -1.
pid_t parent_of(pid_t pid) {
    const std::string stat = read_file("/proc/" + std::to_string(pid) + "/stat");
    const auto paren = stat.rfind(')');
    if (paren == std::string::npos) return -1;
    std::istringstream fields(stat.substr(paren + 2));
    std::string state;
    pid_t parent = -1;
    fields >> state >> parent;
    return parent;
}

// "PID STATE wchan=... syscall=... stderr-less cmdline", for it and its
// descendants: what a process that does not end is doing.
std::string describe_process_tree(pid_t pid) {
    const std::string proc = "/proc/" + std::to_string(pid);
    std::string stat = read_file(proc + "/stat");
    const auto paren = stat.rfind(')');
    std::string text = std::to_string(pid) + " state=" +
                       (paren != std::string::npos && paren + 2 < stat.size() ? stat.substr(paren + 2, 1) : "?") +
                       " wchan=" + read_file(proc + "/wchan") + " syscall=" + lines_of(read_file(proc + "/syscall") + "\n")[0];
    std::string command = read_file(proc + "/cmdline");
    std::replace(command.begin(), command.end(), '\0', ' ');
    text += " cmd=" + command.substr(0, 120);
    for (const pid_t child : all_children(pid)) text += " | child " + describe_process_tree(child);
    return text;
}

// Orphans are handed to us rather than to init, so that we reap them and can
// tell when the last one has ended. Undone at the end of the scenario.
class SubreaperScope {
public:
    SubreaperScope() { prctl(PR_SET_CHILD_SUBREAPER, 1); }
    ~SubreaperScope() { prctl(PR_SET_CHILD_SUBREAPER, 0); }
    SubreaperScope(const SubreaperScope&) = delete;
    SubreaperScope& operator=(const SubreaperScope&) = delete;
};

struct RunRecord {
    std::string id;
    pid_t pid = -1;
    long long spawned = 0;
    long long ended = 0;
    std::optional<int> status;
    std::string error_path;
    std::size_t restarts_before = 0;  // server restarts before it was started
};

pid_t spawn(const std::vector<std::string>& argv, const std::vector<std::string>& environment,
            const std::string& error_path) {
    std::vector<char*> arguments;
    for (const auto& word : argv) arguments.push_back(const_cast<char*>(word.c_str()));
    arguments.push_back(nullptr);
    std::vector<char*> variables;
    for (const auto& variable : environment) variables.push_back(const_cast<char*>(variable.c_str()));
    variables.push_back(nullptr);
    // The killer may strike the child before its exec: with every signal
    // blocked until the handlers are reset, a signal then does to the child
    // what it would do to plock, never run the test's own handlers.
    sigset_t all, previous;
    sigfillset(&all);
    sigprocmask(SIG_SETMASK, &all, &previous);
    const pid_t pid = fork();
    if (pid == 0) {
        for (int number = 1; number < NSIG; ++number) ::signal(number, SIG_DFL);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, nullptr);
        const int input = open("/dev/null", O_RDWR);
        const int error = open(error_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(input, 0);
        dup2(input, 1);
        dup2(error, 2);
        execve(arguments[0], arguments.data(), variables.data());
        _exit(127);
    }
    sigprocmask(SIG_SETMASK, &previous, nullptr);
    if (pid < 0) throw std::runtime_error("fork failed: " + std::string(std::strerror(errno)));
    return pid;
}

int shell_status(int wait_status) {
    return WIFSIGNALED(wait_status) ? 128 + WTERMSIG(wait_status) : WEXITSTATUS(wait_status);
}

std::string random_token(std::mt19937_64& random) {
    char text[17];
    std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(random()));
    return text;
}

// Processes whose environment carries `variable` (but not us).
std::vector<pid_t> processes_with(const std::string& variable) {
    std::vector<pid_t> found;
    DIR* proc = opendir("/proc");
    if (!proc) return found;
    while (const dirent* entry = readdir(proc)) {
        const pid_t pid = std::atoi(entry->d_name);
        if (pid <= 0 || pid == getpid()) continue;
        const std::string environment = read_file("/proc/" + std::to_string(pid) + "/environ");
        std::size_t start = 0;
        while (start < environment.size()) {
            const std::size_t end = environment.find('\0', start);
            if (environment.compare(start, (end == std::string::npos ? environment.size() : end) - start,
                                    variable) == 0) {
                if (process_running(pid)) found.push_back(pid);
                break;
            }
            if (end == std::string::npos) break;
            start = end + 1;
        }
    }
    closedir(proc);
    return found;
}

// ------------------------------------------------------------------ events

std::map<std::string, std::string> fields_of(const std::string& line, std::string& kind) {
    std::map<std::string, std::string> fields;
    std::istringstream stream(line);
    stream >> kind;
    std::string word;
    while (stream >> word) {
        const auto equals = word.find('=');
        if (equals != std::string::npos) fields[word.substr(0, equals)] = word.substr(equals + 1);
    }
    return fields;
}

struct Done {
    std::string domain;
    long long value = 0, in = 0, out = 0;
    std::optional<long long> token;
};

// A server restart: the old server got SIGKILL at `killed`, was reaped by
// `dead`; acquisitions in between may have been granted by either.
struct Restart {
    long long killed = 0, dead = 0;
};

class Harness {
public:
    explicit Harness(const Scenario& scenario) : m_scenario(scenario), m_random(std::random_device{}()) {
        m_totals.name = scenario.name;
        m_token_variable = "PLOCK_CHAOS_TOKEN=" + random_token(m_random);
        for (unsigned slot = 0; slot < m_scenario.slots; ++slot) {
            m_domains.push_back(m_scenario.slots > 1 ? "s" + std::to_string(slot) : "c");
        }
        for (const auto& domain : m_domains) write_file(counter_path(domain), "0 init\n");
        if (m_scenario.redis) m_server.emplace();
        for (char** variable = environ; *variable; ++variable) {
            if (std::strncmp(*variable, "PLOCK_", 6) != 0) m_environment.emplace_back(*variable);
        }
        m_environment.push_back(m_token_variable);
        m_environment.push_back("PLOCK_CHAOS_SLOTS=" + std::to_string(m_scenario.slots));
    }

    Totals run() {
        const SubreaperScope subreaper;
        const auto start = Clock::now();
        const auto end = start + m_scenario.duration;
        // Past `end`, it goes on until enough has happened to prove
        // something, however slow the machine; only a machine that gets
        // almost nothing done in give_up_after ends it short (and fails).
        const auto give_up = start + m_scenario.give_up_after;
        auto next_kill = start + next_kill_delay();
        // Faults alternate, a restart first: at least one of each in 10 s.
        const auto fault_period = std::max<Clock::duration>(
            m_scenario.lease + 1500ms, std::min<Clock::duration>(6s, m_scenario.duration / 4));
        auto next_fault = start + fault_period;
        bool restart_next = true;
        bool paused = false;
        Clock::time_point resume_at{};
        Clock::time_point armed_at{};

        while (Clock::now() < end || !enough()) {
            if (Clock::now() >= give_up) {
                problem("gave up after " + std::to_string(m_scenario.give_up_after.count() / 1000) +
                        " s without reaching the minimum of the scenario: " + m_totals.summary());
                break;
            }
            reap();
            while (static_cast<int>(m_running.size()) < m_scenario.contenders) start_contender();
            const auto now = Clock::now();
            if (m_scenario.kill && now >= next_kill) {
                kill_someone();
                next_kill = now + next_kill_delay();
            }
            continue_stopped(false);
            if (m_server) {
                if (paused && now >= resume_at) {
                    m_server->resume();
                    paused = false;
                    next_fault = now + fault_period;
                } else if (!paused && !m_armed && now >= next_fault) {
                    // The next contender stays inside for longer than the
                    // lease; the fault strikes once it is in.
                    m_armed = true;
                    m_fault_run.clear();
                    armed_at = now;
                } else if (m_armed && (fault_holder_inside() || now >= armed_at + 10s)) {
                    m_armed = false;
                    if (restart_next) {
                        restart_server();
                        next_fault = Clock::now() + fault_period;
                    } else {
                        m_server->pause();
                        ++m_totals.pauses;
                        paused = true;
                        resume_at = now + m_scenario.lease + 1s;  // past the lease
                    }
                    restart_next = !restart_next;
                }
            }
            check_counters_unlocked();
            std::this_thread::sleep_for(1ms);
        }
        if (paused) m_server->resume();
        continue_stopped(true);
        drain();
        m_totals.seconds = std::chrono::duration<double>(Clock::now() - start).count();
        analyse();
        return m_totals;
    }

private:
    std::string counter_path(const std::string& domain) const { return m_directory / ("counter." + domain); }

    // Enough runs, successes and faults for the scenario's checks to mean
    // something (Scenario::minimum_iterations and the rest).
    bool enough() const {
        if (m_totals.iterations < m_scenario.minimum_iterations || m_totals.successes < m_scenario.minimum_successes) {
            return false;
        }
        if (m_scenario.kill && (m_totals.sigkill == 0 || m_totals.sigterm == 0 || m_totals.sigstop == 0)) {
            return false;
        }
        // Successes during which the server was not restarted: those are the
        // holders the fencing check always counts.
        return !m_server || (m_totals.restarts > 0 && m_totals.pauses > 0 &&
                             m_successes_within_one_server >= m_scenario.minimum_successes);
    }

    Clock::duration next_kill_delay() {
        const auto interval = static_cast<int>(m_scenario.kill_interval.count());
        std::uniform_int_distribution<int> delay(interval / 3, interval * 5 / 3);
        return milliseconds(delay(m_random));
    }

    void start_contender() {
        RunRecord run;
        run.id = "r" + std::to_string(++m_sequence);
        std::string hold = std::to_string(m_scenario.hold_microseconds);
        if (m_armed && m_fault_run.empty()) {
            m_fault_run = run.id;
            const auto lease = std::chrono::duration_cast<std::chrono::microseconds>(m_scenario.lease).count();
            hold = std::to_string(lease + 1000000) + "-" + std::to_string(lease + 1000000);
        }
        const std::vector<std::string> worker{worker_binary(), m_directory.path(), run.id, m_scenario.worker_mode,
                                              hold};
        const auto argv = m_scenario.command(worker, m_directory.path(), m_server ? m_server->url() : "");
        run.error_path = m_directory / ("stderr." + run.id);
        run.spawned = now_ns();
        run.pid = spawn(argv, m_environment, run.error_path);
        run.restarts_before = m_restarts.size();
        ++m_totals.iterations;
        m_running.push_back(m_runs.size());
        m_runs.push_back(std::move(run));
    }

    // The contender chosen to be inside when the server fails holds the marker.
    bool fault_holder_inside() const {
        if (m_fault_run.empty()) return false;
        const std::string marker = read_file(m_directory / "inside.c");
        return marker.size() > m_fault_run.size() + 1 &&
               marker.compare(marker.size() - m_fault_run.size() - 2, m_fault_run.size() + 2,
                              " " + m_fault_run + "\n") == 0;
    }

    // Reaps the contenders that ended and the orphans handed to us.
    void reap() {
        for (auto index = m_running.begin(); index != m_running.end();) {
            RunRecord& run = m_runs[*index];
            int status = 0;
            if (waitpid(run.pid, &status, WNOHANG) == run.pid) {
                run.status = shell_status(status);
                run.ended = now_ns();
                ++m_totals.statuses[*run.status];
                if (*run.status == 0) {
                    ++m_totals.successes;
                    if (run.restarts_before == m_restarts.size()) ++m_successes_within_one_server;
                }
                struct stat error {};
                if (stat(run.error_path.c_str(), &error) == 0 && error.st_size == 0) unlink(run.error_path.c_str());
                index = m_running.erase(index);
            } else {
                ++index;
            }
        }
        const pid_t server = m_server ? m_server->pid() : -1;
        for (const pid_t child : all_children(getpid())) {
            if (child == server || is_running_contender(child)) continue;
            int status = 0;
            if (waitpid(child, &status, WNOHANG) == child) ++m_totals.orphans;
        }
    }

    bool is_running_contender(pid_t pid) const {
        return std::any_of(m_running.begin(), m_running.end(),
                           [&](std::size_t index) { return m_runs[index].pid == pid; });
    }

    // One signal to a random contender or one of its children. The contender
    // is our unreaped child, so its PID cannot be reused; a child is pinned
    // with a pidfd, then confirmed to be the contender's child still.
    void kill_someone() {
        if (m_running.empty()) return;
        std::uniform_int_distribution<std::size_t> pick(0, m_running.size() - 1);
        const RunRecord& chosen = m_runs[m_running[pick(m_random)]];
        if (chosen.id == m_fault_run) return;  // it must live to see the fault
        const pid_t contender = chosen.pid;
        pid_t target = contender;
        const auto children = all_children(contender);
        if (!children.empty() && std::bernoulli_distribution(0.6)(m_random)) {
            target = children[std::uniform_int_distribution<std::size_t>(0, children.size() - 1)(m_random)];
        }
        const int pidfd = pidfd_open(target);
        if (pidfd < 0) return;
        if (target != contender && (parent_of(target) != contender ||
                                    (m_scenario.only_worker_children && !runs_worker(target)))) {
            close(pidfd);
            return;
        }
        const double choice = std::uniform_real_distribution<double>(0, 1)(m_random);
        const int number = choice < 0.3 ? SIGKILL : choice < 0.6 ? SIGTERM : SIGSTOP;
        if (!pidfd_signal(pidfd, number)) {
            close(pidfd);
            return;
        }
        switch (number) {
        case SIGKILL: ++m_totals.sigkill; break;
        case SIGTERM: ++m_totals.sigterm; break;
        default:
            ++m_totals.sigstop;
            m_stopped.push_back(
                {pidfd, Clock::now() + milliseconds(std::uniform_int_distribution<int>(5, 250)(m_random))});
            return;
        }
        close(pidfd);
    }

    static bool runs_worker(pid_t pid) {
        char target[4096];
        const std::string link = "/proc/" + std::to_string(pid) + "/exe";
        const ssize_t length = readlink(link.c_str(), target, sizeof target - 1);
        return length > 0 && std::string(target, static_cast<std::size_t>(length)) == worker_binary();
    }

    void continue_stopped(bool all) {
        const auto now = Clock::now();
        for (auto stopped = m_stopped.begin(); stopped != m_stopped.end();) {
            if (all || now >= stopped->second) {
                pidfd_signal(stopped->first, SIGCONT);
                close(stopped->first);
                stopped = m_stopped.erase(stopped);
            } else {
                ++stopped;
            }
        }
    }

    void restart_server() {
        Restart restart;
        restart.killed = now_ns();
        m_server->kill();
        restart.dead = now_ns();
        m_restarts.push_back(restart);
        m_server->restart();
        ++m_totals.restarts;
    }

    // Readers without any lock must always find a whole counter.
    void check_counters_unlocked() {
        for (const auto& domain : m_domains) {
            const std::string text = read_file(counter_path(domain));
            if (!parse_counter(text).parsed) {
                ++m_totals.torn;
                m_totals.problems.push_back("an unlocked reader found counter." + domain + " torn: '" + text + "'");
            }
        }
    }

    // No new contenders: wait for the running ones and for every orphan.
    void drain() {
        const auto limit = Clock::now() + 120s;
        while (!m_running.empty() && Clock::now() < limit) {
            reap();
            std::this_thread::sleep_for(2ms);
        }
        for (const std::size_t index : m_running) {
            ++m_totals.unfinished;
            m_totals.problems.push_back("run " + m_runs[index].id + " (PID " + std::to_string(m_runs[index].pid) +
                                        ") did not end within 120 s of the end: " +
                                        describe_process_tree(m_runs[index].pid));
            kill(m_runs[index].pid, SIGKILL);
        }
        const pid_t server = m_server ? m_server->pid() : -1;
        const auto others = [&] {
            auto children = all_children(getpid());
            children.erase(std::remove(children.begin(), children.end(), server), children.end());
            return children;
        };
        const auto orphan_limit = Clock::now() + 20s;
        while (!others().empty() && Clock::now() < orphan_limit) {
            reap();
            std::this_thread::sleep_for(2ms);
        }
        reap();
        for (const pid_t pid : processes_with(m_token_variable)) {
            ++m_totals.leftovers;
            m_totals.problems.push_back("process " + std::to_string(pid) + " (" +
                                        read_file("/proc/" + std::to_string(pid) + "/cmdline") +
                                        ") is still running after every contender ended");
            kill(pid, SIGKILL);  // carries our token: one of ours
        }
        for (const std::size_t index : m_running) {
            int status = 0;
            waitpid(m_runs[index].pid, &status, 0);
        }
        m_running.clear();
        const auto last_limit = Clock::now() + 10s;
        while (!others().empty() && Clock::now() < last_limit) {
            reap();
            std::this_thread::sleep_for(2ms);
        }
        for (const pid_t child : others()) {
            ++m_totals.leftovers;
            m_totals.problems.push_back("child " + std::to_string(child) + " (" +
                                        read_file("/proc/" + std::to_string(child) + "/cmdline") +
                                        ") could not be reaped");
        }
    }

    // ------------------------------------------------------------ analysis

    const RunRecord* run_named(const std::string& id) const {
        const auto found = m_index.find(id);
        return found == m_index.end() ? nullptr : &m_runs[found->second];
    }

    // When run `id`'s worker started (the latest moment its lock was granted),
    // or its end when the worker never logged.
    long long granted_by(const std::string& id) const {
        const auto entered = m_entered.find(id);
        if (entered != m_entered.end()) return entered->second;
        const RunRecord* run = run_named(id);
        return run ? run->ended : 0;
    }

    // A restart empties the server: a holder that took the lock before it
    // (worker started before the kill) may still run when another takes the
    // lock from the new, empty server (granted after the old one was dead).
    // Documented (README: "this holds while the server keeps its data").
    bool straddles_restart(const std::string& earlier, const std::string& later) const {
        const auto earlier_entered = m_entered.find(earlier);
        if (earlier_entered == m_entered.end()) return false;
        for (const Restart& restart : m_restarts) {
            if (earlier_entered->second < restart.killed && restart.dead <= granted_by(later)) return true;
        }
        return false;
    }

    // The server epoch in which `id` got its lock, if only one is possible.
    std::optional<std::size_t> epoch_of(const std::string& id) const {
        const RunRecord* run = run_named(id);
        const auto entered = m_entered.find(id);
        if (!run || entered == m_entered.end()) return std::nullopt;
        std::size_t epoch = 0;
        for (const Restart& restart : m_restarts) {
            if (restart.killed < entered->second && restart.dead > run->spawned) return std::nullopt;
            if (restart.dead <= run->spawned) ++epoch;
        }
        return epoch;
    }

    void problem(const std::string& text) {
        if (m_totals.problems.size() < 40) m_totals.problems.push_back(text);
    }

    void analyse() {
        for (std::size_t index = 0; index < m_runs.size(); ++index) m_index[m_runs[index].id] = index;
        std::map<std::string, std::map<long long, std::set<std::string>>> written;  // domain -> value -> writers
        std::map<std::string, Done> done;
        std::vector<std::pair<std::string, std::string>> marker_pairs;  // (later, earlier)
        for (const auto& line : lines_of(read_file(m_directory / "events"))) {
            std::string kind;
            auto fields = fields_of(line, kind);
            if (kind == "enter") {
                m_entered[fields["run"]] = std::stoll(fields["start"]);
            } else if (kind == "read") {
                written[fields["domain"]][std::stoll(fields["value"])].insert(fields["writer"]);
            } else if (kind == "done") {
                Done record;
                record.domain = fields["domain"];
                record.value = std::stoll(fields["value"]);
                record.in = std::stoll(fields["in"]);
                record.out = std::stoll(fields["out"]);
                if (fields["token"] != "-") record.token = std::stoll(fields["token"]);
                done[fields["run"]] = record;
            } else if (kind == "overlap") {
                ++m_totals.marker_overlaps;
                marker_pairs.emplace_back(fields["run"], fields["owner"]);
            } else if (kind == "torn") {
                ++m_totals.torn;
                problem("run " + fields["run"] + " read a torn counter." + fields["domain"]);
            } else if (kind == "badslot") {
                ++m_totals.bad_slots;
                problem("run " + fields["run"] + " got PLOCK_SLOT=" + fields["slot"]);
            } else {
                problem("unknown event: " + line);
            }
        }

        // Overlapping pairs: from the markers, and from the inside intervals.
        std::set<std::pair<std::string, std::string>> pairs;  // (earlier, later)
        for (const auto& [later, earlier] : marker_pairs) pairs.emplace(earlier, later);
        std::map<std::string, std::vector<std::pair<const std::string*, const Done*>>> by_domain;
        for (const auto& [id, record] : done) by_domain[record.domain].emplace_back(&id, &record);
        for (auto& [domain, records] : by_domain) {
            std::sort(records.begin(), records.end(),
                      [](const auto& left, const auto& right) { return left.second->in < right.second->in; });
            const std::pair<const std::string*, const Done*>* latest = nullptr;  // the one leaving last so far
            for (const auto& record : records) {
                if (latest && record.second->in < latest->second->out) {
                    ++m_totals.interval_overlaps;
                    pairs.emplace(*latest->first, *record.first);
                }
                if (!latest || record.second->out > latest->second->out) latest = &record;
            }
        }
        std::set<std::string> excused_runs;
        for (const auto& [earlier, later] : pairs) {
            if (m_scenario.redis && straddles_restart(earlier, later)) {
                ++m_totals.excused_overlaps;
                excused_runs.insert(earlier);
                excused_runs.insert(later);
                continue;
            }
            ++m_totals.overlaps;
            problem("overlap: run " + later + " was inside while run " + earlier + " still was");
        }

        // The chain of increments, slot by slot.
        std::set<std::string> writers;
        for (const auto& domain : m_domains) {
            const std::string text = read_file(counter_path(domain));
            const CounterText final_counter = parse_counter(text);
            if (!final_counter.parsed) {
                ++m_totals.torn;
                problem("counter." + domain + " is torn at the end: '" + text + "'");
                continue;
            }
            auto& values = written[domain];
            values[final_counter.value].insert(final_counter.writer);
            m_totals.increments += final_counter.value;
            std::map<std::string, long long> value_of;
            for (long long value = 1; value <= final_counter.value; ++value) {
                const auto& by = values[value];
                const bool excused = std::any_of(by.begin(), by.end(),
                                                 [&](const std::string& id) { return excused_runs.count(id) > 0; });
                if (by.size() != 1 && !excused) {
                    ++m_totals.chain_errors;
                    problem("counter." + domain + ": value " + std::to_string(value) + " was written by " +
                            std::to_string(by.size()) + " runs");
                }
                for (const auto& id : by) {
                    if (value_of.count(id) && !excused_runs.count(id)) {
                        ++m_totals.chain_errors;
                        problem("run " + id + " wrote two values of counter." + domain);
                    }
                    value_of[id] = value;
                    writers.insert(id);
                }
            }
            for (const auto& [value, by] : values) {
                if (value > final_counter.value) {
                    ++m_totals.chain_errors;
                    problem("counter." + domain + " went back from " + std::to_string(value) + " to " +
                            std::to_string(final_counter.value));
                }
            }
        }
        for (const auto& run : m_runs) {
            const bool wrote = writers.count(run.id) > 0;
            if (run.status == 0 && !wrote) {
                if (excused_runs.count(run.id)) {
                    ++m_totals.excused_lost;
                } else {
                    ++m_totals.lost_increments;
                    problem("run " + run.id + " exited 0 but its increment is not in the counter");
                }
            }
            if (wrote && run.status != 0) ++m_totals.unreported;
        }
        for (const auto& id : writers) {
            if (id != "init" && !run_named(id)) {
                ++m_totals.chain_errors;
                problem("the counter names a writer that never ran: " + id);
            }
        }

        // Fencing tokens grow strictly, in the order the holders were inside,
        // among those that finished their critical section within one epoch.
        if (m_scenario.redis) {
            std::map<std::size_t, std::vector<std::pair<long long, std::pair<long long, std::string>>>> by_epoch;
            for (const auto& [id, record] : done) {
                const auto epoch = epoch_of(id);
                if (!epoch || !record.token || excused_runs.count(id)) continue;
                by_epoch[*epoch].push_back({record.in, {*record.token, id}});
            }
            for (auto& [epoch, holders] : by_epoch) {
                std::sort(holders.begin(), holders.end());
                m_totals.fencing_checked += static_cast<long>(holders.size());
                for (std::size_t index = 1; index < holders.size(); ++index) {
                    if (holders[index].second.first <= holders[index - 1].second.first) {
                        ++m_totals.fencing_violations;
                        problem("fencing token " + std::to_string(holders[index].second.first) + " of run " +
                                holders[index].second.second + " follows token " +
                                std::to_string(holders[index - 1].second.first) + " of run " +
                                holders[index - 1].second.second + " in server epoch " + std::to_string(epoch));
                    }
                }
            }
        }

        // What the contenders said when they failed: a sample, for the report.
        std::map<int, int> shown;
        for (const auto& run : m_runs) {
            if (run.status && *run.status != 0 && exists(run.error_path) && shown[*run.status]++ < 2) {
                const std::string text = read_file(run.error_path);
                if (!text.empty()) m_samples.push_back("  exit " + std::to_string(*run.status) + ": " + text);
            }
        }
        for (const auto& sample : m_samples) std::cout << sample << (sample.back() == '\n' ? "" : "\n");
    }

    const Scenario& m_scenario;
    std::mt19937_64 m_random;
    TempDir m_directory;
    std::optional<RedisServer> m_server;
    std::vector<std::string> m_domains;
    std::vector<std::string> m_environment;
    std::string m_token_variable;
    std::vector<RunRecord> m_runs;
    std::vector<std::size_t> m_running;
    std::vector<std::pair<int, Clock::time_point>> m_stopped;  // pidfd, when to continue it
    std::vector<Restart> m_restarts;
    long m_successes_within_one_server = 0;  // successes with no server restart while they ran
    std::map<std::string, std::size_t> m_index;
    std::map<std::string, long long> m_entered;
    std::vector<std::string> m_samples;
    long m_sequence = 0;
    bool m_armed = false;     // a server fault waits for its holder
    std::string m_fault_run;  // that holder
    Totals m_totals;
};

}  // namespace

std::string Totals::summary() const {
    std::ostringstream line;
    line << "chaos " << name << ": iterations=" << iterations << " successes=" << successes
         << " increments=" << increments << " unreported=" << unreported << " sigkill=" << sigkill
         << " sigterm=" << sigterm << " sigstop=" << sigstop << " overlaps=" << overlaps
         << " marker_overlaps=" << marker_overlaps << " interval_overlaps=" << interval_overlaps
         << " excused_overlaps=" << excused_overlaps << " lost=" << lost_increments
         << " excused_lost=" << excused_lost << " chain_errors=" << chain_errors
         << " torn=" << torn << " bad_slots=" << bad_slots << " leftovers=" << leftovers << " orphans=" << orphans
         << " unfinished=" << unfinished;
    if (restarts || pauses || fencing_checked) {
        line << " restarts=" << restarts << " pauses=" << pauses << " fencing_checked=" << fencing_checked
             << " fencing_violations=" << fencing_violations;
    }
    line << " statuses=";
    const char* separator = "";
    for (const auto& [status, count] : statuses) {
        line << separator << status << ":" << count;
        separator = ",";
    }
    char seconds_text[32];
    std::snprintf(seconds_text, sizeof seconds_text, "%.1f", seconds);
    line << " seconds=" << seconds_text;
    return line.str();
}

Totals run_scenario(const Scenario& scenario) {
    Harness harness(scenario);
    return harness.run();
}

std::string worker_binary() { return PLOCK_CHAOS_WORKER; }

std::chrono::milliseconds scenario_duration() {
    // Quick mode: 20 s a scenario (the five plock scenarios and the
    // self-test's few seconds take about 2 minutes; a scenario that has not
    // reached its minimum counts by then goes on until it has).
    long total_seconds = 100;
    if (const char* text = std::getenv("PLOCK_CHAOS_SECONDS")) {
        total_seconds = std::max(5L, std::atol(text));
    }
    return milliseconds(total_seconds * 1000 / 5);
}

}  // namespace plock::test::chaos
