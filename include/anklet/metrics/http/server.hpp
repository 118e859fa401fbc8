// anklet::metrics::http server: one event-loop thread over POSIX sockets that hands every
// parsed request to a router (docs/http.md).
//
// start() binds and starts the thread, stop() or the destructor joins it. The loop serves
// every connection with poll() on non-blocking sockets: keep-alive, pipelining, bounded
// connections and per-request timeouts, so idle or slow clients cannot pin it. What is
// answered is the router's: the exporter's metrics routes ("anklet/metrics/http/metrics_routes.hpp")
// and the fleet aggregator's ("anklet/metrics/fleet/routes.hpp") are two routers over this one
// server. A router runs on the loop thread, so a slow one delays every connection.
// The loop is server_core, which is not a template, so that compiled mode
// (docs/compiled-mode.md) builds it once; router_server<Router> owns a router and serves it
// through the core.
//
// Thread safety: start() and stop() may be called from any thread, but not concurrently
// with each other on the same server; port() and stats() at any time.
#pragma once

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <climits>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <ctime>
#include <exception>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "anklet/metrics/core/log.hpp"
#include "anklet/metrics/detail/compiled.hpp"
#include "anklet/metrics/detail/descriptors.hpp"
#include "anklet/metrics/detail/socket.hpp"
#include "anklet/metrics/http/auth.hpp"
#include "anklet/metrics/http/connection.hpp"
#include "anklet/metrics/http/listener.hpp"
#include "anklet/metrics/http/options.hpp"
#include "anklet/metrics/http/request_parser.hpp"
#include "anklet/metrics/http/response.hpp"
#include "anklet/metrics/http/router.hpp"

namespace anklet::metrics::http {

/// The event loop, connections and limits of a server, whatever its router: not a
/// template, so that compiled mode (docs/compiled-mode.md) builds it once. Serves through
/// router_server<Router>, which owns the router; not copyable or movable.
class server_core {
 public:
  using clock = std::chrono::steady_clock;

  server_core(const server_core&) = delete;
  server_core& operator=(const server_core&) = delete;
  virtual ~server_core();

  /// Binds, listens and starts the event-loop thread. Throws server_error on failure
  /// (nothing is left running) and std::logic_error when already running.
  void start();

  /// Starts this server's event loop on the listening socket of `primary`, which must be
  /// running: servers then share one port, e.g. one per core, each with its own thread,
  /// connections and router (set accept_batch to 1 on all of them). No second socket is
  /// bound, so nothing else can join the port. Throws server_error when the socket cannot
  /// be duplicated, std::logic_error when this one runs already or `primary` does not.
  void start_sharing(const server_core& primary);

  /// Stops serving, closes every connection and joins the thread. Idempotent.
  void stop() noexcept;

  [[nodiscard]] bool running() const noexcept { return thread_.joinable(); }

  /// The bound port (the one picked when the option was 0 or the search moved on).
  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
  /// The bound address as text, e.g. "127.0.0.1" or "::".
  [[nodiscard]] const std::string& bound_address() const noexcept { return bound_address_; }
  [[nodiscard]] const server_options& options() const noexcept { return options_; }

  [[nodiscard]] server_stats stats() const noexcept;

 protected:
  explicit server_core(server_options options);

  /// Answers one request; runs on the loop thread. The loop calls it until stop(), so a
  /// derived class stops in its own destructor, before what dispatch() uses is destroyed.
  virtual void dispatch(const routed_request& req, response& out) = 0;
  /// Adds the router's counters to stats(); called from any thread.
  virtual void add_router_stats(server_stats& s) const noexcept = 0;

 private:
  using connection = detail::connection;
  static constexpr std::size_t read_chunk = 16 * 1024;
  // Listener (or its duplicate), the two ends of the wake-up pipe, the spare.
  static constexpr std::size_t own_descriptors = 4;
  static constexpr std::string_view busy_response =
      "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n"
      "Content-Length: 20\r\nRetry-After: 1\r\nConnection: close\r\n\r\ntoo many connections";

