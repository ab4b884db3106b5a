// UniqueFd: closing an owned descriptor.
#include "plock/sys/fd.hpp"

#include <unistd.h>

namespace plock {

void UniqueFd::reset(int fd) noexcept {
    if (m_fd >= 0) {
        // Linux releases the descriptor even when close() reports EINTR, so
        // retrying could close a descriptor another thread just opened.
        ::close(m_fd);
    }
    m_fd = fd;
}

}  // namespace plock
