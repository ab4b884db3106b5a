// The critical section of the chaos suite: the command each contender runs
// under the lock (or, for `plock update`, the filter). It does a
// read-increment-write of a shared counter and records what it saw in an
// event log the driver checks afterwards (see chaos.hpp for the checks).
//
//   plock_chaos_worker DIR RUN_ID MODE HOLD
//     MODE  file    the counter is DIR/counter.c, replaced with rename(2)
//           slot    one counter and marker per slot: DIR/counter.sK, K from
//                   PLOCK_SLOT (the semaphore's slot), which must be below
//                   PLOCK_CHAOS_SLOTS
//           filter  the counter is stdin, the new value goes to stdout
//                   (`plock update` writes it back)
//     HOLD  MAX or MIN-MAX: microseconds to stay inside, at random
//
// The counter holds "VALUE WRITER\n": WRITER is the run that wrote VALUE.
// Every run logs the VALUE and WRITER it read before it writes, so the chain
// of increments can be rebuilt exactly, even for runs killed between their
// write and their last log line.
//
// Overlap detector: the marker DIR/inside.DOMAIN, created atomically with
// link(2) from a complete temporary file (so it is never seen empty), holds
// "PID STARTTIME RUN". A run that finds the marker of a live process (same
// PID and start time, not a zombie) records an overlap: that process has not
// left its critical section. A marker whose owner is dead (killed inside) is
// stale and removed. Each run logs the CLOCK_MONOTONIC times at which it was
// inside, so the driver can also check that intervals never intersect.
//
// Event lines (each one write(2) to an O_APPEND file):
//   enter run=R start=NS             first thing, before the marker
//   read run=R domain=D value=V writer=W
//   torn run=R domain=D              the counter did not parse
//   overlap run=R domain=D owner=O
//   badslot run=R slot=S
//   done run=R domain=D value=V in=NS out=NS token=T
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>

#include "chaos_counter.hpp"

using plock::test::chaos::CounterText;
using plock::test::chaos::parse_counter;

namespace {

std::string g_events_path;

[[noreturn]] void fail(const std::string& what) {
    std::fprintf(stderr, "plock_chaos_worker: %s: %s\n", what.c_str(), std::strerror(errno));
    std::exit(70);
}

long long monotonic_ns() {
    timespec now{};
    clock_gettime(CLOCK_MONOTONIC, &now);
    return static_cast<long long>(now.tv_sec) * 1000000000LL + now.tv_nsec;
}

void log_event(const std::string& line) {
    const int fd = open(g_events_path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) fail("cannot open " + g_events_path);
    const std::string text = line + "\n";
    if (write(fd, text.data(), text.size()) != static_cast<ssize_t>(text.size())) fail("cannot log");
    close(fd);
}

bool read_whole(const std::string& path, std::string& content) {
    const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    content.clear();
    char buffer[4096];
    for (;;) {
        const ssize_t count = read(fd, buffer, sizeof buffer);
        if (count < 0 && errno == EINTR) continue;
        if (count < 0) fail("cannot read " + path);
        if (count == 0) break;
        content.append(buffer, static_cast<std::size_t>(count));
    }
    close(fd);
    return true;
}

void write_whole(int fd, const std::string& content, const std::string& what) {
    std::size_t done = 0;
    while (done < content.size()) {
        const ssize_t count = write(fd, content.data() + done, content.size() - done);
        if (count < 0 && errno == EINTR) continue;
        if (count < 0) fail("cannot write " + what);
        done += static_cast<std::size_t>(count);
    }
}

// Field 22 of /proc/PID/stat (start time in clock ticks) and field 3 (state).
bool process_identity(const std::string& pid, std::string& start_time, char& state) {
    std::string stat;
    if (!read_whole("/proc/" + pid + "/stat", stat)) return false;
    const auto paren = stat.rfind(')');
    if (paren == std::string::npos || paren + 2 >= stat.size()) return false;
    state = stat[paren + 2];
    std::size_t position = paren + 2;
    for (int field = 3; field < 22; ++field) {
        position = stat.find(' ', position);
        if (position == std::string::npos) return false;
        ++position;
    }
    start_time = stat.substr(position, stat.find(' ', position) - position);
    return true;
}

// "PID STARTTIME RUN" names a process that runs (or is stopped) now.
bool owner_alive(const std::string& marker, std::string& owner_run) {
    char pid[32] = {}, start[32] = {}, run[64] = {};
    if (std::sscanf(marker.c_str(), "%31s %31s %63s", pid, start, run) != 3) {
        owner_run = "unparsable";
        return true;  // cannot happen (link of a complete file): report it
    }
    owner_run = run;
    std::string actual_start;
    char state = 0;
    if (!process_identity(pid, actual_start, state)) return false;
    return actual_start == start && state != 'Z' && state != 'X';
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 5) {
        std::fprintf(stderr, "usage: plock_chaos_worker DIR RUN_ID file|slot|filter [MIN-]MAX_MICROSECONDS\n");
        return 64;
    }
    const std::string directory = argv[1];
    const std::string run = argv[2];
    const std::string mode = argv[3];
    const char* dash = std::strchr(argv[4], '-');
    const long hold_minimum = dash ? std::atol(argv[4]) : 0;
    const long hold_limit = std::atol(dash ? dash + 1 : argv[4]);
    g_events_path = directory + "/events";
    const long long entered = monotonic_ns();
    log_event("enter run=" + run + " start=" + std::to_string(entered));