  void report(log_level level, std::string_view what) const noexcept { metrics::detail::emit(options_.log, level, what); }
  void prepare_auth();
  void launch();
  void run() noexcept;
  void poll_once(std::vector<pollfd>& fds, std::vector<char>& scratch);
  void accept_all(clock::time_point now);
  static void send_busy(int fd) noexcept;
  void open_spare() noexcept;
  bool shed_one(clock::time_point now);
  void report_accept_failure(int err, clock::time_point now, std::string_view action);
  bool make_room();
  void on_readable(connection& c, std::vector<char>& scratch, clock::time_point now);
  void process(connection& c, clock::time_point now);
  void flush(connection& c, clock::time_point now);
  void handle(connection& c, const request& req, clock::time_point now);
  void respond_error(connection& c, int status, std::string_view reason);
  void queue(connection& c, detail::framing f);

  server_options options_;

  std::thread thread_;
  std::atomic<bool> stopping_{false};
  metrics::detail::unique_fd listener_;
  metrics::detail::unique_fd wake_read_;
  metrics::detail::unique_fd wake_write_;
  std::uint16_t port_ = 0;
  std::string bound_address_;
  authenticator auth_;

  // Owned by the loop thread.
  std::vector<std::unique_ptr<connection>> conns_;
  clock::time_point accept_paused_until_{};
  clock::time_point last_accept_report_{};
  bool accept_reported_ = false;
  metrics::detail::unique_fd spare_;
  std::shared_ptr<metrics::detail::connection_budget> budget_ = std::make_shared<metrics::detail::connection_budget>();
  response reply_;
  std::string path_;
  std::string date_;
  std::time_t date_time_ = 0;

  std::atomic<std::uint64_t> stat_accepted_{0};
  std::atomic<std::uint64_t> stat_rejected_{0};
  std::atomic<std::uint64_t> stat_evicted_{0};
  std::atomic<std::uint64_t> stat_timed_out_{0};
  std::atomic<std::uint64_t> stat_requests_{0};
  std::atomic<std::size_t> stat_open_{0};
};

/// The HTTP server over a Router, which it owns. Not copyable or movable. A class derived
/// from it calls stop() in its own destructor: the event loop calls virtual functions of
/// the object, which must not be under destruction then.
template <router Router>
class router_server : public server_core {
 public:
  /// The router is built in place from `router_args`.
  template <class... Args>
  explicit router_server(server_options options, Args&&... router_args)
      : server_core(std::move(options)), router_(std::forward<Args>(router_args)...) {}

  // The loop calls into router_, so it stops before router_ is destroyed.
  ~router_server() override { stop(); }

 protected:
  /// The router; touch it from other threads only where it is thread-safe.
  [[nodiscard]] Router& router() noexcept { return router_; }
  [[nodiscard]] const Router& router() const noexcept { return router_; }

 private:
  void dispatch(const routed_request& req, response& out) override;
  void add_router_stats(server_stats& s) const noexcept override;

