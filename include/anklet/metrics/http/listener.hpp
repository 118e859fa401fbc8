// anklet::metrics::http binding: resolves server_options' address, binds the first free port
// of its search range and listens, dual-stack when the address is a wildcard.
#pragma once

#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <memory>
#include <string>
#include <system_error>

#include "anklet/metrics/detail/descriptors.hpp"
#include "anklet/metrics/detail/socket.hpp"
#include "anklet/metrics/http/options.hpp"

namespace anklet::metrics::http::detail {

/// A listening socket and what it is bound to.
struct bound_listener {
  metrics::detail::unique_fd fd;
  std::uint16_t port = 0;
  std::string address;  // numeric, e.g. "127.0.0.1" or "::"
};

// Returns 0 on success or the errno of the last failing step; throws on resolution,
// socket() and listen() failures, which no other port would cure.
inline int try_bind(const std::string& host, std::uint16_t port, bool dual_stack, int backlog, bound_listener& out) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  const auto service = std::to_string(port);
  if (const int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &res); rc != 0) {
    throw server_error(server_errc::resolve, host, port, rc == EAI_SYSTEM ? errno : 0, ::gai_strerror(rc));
  }
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> guard(res, &::freeaddrinfo);
  int err = EADDRNOTAVAIL;
  for (auto* ai = res; ai != nullptr; ai = ai->ai_next) {
    metrics::detail::unique_fd fd(metrics::detail::open_socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol));
    if (!fd) {
      err = errno;
      if (err == EAFNOSUPPORT) continue;
      throw server_error(server_errc::socket, host, port, err, std::system_category().message(err));
    }
    const int one = 1;
    ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (ai->ai_family == AF_INET6 && dual_stack) {
      const int zero = 0;
      ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
    }
    if (::bind(fd.get(), ai->ai_addr, ai->ai_addrlen) != 0) {
      err = errno;
      continue;
    }
    if (::listen(fd.get(), backlog) != 0) {
      err = errno;
      throw server_error(server_errc::listen, host, port, err, std::system_category().message(err));
    }
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&ss), &len);
    out.port = ntohs(ss.ss_family == AF_INET6 ? reinterpret_cast<const sockaddr_in6&>(ss).sin6_port
                                              : reinterpret_cast<const sockaddr_in&>(ss).sin_port);
    out.address = metrics::detail::sockaddr_to_string(ss);
    out.fd = std::move(fd);
    return 0;
  }
  return err;
}

/// Binds and listens as `options` say; throws server_error naming the step that failed.
inline bound_listener bind_listener(const server_options& options) {
  bound_listener out;
  const bool wildcard = options.address.empty() || options.address == "*";
  std::uint32_t port = options.port;
  const std::uint32_t last = options.port == 0 ? 0U : std::min<std::uint32_t>(65535U, port + options.port_search);
  for (;; ++port) {
    int err = 0;
    const auto p = static_cast<std::uint16_t>(port);
    if (wildcard) {
      err = try_bind("::", p, true, options.backlog, out);
      if (err != 0 && err != EADDRINUSE) err = try_bind("0.0.0.0", p, true, options.backlog, out);
    } else {
      err = try_bind(options.address, p, false, options.backlog, out);
    }
    if (err == 0) return out;
    if (err != EADDRINUSE || port >= last) {
      throw server_error(server_errc::bind, options.address, p, err, std::system_category().message(err));
    }
  }
}

}  // namespace anklet::metrics::http::detail
