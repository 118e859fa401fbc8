// anklet::metrics::redis sockets: resolving and connecting a target within a deadline, and
// waiting on a non-blocking socket. The client's connection setup, kept apart from the
// RESP exchange it then carries.
#pragma once

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <string>
#include <string_view>
#include <system_error>

#include "anklet/metrics/detail/socket.hpp"
#include "anklet/metrics/redis/error.hpp"
#include "anklet/metrics/redis/url.hpp"

namespace anklet::metrics::redis::detail {

using steady_point = std::chrono::steady_clock::time_point;

/// errc::io naming the call and the errno text.
[[nodiscard]] inline redis::error errno_error(std::string_view what, int err) {
  return {errc::io, std::string(what) + ": " + std::system_category().message(err)};
}

/// Milliseconds left before `deadline`, as poll(2) takes them.
[[nodiscard]] inline int poll_ms(steady_point deadline) {
  auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
  return left <= 0 ? 0 : static_cast<int>(std::min<long long>(left, 1 << 30));
}

/// Waits for `events` on `fd`; 0 on timeout, the revents otherwise, -1 with errno on failure.
inline int wait_fd(int fd, short events, steady_point deadline) {
  for (;;) {
    pollfd p{fd, events, 0};
    int n = ::poll(&p, 1, poll_ms(deadline));
    if (n > 0) return p.revents == 0 ? events : p.revents;
    if (n == 0) return 0;
    if (errno != EINTR) return -1;
  }
}

// A socket connected to one address, or the reason why not (no socket left open).
inline result<int> connect_address(int family, const sockaddr* addr, socklen_t len, steady_point deadline,
                                   std::chrono::milliseconds timeout, const std::string& name) {
  int fd = metrics::detail::open_socket(family, SOCK_STREAM, 0);
  if (fd < 0) return errno_error("socket", errno);
  int rc = ::connect(fd, addr, len);
  if (rc != 0 && errno != EINPROGRESS && errno != EINTR) {
    int err = errno;
    ::close(fd);
    return errno_error("connect " + name, err);
  }
  if (rc != 0) {
    int ev = wait_fd(fd, POLLOUT, deadline);
    if (ev == 0) {
      ::close(fd);
      return redis::error{errc::timeout, "connect " + name + ": timed out after " + std::to_string(timeout.count()) + " ms"};
    }
    int err = 0;
    socklen_t elen = sizeof err;
    if (ev < 0) err = errno;
    else if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) != 0) err = errno;
    if (err != 0) {
      ::close(fd);
      return errno_error("connect " + name, err);
    }
  }
  if (family != AF_UNIX) {
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  return fd;
}

/// A non-blocking socket connected to `t` (its Unix path, else each address its host
/// resolves to in turn) before `deadline`; `timeout` is what the deadline came from, for
/// the message. Host names are resolved with getaddrinfo, which has no timeout of its own.
inline result<int> connect_target(const connection_target& t, steady_point deadline, std::chrono::milliseconds timeout) {
  if (!t.unix_path.empty()) {
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    if (t.unix_path.size() >= sizeof sa.sun_path) {
      return redis::error{errc::invalid_argument,
                          "unix socket path longer than " + std::to_string(sizeof sa.sun_path - 1) + " bytes"};
    }
    std::memcpy(sa.sun_path, t.unix_path.data(), t.unix_path.size());
    return connect_address(AF_UNIX, reinterpret_cast<const sockaddr*>(&sa), sizeof sa, deadline, timeout, t.unix_path);
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* res = nullptr;
  const std::string port = std::to_string(t.port);
  const std::string name = (t.host.find(':') != std::string::npos ? "[" + t.host + "]" : t.host) + ":" + port;
  int gai = ::getaddrinfo(t.host.c_str(), port.c_str(), &hints, &res);
  if (gai != 0) return redis::error{errc::io, "resolve " + name + ": " + ::gai_strerror(gai)};
  result<int> r = redis::error{errc::io, "resolve " + name + ": no address"};
  for (addrinfo* a = res; a != nullptr; a = a->ai_next) {
    r = connect_address(a->ai_family, a->ai_addr, a->ai_addrlen, deadline, timeout, name);
    if (r || std::chrono::steady_clock::now() >= deadline) break;
  }
  ::freeaddrinfo(res);
  return r;
}

}  // namespace anklet::metrics::redis::detail