  Router router_;
};

// Defined outside the class, hence not inline: compiled mode's explicit instantiation
// declarations then keep them (and the routes they call) out of the files that set up a
// server.
template <router Router>
void router_server<Router>::dispatch(const routed_request& req, response& out) {
  router_.route(req, out);
}

template <router Router>
void router_server<Router>::add_router_stats(server_stats& s) const noexcept {
  if constexpr (requires { router_.add_stats(s); }) router_.add_stats(s);
}

#if ANKLET_METRICS_DEFINE_BODIES

ANKLET_METRICS_INLINE server_core::server_core(server_options options) : options_(std::move(options)) {}

ANKLET_METRICS_INLINE server_core::~server_core() { stop(); }

ANKLET_METRICS_INLINE void server_core::start() {
  if (thread_.joinable()) throw std::logic_error("anklet::metrics::http::basic_server: already started");
  prepare_auth();
  budget_ = std::make_shared<metrics::detail::connection_budget>();
  budget_->capacity = metrics::detail::descriptor_capacity(options_.reserved_descriptors);
  auto bound = detail::bind_listener(options_);
  listener_ = std::move(bound.fd);
  port_ = bound.port;
  bound_address_ = std::move(bound.address);
  launch();
}

ANKLET_METRICS_INLINE void server_core::start_sharing(const server_core& primary) {
  if (thread_.joinable()) throw std::logic_error("anklet::metrics::http::basic_server: already started");
  if (&primary == this || !primary.running()) {
    throw std::logic_error("anklet::metrics::http::basic_server: start_sharing needs another running server");
  }
  prepare_auth();
  const int fd = ::fcntl(primary.listener_.get(), F_DUPFD_CLOEXEC, 0);
  if (fd < 0) {
    const int err = errno;
    throw server_error(server_errc::socket, primary.bound_address_, primary.port_, err,
                       std::system_category().message(err));
  }
  listener_.reset(fd);
  port_ = primary.port_;
  bound_address_ = primary.bound_address_;
  budget_ = primary.budget_;
  launch();
}

ANKLET_METRICS_INLINE void server_core::stop() noexcept {
  if (!thread_.joinable()) return;
  stopping_.store(true, std::memory_order_release);
  const char byte = 1;
  while (::write(wake_write_.get(), &byte, 1) < 0 && errno == EINTR) {
  }
  thread_.join();
  listener_.reset();
  wake_read_.reset();
  wake_write_.reset();
  spare_.reset();
  budget_->loops.fetch_sub(1, std::memory_order_relaxed);
}

ANKLET_METRICS_INLINE server_stats server_core::stats() const noexcept {
  server_stats s;
  s.connections_accepted = stat_accepted_.load(std::memory_order_relaxed);
  s.connections_rejected = stat_rejected_.load(std::memory_order_relaxed);
  s.connections_evicted = stat_evicted_.load(std::memory_order_relaxed);
  s.connections_timed_out = stat_timed_out_.load(std::memory_order_relaxed);
  s.requests = stat_requests_.load(std::memory_order_relaxed);
  s.open_connections = stat_open_.load(std::memory_order_relaxed);
  add_router_stats(s);
  return s;
}

ANKLET_METRICS_INLINE void server_core::prepare_auth() {
  auth_ = authenticator(options_.basic_user, options_.basic_password, options_.bearer_token, options_.auth_realm,
                        options_.healthcheck_requires_auth);
}

ANKLET_METRICS_INLINE void server_core::launch() {
  std::array<int, 2> fds{};
  if (::pipe(fds.data()) != 0) {
    const int err = errno;
    listener_.reset();
    throw server_error(server_errc::wakeup, options_.address, port_, err, std::system_category().message(err));
  }
  wake_read_.reset(fds[0]);
  wake_write_.reset(fds[1]);
  metrics::detail::set_nonblocking_cloexec(fds[0]);
  metrics::detail::set_nonblocking_cloexec(fds[1]);
  open_spare();
  budget_->loops.fetch_add(1, std::memory_order_relaxed);
  stopping_.store(false, std::memory_order_relaxed);
  try {
    thread_ = std::thread([this] { run(); });
  } catch (const std::system_error& e) {
    budget_->loops.fetch_sub(1, std::memory_order_relaxed);
    listener_.reset();
    wake_read_.reset();
    wake_write_.reset();
    spare_.reset();
    throw server_error(server_errc::thread, options_.address, port_, e.code().value(), e.what());
  }
}

// ---- the event loop -------------------------------------------------------------

ANKLET_METRICS_INLINE void server_core::run() noexcept {
  std::vector<pollfd> fds;
  std::vector<char> scratch(read_chunk);
  while (!stopping_.load(std::memory_order_acquire)) {
    try {
      poll_once(fds, scratch);
    } catch (const std::exception& e) {
      // Allocation failure and the like: report, shed the connections, keep serving.
      report(log_level::error, e.what());
      conns_.clear();
    }
    stat_open_.store(conns_.size(), std::memory_order_relaxed);
  }
  conns_.clear();
  stat_open_.store(0, std::memory_order_relaxed);
}

ANKLET_METRICS_INLINE void server_core::poll_once(std::vector<pollfd>& fds, std::vector<char>& scratch) {
  auto now = clock::now();
  fds.clear();
  fds.push_back({wake_read_.get(), POLLIN, 0});
  const bool accepting = now >= accept_paused_until_;
  fds.push_back({accepting ? listener_.get() : -1, POLLIN, 0});
  auto next_deadline = clock::time_point::max();
  for (const auto& c : conns_) {
    short events = 0;
    if (c->wants_read()) events |= POLLIN;
    if (c->out_bytes > 0) events |= POLLOUT;
    fds.push_back({c->fd.get(), events, 0});
    next_deadline = std::min(next_deadline, c->deadline);
  }
  if (!accepting) next_deadline = std::min(next_deadline, accept_paused_until_);
  int timeout = -1;
  if (next_deadline != clock::time_point::max()) {
    const auto wait = std::chrono::ceil<std::chrono::milliseconds>(next_deadline - now).count();
    timeout = static_cast<int>(std::clamp<std::chrono::milliseconds::rep>(wait, 0, 60'000));
  }
  const int n = ::poll(fds.data(), static_cast<nfds_t>(fds.size()), timeout);
  if (n < 0) {
    if (errno != EINTR) {
      report(log_level::error, "poll failed: " + std::system_category().message(errno));
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return;
  }
  if (fds[0].revents != 0) {
    char drain[64];
    while (::read(wake_read_.get(), drain, sizeof drain) > 0) {
    }
    if (stopping_.load(std::memory_order_acquire)) return;
  }
  now = clock::now();
  const std::size_t polled = conns_.size();
  for (std::size_t i = 0; i < polled; ++i) {
    const auto revents = fds[i + 2].revents;
    if (revents == 0) continue;
    // stop() waits for this loop: with many busy connections (each may render a body)
    // one round can take long, so a stop is honoured between connections.
    if (stopping_.load(std::memory_order_relaxed)) return;
    auto& c = *conns_[i];
    if ((revents & (POLLIN | POLLHUP | POLLERR)) != 0 && c.wants_read()) on_readable(c, scratch, now);
    if (!c.dead && (revents & POLLERR) != 0) c.dead = true;
    if (!c.dead && c.out_bytes > 0 && (revents & (POLLOUT | POLLHUP)) != 0) flush(c, now);
    if (!c.dead && (revents & POLLHUP) != 0 && c.out_bytes == 0 && !c.wants_read()) c.dead = true;
  }
  if (accepting && fds[1].revents != 0) accept_all(now);
  for (auto& c : conns_) {
    if (!c->dead && now >= c->deadline) {
      if (!c->lingering) stat_timed_out_.fetch_add(1, std::memory_order_relaxed);
      c->dead = true;
    }
  }
  std::erase_if(conns_, [](const std::unique_ptr<connection>& c) { return c->dead; });
}

ANKLET_METRICS_INLINE void server_core::accept_all(clock::time_point now) {
  const unsigned batch = std::max(1U, options_.accept_batch);
  for (unsigned i = 0; i < batch; ++i) {
    const int fd = metrics::detail::accept_socket(listener_.get());
    if (fd < 0) {
      const int err = errno;
      if (err == EAGAIN || err == EWOULDBLOCK) return;
      if (err == EINTR || err == ECONNABORTED || err == EPROTO) continue;
      if ((err == EMFILE || err == ENFILE) && shed_one(now)) continue;
      // Out of descriptors (no spare left) or memory: pause accepting briefly instead of
      // spinning on a listener that stays readable; serving existing connections frees
      // resources.
      report_accept_failure(err, now, "accepting paused for 50 ms");
      accept_paused_until_ = now + std::chrono::milliseconds(50);
      return;
    }
    metrics::detail::unique_fd guard(fd);
    const auto cap = std::min(options_.max_connections, budget_->share(own_descriptors));
    if (conns_.size() >= cap && !make_room()) {
      stat_rejected_.fetch_add(1, std::memory_order_relaxed);  // before the client can see it
      send_busy(fd);
      continue;
    }
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (options_.send_buffer_bytes > 0) {
      const int bytes = static_cast<int>(std::min<std::size_t>(options_.send_buffer_bytes, INT_MAX / 2));
      ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof bytes);
    }
    auto c = std::make_unique<connection>(std::move(guard), options_.limits);
    c->deadline = now + options_.read_timeout;
    conns_.push_back(std::move(c));
    stat_accepted_.fetch_add(1, std::memory_order_relaxed);
  }
}

ANKLET_METRICS_INLINE void server_core::send_busy(int fd) noexcept {
  [[maybe_unused]] const auto sent = ::send(fd, busy_response.data(), busy_response.size(), metrics::detail::send_nosignal);
}

ANKLET_METRICS_INLINE void server_core::open_spare() noexcept { spare_.reset(::open("/dev/null", O_RDONLY | O_CLOEXEC)); }

// accept() found no descriptor: give up the spare one to accept a newcomer, answer it
// 503 and close it, so that it hears "busy" at once instead of waiting in the backlog.
// False when there is no spare (someone else took the descriptor), or nobody waits.
ANKLET_METRICS_INLINE bool server_core::shed_one(clock::time_point now) {
  if (!spare_) {
    open_spare();
    if (!spare_) return false;
  }
  spare_.reset();
  const int fd = metrics::detail::accept_socket(listener_.get());
  if (fd >= 0) {
    stat_rejected_.fetch_add(1, std::memory_order_relaxed);
    send_busy(fd);
    ::close(fd);
  }
  open_spare();
  if (fd < 0) return false;
  report_accept_failure(EMFILE, now, "newcomers answered 503 while it lasts");
  return static_cast<bool>(spare_);
}

// At most one line a second, however many connections are refused.
ANKLET_METRICS_INLINE void server_core::report_accept_failure(int err, clock::time_point now, std::string_view action) {
  if (accept_reported_ && now - last_accept_report_ < std::chrono::seconds(1)) return;
  accept_reported_ = true;
  last_accept_report_ = now;
  report(log_level::warning, "accept failed: " + std::system_category().message(err) + " (" + std::string(action) + ")");
}

// Frees one slot: a connection already marked dead (it would be dropped at the end of
// this round anyway), else, when allowed, the one with the earliest read deadline among
// those with nothing to send, i.e. the one that has waited longest for its next request.
// A connection still sending is never cut, so a flood cannot truncate answers.
ANKLET_METRICS_INLINE bool server_core::make_room() {
  auto victim = conns_.end();
  for (auto it = conns_.begin(); it != conns_.end(); ++it) {
    const auto& c = **it;
    if (c.dead) {
      victim = it;
      break;
    }
    if (!options_.evict_oldest_when_full || c.out_bytes > 0) continue;
    if (victim == conns_.end() || c.deadline < (*victim)->deadline) victim = it;
  }
  if (victim == conns_.end()) return false;
  if (!(*victim)->dead) stat_evicted_.fetch_add(1, std::memory_order_relaxed);
  conns_.erase(victim);
  return true;
}

ANKLET_METRICS_INLINE void server_core::on_readable(connection& c, std::vector<char>& scratch, clock::time_point now) {
  ssize_t n = 0;
  do {
    n = ::recv(c.fd.get(), scratch.data(), scratch.size(), 0);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    if (errno != EAGAIN && errno != EWOULDBLOCK) c.dead = true;
    return;
  }
  if (n == 0) {
    // Answer what was fully received (a client may half-close after its requests),
    // then close; a partial request dies with the connection.
    c.peer_eof = true;
    if (c.lingering) {
      c.dead = true;
      return;
    }
  } else {
    if (c.lingering) return;  // discarded
    c.in.append(scratch.data(), static_cast<std::size_t>(n));
  }
  process(c, now);
  if (!c.dead && c.out_bytes > 0) flush(c, now);
  if (!c.dead && c.peer_eof && c.out_bytes == 0) c.dead = true;
}

// Parses and answers buffered requests in order, up to the output high-water mark.
ANKLET_METRICS_INLINE void server_core::process(connection& c, clock::time_point now) {
  while (!c.dead && !c.close_after && c.in_used < c.in.size() && c.out_bytes < connection::output_high_water) {
    const auto used = c.parser.feed(std::string_view(c.in).substr(c.in_used));
    c.in_used += used;
    const auto state = c.parser.state();
    if (state == parse_state::need_more) break;
    if (state == parse_state::failed) {
      respond_error(c, c.parser.error_status(), c.parser.error_reason());
      break;
    }
    stat_requests_.fetch_add(1, std::memory_order_relaxed);
    handle(c, c.parser.get(), now);
    c.parser.reset();
    // A client may pipeline many requests, each rendering a body: stop() waits for one.
    if (stopping_.load(std::memory_order_relaxed)) break;
  }
  if (c.in_used == c.in.size()) {
    c.in.clear();
    c.in_used = 0;
  } else if (c.in_used > c.in.size() / 2) {
    c.in.erase(0, c.in_used);
    c.in_used = 0;
  }
}

// Sends what it can without blocking; once everything went out, answers requests that
// waited behind it (a loop, not recursion, however many were pipelined).
ANKLET_METRICS_INLINE void server_core::flush(connection& c, clock::time_point now) {
  for (;;) {
    c.send_pending(options_.write_timeout);
    if (c.dead || c.out_bytes > 0) return;
    c.out_first = c.out_count = 0;
    if (c.close_after) {
      if (!c.lingering) {
        c.dead = true;
      } else {
        ::shutdown(c.fd.get(), SHUT_WR);
        c.deadline = now + options_.linger_timeout;
      }
      return;
    }
    c.deadline = now + options_.read_timeout;
    if (c.in_used < c.in.size()) {
      process(c, now);
      if (!c.dead && c.out_bytes > 0) continue;
    }
    if (c.peer_eof) c.dead = true;  // every complete request was answered
    return;
  }
}

// ---- answers --------------------------------------------------------------------

ANKLET_METRICS_INLINE void server_core::handle(connection& c, const request& req, clock::time_point now) {
  reply_.reset();
  if (!percent_decode(req.path, path_, false)) {
    reply_.text(400, "malformed percent-encoding in the path\n");
  } else {
    dispatch(routed_request{req.method, path_, req.query, req, now, auth_, options_.log}, reply_);
  }
  queue(c, detail::framing{req.method == "HEAD", req.keep_alive, req.version_minor});
}

// A request the parser refused: answered, then the rest of it drained (lingering).
ANKLET_METRICS_INLINE void server_core::respond_error(connection& c, int status, std::string_view reason) {
  reply_.reset();
  reply_.status = status;
  reply_.body.assign(reason);
  reply_.body += '\n';
  queue(c, detail::framing{false, false, 1});
  c.lingering = true;
}

// Frames reply_ onto the connection's output.
ANKLET_METRICS_INLINE void server_core::queue(connection& c, detail::framing f) {
  const auto t = std::time(nullptr);
  if (t != date_time_) {
    date_time_ = t;
    detail::http_date(t, date_);
  }
  auto& item = c.next_item();
  detail::frame(item, reply_, f, date_);
  c.out_bytes += item.size();
  c.deadline = clock::now() + options_.write_timeout;
  if (!f.keep_alive) c.close_after = true;
}

#endif  // ANKLET_METRICS_DEFINE_BODIES

}  // namespace anklet::metrics::http
