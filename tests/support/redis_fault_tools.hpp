// Shared by the Redis fault drills (test_redis_faults*.cpp, test_aggregator.cpp): timeouts,
// a fake Redis scripted by the test (one answers -ERR to every command), the fault
// injection on a real redis-server, and the figures written for docs/reliability.md.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include <atomic>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "anklet/metrics/redis/client.hpp"
#include "anklet/metrics/redis/url.hpp"
#include "redis_test_server.hpp"

namespace fault_test {

using namespace anklet::metrics;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

// Short timeouts keep the test quick; the relations are what matter: the pause outlasts
// the timeouts, and the interval bounds recovery.
constexpr auto io_timeout = 200ms;
constexpr auto interval = 500ms;
constexpr auto pause_for = 1000ms;  // SIGSTOP: five times the timeouts
constexpr auto outage = 1200ms;     // each fault lasts this long: a few failed writes

inline redis::client_options client_opts(int port) {
  redis::client_options c;
  c.target = redis::parse_url("redis://127.0.0.1:" + std::to_string(port)).value();
  c.connect_timeout = io_timeout;
  c.read_timeout = io_timeout;
  c.write_timeout = io_timeout;
  c.backoff_initial = 20ms;
  c.backoff_max = 100ms;
  return c;
}

// Figures for the report: case -> (name -> value).
inline std::mutex figures_mutex;
inline std::map<std::string, std::map<std::string, double>> figures;

inline void record(const std::string& fault, const std::string& name, double value) {
  std::lock_guard lock(figures_mutex);
  figures[fault][name] = value;
}

// Writes the figures at exit to the file named by the environment variable `env`.
struct figures_writer {
  const char* env;
  ~figures_writer() {
    const char* path = std::getenv(env);
    if (path == nullptr || *path == '\0') return;
    std::FILE* f = std::fopen(path, "w");
    if (f == nullptr) return;
    std::fputs("{\n", f);
    bool first_case = true;
    for (const auto& [fault, values] : figures) {
      std::fprintf(f, "%s  \"%s\": {", first_case ? "" : ",\n", fault.c_str());
      bool first = true;
      for (const auto& [k, v] : values) {
        std::fprintf(f, "%s\"%s\": %.1f", first ? "" : ", ", k.c_str(), v);
        first = false;
      }
      std::fputs("}", f);
      first_case = false;
    }
    std::fputs("\n}\n", f);
    std::fclose(f);
  }
};

inline double ms(steady::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

// A stand-in for Redis that answers each command with what `respond(argv)` returns (raw
// RESP bytes, possibly several replies or none), for replies a real Redis never sends:
// a SCAN cursor that never returns to 0, errors to everything. It parses RESP arrays of
// bulk strings, so pipelined commands get one answer each. Port 0 picks a free port.
class scripted_redis {
 public:
  using responder = std::function<std::string(const std::vector<std::string>& argv)>;

  scripted_redis(int port, responder respond) : respond_(std::move(respond)) {
    listen_fd_ = anklet::metrics::detail::open_socket(AF_INET, SOCK_STREAM, 0, false);
    const int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = htons(static_cast<std::uint16_t>(port));
    bool bound = false;
    for (int attempt = 0; attempt < 100 && !bound; ++attempt) {
      bound = ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
      if (!bound) std::this_thread::sleep_for(10ms);
    }
    socklen_t len = sizeof sa;
    if (!bound || ::listen(listen_fd_, 16) != 0 ||
        ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&sa), &len) != 0) {
      ::close(listen_fd_);
      throw std::runtime_error("cannot listen on the Redis port for the fake");
    }
    port_ = ntohs(sa.sin_port);
    thread_ = std::thread([this] { run(); });
  }
  scripted_redis(const scripted_redis&) = delete;
  scripted_redis& operator=(const scripted_redis&) = delete;
  ~scripted_redis() {
    stop_ = true;
    thread_.join();
    for (const int fd : clients_) ::close(fd);
    ::close(listen_fd_);
  }
  [[nodiscard]] int port() const { return port_; }
  [[nodiscard]] int commands_answered() const { return answered_.load(); }
  [[nodiscard]] std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_); }

 private:
  struct peer {
    std::string in;
  };

  // The complete commands at the front of `in`, which are consumed (inline commands are
  // split on spaces).
  static std::vector<std::vector<std::string>> take_commands(std::string& in) {
    std::vector<std::vector<std::string>> out;
    std::size_t pos = 0;
    for (;;) {
      const std::size_t start = pos;
      if (pos >= in.size()) break;
      auto line_end = in.find("\r\n", pos);
      if (line_end == std::string::npos) break;
      std::vector<std::string> argv;
      if (in[pos] != '*') {  // inline command
        std::string line = in.substr(pos, line_end - pos);
        for (std::size_t b = 0; b < line.size();) {
          const auto e = std::min(line.find(' ', b), line.size());
          if (e > b) argv.push_back(line.substr(b, e - b));
          b = e + 1;
        }
        pos = line_end + 2;
        out.push_back(std::move(argv));
        continue;
      }
      const long items = std::strtol(in.c_str() + pos + 1, nullptr, 10);
      pos = line_end + 2;
      bool complete = true;
      for (long i = 0; i < items; ++i) {
        line_end = in.find("\r\n", pos);
        if (line_end == std::string::npos || in[pos] != '$') {
          complete = false;
          break;
        }
        const auto len = static_cast<std::size_t>(std::strtol(in.c_str() + pos + 1, nullptr, 10));
        pos = line_end + 2;
        if (in.size() < pos + len + 2) {
          complete = false;
          break;
        }
        argv.push_back(in.substr(pos, len));
        pos += len + 2;
      }
      if (!complete) {
        pos = start;
        break;
      }
      out.push_back(std::move(argv));
    }
    in.erase(0, pos);
    return out;
  }

  static void send_all(int fd, std::string_view data) {
    while (!data.empty()) {
      pollfd p{fd, POLLOUT, 0};
      if (::poll(&p, 1, 1000) <= 0) return;
      const auto k = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
      if (k <= 0) return;
      data.remove_prefix(static_cast<std::size_t>(k));
    }
  }

  void run() {
    std::map<int, peer> peers;
    while (!stop_) {
      std::vector<pollfd> fds{{listen_fd_, POLLIN, 0}};
      for (const auto& [fd, p] : peers) fds.push_back({fd, POLLIN, 0});
      if (::poll(fds.data(), static_cast<nfds_t>(fds.size()), 20) <= 0) continue;
      if (fds[0].revents != 0) {
        const int fd = anklet::metrics::detail::accept_socket(listen_fd_, false);
        if (fd >= 0) peers[fd] = {};
      }
      for (std::size_t i = 1; i < fds.size(); ++i) {
        if (fds[i].revents == 0) continue;
        char buf[65536];
        const auto n = ::recv(fds[i].fd, buf, sizeof buf, 0);
        if (n <= 0) {
          ::close(fds[i].fd);
          peers.erase(fds[i].fd);
          continue;
        }
        auto& p = peers[fds[i].fd];
        p.in.append(buf, static_cast<std::size_t>(n));
        std::string out;
        for (const auto& argv : take_commands(p.in)) {
          std::string answer = respond_(argv);
          if (out.empty()) out.swap(answer);  // a large answer is not copied twice
          else out += answer;
          ++answered_;
        }
        if (!out.empty()) send_all(fds[i].fd, out);
      }
    }
    for (const auto& [fd, p] : peers) clients_.push_back(fd);
  }

  responder respond_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> answered_{0};
  std::vector<int> clients_;
  std::thread thread_;
};

