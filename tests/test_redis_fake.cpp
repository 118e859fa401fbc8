// The Redis client against a fake server that misbehaves in ways a real Redis never does:
// malformed replies, absurd sizes, endless nesting, silence, a close mid-reply. Each must
// end in a clean typed error with bounded memory, and the client must recover afterwards.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>

#include "anklet/metrics/detail/socket.hpp"
#include "anklet/metrics/redis/client.hpp"

using namespace anklet::metrics::redis;
using namespace std::chrono_literals;

namespace {

// A listening socket on 127.0.0.1:0 and one thread serving connections one at a time.
class fake_server {
 public:
  // handler(fd, index of the connection, stop flag); the fd is closed after it returns.
  using handler = std::function<void(int, int, const std::atomic<bool>&)>;

  explicit fake_server(handler h) : handler_(std::move(h)) {
    listen_fd_ = anklet::metrics::detail::open_socket(AF_INET, SOCK_STREAM, 0, false);
    if (listen_fd_ < 0) throw std::runtime_error("socket");
    int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    // A fixed small receive buffer (inherited by accepted sockets) turns off autotuning, so
    // a client writing to a server that never reads fills the path after a few MB anywhere.
    int rcvbuf = 64 << 10;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sa;
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 || ::listen(listen_fd_, 16) != 0 ||
        ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&sa), &len) != 0) {
      ::close(listen_fd_);
      throw std::runtime_error("bind/listen 127.0.0.1:0");
    }
    port_ = ntohs(sa.sin_port);
    thread_ = std::thread([this] { run(); });
  }
  fake_server(const fake_server&) = delete;
  fake_server& operator=(const fake_server&) = delete;
  ~fake_server() {
    stop_ = true;
    thread_.join();
    ::close(listen_fd_);
  }
  [[nodiscard]] int port() const { return port_; }
  [[nodiscard]] int connections() const { return count_.load(); }

 private:
  void run() {
    while (!stop_) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      int fd = anklet::metrics::detail::accept_socket(listen_fd_, false);
      if (fd < 0) continue;
      int idx = count_++;
      handler_(fd, idx, stop_);
      ::close(fd);
    }
  }

  handler handler_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> count_{0};
  std::thread thread_;
};

// Reads what the client sent (one request); false if the peer closed.
bool read_request(int fd) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, 2000) <= 0) return false;
  char buf[4096];
  return ::recv(fd, buf, sizeof buf, 0) > 0;
}

bool send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t k = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(k));
  }
  return true;
}

// Sends `head`, then `chunk` over and over until the client goes away: a server that never stops.
void flood(int fd, std::string_view head, std::string_view chunk, const std::atomic<bool>& stop) {
  if (!send_all(fd, head)) return;
  std::string block;
  while (block.size() < 65536) block += chunk;
  while (!stop) {
    pollfd p{fd, POLLOUT, 0};
    if (::poll(&p, 1, 20) <= 0) continue;
    if (p.revents & (POLLERR | POLLHUP)) return;
    ssize_t k = ::send(fd, block.data(), block.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (k < 0 && errno != EAGAIN && errno != EINTR) return;
  }
}

// Keeps the connection open, saying nothing, until the client closes it or the test ends.
void hold(int fd, const std::atomic<bool>& stop) {
  while (!stop) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 20) <= 0) continue;
    char buf[4096];
    if (::recv(fd, buf, sizeof buf, 0) <= 0) return;
  }
}

client_options fast_options(int port) {
  client_options o;
  o.target.host = "127.0.0.1";
  o.target.port = static_cast<std::uint16_t>(port);
  o.connect_timeout = 1s;
  o.read_timeout = 300ms;
  o.write_timeout = 300ms;
  o.backoff_initial = 50ms;
  o.backoff_jitter = 0.0;
  return o;
}

// Peak resident memory of this process; the hostile servers below would push it to
// gigabytes if the parser believed their sizes.
long peak_rss_mib() {
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss / 1024;
}

