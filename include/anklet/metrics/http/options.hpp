// anklet::metrics::http server settings, the errors of start() and the counters of
// stats(): what every server has, whatever its routes (docs/http.md, "Limits").
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "anklet/metrics/core/log.hpp"
#include "anklet/metrics/http/encoding.hpp"
#include "anklet/metrics/http/request_parser.hpp"
#include "anklet/metrics/http/response.hpp"
#include "anklet/metrics/http/scrape_counts.hpp"
#include "anklet/metrics/render/collector.hpp"

namespace anklet::metrics::http {

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
  /// Reuse a rendered body while the store, the host figures and the collectors'
  /// generations are unchanged.
  bool cache_bodies = true;
  /// Metrics bodies are sent gzip-compressed to clients whose Accept-Encoding takes it, when
  /// set: `gzip_compression()` of "anklet/metrics/http/gzip.hpp" (zlib, opt-in). The
  /// compressed body is cached beside the plain one (docs/http.md, "Compression").
  std::shared_ptr<const gzip_compressor> gzip{};
  /// How much of Accept-Encoding is read.
  accept_encoding_limits accept_encoding{};
  /// Metrics servers: format=prometheus answers OpenMetrics 1.0.0 to a scraper whose
  /// Accept header prefers it, as Prometheus's does (docs/http.md, "Negotiation"); false
  /// keeps the 0.0.4 text for every scraper (format=openmetrics still answers OpenMetrics).
  bool negotiate_openmetrics = true;
  /// Metrics servers: families of the tool's own, written after the library's into every
  /// Prometheus and OpenMetrics answer (docs/collectors.md). Called on server threads.
  std::vector<any_collector> collectors{};
  /// Metrics servers: where answers of /metrics/v1 are counted and served from
  /// (anklet_metrics_scrapes_total). Copies of one server_options share it, so the servers
  /// of a port count together; null counts nothing and serves no such family.
  std::shared_ptr<scrape_counts> scrapes = std::make_shared<scrape_counts>();
  /// Metrics servers: when set, /healthcheck asks it on every request: an empty answer is
  /// healthy (200 `ok`), any other text is the reason for a 503 (e.g. Redis writes that
  /// keep failing). Runs on the server thread: keep it quick; it must not throw.
  std::function<std::string()> health{};
  request_limits limits{};

  /// HTTP basic auth is required when basic_user is non-empty.
  std::string basic_user{};
  std::string basic_password{};
  /// A bearer token is accepted when non-empty (alone or besides basic auth).
  std::string bearer_token{};
  /// /healthcheck stays open by default, for load balancers.
  bool healthcheck_requires_auth = false;
  std::string auth_realm = "anklet-metrics";

  /// Receives, on the server thread, the problems that did not stop the server: a failing
  /// route, renderer or host source (error), refused connections (warning). Must not throw.
  log_sink log{};

  /// Extra routes of a metrics server: consulted for every request before its built-in
  /// routes, once authorization passed (/healthcheck as
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
  std::uint64_t compressions = 0;     ///< bodies gzip-compressed (compressed-cache misses)
  std::uint64_t host_refreshes = 0;
  std::size_t open_connections = 0;
};

}  // namespace anklet::metrics::http