// A scripted_redis in a child process, for tests that measure this process's memory: what
// the fake allocates to answer (120 MB SCAN pages, say) is then not counted as ours. The
// child is stopped by its PID when this object goes, whatever the test did.
class forked_scripted_redis {
 public:
  explicit forked_scripted_redis(scripted_redis::responder respond) {
    int port_pipe[2];
    int stop_pipe[2];
    if (!cloexec_pipe(port_pipe)) throw std::runtime_error("pipe failed");
    if (!cloexec_pipe(stop_pipe)) {
      ::close(port_pipe[0]);
      ::close(port_pipe[1]);
      throw std::runtime_error("pipe failed");
    }
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      ::close(port_pipe[0]);
      ::close(stop_pipe[1]);
      int port = 0;
      try {
        scripted_redis fake(0, std::move(respond));
        port = fake.port();
        (void)!::write(port_pipe[1], &port, sizeof port);
        char c;
        while (::read(stop_pipe[0], &c, 1) < 0 && errno == EINTR) {
        }
      } catch (...) {
        (void)!::write(port_pipe[1], &port, sizeof port);
      }
      ::_exit(0);  // no destructors, atexit handlers or leak checks of the parent's state
    }
    ::close(port_pipe[1]);
    ::close(stop_pipe[0]);
    stop_fd_ = stop_pipe[1];
    const auto n = ::read(port_pipe[0], &port_, sizeof port_);
    ::close(port_pipe[0]);
    if (n != static_cast<ssize_t>(sizeof port_) || port_ == 0) {
      stop();
      throw std::runtime_error("the forked fake Redis did not start");
    }
  }
  forked_scripted_redis(const forked_scripted_redis&) = delete;
  forked_scripted_redis& operator=(const forked_scripted_redis&) = delete;
  ~forked_scripted_redis() { stop(); }
  [[nodiscard]] int port() const { return port_; }

 private:
  // pipe() and FD_CLOEXEC, as macOS has no pipe2: servers a test starts later must not hold
  // the stop pipe open.
  static bool cloexec_pipe(int fds[2]) {
    if (::pipe(fds) != 0) return false;
    for (int i = 0; i < 2; ++i) ::fcntl(fds[i], F_SETFD, FD_CLOEXEC);
    return true;
  }

  void stop() {
    if (stop_fd_ >= 0) ::close(stop_fd_);
    stop_fd_ = -1;
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    pid_ = -1;
  }

  pid_t pid_ = -1;
  int stop_fd_ = -1;
  int port_ = 0;
};

