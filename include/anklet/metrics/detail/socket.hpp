// anklet::metrics socket setup shared by the HTTP server and the Redis client, written once
// for every POSIX system: Linux sets the flags atomically (SOCK_CLOEXEC, accept4), macOS
// and others get them from fcntl right after the call, and where send() has no
// MSG_NOSIGNAL the socket itself is told not to raise SIGPIPE (SO_NOSIGPIPE). A library
// must not install a SIGPIPE handler, so one of the two must hold on every socket.
#pragma once

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

namespace anklet::metrics::detail {

/// Flags for send() and sendmsg(): no SIGPIPE where the system has the flag (elsewhere
/// every socket gets SO_NOSIGPIPE from open_socket and accept_socket).
#if defined(MSG_NOSIGNAL)
inline constexpr int send_nosignal = MSG_NOSIGNAL;
#else
inline constexpr int send_nosignal = 0;
#endif

/// Sets O_NONBLOCK (unless `nonblocking` is false) and FD_CLOEXEC; false when fcntl failed.
inline bool set_nonblocking_cloexec(int fd, bool nonblocking = true) noexcept {
  const int flags = ::fcntl(fd, F_GETFL, 0);
  if (flags < 0 || (nonblocking && ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)) return false;
  const int fdflags = ::fcntl(fd, F_GETFD, 0);
  return fdflags >= 0 && ::fcntl(fd, F_SETFD, fdflags | FD_CLOEXEC) >= 0;
}

/// Where the system has SO_NOSIGPIPE (macOS, the BSDs), writes to a closed peer fail with
/// EPIPE instead of killing the process; a no-op elsewhere.
inline void set_nosigpipe([[maybe_unused]] int fd) noexcept {
#if defined(SO_NOSIGPIPE)
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof one);
#endif
}

/// socket(2), close-on-exec and (unless `nonblocking` is false) non-blocking, with SIGPIPE
/// suppressed; -1 and errno on failure. Descriptors are never left half set up: a failing
/// fcntl closes the socket.
inline int open_socket(int family, int type, int protocol, bool nonblocking = true) noexcept {
#if defined(SOCK_CLOEXEC) && defined(SOCK_NONBLOCK)
  const int fd = ::socket(family, type | SOCK_CLOEXEC | (nonblocking ? SOCK_NONBLOCK : 0), protocol);
  if (fd < 0) return -1;
#else
  const int fd = ::socket(family, type, protocol);
  if (fd < 0) return -1;
  if (!set_nonblocking_cloexec(fd, nonblocking)) {
    const int err = errno;
    ::close(fd);
    errno = err;
    return -1;
  }
#endif
  set_nosigpipe(fd);
  return fd;
}

/// accept(2) of one connection, close-on-exec and (unless `nonblocking` is false)
/// non-blocking, SIGPIPE suppressed; -1 and errno as accept sets them. Without accept4, a connection whose flags cannot be set is
/// closed and reported as ECONNABORTED, like a client that went away before the accept.
inline int accept_socket(int listener, bool nonblocking = true) noexcept {
#if defined(__linux__) || defined(__FreeBSD__)
  const int fd = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC | (nonblocking ? SOCK_NONBLOCK : 0));
  if (fd < 0) return -1;
#else
  const int fd = ::accept(listener, nullptr, nullptr);
  if (fd < 0) return -1;
  if (!set_nonblocking_cloexec(fd, nonblocking)) {
    ::close(fd);
    errno = ECONNABORTED;
    return -1;
  }
#endif
  set_nosigpipe(fd);
  return fd;
}

}  // namespace anklet::metrics::detail
