// anklet::metrics::http server: the /metrics/v1 responder over POSIX sockets (docs/http.md).
//
// One event-loop thread, started by start() and joined by stop() or the destructor,
// serves every connection with poll() on non-blocking sockets: keep-alive, pipelining,
// bounded connections and per-request timeouts, so idle or slow clients cannot pin it.
//
// What it serves comes from three compile-time parts:
//  - a snapshot source: the store (anything with generation() and snapshot_into()),
//  - a renderer: turns a snapshot into the body of one format (see standard_renderer in
//    "anklet/metrics/http/metrics_routes.hpp"),
//  - optionally a host refresher: a callable that refreshes host figures in the store,
//    run on a scrape at most once per host_refresh_interval; it may return bool, false
//    meaning it declined and nothing changed.
// A scrape takes a snapshot under the store's shared lock, releases it, renders, and only
// then writes; no lock is held while a socket is written. Rendered bodies are cached per
// format while neither the store's generation nor the host refresh epoch changed.
//
// Thread safety: start(), stop() and publish() may be called from any thread, but not
// concurrently with each other on the same server; port() and stats() at any time.
#pragma once

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <climits>
#include <concepts>
#include <cstdint>
#include <ctime>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "anklet/metrics/core/model.hpp"
#include "anklet/metrics/detail/socket.hpp"
#include "anklet/metrics/http/request_parser.hpp"

namespace anklet::metrics::http {

/// The formats of /metrics/v1 (docs/http.md).
enum class metrics_format : std::uint8_t { prometheus, json, anklet };

inline constexpr std::array<metrics_format, 3> all_formats{metrics_format::prometheus, metrics_format::json,
                                                         metrics_format::anklet};

/// The query spelling of a format.
[[nodiscard]] constexpr std::string_view to_string(metrics_format f) noexcept {
  switch (f) {
    case metrics_format::prometheus: return "prometheus";
    case metrics_format::json: return "json";
    case metrics_format::anklet: return "anklet";
  }
  return "unknown";
}

/// The format spelled `text` in a query, if any.
[[nodiscard]] constexpr std::optional<metrics_format> parse_format(std::string_view text) noexcept {
  for (const auto f : all_formats) {
    if (to_string(f) == text) return f;
  }
  return std::nullopt;
}

/// Where snapshots come from: a store, or a published_snapshot.
template <class S>
concept snapshot_source = requires(const S& s, metrics_snapshot& out) {
  { s.generation() } -> std::convertible_to<std::uint64_t>;
  { s.snapshot_into(out) } -> std::convertible_to<std::uint64_t>;
};

/// Renders a snapshot into the body of one format (appending to `out`) and names its
/// Content-Type. Called on the server's thread only, with no lock held.
template <class R>
concept snapshot_renderer = requires(R& r, metrics_format f, const metrics_snapshot& s, fmt::memory_buffer& out) {
  r.render(f, s, out);
  { r.content_type(f) } -> std::convertible_to<std::string_view>;
};

/// The host refresher of servers that have none.
struct no_host_refresh {
  void operator()() const noexcept {}
};

/// Latest snapshot pushed by publish(); a snapshot_source for servers that are fed by an
/// exporter instead of reading a store themselves. Thread-safe.
class published_snapshot {
 public:
  void publish(const metrics_snapshot& snap) {
    std::lock_guard lock(mutex_);
    snap_ = snap;
    generation_.fetch_add(1, std::memory_order_release);
  }
  [[nodiscard]] std::uint64_t generation() const noexcept { return generation_.load(std::memory_order_acquire); }
  std::uint64_t snapshot_into(metrics_snapshot& out) const {
    std::lock_guard lock(mutex_);
    out = snap_;
    return generation_.load(std::memory_order_relaxed);
  }

