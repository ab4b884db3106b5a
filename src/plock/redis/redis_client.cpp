// RedisClient: connecting with a deadline, and commands over a non-blocking
// socket that we poll ourselves.
//
// Why not hiredis's own connection: its blocking context opens sockets
// without SOCK_CLOEXEC (a command started in between would inherit them),
// bounds waits only with SO_RCVTIMEO, and in 0.14 cannot give one deadline to
// a connect that tries several addresses. Owning the socket gives all three,
// and lets the lock wait for a release notification and a signal in one poll.
#include "plock/redis/redis_client.hpp"

#include <hiredis.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <new>

#include "plock/sys/error.hpp"

namespace plock {
namespace {

constexpr std::size_t k_read_chunk = 16 * 1024;


// Waits until `fd` reports one of `events` or the deadline passes; returns
// the events, 0 at the deadline.
short wait_for_events(int fd, short events, Clock::time_point deadline) {
    for (;;) {
        pollfd entry{fd, events, 0};
        const timespec timeout = remaining_until(deadline);
        const int ready = ppoll(&entry, 1, &timeout, nullptr);
        if (ready > 0) {
            return entry.revents;
        }
        if (ready < 0 && errno != EINTR) {
            throw SystemError(Operation::system, "a wait for Redis", errno);
        }
        if (ready == 0 && Clock::now() >= deadline) {
            return 0;
        }
    }
}

std::string seconds_text(Clock::duration duration) {
    char text[32];
    std::snprintf(text, sizeof text, "%.3g", std::chrono::duration<double>(duration).count());
    return std::string(text) + "s";
}

// A non-blocking, close-on-exec stream socket connected to `address`, or an
// empty descriptor with `error` set.
UniqueFd connect_socket(int family, const sockaddr* address, socklen_t length,
                        Clock::time_point deadline, int& error) {
    UniqueFd fd(socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd) {
        error = errno;
        return {};
    }
    if (connect(fd.get(), address, length) == 0) {
        return fd;
    }
    // EINTR leaves the connection going on in the background, like EINPROGRESS.
    if (errno != EINPROGRESS && errno != EINTR) {
        error = errno;
        return {};
    }
    if (wait_for_events(fd.get(), POLLOUT, deadline) == 0) {
        error = ETIMEDOUT;
        return {};
    }
    int socket_error = 0;
    socklen_t size = sizeof socket_error;
    if (getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &socket_error, &size) != 0) {
        socket_error = errno;
    }
    if (socket_error != 0) {
        error = socket_error;
        return {};
    }
    return fd;
}

void tune_tcp_socket(int fd) noexcept {
    // Commands are small and a lock's latency is one round trip: no Nagle delay.
    const int on = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
    // A waiter may sit idle on its subscription for hours: notice a server
    // that vanished without closing the connection within about half a minute.
    const int idle = 15;
    const int interval = 5;
    const int count = 3;
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on);
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof interval);
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &count, sizeof count);
}

RedisValue convert(const redisReply& reply) {
    RedisValue value;
    switch (reply.type) {
    case REDIS_REPLY_STRING:
        value.type = RedisValue::Type::string;
        value.text.assign(reply.str, reply.len);
        break;
    case REDIS_REPLY_STATUS:
        value.type = RedisValue::Type::status;
        value.text.assign(reply.str, reply.len);
        break;
    case REDIS_REPLY_ERROR:
        value.type = RedisValue::Type::error;
        value.text.assign(reply.str, reply.len);
        break;
    case REDIS_REPLY_INTEGER:
        value.type = RedisValue::Type::integer;
        value.integer = reply.integer;
        break;
    case REDIS_REPLY_ARRAY:
        value.type = RedisValue::Type::array;
        value.elements.reserve(reply.elements);
        for (std::size_t index = 0; index < reply.elements; ++index) {
            value.elements.push_back(convert(*reply.element[index]));
        }
        break;
    default:
        value.type = RedisValue::Type::nil;
        break;
    }
    return value;
}

bool starts_with(const std::string& text, std::string_view prefix) {
    return text.compare(0, prefix.size(), prefix) == 0;
}

}  // namespace

void RedisClient::ReaderDeleter::operator()(redisReader* reader) const noexcept {
    redisReaderFree(reader);
}