// Serves `bad` on the first connection and a correct PONG on every later one, then checks
// that the client fails with `code`, holds back within the backoff window, and recovers.
void check_bad_then_recover(std::function<void(int, const std::atomic<bool>&)> bad, errc code,
                            std::string_view message_part, client_options o = {}, bool use_get = false) {
  fake_server srv([&](int fd, int idx, const std::atomic<bool>& stop) {
    if (!read_request(fd)) return;
    if (idx == 0) {
      bad(fd, stop);
    } else {
      send_all(fd, "+PONG\r\n");
      hold(fd, stop);
    }
  });
  auto opts = fast_options(srv.port());
  opts.limits = o.limits;
  client c(opts);
  result<void> r = use_get ? [&]() -> result<void> {
    auto g = c.get("k");
    if (!g) return g.error();
    return {};
  }()
                           : c.ping();
  REQUIRE_FALSE(r);
  CAPTURE(r.error().to_string());
  CHECK(r.error().code == code);
  CHECK(r.error().message.find(message_part) != std::string::npos);
  CHECK_FALSE(c.connected());
  auto held = c.ping();
  REQUIRE_FALSE(held);
  CHECK(held.error().code == errc::backoff);
  std::this_thread::sleep_for(c.backoff_remaining() + 5ms);
  CHECK(c.ping());
  CHECK(c.consecutive_failures() == 0);
  CHECK(peak_rss_mib() < 256);
}

}  // namespace

TEST_CASE("malformed replies are protocol errors") {
  check_bad_then_recover([](int fd, const auto&) { send_all(fd, "!what is this\r\n"); }, errc::protocol,
                         "unknown reply type byte 0x21");
  check_bad_then_recover([](int fd, const auto&) { send_all(fd, ":12x\r\n"); }, errc::protocol, "invalid integer");
  check_bad_then_recover([](int fd, const auto&) { send_all(fd, "$3\r\nabcdef\r\n"); }, errc::protocol,
                         "not terminated by CRLF");
  check_bad_then_recover([](int fd, const auto&) { send_all(fd, "+PONG\r\n+EXTRA\r\n"); }, errc::protocol,
                         "unexpected bytes after the last reply");
  // Valid RESP of the wrong shape for the command.
  check_bad_then_recover([](int fd, const auto&) { send_all(fd, ":5\r\n"); }, errc::protocol,
                         "unexpected integer reply to GET", {}, true);
}

TEST_CASE("a 4 GiB bulk length is refused before any allocation") {
  check_bad_then_recover([](int fd, const auto& stop) { flood(fd, "$4294967296\r\n", "x", stop); }, errc::limit,
                         "bulk string of 4294967296 bytes exceeds max_bulk_length", {}, true);
}

TEST_CASE("an array of 4 billion elements is refused") {
  check_bad_then_recover([](int fd, const auto& stop) { flood(fd, "*4000000000\r\n", ":1\r\n", stop); }, errc::limit,
                         "array of 4000000000 elements exceeds max_array_length");
}

TEST_CASE("an allowed array that never ends stops at the reply budget") {
  client_options o;
  o.limits.max_reply_bytes = 4 << 20;
  check_bad_then_recover([](int fd, const auto& stop) { flood(fd, "*1000000\r\n", "+\r\n", stop); }, errc::limit,
                         "max_reply_bytes", o);
}

TEST_CASE("endless nesting stops at max_depth") {
  check_bad_then_recover([](int fd, const auto& stop) { flood(fd, "", "*1\r\n", stop); }, errc::limit,
                         "nested deeper than max_depth");
}

TEST_CASE("an endless line stops at max_line_length") {
  check_bad_then_recover([](int fd, const auto& stop) { flood(fd, "+", "y", stop); }, errc::limit,
                         "max_line_length");
}

TEST_CASE("a reply that never comes times out") {
  auto t0 = std::chrono::steady_clock::now();
  check_bad_then_recover([](int fd, const auto& stop) { hold(fd, stop); }, errc::timeout, "no reply within 300 ms");
  CHECK(std::chrono::steady_clock::now() - t0 >= 300ms);
  // Half a reply, then silence: also a timeout.
  check_bad_then_recover(
      [](int fd, const auto& stop) {
        send_all(fd, "$10\r\nabc");
        hold(fd, stop);
      },
      errc::timeout, "no reply within", {}, true);
}

TEST_CASE("a connection closed mid-reply or before it is a distinct error") {
  check_bad_then_recover([](int fd, const auto&) { send_all(fd, "$10\r\nabc"); }, errc::closed,
                         "closed by the server in the middle of a reply", {}, true);
  check_bad_then_recover([](int, const auto&) {}, errc::closed, "connection closed by the server");
}

