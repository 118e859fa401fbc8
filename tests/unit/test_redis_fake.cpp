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
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>
#include <thread>

#include "anklet/metrics/detail/socket.hpp"
#include "anklet/metrics/redis/client.hpp"
#include "anklet/metrics/redis/cluster.hpp"
#include "redis_fault_tools.hpp"
#include "redis_test_server.hpp"

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

// ---- cluster replies ---------------------------------------------------------------------

namespace {

using argv_t = std::vector<std::string>;

// A fake cluster node: answer(argv) for every command, and a log of the commands received.
// The fake is the fault drills' scripted_redis (redis_fault_tools.hpp), with a log.
class fake_node {
 public:
  explicit fake_node(std::function<std::string(const argv_t&)> answer)
      : answer_(std::move(answer)), srv_(0, [this](const argv_t& argv) {
          {
            std::lock_guard lock(mutex_);
            log_.push_back(argv);
          }
          return answer_(argv);
        }) {}
  [[nodiscard]] int port() const { return srv_.port(); }
  [[nodiscard]] int count(std::string_view command) const {
    std::lock_guard lock(mutex_);
    int n = 0;
    for (const auto& a : log_) n += !a.empty() && a[0] == command ? 1 : 0;
    return n;
  }
  [[nodiscard]] std::vector<argv_t> log() const {
    std::lock_guard lock(mutex_);
    return log_;
  }

 private:
  std::function<std::string(const argv_t&)> answer_;
  mutable std::mutex mutex_;
  std::vector<argv_t> log_;
  fault_test::scripted_redis srv_;  // last: its thread calls the members above
};

// CLUSTER SLOTS naming one master, 127.0.0.1:port, for slots [first, last].
std::string one_range(int port, int first = 0, int last = 16383) {
  return "*1\r\n*3\r\n:" + std::to_string(first) + "\r\n:" + std::to_string(last) + "\r\n*2\r\n$9\r\n127.0.0.1\r\n:" +
         std::to_string(port) + "\r\n";
}

bool is_cluster_slots(const argv_t& a) { return a.size() == 2 && a[0] == "CLUSTER" && a[1] == "SLOTS"; }

cluster_options cluster_opts(int seed_port) {
  cluster_options o;
  o.node = fast_options(seed_port);
  return o;
}

}  // namespace

std::string moved(std::string_view kind, std::string_view key, int port) {
  return "-" + std::string(kind) + " " + std::to_string(key_slot(key)) + " 127.0.0.1:" + std::to_string(port) + "\r\n";
}

TEST_CASE("cluster: MOVED moves the slot, the command is retried there, and the map is read again") {
  std::atomic<int> pa{0};
  std::atomic<int> pb{0};
  std::atomic<int> maps{0};
  // A serves every slot until its first map is read; then every slot moves to B.
  fake_node b([&](const argv_t& cmd) -> std::string { return is_cluster_slots(cmd) ? one_range(pb) : "+OK\r\n"; });
  fake_node a([&](const argv_t& cmd) -> std::string {
    if (is_cluster_slots(cmd)) return one_range(maps++ == 0 ? pa : pb);
    return "-MOVED " + std::to_string(key_slot(cmd.at(1))) + " 127.0.0.1:" + std::to_string(pb) + "\r\n";
  });
  pa = a.port();
  pb = b.port();
  cluster_client c(cluster_opts(a.port()));
  REQUIRE(c.set("k", "v"));
  CHECK(a.count("SET") == 1);
  CHECK(b.count("SET") == 1);
  CHECK(c.redirections() == 1);
  CHECK(c.slots().master_of(key_slot("k"))->port == b.port());
  // The next command reads the whole map again and goes straight to B.
  REQUIRE(c.set("other", "v"));
  CHECK(a.count("CLUSTER") + b.count("CLUSTER") == 2);
  CHECK(a.count("SET") == 1);
  CHECK(b.count("SET") == 2);
  CHECK(c.slots().masters().size() == 1);
}

TEST_CASE("cluster: ASK is followed once, after ASKING, and leaves the map alone") {
  std::atomic<int> pa{0};
  std::atomic<int> pb{0};
  std::atomic<bool> asking{false};
  fake_node b([&](const argv_t& cmd) -> std::string {
    if (cmd[0] == "ASKING") {
      asking = true;
      return "+OK\r\n";
    }
    const bool ok = asking.exchange(false);
    return ok ? "+OK\r\n" : moved("MOVED", "k", pa);
  });
  fake_node a([&](const argv_t& cmd) -> std::string {
    return is_cluster_slots(cmd) ? one_range(pa) : moved("ASK", "k", pb);
  });
  pa = a.port();
  pb = b.port();
  cluster_client c(cluster_opts(a.port()));
  REQUIRE(c.set("k", "v"));
  CHECK(b.count("ASKING") == 1);
  CHECK(b.count("SET") == 1);
  CHECK(c.slots().master_of(key_slot("k"))->port == a.port());
  REQUIRE(c.set("k", "v2"));
  CHECK(a.count("SET") == 2);
  CHECK(b.count("ASKING") == 2);
  CHECK(a.count("CLUSTER") == 1);  // ASK does not make the map stale
}