RedisClient::RedisClient(UniqueFd fd, std::string description)
    : m_fd(std::move(fd)), m_reader(redisReaderCreate()), m_description(std::move(description)) {
    if (!m_reader) {
        throw std::bad_alloc();
    }
}

RedisClient::RedisClient(RedisClient&&) noexcept = default;
RedisClient& RedisClient::operator=(RedisClient&&) noexcept = default;
RedisClient::~RedisClient() = default;

RedisClient RedisClient::connect(const RedisEndpoint& endpoint, Clock::time_point deadline) {
    const auto started = Clock::now();
    const std::string description = "Redis at " + endpoint.display();
    const auto unreachable = [&](int error) {
        return SystemError(Operation::reach, description, error,
                           error == ETIMEDOUT ? "no connection within " + seconds_text(Clock::now() - started)
                                              : std::string());
    };
    UniqueFd fd;
    int error = ECONNREFUSED;
    if (endpoint.transport == RedisEndpoint::Transport::unix_socket) {
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        if (endpoint.socket_path.size() >= sizeof address.sun_path) {
            throw SystemError(Operation::reach, description, ENAMETOOLONG);
        }
        std::memcpy(address.sun_path, endpoint.socket_path.c_str(), endpoint.socket_path.size() + 1);
        fd = connect_socket(AF_UNIX, reinterpret_cast<const sockaddr*>(&address), sizeof address,
                            deadline, error);
    } else {
        addrinfo hints{};
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        hints.ai_flags = AI_NUMERICSERV;
        addrinfo* addresses = nullptr;
        const std::string port = std::to_string(endpoint.port);
        const int status = getaddrinfo(endpoint.host.c_str(), port.c_str(), &hints, &addresses);
        if (status != 0) {
            const int number = status == EAI_SYSTEM ? errno : EHOSTUNREACH;
            throw SystemError(Operation::reach, description, number,
                              status == EAI_SYSTEM ? std::string() : gai_strerror(status));
        }
        const std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> owned(addresses, freeaddrinfo);
        for (const addrinfo* entry = addresses; entry != nullptr && !fd; entry = entry->ai_next) {
            fd = connect_socket(entry->ai_family, entry->ai_addr, entry->ai_addrlen, deadline, error);
        }
        if (fd) {
            tune_tcp_socket(fd.get());
        }
    }
    if (!fd) {
        throw unreachable(error);
    }
    RedisClient client(std::move(fd), description);
    client.authenticate(endpoint, deadline);
    return client;
}

void RedisClient::authenticate(const RedisEndpoint& endpoint, Clock::time_point deadline) {
    // Pipelined: one round trip for both.
    if (endpoint.password) {
        send(endpoint.user.empty() ? std::vector<std::string>{"AUTH", *endpoint.password}
                                   : std::vector<std::string>{"AUTH", endpoint.user, *endpoint.password},
             deadline);
    }
    if (endpoint.database != 0) {
        send({"SELECT", std::to_string(endpoint.database)}, deadline);
    }
    if (endpoint.password) {
        const auto started = Clock::now();
        std::optional<RedisValue> reply;
        while (!(reply = parsed_reply())) {
            read_available(true, deadline, started);
        }
        if (reply->is_error()) {
            m_fd.reset();
            throw SystemError(Operation::authenticate, m_description, EACCES, reply->text);
        }
    }
    if (endpoint.database != 0) {
        const RedisValue reply = receive(deadline);
        if (reply.is_error()) {
            m_fd.reset();
            throw UsageError("cannot select database " + std::to_string(endpoint.database) + " of " +
                             m_description + ": " + reply.text);
        }
    }
}

RedisValue RedisClient::command(const std::vector<std::string>& arguments, Clock::time_point deadline) {
    send(arguments, deadline);
    return receive(deadline);
}