TEST_CASE("nothing listening: connection refused is an I/O error") {
  int port = 0;
  { fake_server srv([](int, int, const std::atomic<bool>&) {}); port = srv.port(); }
  client c(fast_options(port));
  auto r = c.ping();
  REQUIRE_FALSE(r);
  CHECK(r.error().code == errc::io);
  CHECK(r.error().message.find("refused") != std::string::npos);
  CHECK(c.consecutive_failures() == 1);
}

TEST_CASE("backoff grows exponentially up to its maximum, with bounded jitter") {
  int port = 0;
  { fake_server srv([](int, int, const std::atomic<bool>&) {}); port = srv.port(); }
  auto o = fast_options(port);
  o.backoff_initial = 20ms;
  o.backoff_max = 100ms;
  o.backoff_multiplier = 2.0;
  {
    client c(o);
    std::vector<long long> windows;
    for (int i = 0; i < 5; ++i) {
      std::this_thread::sleep_for(c.backoff_remaining() + 2ms);
      auto r = c.ping();
      REQUIRE_FALSE(r);
      CHECK(r.error().code == errc::io);
      windows.push_back(c.current_backoff().count());
      CHECK(c.backoff_remaining() <= c.current_backoff() + 1ms);
    }
    CHECK(windows == std::vector<long long>{20, 40, 80, 100, 100});
    CHECK(c.consecutive_failures() == 5);
    c.disconnect();  // an explicit disconnect does not reset the failure count
    CHECK(c.consecutive_failures() == 5);
  }
  {
    o.backoff_jitter = 0.5;
    o.backoff_initial = 100ms;
    o.backoff_max = 100ms;
    client c(o);
    std::set<long long> seen;
    for (int i = 0; i < 8; ++i) {
      std::this_thread::sleep_for(c.backoff_remaining() + 2ms);
      REQUIRE_FALSE(c.ping());
      auto w = c.current_backoff().count();
      CHECK(w >= 49);
      CHECK(w <= 100);
      seen.insert(w);
    }
    CHECK(seen.size() > 1);  // jitter actually varies the delay
  }
}

TEST_CASE("a server that stops reading makes the write time out") {
#if defined(POLLRDHUP)
  constexpr short peer_left = POLLRDHUP;
#else
  constexpr short peer_left = 0;  // macOS: POLLHUP and POLLERR still come; `stop` ends the loop anyway
#endif
  fake_server srv([](int fd, int, const std::atomic<bool>& stop) {
    while (!stop) {  // never read; only notice the client leaving
      pollfd p{fd, peer_left, 0};
      if (::poll(&p, 1, 20) > 0 && (p.revents & (peer_left | POLLHUP | POLLERR))) return;
    }
  });
  client c(fast_options(srv.port()));
  std::string big(std::size_t{24} << 20, 'v');
  auto r = c.set("k", big);
  REQUIRE_FALSE(r);
  CHECK(r.error().code == errc::timeout);
  CHECK(r.error().message.find("write timed out after 300 ms") != std::string::npos);
  CHECK_FALSE(c.connected());
}

TEST_CASE("a connect that is never accepted times out") {
  // A listening socket with a full accept queue lets further SYNs go unanswered.
  int lfd = anklet::metrics::detail::open_socket(AF_INET, SOCK_STREAM, 0, false);
  REQUIRE(lfd >= 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof sa;
  REQUIRE(::bind(lfd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
  REQUIRE(::listen(lfd, 0) == 0);
  REQUIRE(::getsockname(lfd, reinterpret_cast<sockaddr*>(&sa), &len) == 0);
  std::vector<int> fillers;
  for (int i = 0; i < 4; ++i) {
    int f = anklet::metrics::detail::open_socket(AF_INET, SOCK_STREAM, 0);
    ::connect(f, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
    fillers.push_back(f);
  }
  std::this_thread::sleep_for(50ms);
  auto o = fast_options(ntohs(sa.sin_port));
  o.connect_timeout = 200ms;
  client c(o);
  auto r = c.ping();
  for (int f : fillers) ::close(f);
  ::close(lfd);
  REQUIRE_FALSE(r);
  CAPTURE(r.error().to_string());
  CHECK(r.error().code == errc::timeout);
  CHECK(r.error().message.find("timed out after 200 ms") != std::string::npos);
}