 private:
  mutable std::mutex mutex_;
  metrics_snapshot snap_;
  std::atomic<std::uint64_t> generation_{0};
};

/// An answer from server_options::handler.
struct handler_response {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  /// The Allow header's value, for 405 answers.
  std::string allow;
  /// More header lines, each ending in CRLF (e.g. "Age: 3\r\n").
  std::string headers;
};

/// A request as server_options::handler sees it: the method, the percent-decoded path and
/// the raw query (without '?').
using request_handler =
    std::function<std::optional<handler_response>(std::string_view method, std::string_view path, std::string_view query)>;

/// Server settings; every limit has a named default.
struct server_options {
  static constexpr std::size_t default_max_connections = 512;
  static constexpr std::size_t default_reserved_descriptors = 64;
  static constexpr std::size_t default_send_buffer_bytes = 64 * 1024;
  static constexpr std::chrono::milliseconds default_read_timeout{10'000};
  static constexpr std::chrono::milliseconds default_write_timeout{10'000};
  static constexpr std::chrono::milliseconds default_host_refresh_interval{1'000};

  /// Numeric IPv4 or IPv6 address or host name to bind; empty or "*" binds every
  /// interface (IPv6 and IPv4 where the system allows both on one socket).
  std::string address = "127.0.0.1";
  /// 0 picks a free port; read it back with port().
  std::uint16_t port = 8080;
  /// When `port` is taken, try up to this many ports above it, as Go Anklet does.
  unsigned port_search = 0;
  int backlog = 511;
  /// Most connections accepted per wake-up. Servers sharing a listener (start_sharing)
  /// should take 1, so that connections spread across their event loops.
  unsigned accept_batch = 64;
  /// At most this many connections are open at once; see evict_oldest_when_full.
  std::size_t max_connections = default_max_connections;
  /// Descriptors kept free for the rest of the process (host figures read /proc, a Redis
  /// connection, log files). The servers sharing a listener (start_sharing) split the
  /// soft RLIMIT_NOFILE, less the descriptors open when the first one started, less their
  /// own, less this many, into equal shares; each holds at most its share of connections,
  /// as if it were max_connections. Should accept() still run out of descriptors, the
  /// newcomer is answered 503 on a descriptor kept for that, and closed.
  std::size_t reserved_descriptors = default_reserved_descriptors;
  /// When full, a new connection closes the open one that has waited longest for a request
  /// (idle keep-alive or incomplete request, nothing left to send), so idle or slow clients
  /// cannot lock a scraper out until their read timeout ends. When false, or when every
  /// connection is still sending a response, the newcomer is answered 503 and closed.
  bool evict_oldest_when_full = true;
  /// A client must complete each request within this time after the connection opened or
  /// the previous response went out (this also bounds idle keep-alive connections).
  std::chrono::milliseconds read_timeout = default_read_timeout;
  /// A client that accepts no response bytes for this long is dropped.
  std::chrono::milliseconds write_timeout = default_write_timeout;
  /// SO_SNDBUF of every accepted connection: what the kernel may hold for one client that
  /// does not read (the system doubles it for its bookkeeping). Without a bound it grows
  /// to several MiB per connection (Linux's tcp_wmem). 0 keeps the system's autotuning;
  /// raise it for large bodies over long round trips (throughput is at most this per RTT).
  std::size_t send_buffer_bytes = default_send_buffer_bytes;
  /// After an error answer the rest of a request is drained this long before closing,
  /// so that the client reads the answer instead of a reset.
  std::chrono::milliseconds linger_timeout{500};
  /// Host figures are refreshed on a scrape at most this often; 0 = every scrape.
  std::chrono::milliseconds host_refresh_interval = default_host_refresh_interval;
  /// Reuse a rendered body while the store and host figures are unchanged.
  bool cache_bodies = true;
  request_limits limits{};

  /// HTTP basic auth is required when basic_user is non-empty.
  std::string basic_user{};
  std::string basic_password{};
  /// A bearer token is accepted when non-empty (alone or besides basic auth).
  std::string bearer_token{};
  /// /healthcheck stays open by default, for load balancers.
  bool healthcheck_requires_auth = false;
  std::string auth_realm = "anklet-metrics";

  /// Called on the server thread with a description of a problem that did not stop the
  /// server (a failing renderer or host source, accept errors). Must not throw.
  std::function<void(std::string_view)> on_error{};

  /// Extra routes (the fleet aggregator serves /metrics/v2 this way): consulted for every
  /// request before the built-in routes, once authorization passed (/healthcheck as
  /// configured above); nullopt falls through to them. HEAD requests are passed as GET and
  /// answered without the body. Runs on the server thread, so a slow handler delays every
  /// connection; an exception becomes a 500.
  request_handler handler;
};

/// What went wrong in start().
enum class server_errc : std::uint8_t { resolve, socket, bind, listen, wakeup, thread };

/// Thrown by start(): names the step, the address and port, and the system error.
class server_error : public std::runtime_error {
 public:
  server_error(server_errc kind, std::string address, std::uint16_t port, int sys_errno, const std::string& detail)
      : std::runtime_error(describe(kind, address, port, detail)),
        kind_(kind),
        address_(std::move(address)),
        port_(port),
        errno_(sys_errno) {}
  [[nodiscard]] server_errc kind() const noexcept { return kind_; }
  [[nodiscard]] const std::string& address() const noexcept { return address_; }
  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
  /// The errno of the failing call, 0 when not a system error (e.g. name resolution).
  [[nodiscard]] int sys_errno() const noexcept { return errno_; }

 private:
  static std::string describe(server_errc kind, const std::string& address, std::uint16_t port,
                              const std::string& detail) {
    static constexpr std::array<std::string_view, 6> steps{"cannot resolve", "cannot create a socket for",
                                                           "cannot bind",    "cannot listen on",
                                                           "cannot create the wake-up pipe for",
                                                           "cannot start the server thread for"};
    std::string out(steps[static_cast<std::size_t>(kind)]);
    out += ' ';
    out += address.find(':') != std::string::npos ? "[" + address + "]" : address;
    out += ':';
    out += std::to_string(port);
    out += ": ";
    out += detail;
    return out;
  }

  server_errc kind_;
  std::string address_;
  std::uint16_t port_;
  int errno_;
};

/// Counters for monitoring and tests; read with stats().
struct server_stats {
  std::uint64_t connections_accepted = 0;
  std::uint64_t connections_rejected = 0;  ///< over max_connections, answered 503
  std::uint64_t connections_evicted = 0;   ///< closed to make room for a newer one
  std::uint64_t connections_timed_out = 0;
  std::uint64_t requests = 0;
  std::uint64_t renders = 0;          ///< bodies rendered (cache misses)
  std::uint64_t host_refreshes = 0;
  std::size_t open_connections = 0;
};

namespace detail {

class unique_fd {
 public:
  unique_fd() noexcept = default;
  explicit unique_fd(int fd) noexcept : fd_(fd) {}
  unique_fd(unique_fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  unique_fd& operator=(unique_fd&& o) noexcept {
    if (this != &o) reset(std::exchange(o.fd_, -1));
    return *this;
  }
  unique_fd(const unique_fd&) = delete;
  unique_fd& operator=(const unique_fd&) = delete;
  ~unique_fd() { reset(); }
  void reset(int fd = -1) noexcept {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }
  [[nodiscard]] int get() const noexcept { return fd_; }
  [[nodiscard]] int release() noexcept { return std::exchange(fd_, -1); }
  [[nodiscard]] explicit operator bool() const noexcept { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

// What RLIMIT_NOFILE leaves the servers sharing a listener. Each loop gets an equal share
// for its connections, so that a full one can always make room among its own (a global
// count would leave a loop with no connections of its own nothing to evict).
struct connection_budget {
  std::size_t capacity = SIZE_MAX;     // descriptors for servers and connections together
  std::atomic<std::size_t> loops{0};   // servers running on the listener
  [[nodiscard]] std::size_t share(std::size_t own_descriptors) const noexcept {
    const std::size_t n = std::max<std::size_t>(1, loops.load(std::memory_order_relaxed));
    if (capacity == SIZE_MAX) return SIZE_MAX;
    const std::size_t fixed = n * own_descriptors;
    return capacity > fixed ? std::max<std::size_t>(1, (capacity - fixed) / n) : 1;
  }
};

// Descriptors open in this process now; 0 when they cannot be listed.
inline std::size_t open_descriptor_count() noexcept {
#if defined(__linux__)
  DIR* dir = ::opendir("/proc/self/fd");
#else
  DIR* dir = ::opendir("/dev/fd");
#endif
  if (dir == nullptr) return 0;
  std::size_t n = 0;
  while (const dirent* e = ::readdir(dir)) {
    if (e->d_name[0] != '.') ++n;
  }
  ::closedir(dir);
  return n > 0 ? n - 1 : 0;  // less the listing's own descriptor
}

// What the soft RLIMIT_NOFILE leaves after the descriptors open now and `reserved`.
inline std::size_t descriptor_capacity(std::size_t reserved) noexcept {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return SIZE_MAX;
  const auto limit = static_cast<std::uint64_t>(rl.rlim_cur);
  const std::uint64_t used = std::uint64_t{open_descriptor_count()} + reserved;
  if (limit <= used) return 0;
  return static_cast<std::size_t>(std::min<std::uint64_t>(limit - used, SIZE_MAX));
}

using metrics::detail::accept_socket;
using metrics::detail::open_socket;
using metrics::detail::send_nosignal;
using metrics::detail::set_nonblocking_cloexec;

inline std::string base64(std::string_view in) {
  static constexpr std::string_view alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const auto n = (static_cast<unsigned>(static_cast<unsigned char>(in[i])) << 16U) |
                   (static_cast<unsigned>(static_cast<unsigned char>(in[i + 1])) << 8U) |
                   static_cast<unsigned>(static_cast<unsigned char>(in[i + 2]));
    out += alphabet[(n >> 18U) & 63U];
    out += alphabet[(n >> 12U) & 63U];
    out += alphabet[(n >> 6U) & 63U];
    out += alphabet[n & 63U];
  }
  if (i < in.size()) {
    auto n = static_cast<unsigned>(static_cast<unsigned char>(in[i])) << 16U;
    if (i + 1 < in.size()) n |= static_cast<unsigned>(static_cast<unsigned char>(in[i + 1])) << 8U;
    out += alphabet[(n >> 18U) & 63U];
    out += alphabet[(n >> 12U) & 63U];
    out += i + 1 < in.size() ? alphabet[(n >> 6U) & 63U] : '=';
    out += '=';
  }
  return out;
}

/// Compares a secret without an early exit, so timing does not reveal how much matched.
[[nodiscard]] inline bool constant_time_equals(std::string_view given, std::string_view secret) noexcept {
  unsigned diff = given.size() == secret.size() ? 0U : 1U;
  for (std::size_t i = 0; i < secret.size(); ++i) {
    const auto g = i < given.size() ? static_cast<unsigned char>(given[i]) : 0U;
    diff |= g ^ static_cast<unsigned char>(secret[i]);
  }
  return diff == 0;
}

[[nodiscard]] inline std::string_view reason_phrase(int status) noexcept {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
  }
}

// IMF-fixdate for the Date header, built by hand: strftime's names follow the locale.
inline void http_date(std::time_t t, std::string& out) {
  static constexpr std::array<std::string_view, 7> days{"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr std::array<std::string_view, 12> months{"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                           "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  out = fmt::format("{}, {:02} {} {:04} {:02}:{:02}:{:02} GMT", days[static_cast<std::size_t>(tm.tm_wday % 7)],
                    tm.tm_mday, months[static_cast<std::size_t>(tm.tm_mon % 12)], tm.tm_year + 1900, tm.tm_hour,
                    tm.tm_min, tm.tm_sec);
}

inline std::string sockaddr_to_string(const sockaddr_storage& ss) {
  std::array<char, INET6_ADDRSTRLEN> buf{};
  if (ss.ss_family == AF_INET6) {
    const auto& a = reinterpret_cast<const sockaddr_in6&>(ss);
    if (::inet_ntop(AF_INET6, &a.sin6_addr, buf.data(), static_cast<socklen_t>(buf.size())) != nullptr) return buf.data();
  } else if (ss.ss_family == AF_INET) {
    const auto& a = reinterpret_cast<const sockaddr_in&>(ss);
    if (::inet_ntop(AF_INET, &a.sin_addr, buf.data(), static_cast<socklen_t>(buf.size())) != nullptr) return buf.data();
  }
  return {};
}

/// A rendered body shared between the cache and the connections still sending it.
struct rendered_body {
  fmt::memory_buffer bytes;
};

}  // namespace detail

/// The HTTP responder. Holds a reference to its source, which must outlive it.
///
/// As a transport (publish(snapshot)), a pull server needs nothing pushed: when its source
/// is a store, publish() is accepted and ignored, because every scrape reads the store
/// itself and is never older than a pushed copy; when its source is a published_snapshot,
/// publish() replaces what is served.
template <snapshot_source Source, snapshot_renderer Renderer, std::invocable<> HostRefresh = no_host_refresh>
class basic_server {
 public:
  using clock = std::chrono::steady_clock;

  explicit basic_server(Source& source, server_options options = {}, Renderer renderer = {},
                        HostRefresh host_refresh = {})
      : source_(source),
        options_(std::move(options)),
        renderer_(std::move(renderer)),
        host_refresh_(std::move(host_refresh)) {}

  basic_server(const basic_server&) = delete;
  basic_server& operator=(const basic_server&) = delete;
  ~basic_server() { stop(); }

  /// Binds, listens and starts the event-loop thread. Throws server_error on failure
  /// (nothing is left running) and std::logic_error when already running.
  void start() {
    if (thread_.joinable()) throw std::logic_error("anklet::metrics::http::basic_server: already started");
    prepare_auth();
    budget_ = std::make_shared<detail::connection_budget>();
    budget_->capacity = detail::descriptor_capacity(options_.reserved_descriptors);
    bind_listener();
    launch();
  }

  /// Starts this server's event loop on the listening socket of `primary`, which must be
  /// running: servers then share one port, e.g. one per core, each with its own thread,
  /// connections and cache (set accept_batch to 1 on all of them). No second socket is
  /// bound, so nothing else can join the port. Throws server_error when the socket cannot
  /// be duplicated, std::logic_error when this one runs already or `primary` does not.
  void start_sharing(const basic_server& primary) {
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

 private:
  void launch() {
    std::array<int, 2> fds{};
    if (::pipe(fds.data()) != 0) {
      const int err = errno;
      listener_.reset();
      throw server_error(server_errc::wakeup, options_.address, port_, err, std::system_category().message(err));
    }
    wake_read_.reset(fds[0]);
    wake_write_.reset(fds[1]);
    detail::set_nonblocking_cloexec(fds[0]);
    detail::set_nonblocking_cloexec(fds[1]);
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

 public:
  /// Stops serving, closes every connection and joins the thread. Idempotent.
  void stop() noexcept {
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

  [[nodiscard]] bool running() const noexcept { return thread_.joinable(); }

  /// The bound port (the one picked when the option was 0 or the search moved on).
  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
  /// The bound address as text, e.g. "127.0.0.1" or "::".
  [[nodiscard]] const std::string& bound_address() const noexcept { return bound_address_; }
  [[nodiscard]] const server_options& options() const noexcept { return options_; }

  [[nodiscard]] server_stats stats() const noexcept {
    server_stats s;
    s.connections_accepted = stat_accepted_.load(std::memory_order_relaxed);
    s.connections_rejected = stat_rejected_.load(std::memory_order_relaxed);
    s.connections_evicted = stat_evicted_.load(std::memory_order_relaxed);
    s.connections_timed_out = stat_timed_out_.load(std::memory_order_relaxed);
    s.requests = stat_requests_.load(std::memory_order_relaxed);
    s.renders = stat_renders_.load(std::memory_order_relaxed);
    s.host_refreshes = stat_refreshes_.load(std::memory_order_relaxed);
    s.open_connections = stat_open_.load(std::memory_order_relaxed);
    return s;
  }

  /// Transport hook; see the class comment.
  void publish(const metrics_snapshot& snap) {
    if constexpr (requires { source_.publish(snap); }) {
      source_.publish(snap);
    }
  }

 private:
  static constexpr std::size_t read_chunk = 16 * 1024;
  // Pipelined requests are answered in batches; reading pauses while this much is unsent.
  static constexpr std::size_t output_high_water = 256 * 1024;
  static constexpr std::size_t max_iov = 64;
  // Listener (or its duplicate), the two ends of the wake-up pipe, the spare.
  static constexpr std::size_t own_descriptors = 4;
  static constexpr std::string_view busy_response =
      "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n"
      "Content-Length: 20\r\nRetry-After: 1\r\nConnection: close\r\n\r\ntoo many connections";

  struct out_item {
    std::string head;  // status line, headers and any small body
    std::shared_ptr<const detail::rendered_body> body;
    std::size_t sent = 0;
    [[nodiscard]] std::size_t size() const noexcept { return head.size() + (body ? body->bytes.size() : 0); }
  };

  struct connection {
    detail::unique_fd fd;
    request_parser parser;
    std::string in;
    std::size_t in_used = 0;
    std::vector<out_item> out;  // items [out_first, out_count) are pending; others keep capacity
    std::size_t out_first = 0;
    std::size_t out_count = 0;
    std::size_t out_bytes = 0;
    clock::time_point deadline;
    bool close_after = false;  // close once the output is sent
    bool lingering = false;    // output sent after an error; draining input until EOF
    bool peer_eof = false;
    bool dead = false;

    connection(detail::unique_fd f, const request_limits& limits) : fd(std::move(f)), parser(limits) {}
    [[nodiscard]] bool wants_read() const noexcept {
      return !dead && (lingering || (!close_after && !peer_eof && out_bytes < output_high_water));
    }
  };

  struct cache_entry {
    std::shared_ptr<detail::rendered_body> body;
    std::uint64_t generation = 0;
    std::uint64_t host_epoch = 0;
  };

  void report(std::string_view what) const noexcept {
    if (!options_.on_error) return;
    try {
      options_.on_error(what);
    } catch (...) {  // a reporting hook must not take the server down
    }
  }

  void prepare_auth() {
    expected_basic_ = options_.basic_user.empty() ? std::string{}
                                                  : detail::base64(options_.basic_user + ":" + options_.basic_password);
    auth_required_ = !expected_basic_.empty() || !options_.bearer_token.empty();
    challenge_.clear();
    if (!expected_basic_.empty()) challenge_ += "WWW-Authenticate: Basic realm=\"" + options_.auth_realm + "\", charset=\"UTF-8\"\r\n";
    if (!options_.bearer_token.empty()) challenge_ += "WWW-Authenticate: Bearer realm=\"" + options_.auth_realm + "\"\r\n";
  }

  // ---- binding --------------------------------------------------------------------

  void bind_listener() {
    const bool wildcard = options_.address.empty() || options_.address == "*";
    std::uint32_t port = options_.port;
    const std::uint32_t last = options_.port == 0 ? 0U : std::min<std::uint32_t>(65535U, port + options_.port_search);
    for (;; ++port) {
      int err = 0;
      if (wildcard) {
        err = try_bind("::", static_cast<std::uint16_t>(port), true);
        if (err != 0 && err != EADDRINUSE) err = try_bind("0.0.0.0", static_cast<std::uint16_t>(port), true);
      } else {
        err = try_bind(options_.address, static_cast<std::uint16_t>(port), false);
      }
      if (err == 0) return;
      if (err != EADDRINUSE || port >= last) {
        throw server_error(server_errc::bind, options_.address, static_cast<std::uint16_t>(port), err,
                           std::system_category().message(err));
      }
    }
  }

  // Returns 0 on success or the errno of the last failing step; throws on resolution,
  // socket() and listen() failures, which no other port would cure.
  int try_bind(const std::string& host, std::uint16_t port, bool dual_stack) {
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
      detail::unique_fd fd(detail::open_socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol));
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
      if (::listen(fd.get(), options_.backlog) != 0) {
        err = errno;
        throw server_error(server_errc::listen, host, port, err, std::system_category().message(err));
      }
      sockaddr_storage ss{};
      socklen_t len = sizeof ss;
      ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&ss), &len);
      port_ = ntohs(ss.ss_family == AF_INET6 ? reinterpret_cast<const sockaddr_in6&>(ss).sin6_port
                                             : reinterpret_cast<const sockaddr_in&>(ss).sin_port);
      bound_address_ = detail::sockaddr_to_string(ss);
      listener_ = std::move(fd);
      return 0;
    }
    return err;
  }

  // ---- the event loop -------------------------------------------------------------

  void run() noexcept {
    std::vector<pollfd> fds;
    std::vector<char> scratch(read_chunk);
    while (!stopping_.load(std::memory_order_acquire)) {
      try {
        poll_once(fds, scratch);
      } catch (const std::exception& e) {
        // Allocation failure and the like: report, shed the connections, keep serving.
        report(e.what());
        conns_.clear();
      }
      stat_open_.store(conns_.size(), std::memory_order_relaxed);
    }
    conns_.clear();
    stat_open_.store(0, std::memory_order_relaxed);
  }

  void poll_once(std::vector<pollfd>& fds, std::vector<char>& scratch) {
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
        report("poll failed: " + std::system_category().message(errno));
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

  void accept_all(clock::time_point now) {
    const unsigned batch = std::max(1U, options_.accept_batch);
    for (unsigned i = 0; i < batch; ++i) {
      const int fd = detail::accept_socket(listener_.get());
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
      detail::unique_fd guard(fd);
      const auto cap = std::min(options_.max_connections, budget_->share(own_descriptors));
      if (conns_.size() >= cap && !make_room()) {
        stat_rejected_.fetch_add(1, std::memory_order_relaxed);  // before the client can see it
        [[maybe_unused]] const auto sent = ::send(fd, busy_response.data(), busy_response.size(), detail::send_nosignal);
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

  void open_spare() noexcept { spare_.reset(::open("/dev/null", O_RDONLY | O_CLOEXEC)); }

  // accept() found no descriptor: give up the spare one to accept a newcomer, answer it
  // 503 and close it, so that it hears "busy" at once instead of waiting in the backlog.
  // False when there is no spare (someone else took the descriptor), or nobody waits.
  bool shed_one(clock::time_point now) {
    if (!spare_) {
      open_spare();
      if (!spare_) return false;
    }
    spare_.reset();
    const int fd = detail::accept_socket(listener_.get());
    if (fd >= 0) {
      stat_rejected_.fetch_add(1, std::memory_order_relaxed);
      [[maybe_unused]] const auto sent = ::send(fd, busy_response.data(), busy_response.size(), detail::send_nosignal);
      ::close(fd);
    }
    open_spare();
    if (fd < 0) return false;
    report_accept_failure(EMFILE, now, "newcomers answered 503 while it lasts");
    return static_cast<bool>(spare_);
  }

  // At most one line a second, however many connections are refused.
  void report_accept_failure(int err, clock::time_point now, std::string_view action) {
    if (accept_reported_ && now - last_accept_report_ < std::chrono::seconds(1)) return;
    accept_reported_ = true;
    last_accept_report_ = now;
    report("accept failed: " + std::system_category().message(err) + " (" + std::string(action) + ")");
  }

  // Frees one slot: a connection already marked dead (it would be dropped at the end of
  // this round anyway), else, when allowed, the one with the earliest read deadline among
  // those with nothing to send, i.e. the one that has waited longest for its next request.
  // A connection still sending is never cut, so a flood cannot truncate answers.
  bool make_room() {
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

  void on_readable(connection& c, std::vector<char>& scratch, clock::time_point now) {
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
  void process(connection& c, clock::time_point now) {
    while (!c.dead && !c.close_after && c.in_used < c.in.size() && c.out_bytes < output_high_water) {
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
  void flush(connection& c, clock::time_point now) {
    for (;;) {
      send_pending(c, now);
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

  void send_pending(connection& c, clock::time_point) {
    while (c.out_bytes > 0) {
      std::array<iovec, max_iov> iov{};
      std::size_t k = 0;
      for (std::size_t i = c.out_first; i < c.out_count && k + 1 < max_iov; ++i) {
        const auto& item = c.out[i];
        std::size_t skip = item.sent;
        if (skip < item.head.size()) {
          iov[k++] = {const_cast<char*>(item.head.data() + skip), item.head.size() - skip};
          skip = 0;
        } else {
          skip -= item.head.size();
        }
        if (item.body && skip < item.body->bytes.size()) {
          iov[k++] = {const_cast<char*>(item.body->bytes.data() + skip), item.body->bytes.size() - skip};
        }
      }
      msghdr msg{};
      msg.msg_iov = iov.data();
      msg.msg_iovlen = static_cast<decltype(msg.msg_iovlen)>(k);  // size_t on Linux, int on macOS
      const ssize_t n = ::sendmsg(c.fd.get(), &msg, detail::send_nosignal | MSG_DONTWAIT);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) c.dead = true;  // EPIPE, ECONNRESET: only this one
        return;
      }
      // Not `now`: that was taken before the handlers of this round ran, and a slow one
      // would leave the rest of the answer no time at all.
      c.deadline = clock::now() + options_.write_timeout;
      auto left = static_cast<std::size_t>(n);
      c.out_bytes -= left;
      while (left > 0) {
        auto& item = c.out[c.out_first];
        const auto rest = item.size() - item.sent;
        if (left < rest) {
          item.sent += left;
          break;
        }
        left -= rest;
        item.body.reset();
        ++c.out_first;
      }
      while (c.out_first < c.out_count && c.out[c.out_first].size() == c.out[c.out_first].sent) {
        c.out[c.out_first].body.reset();
        ++c.out_first;
      }
    }
  }

  // ---- responses ------------------------------------------------------------------

  out_item& next_item(connection& c) {
    if (c.out_count == c.out.size()) c.out.emplace_back();
    auto& item = c.out[c.out_count++];
    item.head.clear();
    item.body.reset();
    item.sent = 0;
    return item;
  }

  void refresh_date() {
    const auto t = std::time(nullptr);
    if (t != date_time_) {
      date_time_ = t;
      detail::http_date(t, date_);
    }
  }

  void queue(connection& c, int status, std::string_view content_type, std::string_view small_body,
             std::shared_ptr<const detail::rendered_body> body, bool head_only, bool keep_alive, int version_minor,
             std::string_view extra_headers = {}) {
    refresh_date();
    auto& item = next_item(c);
    const auto length = body ? body->bytes.size() : small_body.size();
    auto& h = item.head;
    std::array<char, 24> num{};
    h += "HTTP/1.1 ";
    h.append(num.data(), static_cast<std::size_t>(std::to_chars(num.data(), num.data() + num.size(), status).ptr - num.data()));
    h += ' ';
    h += detail::reason_phrase(status);
    h += "\r\nDate: ";
    h += date_;
    h += "\r\nContent-Type: ";
    h += content_type;
    h += "\r\nContent-Length: ";
    h.append(num.data(), static_cast<std::size_t>(std::to_chars(num.data(), num.data() + num.size(), length).ptr - num.data()));
    h += "\r\n";
    h += extra_headers;
    if (!keep_alive) {
      h += "Connection: close\r\n";
    } else if (version_minor == 0) {
      h += "Connection: keep-alive\r\n";
    }
    h += "\r\n";
    if (!head_only) {
      if (body) {
        item.body = std::move(body);
      } else {
        h += small_body;
      }
    }
    c.out_bytes += item.size();
    c.deadline = clock::now() + options_.write_timeout;
    if (!keep_alive) c.close_after = true;
  }

  static constexpr std::string_view text_plain = "text/plain; charset=utf-8";

  void respond_error(connection& c, int status, std::string_view reason) {
    std::string body(reason);
    body += '\n';
    queue(c, status, text_plain, body, nullptr, false, false, 1);
    c.lingering = true;
  }

  enum class route : std::uint8_t { none, metrics_v1, metrics, healthcheck };

  void handle(connection& c, const request& req, clock::time_point now) {
    const bool is_get = req.method == "GET";
    const bool is_head = req.method == "HEAD";
    const bool keep = req.keep_alive;
    const auto v = req.version_minor;
    if (!percent_decode(req.path, path_, false)) {
      return queue(c, 400, text_plain, "malformed percent-encoding in the path\n", nullptr, is_head, keep, v);
    }
    if (options_.handler) {
      const bool health = path_ == "/healthcheck";
      if (auth_required_ && (!health || options_.healthcheck_requires_auth) && !authorized(req)) {
        return queue(c, 401, text_plain, "unauthorized\n", nullptr, is_head, keep, v, challenge_);
      }
      std::optional<handler_response> answer;
      try {
        answer = options_.handler(is_head ? std::string_view("GET") : req.method, path_, req.query);
      } catch (const std::exception& e) {
        report(std::string("request handler failed: ") + e.what());
        return queue(c, 500, text_plain, "request handler failed\n", nullptr, is_head, keep, v);
      }
      if (answer) {
        const std::string allow =
            (answer->allow.empty() ? std::string() : "Allow: " + answer->allow + "\r\n") + answer->headers;
        return queue(c, answer->status, answer->content_type, answer->body, nullptr, is_head, keep, v, allow);
      }
    }
    route r = route::none;
    if (path_ == "/metrics/v1") {
      r = route::metrics_v1;
    } else if (path_ == "/metrics") {
      r = route::metrics;
    } else if (path_ == "/healthcheck") {
      r = route::healthcheck;
    }
    if (r == route::none) return queue(c, 404, text_plain, "404 page not found\n", nullptr, is_head, keep, v);
    if (!is_get && !is_head) {
      return queue(c, 405, text_plain, "method not allowed; use GET or HEAD\n", nullptr, false, keep, v,
                   "Allow: GET, HEAD\r\n");
    }
    if (auth_required_ && (r != route::healthcheck || options_.healthcheck_requires_auth) && !authorized(req)) {
      return queue(c, 401, text_plain, "unauthorized\n", nullptr, is_head, keep, v, challenge_);
    }
    switch (r) {
      case route::healthcheck: return queue(c, 200, text_plain, "ok", nullptr, is_head, keep, v);
      case route::metrics: return queue(c, 501, text_plain, "please use /metrics/v1", nullptr, is_head, keep, v);
      default: break;
    }
    // Lenient as Go: a malformed escape in another parameter does not fail the request.
    std::optional<metrics_format> format;
    if (const auto value = query_value(req.query, "format")) format = parse_format(*value);
    if (!format) {
      return queue(c, 400, text_plain,
                   "missing or unsupported format; supported: format=prometheus, format=json, format=anklet\n",
                   nullptr, is_head, keep, v);
    }
    std::shared_ptr<const detail::rendered_body> body;
    try {
      body = render(*format, now);
    } catch (const std::exception& e) {
      report(std::string("rendering failed: ") + e.what());
      return queue(c, 500, text_plain, "rendering failed\n", nullptr, is_head, keep, v);
    }
    const std::string_view type = renderer_.content_type(*format);
    queue(c, 200, type, {}, std::move(body), is_head, keep, v);
  }

  [[nodiscard]] bool authorized(const request& req) const noexcept {
    const auto value = req.header("authorization");
    const auto space = value.find(' ');
    if (space == std::string_view::npos) return false;
    const auto scheme = value.substr(0, space);
    const auto credentials = detail::trim_ows(value.substr(space + 1));
    if (!expected_basic_.empty() && detail::iequals(scheme, "basic")) {
      return detail::constant_time_equals(credentials, expected_basic_);
    }
    if (!options_.bearer_token.empty() && detail::iequals(scheme, "bearer")) {
      return detail::constant_time_equals(credentials, options_.bearer_token);
    }
    return false;
  }

  void maybe_refresh_host(clock::time_point now) {
    if constexpr (!std::is_same_v<HostRefresh, no_host_refresh>) {
      if (refreshed_once_ && options_.host_refresh_interval.count() > 0 &&
          now - last_refresh_ < options_.host_refresh_interval) {
        return;
      }
      refreshed_once_ = true;
      last_refresh_ = now;
      bool refreshed = true;
      try {
        // A refresher returning bool may decline (e.g. one rate-limited across servers);
        // then the cached bodies stay valid.
        if constexpr (std::is_same_v<std::invoke_result_t<HostRefresh&>, bool>) {
          refreshed = host_refresh_();
        } else {
          host_refresh_();
        }
      } catch (const std::exception& e) {
        report(std::string("host metrics refresh failed: ") + e.what());
      }
      if (!refreshed) return;
      ++host_epoch_;
      stat_refreshes_.fetch_add(1, std::memory_order_relaxed);
    }
  }

  std::shared_ptr<const detail::rendered_body> render(metrics_format f, clock::time_point now) {
    maybe_refresh_host(now);
    auto& entry = cache_[static_cast<std::size_t>(f)];
    if (options_.cache_bodies && entry.body && entry.generation == source_.generation() &&
        entry.host_epoch == host_epoch_) {
      return entry.body;
    }
    const auto generation = source_.snapshot_into(snapshot_);  // the only time the store is locked
    // Connections may still be sending the previous body; then it stays theirs.
    if (!entry.body || entry.body.use_count() > 1) entry.body = std::make_shared<detail::rendered_body>();
    entry.body->bytes.clear();
    try {
      renderer_.render(f, snapshot_, entry.body->bytes);
    } catch (...) {
      entry.body.reset();  // never serve a half-rendered body from the cache
      throw;
    }
    entry.generation = generation;
    entry.host_epoch = host_epoch_;
    stat_renders_.fetch_add(1, std::memory_order_relaxed);
    return entry.body;
  }

  Source& source_;
  server_options options_;
  Renderer renderer_;
  HostRefresh host_refresh_;

  std::thread thread_;
  std::atomic<bool> stopping_{false};
  detail::unique_fd listener_;
  detail::unique_fd wake_read_;
  detail::unique_fd wake_write_;
  std::uint16_t port_ = 0;
  std::string bound_address_;
  std::string expected_basic_;
  std::string challenge_;
  bool auth_required_ = false;

  // Owned by the loop thread.
  std::vector<std::unique_ptr<connection>> conns_;
  clock::time_point accept_paused_until_{};
  clock::time_point last_accept_report_{};
  bool accept_reported_ = false;
  detail::unique_fd spare_;
  std::shared_ptr<detail::connection_budget> budget_ = std::make_shared<detail::connection_budget>();
  metrics_snapshot snapshot_;
  std::array<cache_entry, all_formats.size()> cache_{};
  std::uint64_t host_epoch_ = 0;
  clock::time_point last_refresh_{};
  bool refreshed_once_ = false;
  std::string path_;
  std::string date_;
  std::time_t date_time_ = 0;

  std::atomic<std::uint64_t> stat_accepted_{0};
  std::atomic<std::uint64_t> stat_rejected_{0};
  std::atomic<std::uint64_t> stat_evicted_{0};
  std::atomic<std::uint64_t> stat_timed_out_{0};
  std::atomic<std::uint64_t> stat_requests_{0};
  std::atomic<std::uint64_t> stat_renders_{0};
  std::atomic<std::uint64_t> stat_refreshes_{0};
  std::atomic<std::size_t> stat_open_{0};
};

}  // namespace anklet::metrics::http