void RedisClient::send(const std::vector<std::string>& arguments, Clock::time_point deadline) {
    if (!m_fd) {
        fail(ENOTCONN, "the connection was closed after an earlier failure");
    }
    std::vector<const char*> words;
    std::vector<std::size_t> lengths;
    for (const std::string& argument : arguments) {
        words.push_back(argument.data());
        lengths.push_back(argument.size());
    }
    char* formatted = nullptr;
    const int length = redisFormatCommandArgv(&formatted, static_cast<int>(words.size()), words.data(),
                                              lengths.data());
    if (length < 0) {
        throw std::bad_alloc();
    }
    const std::unique_ptr<char, decltype(&redisFreeCommand)> owned(formatted, redisFreeCommand);
    std::size_t written = 0;
    while (written < static_cast<std::size_t>(length)) {
        // MSG_NOSIGNAL: a server that went away must not kill us with SIGPIPE.
        const ssize_t count = ::send(m_fd.get(), formatted + written,
                                     static_cast<std::size_t>(length) - written, MSG_NOSIGNAL);
        if (count > 0) {
            written += static_cast<std::size_t>(count);
        } else if (count < 0 && errno == EAGAIN) {
            if (wait_for_events(m_fd.get(), POLLOUT, deadline) == 0) {
                fail(ETIMEDOUT, "the server accepts no data");
            }
        } else if (count < 0 && (errno == EPIPE || errno == ECONNRESET)) {
            const int error = errno;
            fail(error, "the server closed the connection");
        } else if (count < 0 && errno != EINTR) {
            fail(errno);
        }
    }
}

RedisValue RedisClient::receive(Clock::time_point deadline) {
    const auto started = Clock::now();
    for (;;) {
        if (std::optional<RedisValue> reply = parsed_reply()) {
            if (reply->is_error() && (starts_with(reply->text, "NOAUTH") || starts_with(reply->text, "NOPERM"))) {
                m_fd.reset();
                throw SystemError(Operation::authenticate, m_description, EACCES,
                                  starts_with(reply->text, "NOAUTH")
                                      ? "the server requires a password (" + reply->text + ")"
                                      : reply->text);
            }
            return std::move(*reply);
        }
        read_available(true, deadline, started);
    }
}

std::optional<RedisValue> RedisClient::receive_ready() {
    if (std::optional<RedisValue> reply = parsed_reply()) {
        return reply;
    }
    if (!read_available(false, Clock::now(), Clock::now())) {
        return std::nullopt;
    }
    return parsed_reply();
}

bool RedisClient::peer_closed() const {
    if (!m_fd) {
        return true;
    }
    pollfd entry{m_fd.get(), POLLIN | POLLRDHUP, 0};
    return poll(&entry, 1, 0) != 0;
}

std::optional<RedisValue> RedisClient::parsed_reply() {
    void* reply = nullptr;
    if (redisReaderGetReply(m_reader.get(), &reply) != REDIS_OK) {
        fail(EPROTO, std::string("not a Redis reply (") + m_reader->errstr + ")");
    }
    if (reply == nullptr) {
        return std::nullopt;
    }
    const std::unique_ptr<void, decltype(&freeReplyObject)> owned(reply, freeReplyObject);
    return convert(*static_cast<const redisReply*>(reply));
}

// Reads what has arrived into the parser; with `wait`, waits for something
// to arrive first. Returns whether anything was read.
bool RedisClient::read_available(bool wait, Clock::time_point deadline, Clock::time_point started) {
    if (!m_fd) {
        fail(ENOTCONN, "the connection was closed after an earlier failure");
    }
    if (wait && wait_for_events(m_fd.get(), POLLIN, deadline) == 0) {
        fail(ETIMEDOUT, "no reply within " + seconds_text(Clock::now() - started));
    }
    char buffer[k_read_chunk];
    const ssize_t count = retry_on_eintr([&] { return recv(m_fd.get(), buffer, sizeof buffer, MSG_DONTWAIT); });
    if (count == 0) {
        fail(ECONNRESET, "the server closed the connection");
    }
    if (count < 0) {
        if (errno == EAGAIN) {
            return false;
        }
        // A reset is a close that found our request unread.
        const int error = errno;
        fail(error, error == ECONNRESET ? "the server closed the connection" : std::string());
    }
    if (redisReaderFeed(m_reader.get(), buffer, static_cast<std::size_t>(count)) != REDIS_OK) {
        fail(EPROTO, std::string("not a Redis reply (") + m_reader->errstr + ")");
    }
    return true;
}

void RedisClient::fail(int error_number, const std::string& explanation) {
    m_fd.reset();
    throw SystemError(Operation::reach, m_description, error_number, explanation);
}

}  // namespace plock