    std::string domain = "c";
    if (mode == "slot") {
        const char* slot = std::getenv("PLOCK_SLOT");
        const char* slots = std::getenv("PLOCK_CHAOS_SLOTS");
        const long slot_number = slot ? std::atol(slot) : -1;
        if (!slot || !slots || slot_number < 0 || slot_number >= std::atol(slots) ||
            std::to_string(slot_number) != slot) {
            log_event("badslot run=" + run + " slot=" + (slot ? slot : "none"));
            return 1;
        }
        domain = "s" + std::to_string(slot_number);
    }

    // Enter: take the marker, or record whose live marker is in the way.
    const std::string marker = directory + "/inside." + domain;
    const std::string draft = directory + "/marker." + run;
    {
        std::string start_time;
        char state = 0;
        if (!process_identity("self", start_time, state)) fail("cannot read /proc/self/stat");
        const int fd = open(draft.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0) fail("cannot create " + draft);
        write_whole(fd, std::to_string(getpid()) + " " + start_time + " " + run + "\n", draft);
        close(fd);
    }
    bool own_marker = false;
    for (int attempt = 0; attempt < 100 && !own_marker; ++attempt) {
        if (link(draft.c_str(), marker.c_str()) == 0) {
            own_marker = true;
            break;
        }
        if (errno != EEXIST) fail("cannot link " + marker);
        std::string content, owner;
        if (!read_whole(marker, content)) continue;  // removed meanwhile
        if (owner_alive(content, owner)) {
            log_event("overlap run=" + run + " domain=" + domain + " owner=" + owner);
            break;
        }
        unlink(marker.c_str());  // its owner died inside: stale
    }
    unlink(draft.c_str());
    const long long inside = monotonic_ns();

    // Read.
    std::string text;
    const std::string counter_path = directory + "/counter." + domain;
    if (mode == "filter") {
        char buffer[4096];
        for (;;) {
            const ssize_t count = read(0, buffer, sizeof buffer);
            if (count < 0 && errno == EINTR) continue;
            if (count < 0) fail("cannot read stdin");
            if (count == 0) break;
            text.append(buffer, static_cast<std::size_t>(count));
        }
    } else if (!read_whole(counter_path, text)) {
        fail("cannot read " + counter_path);
    }
    const CounterText counter = parse_counter(text);
    if (!counter.parsed) {
        log_event("torn run=" + run + " domain=" + domain);
        return 1;
    }
    log_event("read run=" + run + " domain=" + domain + " value=" + std::to_string(counter.value) +
              " writer=" + counter.writer);

    // Stay inside a moment: long enough for a lock that does not exclude to
    // let someone in, and for the killer to hit a holder.
    if (hold_limit > 0) {
        std::random_device seed;
        std::uniform_int_distribution<long> hold(hold_minimum, hold_limit);
        usleep(static_cast<useconds_t>(hold(seed)));
    }

    // Write.
    const long long value = counter.value + 1;
    const std::string content = std::to_string(value) + " " + run + "\n";
    if (mode == "filter") {
        write_whole(1, content, "stdout");
    } else {
        const std::string temporary = directory + "/counter.new." + run;
        const int fd = open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0) fail("cannot create " + temporary);
        write_whole(fd, content, temporary);
        close(fd);
        if (rename(temporary.c_str(), counter_path.c_str()) != 0) fail("cannot rename to " + counter_path);
    }
    const long long leaving = monotonic_ns();
    const char* token = std::getenv("PLOCK_FENCING_TOKEN");
    log_event("done run=" + run + " domain=" + domain + " value=" + std::to_string(value) +
              " in=" + std::to_string(inside) + " out=" + std::to_string(leaving) + " token=" + (token ? token : "-"));

    // Leave: remove the marker if it is still ours.
    if (own_marker) {
        std::string content_now, owner;
        if (read_whole(marker, content_now)) {
            owner_alive(content_now, owner);
            if (owner == run) unlink(marker.c_str());
        }
    }
    return 0;
}
