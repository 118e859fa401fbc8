// Test helper: a real redis-server child on a free loopback port, stopped by its PID.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

#include "anklet/metrics/detail/socket.hpp"

namespace anklet_test {

/// A port that was free a moment ago: bind 127.0.0.1:0, read it, close.
inline int free_loopback_port() {
  int fd = anklet::metrics::detail::open_socket(AF_INET, SOCK_STREAM, 0, false);
  if (fd < 0) throw std::runtime_error("socket failed");
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sa.sin_port = 0;
  socklen_t len = sizeof sa;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len) != 0) {
    ::close(fd);
    throw std::runtime_error("bind 127.0.0.1:0 failed");
  }
  ::close(fd);
  return ntohs(sa.sin_port);
}

/// A free port whose cluster bus port (port + 10000) is free too, for a Redis Cluster node.
inline int free_cluster_port() {
  for (int attempt = 0; attempt < 100; ++attempt) {
    const int p = free_loopback_port();
    if (p + 10000 > 65535) continue;
    int fd = anklet::metrics::detail::open_socket(AF_INET, SOCK_STREAM, 0, false);
    if (fd < 0) continue;
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = htons(static_cast<std::uint16_t>(p + 10000));
    const bool free = ::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
    ::close(fd);
    if (free) return p;
  }
  throw std::runtime_error("no free port pair (port, port + 10000) for a cluster node");
}

/// True once something on 127.0.0.1:port answers a PING with any RESP reply
/// (an error such as NOAUTH also proves the server is up).
inline bool answers_ping(int port) {
  int fd = anklet::metrics::detail::open_socket(AF_INET, SOCK_STREAM, 0, false);
  if (fd < 0) return false;
  timeval tv{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sa.sin_port = htons(static_cast<std::uint16_t>(port));
  bool ok = false;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0) {
    const char ping[] = "*1\r\n$4\r\nPING\r\n";
    if (::send(fd, ping, sizeof ping - 1, MSG_NOSIGNAL) == static_cast<ssize_t>(sizeof ping - 1)) {
      char c = 0;
      ok = ::recv(fd, &c, 1, 0) == 1 && (c == '+' || c == '-');
    }
  }
  ::close(fd);
  return ok;
}

struct redis_config {
  std::vector<std::string> extra_args;  // e.g. {"--requirepass", "x"}
  bool unix_socket = false;
  bool cluster_bus = false;  // a cluster node: port + 10000 must be free as well
};

/// redis-server as a child process. The destructor kills exactly that PID and reaps it,
/// also when a test fails by exception.
class redis_server {
 public:
  explicit redis_server(redis_config cfg = {}) : cfg_(std::move(cfg)) {
    char tmpl[] = "/tmp/anklet-redis-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir_ = tmpl;
    for (int attempt = 0; attempt < 5; ++attempt) {
      if (start(cfg_.cluster_bus ? free_cluster_port() : free_loopback_port())) return;
    }
    std::filesystem::remove_all(dir_);
    throw std::runtime_error("redis-server did not start after 5 ports; see its log in a kept dir");
  }
  redis_server(const redis_server&) = delete;
  redis_server& operator=(const redis_server&) = delete;
  ~redis_server() {
    kill();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  [[nodiscard]] int port() const { return port_; }
  [[nodiscard]] pid_t pid() const { return pid_; }
  [[nodiscard]] std::string unix_path() const { return dir_ + "/redis.sock"; }
  [[nodiscard]] const std::string& dir() const { return dir_; }
  [[nodiscard]] std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_); }

  /// SIGKILL to our child only, then wait for it.
  void kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
  }

  /// Starts again on `port` (after kill()); true once it answers.
  bool start(int port) {
    port_ = port;
    std::vector<std::string> args{server_binary(), "--port", std::to_string(port), "--bind", "127.0.0.1",
                                  "--save", "", "--appendonly", "no", "--dir", dir_,
                                  "--logfile", dir_ + "/redis.log", "--daemonize", "no"};
    if (cfg_.unix_socket) {
      args.insert(args.end(), {"--unixsocket", unix_path(), "--unixsocketperm", "700"});
    }
    args.insert(args.end(), cfg_.extra_args.begin(), cfg_.extra_args.end());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid = -1;
    if (::posix_spawn(&pid, argv[0], nullptr, nullptr, argv.data(), environ) != 0) {
      throw std::runtime_error("cannot start " + args[0]);
    }
    pid_ = pid;
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < until) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {  // exited: port taken, most likely
        pid_ = -1;
        return false;
      }
      if (answers_ping(port)) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    kill();
    return false;
  }

 private:
  static std::string server_binary() {
    if (const char* p = std::getenv("ANKLET_REDIS_SERVER"); p && *p) return p;
    return "/usr/bin/redis-server";
  }

  redis_config cfg_;
  std::string dir_;
  int port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace anklet_test