// A stand-in for Redis on a given port that answers every command with -ERR.
class erroring_redis : public scripted_redis {
 public:
  explicit erroring_redis(int port)
      : scripted_redis(port, [](const std::vector<std::string>&) { return std::string("-ERR injected failure\r\n"); }) {}
  [[nodiscard]] int errors_sent() const { return commands_answered(); }
};

template <class Pred>
std::optional<steady::duration> wait_for(Pred pred, std::chrono::milliseconds limit) {
  const auto t0 = steady::now();
  while (steady::now() - t0 < limit) {
    if (pred()) return steady::now() - t0;
    std::this_thread::sleep_for(5ms);
  }
  return std::nullopt;
}

// The fault drills: each function breaks Redis for `outage` and brings it back.
enum class fault { killed, paused, erroring };

inline const char* fault_name(fault f) {
  switch (f) {
    case fault::killed: return "killed_restarted";
    case fault::paused: return "sigstop_sigcont";
    case fault::erroring: return "err_to_every_command";
  }
  return "?";
}

// Breaks Redis, runs `during` while it is broken, restores it; returns when it is back.
template <class During>
void inject(fault f, anklet_test::redis_server& redis, During during) {
  const int port = redis.port();
  switch (f) {
    case fault::killed: {
      redis.kill();
      during();
      REQUIRE(redis.start(port));
      break;
    }
    case fault::paused: {
      REQUIRE(::kill(redis.pid(), SIGSTOP) == 0);
      during();
      REQUIRE(::kill(redis.pid(), SIGCONT) == 0);
      break;
    }
    case fault::erroring: {
      redis.kill();
      {
        erroring_redis fake(port);
        during();
        CHECK(fake.errors_sent() > 0);
      }
      REQUIRE(redis.start(port));
      break;
    }
  }
}

}  // namespace fault_test
