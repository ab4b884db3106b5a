// plock-bench-stamp FILE: appends the CLOCK_MONOTONIC time in nanoseconds to
// FILE. Used as the command whose start (or end) a benchmark measures; kept
// tiny so that its own start-up cost is small and the same for every tool.
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: plock-bench-stamp FILE\n");
        return 64;
    }
    timespec now{};
    clock_gettime(CLOCK_MONOTONIC, &now);
    char line[32];
    const int length = std::snprintf(line, sizeof line, "%lld\n",
                                     static_cast<long long>(now.tv_sec) * 1000000000LL + now.tv_nsec);
    const int fd = open(argv[1], O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0 || write(fd, line, static_cast<size_t>(length)) != length) {
        std::perror(argv[1]);
        return 1;
    }
    close(fd);
    return 0;
}
