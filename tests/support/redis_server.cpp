// Implementation of the private redis-server for tests.
#include "redis_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>

namespace plock::test {
namespace {

constexpr int k_start_attempts = 5;

class Socket {
public:
    Socket() : m_fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {}
    ~Socket() {
        if (m_fd >= 0) close(m_fd);
    }
    Socket(const Socket&) = delete;
    Socket& operator=(const Socket&) = delete;
    int get() const noexcept { return m_fd; }

private:
    int m_fd;
};

sockaddr_in loopback(int port) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return address;
}

// A Redis server answers PING with +PONG, or -NOAUTH when it wants a password.
bool answers_ping(int port) {
    Socket connection;
    const sockaddr_in address = loopback(port);
    if (connect(connection.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
        return false;
    }
    if (write(connection.get(), "PING\r\n", 6) != 6) {
        return false;
    }
    pollfd entry{connection.get(), POLLIN, 0};
    if (poll(&entry, 1, 1000) != 1) {
        return false;
    }
    char reply[64] = {};
    const ssize_t count = read(connection.get(), reply, sizeof reply - 1);
    const std::string text(reply, count > 0 ? static_cast<std::size_t>(count) : 0);
    return text.rfind("+PONG", 0) == 0 || text.rfind("-NOAUTH", 0) == 0;
}

}  // namespace

bool port_accepts_connections(int port) {
    Socket connection;
    const sockaddr_in address = loopback(port);
    return connect(connection.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0;
}

int unused_port() {
    Socket listener;
    sockaddr_in address = loopback(0);
    if (bind(listener.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
        throw std::runtime_error("cannot bind a loopback port");
    }
    socklen_t length = sizeof address;
    getsockname(listener.get(), reinterpret_cast<sockaddr*>(&address), &length);
    return ntohs(address.sin_port);
}

RedisServer::RedisServer() : RedisServer(Options{}) {}

RedisServer::RedisServer(Options options) : m_options(std::move(options)) {
    for (int attempt = 0; attempt < k_start_attempts; ++attempt) {
        // Another process may take the port between our choice and the
        // server's bind; the server then exits, and we try another.
        if (start_on(unused_port())) {
            return;
        }
    }
    throw std::runtime_error("redis-server did not start (is it installed? Debian package: redis-server); "
                             "its log: " + read_file(m_directory / "redis.log"));
}

RedisServer::~RedisServer() = default;

bool RedisServer::start_on(int port) {
    std::vector<std::string> argv{"redis-server", "--port", std::to_string(port), "--bind", "127.0.0.1",
                                  "--save", "", "--appendonly", "no", "--dir", m_directory.path(),
                                  "--unixsocket", socket_path(), "--unixsocketperm", "700",
                                  "--logfile", m_directory / "redis.log", "--daemonize", "no"};
    if (!m_options.password.empty()) {
        argv.insert(argv.end(), {"--requirepass", m_options.password});
    }
    m_process.emplace(Process::start(argv));
    m_port = port;
    const bool ready = wait_until([&] { return m_process->finished() || answers_ping(port); }, 20s);
    if (ready && !m_process->finished()) {
        return true;
    }
    m_process.reset();
    return false;
}

std::string RedisServer::url() const { return "redis://127.0.0.1:" + std::to_string(m_port); }

std::string RedisServer::socket_path() const { return m_directory / "redis.sock"; }

pid_t RedisServer::pid() const { return m_process ? m_process->pid() : -1; }

void RedisServer::kill() {
    if (m_process) {
        m_process->kill_group(SIGKILL);
        m_process.reset();  // reaps it
    }
}

void RedisServer::pause() {
    if (m_process) m_process->signal(SIGSTOP);
}

void RedisServer::resume() {
    if (m_process) m_process->signal(SIGCONT);
}

void RedisServer::restart() {
    kill();
    for (int attempt = 0; attempt < k_start_attempts; ++attempt) {
        if (start_on(m_port)) {
            return;
        }
    }
    throw std::runtime_error("redis-server did not start again on port " + std::to_string(m_port));
}

std::string RedisServer::cli(const std::vector<std::string>& arguments) const {
    std::vector<std::string> argv{"redis-cli", "-p", std::to_string(m_port)};
    argv.insert(argv.end(), arguments.begin(), arguments.end());
    RunOptions options;
    if (!m_options.password.empty()) {
        options.environment.emplace_back("REDISCLI_AUTH", m_options.password);
    }
    Result result = run(argv, options);
    if (result.status != 0) {
        throw std::runtime_error("redis-cli failed: " + result.err);
    }
    while (!result.out.empty() && result.out.back() == '\n') {
        result.out.pop_back();
    }
    return result.out;
}

}  // namespace plock::test
