// The question benchmarks/http_bench.sh asks of sendfile: does sending a large body from a
// sealed memfd with sendfile(2), as nginx sends files, beat one sendmsg of the body from
// memory, as the library does? One event loop (epoll, one thread, non-blocking, keep-alive,
// TCP_NODELAY, SO_SNDBUF 64 KiB as the library sets it) answers every request with the
// bytes of FILE, in one of two ways, so that the two modes differ in nothing else:
//   writev    the header and the body from memory in one sendmsg, as the library does;
//   sendfile  the header with MSG_MORE, then the body by sendfile from a sealed memfd.
// Usage: sendfile_peer FILE PORT writev|sendfile
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <unordered_map>

namespace {

struct client {
  std::string in;
  std::size_t sent = 0;     // of the answer in progress
  bool answering = false;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: sendfile_peer FILE PORT writev|sendfile\n");
    return 2;
  }
  std::ifstream file(argv[1], std::ios::binary);
  const std::string body((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  const bool use_sendfile = std::strcmp(argv[3], "sendfile") == 0;
  // sendfile has no MSG_NOSIGNAL: a client that closes mid-body must not end the program.
  std::signal(SIGPIPE, SIG_IGN);
  const std::string head = "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\nContent-Length: " +
                           std::to_string(body.size()) + "\r\n\r\n";
  const std::size_t total = head.size() + body.size();

  const int memfd = ::memfd_create("body", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (memfd < 0 || ::write(memfd, body.data(), body.size()) != static_cast<ssize_t>(body.size()) ||
      ::fcntl(memfd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0) {
    std::perror("memfd");
    return 1;
  }
  const int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(std::atoi(argv[2])));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(listener, 511) != 0) {
    std::perror("bind");
    return 1;
  }
  const int ep = ::epoll_create1(EPOLL_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = listener;
  ::epoll_ctl(ep, EPOLL_CTL_ADD, listener, &ev);
  std::unordered_map<int, client> clients;
  epoll_event events[64];
  char buf[16384];
  const int one = 1;
  const int sndbuf = 64 * 1024;
  for (;;) {
    const int n = ::epoll_wait(ep, events, 64, -1);
    for (int i = 0; i < n; ++i) {
      const int fd = events[i].data.fd;
      if (fd == listener) {
        for (int c; (c = ::accept4(listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0;) {
          ::setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          ::setsockopt(c, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
          epoll_event e{};
          e.events = EPOLLIN | EPOLLOUT | EPOLLET;
          e.data.fd = c;
          ::epoll_ctl(ep, EPOLL_CTL_ADD, c, &e);
          clients[c];
        }
        continue;
      }
      auto& c = clients[fd];
      bool dead = false;
      for (;;) {
        if (!c.answering) {
          const auto got = ::recv(fd, buf, sizeof buf, 0);
          if (got == 0 || (got < 0 && errno != EAGAIN)) {
            dead = true;
            break;
          }
          if (got > 0) c.in.append(buf, static_cast<std::size_t>(got));
          const auto end = c.in.find("\r\n\r\n");
          if (end == std::string::npos) {
            if (got < 0) break;
            continue;
          }
          c.in.erase(0, end + 4);
          c.answering = true;
          c.sent = 0;
        }
        while (c.sent < total) {
          ssize_t w = 0;
          if (!use_sendfile) {
            iovec iov[2];
            int k = 0;
            if (c.sent < head.size()) iov[k++] = {const_cast<char*>(head.data() + c.sent), head.size() - c.sent};
            const std::size_t skip = c.sent > head.size() ? c.sent - head.size() : 0;
            iov[k++] = {const_cast<char*>(body.data() + skip), body.size() - skip};
            msghdr m{};
            m.msg_iov = iov;
            m.msg_iovlen = static_cast<std::size_t>(k);
            w = ::sendmsg(fd, &m, MSG_NOSIGNAL | MSG_DONTWAIT);
          } else if (c.sent < head.size()) {
            w = ::send(fd, head.data() + c.sent, head.size() - c.sent, MSG_NOSIGNAL | MSG_MORE);
          } else {
            off_t offset = static_cast<off_t>(c.sent - head.size());
            w = ::sendfile(fd, memfd, &offset, total - c.sent);
          }
          if (w < 0) {
            if (errno != EAGAIN) dead = true;
            break;
          }
          c.sent += static_cast<std::size_t>(w);
        }
        if (dead || c.sent < total) break;
        c.answering = false;
      }
      if (dead) {
        ::close(fd);
        clients.erase(fd);
      }
    }
  }
}