TEST_CASE("cluster: a MOVED loop ends after max_redirects") {
  std::atomic<int> pa{0};
  std::atomic<int> pb{0};
  fake_node b([&](const argv_t& cmd) -> std::string { return is_cluster_slots(cmd) ? one_range(pb) : moved("MOVED", "k", pa); });
  fake_node a([&](const argv_t& cmd) -> std::string { return is_cluster_slots(cmd) ? one_range(pa) : moved("MOVED", "k", pb); });
  pa = a.port();
  pb = b.port();
  auto o = cluster_opts(a.port());
  o.max_redirects = 4;
  cluster_client c(o);
  auto r = c.set("k", "v");
  REQUIRE_FALSE(r);
  CAPTURE(r.error().to_string());
  CHECK(r.error().code == errc::cluster);
  CHECK(r.error().message.find("more than 4 redirections") != std::string::npos);
  CHECK(a.count("SET") + b.count("SET") == 5);
  // The connections survive: a loop is the cluster's confusion, not a broken peer.
  CHECK(c.node_count() == 2);
}

TEST_CASE("cluster: a redirection to a node nobody listens on fails fast and bounded") {
  const int nowhere = anklet_test::free_loopback_port();
  std::atomic<int> pa{0};
  fake_node a([&](const argv_t& cmd) -> std::string {
    return is_cluster_slots(cmd) ? one_range(pa) : moved("MOVED", "k", nowhere);
  });
  pa = a.port();
  cluster_client c(cluster_opts(a.port()));
  const auto t0 = std::chrono::steady_clock::now();
  auto r = c.set("k", "v");
  REQUIRE_FALSE(r);
  CAPTURE(r.error().to_string());
  CHECK((r.error().code == errc::io || r.error().code == errc::backoff));
  CHECK(std::chrono::steady_clock::now() - t0 < 2s);
  CHECK(a.count("SET") <= 6);
  // The lost connection had the map read again.
  CHECK(c.refreshes() == 2);
}

TEST_CASE("cluster: a slot map with holes serves what it covers and refuses the rest") {
  std::atomic<int> pa{0};
  fake_node a([&](const argv_t& cmd) -> std::string { return is_cluster_slots(cmd) ? one_range(pa, 0, 8191) : "+OK\r\n"; });
  pa = a.port();
  std::string low;
  std::string high;
  for (int i = 0; low.empty() || high.empty(); ++i) {
    const std::string k = "key" + std::to_string(i);
    (key_slot(k) < 8192 ? low : high) = k;
  }
  cluster_client c(cluster_opts(a.port()));
  CHECK(c.set(low, "v"));
  auto r = c.set(high, "v");
  REQUIRE_FALSE(r);
  CHECK(r.error().code == errc::cluster);
  CHECK(r.error().message.find("no master serves slot " + std::to_string(key_slot(high))) != std::string::npos);
  CHECK(a.count("SET") == 1);
  CHECK(a.count("CLUSTER") == 2);  // a hole has the map read once more before giving up
}

TEST_CASE("cluster: a malformed CLUSTER SLOTS is refused; the next seed is asked") {
  fake_node bad([](const argv_t& cmd) -> std::string {
    return is_cluster_slots(cmd) ? "*1\r\n*3\r\n:0\r\n:99999\r\n*2\r\n$1\r\nh\r\n:1\r\n" : "+OK\r\n";
  });
  {
    cluster_client c(cluster_opts(bad.port()));
    auto r = c.set("k", "v");
    REQUIRE_FALSE(r);
    CAPTURE(r.error().to_string());
    CHECK(r.error().code == errc::cluster);
    CHECK(r.error().message.find("invalid slot numbers") != std::string::npos);
    CHECK(bad.count("SET") == 0);
  }
  std::atomic<int> pg{0};
  fake_node good([&](const argv_t& cmd) -> std::string { return is_cluster_slots(cmd) ? one_range(pg) : "+OK\r\n"; });
  pg = good.port();
  auto o = cluster_opts(bad.port());
  connection_target second = o.node.target;
  second.port = static_cast<std::uint16_t>(good.port());
  o.seeds.push_back(second);
  cluster_client c(o);
  REQUIRE(c.set("k", "v"));
  CHECK(good.count("SET") == 1);
  CHECK(c.node_count() == 2);  // the bad seed stays a seed, for a later refresh
}

TEST_CASE("cluster: a node that answers CLUSTER SLOTS with a non-cluster error") {
  fake_node a([](const argv_t&) -> std::string { return "-ERR This instance has cluster support disabled\r\n"; });
  cluster_client c(cluster_opts(a.port()));
  auto r = c.set("k", "v");
  REQUIRE_FALSE(r);
  CHECK(r.error().code == errc::cluster);
  CHECK(r.error().message.find("cluster support disabled") != std::string::npos);
}

TEST_CASE("cluster: redirections to ever new nodes do not grow the connections without bound") {
  std::atomic<int> pa{0};
  std::atomic<int> next{1};
  std::atomic<int> maps{0};
  // Every SET is ASKed to a node never seen before (ASK targets stay out of the map), and
  // after the first map every CLUSTER SLOTS is malformed, so the map is never read again.
  fake_node a([&](const argv_t& cmd) -> std::string {
    if (is_cluster_slots(cmd)) return maps++ == 0 ? one_range(pa) : "*1\r\n:1\r\n";
    return "-ASK " + std::to_string(key_slot(cmd.at(1))) + " 127.0.0." + std::to_string(1 + next++ % 200) + ":1\r\n";
  });
  pa = a.port();
  auto o = cluster_opts(a.port());
  o.node.connect_timeout = 50ms;
  cluster_client c(o);
  for (int i = 0; i < 20; ++i) {
    std::string key(1, 'k');  // appended, not "k" + ...: GCC 12 -O3 warns falsely on that
    key += std::to_string(i);
    CHECK_FALSE(c.set(key, "v"));
    CHECK(c.node_count() <= 1 + 1 + 2 * (o.max_redirects + 1));  // the map, the seed, two commands' redirections
  }
}
