// A private redis-server for tests: started on a free loopback port (and a
// unix socket) in its own temporary directory with persistence off, so the
// tests need no Redis of their own and never touch one that runs already.
// The test can kill, pause (SIGSTOP), resume and restart it.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "test_support.hpp"

namespace plock::test {

class RedisServer {
public:
    struct Options {
        std::string password;  // non-empty: started with --requirepass
    };

    // Starts the server and waits until it answers PING. Throws (failing the
    // test) when redis-server is missing or does not come up.
    RedisServer();
    explicit RedisServer(Options options);
    ~RedisServer();
    RedisServer(const RedisServer&) = delete;
    RedisServer& operator=(const RedisServer&) = delete;

    int port() const noexcept { return m_port; }
    std::string url() const;          // redis://127.0.0.1:PORT
    std::string socket_path() const;  // its unix socket
    pid_t pid() const;

    void kill();     // SIGKILL, and reap it
    void pause();    // SIGSTOP
    void resume();   // SIGCONT
    void restart();  // kill, then start again on the same port, empty

    // redis-cli ARGS... against this server: its output without the final newline.
    std::string cli(const std::vector<std::string>& arguments) const;

private:
    bool start_on(int port);

    Options m_options;
    TempDir m_directory;
    int m_port = 0;
    std::optional<Process> m_process;
};

// True when a loopback TCP port accepts connections (something listens).
bool port_accepts_connections(int port);
// A loopback port with nothing listening on it now.
int unused_port();

}  // namespace plock::test
