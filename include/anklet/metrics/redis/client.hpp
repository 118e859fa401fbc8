// anklet::metrics::redis client: RESP2 over TCP or a Unix socket, POSIX sockets only.
//
// Example:
//   #include <cstdio>
//   namespace redis = anklet::metrics::redis;
//   redis::client c(redis::parse_url("redis://:secret@127.0.0.1:6379/0").value());
//   if (auto r = c.set("key", "value", std::chrono::seconds(604800)); !r)
//     std::fprintf(stderr, "%s\n", r.error().to_string().c_str());
//
// Every operation returns result<T>; see error.hpp for the error kinds. Error replies of the
// server become errc::server with the server's text and keep the connection. Any other
// failure (I/O, timeout, close, protocol, limit) drops the connection; the next call
// reconnects, but only once a backoff delay has passed (exponential with jitter, in
// client_options). A call inside that window fails at once with errc::backoff.
//
// Timeouts: connect_timeout bounds connecting plus AUTH/SELECT; write_timeout bounds sending
// one request (or pipeline); read_timeout bounds the wait for all its replies once sent.
// Host names are resolved with getaddrinfo, which has no timeout of its own; use an address
// when that matters.
//
// TLS (rediss://) runs through a stream_layer that client_options::tls makes for each
// connection; redis/tls.hpp provides one on OpenSSL. This header includes no TLS library:
// without a layer, a TLS target fails with errc::invalid_argument saying so.
//
// Thread safety: none. One client per thread, or a lock around it. A closed peer never
// raises SIGPIPE (MSG_NOSIGNAL, or SO_NOSIGPIPE where send() lacks it).
#pragma once

#include <fcntl.h>
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
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "anklet/metrics/detail/socket.hpp"
#include "anklet/metrics/redis/error.hpp"
#include "anklet/metrics/redis/resp.hpp"
#include "anklet/metrics/redis/url.hpp"

namespace anklet::metrics::redis {

/// A layer over a connected non-blocking socket, such as TLS (redis/tls.hpp). One per connection.
class stream_layer {
 public:
  stream_layer() = default;
  stream_layer(const stream_layer&) = delete;
  stream_layer& operator=(const stream_layer&) = delete;
  virtual ~stream_layer() = default;
  /// Sets the layer up on `fd` before `deadline` (e.g. the TLS handshake).
  virtual result<void> start(int fd, std::chrono::steady_clock::time_point deadline) = 0;
  /// As send(2)/recv(2) on a non-blocking socket: bytes moved, 0 for an orderly close
  /// (read), -1 with errno set, EAGAIN when the socket must become readable or writable.
  virtual long write(const char* data, std::size_t n) = 0;
  virtual long read(char* data, std::size_t n) = 0;
};

/// Makes the stream_layer of each connection to a target.
class stream_layer_factory {
 public:
  stream_layer_factory() = default;
  stream_layer_factory(const stream_layer_factory&) = delete;
  stream_layer_factory& operator=(const stream_layer_factory&) = delete;
  virtual ~stream_layer_factory() = default;
  virtual result<std::unique_ptr<stream_layer>> make(const connection_target& target) const = 0;
};

/// Connection, timeouts, reconnect backoff and reply limits.
struct client_options {
  connection_target target;
  std::chrono::milliseconds connect_timeout{2000};
  std::chrono::milliseconds write_timeout{2000};
  std::chrono::milliseconds read_timeout{2000};
  /// Delay before the first reconnect after a failure; each further consecutive failure
  /// multiplies it by backoff_multiplier, up to backoff_max.
  std::chrono::milliseconds backoff_initial{100};
  std::chrono::milliseconds backoff_max{10000};
  double backoff_multiplier = 2.0;
  /// Up to this fraction of each delay is removed at random, so that many hosts that lost
  /// the same Redis do not come back in lockstep. 0 disables jitter.
  double backoff_jitter = 0.5;
  reply_limits limits;
  /// Bytes asked of the kernel per read.
  std::size_t read_chunk = std::size_t{64} << 10;
  /// TLS for targets with tls set (rediss://): redis::tls_layer(...) of redis/tls.hpp.
  std::shared_ptr<const stream_layer_factory> tls;
};

/// Many commands sent in one write; their replies are read in one go by client::execute.
class pipeline {
 public:
  /// Appends a command; arguments as for append_command (strings, integers, ranges of strings).
  template <command_arg... Args>
  pipeline& add(const Args&... args) {
    append_command(buf_, args...);
    ++count_;
    return *this;
  }
  [[nodiscard]] std::size_t size() const noexcept { return count_; }
  [[nodiscard]] bool empty() const noexcept { return count_ == 0; }
  [[nodiscard]] std::string_view encoded() const noexcept { return buf_; }
  void clear() noexcept {
    buf_.clear();
    count_ = 0;
  }

 private:
  std::string buf_;
  std::size_t count_ = 0;
};

/// One page of SCAN: the cursor to continue with (0 when done) and the keys found.
struct scan_page {
  std::uint64_t cursor = 0;
  std::vector<std::string> keys;
  /// Keys the reply limits threw away (reply_limits::discard_bulk_over): too long to keep.
  std::size_t discarded = 0;
};

class client {
 public:
  using clock = std::chrono::steady_clock;

  explicit client(client_options options = {})
      : opt_(std::move(options)),
        parser_(opt_.limits),
        rng_(static_cast<std::uint_fast32_t>(static_cast<std::uintptr_t>(clock::now().time_since_epoch().count()) ^
                                             reinterpret_cast<std::uintptr_t>(this))) {
    if (opt_.read_chunk == 0) opt_.read_chunk = 4096;
  }
  /// A client for `target`, with the rest of `base` (timeouts, backoff, limits).
  explicit client(connection_target target, client_options base = {})
      : client([&] {
          base.target = std::move(target);
          return std::move(base);
        }()) {}
  /// A client for a connection string; fails with errc::invalid_url.
  static result<client> from_url(std::string_view url, client_options base = {}) {
    auto t = parse_url(url);
    if (!t) return t.error();
    base.target = std::move(t.value());
    return client(std::move(base));
  }

  client(const client&) = delete;
  client& operator=(const client&) = delete;
  client(client&& o) noexcept
      : opt_(std::move(o.opt_)),
        parser_(std::move(o.parser_)),
        fd_(std::exchange(o.fd_, -1)),
        layer_(std::move(o.layer_)),
        failures_(o.failures_),
        retry_at_(o.retry_at_),
        window_(o.window_),
        last_error_(std::move(o.last_error_)),
        rng_(o.rng_) {}
  client& operator=(client&& o) noexcept {
    if (this != &o) {
      close_socket();
      opt_ = std::move(o.opt_);
      parser_ = std::move(o.parser_);
      fd_ = std::exchange(o.fd_, -1);
      layer_ = std::move(o.layer_);
      failures_ = o.failures_;
      retry_at_ = o.retry_at_;
      window_ = o.window_;
      last_error_ = std::move(o.last_error_);
      rng_ = o.rng_;
    }
    return *this;
  }
  ~client() { close_socket(); }

  [[nodiscard]] const client_options& options() const noexcept { return opt_; }
  /// Reply limits for the calls that follow (e.g. tighter ones for one phase of a read).
  void set_limits(const reply_limits& l) noexcept {
    opt_.limits = l;
    parser_.set_limits(l);
  }
  [[nodiscard]] bool connected() const noexcept { return fd_ >= 0; }
  /// Failures since the last successful connect (0 when healthy).
  [[nodiscard]] unsigned consecutive_failures() const noexcept { return failures_; }
  /// The last failure that dropped the connection (meaningful when consecutive_failures() > 0).
  [[nodiscard]] const redis::error& last_error() const noexcept { return last_error_; }
  /// The length of the backoff window opened by the last failure (after jitter).
  [[nodiscard]] std::chrono::milliseconds current_backoff() const noexcept {
    return failures_ == 0 ? std::chrono::milliseconds{0} : std::chrono::floor<std::chrono::milliseconds>(window_);
  }
  /// Time left before a reconnect is allowed; zero when none is pending.
  [[nodiscard]] std::chrono::milliseconds backoff_remaining() const {
    if (failures_ == 0) return std::chrono::milliseconds{0};
    auto now = clock::now();
    if (now >= retry_at_) return std::chrono::milliseconds{0};
    return std::chrono::ceil<std::chrono::milliseconds>(retry_at_ - now);
  }

  /// Connects now if not connected (respecting the backoff window).
  result<void> connect() { return ensure_connected(); }
  /// Closes the connection; the next call reconnects without backoff.
  void disconnect() noexcept { close_socket(); }

  /// Sends one command and returns its reply. An error reply becomes errc::server.
  template <command_arg... Args>
  result<reply> command(const Args&... args) {
    scratch_.clear();
    append_command(scratch_, args...);
    reply out;
    auto r = roundtrip(scratch_, 1, [&](std::size_t, reply&& rep) { out = std::move(rep); });
    if (!r) return r.error();
    if (out.is_error()) return redis::error{errc::server, std::move(out.str)};
    return out;
  }

  /// Sends every command of `p` in one write and returns one reply per command, in order.
  /// Error replies stay in the vector (type error): one failing command does not hide the
  /// others' replies. Only transport and protocol failures fail the whole call.
  result<std::vector<reply>> execute(const pipeline& p) {
    std::vector<reply> out;
    out.reserve(p.size());
    auto r = execute(p, [&](std::size_t, reply&& rep) { out.push_back(std::move(rep)); });
    if (!r) return r.error();
    return out;
  }
  /// Like execute(p) but hands each reply to on_reply(index, reply&&) as soon as it is
  /// parsed, so large pipelines need not be held whole.
  template <class F>
  result<void> execute(const pipeline& p, F&& on_reply) {
    if (p.empty()) return {};
    return roundtrip(p.encoded(), p.size(), on_reply);
  }

  result<void> ping() {
    auto r = command("PING");
    if (!r) return r.error();
    if (r->type != reply_type::simple_string || r->str != "PONG") return unexpected("PING", *r);
    return {};
  }

  /// SET key value, with EX ttl when ttl > 0.
  result<void> set(std::string_view key, std::string_view value, std::chrono::seconds ttl = std::chrono::seconds{0}) {
    auto r = ttl.count() > 0 ? command("SET", key, value, "EX", static_cast<long long>(ttl.count()))
                             : command("SET", key, value);
    if (!r) return r.error();
    if (r->type != reply_type::simple_string || r->str != "OK") return unexpected("SET", *r);
    return {};
  }

  /// GET key: the value, or nullopt when the key does not exist.
  result<std::optional<std::string>> get(std::string_view key) {
    auto r = command("GET", key);
    if (!r) return r.error();
    if (r->is_nil()) return std::optional<std::string>{};
    if (r->type != reply_type::bulk_string) return unexpected("GET", *r);
    return std::optional<std::string>{std::move(r->str)};
  }

  /// MGET keys...: one entry per key, nullopt where the key does not exist.
  template <command_arg... Keys>
  result<std::vector<std::optional<std::string>>> mget(const Keys&... keys) {
    if ((std::size_t{0} + ... + detail::arg_count(keys)) == 0) return std::vector<std::optional<std::string>>{};
    auto r = command("MGET", keys...);
    if (!r) return r.error();
    auto v = values_of(std::move(*r));
    if (!v && v.error().code == errc::protocol) fail(v.error());
    return v;
  }

  /// Converts an MGET reply (e.g. one from a pipeline) to values. Never touches the
  /// connection, so it is safe inside an execute() callback.
  static result<std::vector<std::optional<std::string>>> values_of(reply&& r) {
    constexpr std::string_view what = "MGET";
    if (r.is_error()) return redis::error{errc::server, std::move(r.str)};
    if (!r.is_array()) return shape_error(what, r);
    std::vector<std::optional<std::string>> out;
    out.reserve(r.elements.size());
    for (auto& e : r.elements) {
      if (e.is_nil()) {
        out.emplace_back();
      } else if (e.discarded) {
        return redis::error{errc::limit, "MGET: a value of " + std::to_string(e.integer) +
                                             " bytes exceeds discard_bulk_over"};
      } else if (e.type == reply_type::bulk_string) {
        out.emplace_back(std::move(e.str));
      } else {
        return shape_error(what, e);
      }
    }
    return out;
  }

  /// DEL keys...: how many existed.
  template <command_arg... Keys>
  result<std::int64_t> del(const Keys&... keys) {
    return integer_command("DEL", keys...);
  }
  /// EXISTS keys...: how many exist (a key named twice counts twice, as in Redis).
  template <command_arg... Keys>
  result<std::int64_t> exists(const Keys&... keys) {
    return integer_command("EXISTS", keys...);
  }
  /// TTL key in seconds; -1 without expiry, -2 when the key does not exist.
  result<std::int64_t> ttl(std::string_view key) { return integer_command("TTL", key); }

  /// SELECT db; also remembered for reconnects.
  result<void> select(int db) {
    auto r = command("SELECT", db);
    if (!r) return r.error();
    if (r->type != reply_type::simple_string || r->str != "OK") return unexpected("SELECT", *r);
    opt_.target.db = db;
    return {};
  }

  /// One SCAN step. An empty `match` sends no MATCH; count 0 sends no COUNT.
  result<scan_page> scan(std::uint64_t cursor, std::string_view match = {}, std::uint64_t count = 0) {
    auto r = match.empty()   ? (count ? command("SCAN", cursor, "COUNT", count) : command("SCAN", cursor))
             : count == 0 ? command("SCAN", cursor, "MATCH", match)
                          : command("SCAN", cursor, "MATCH", match, "COUNT", count);
    if (!r) return r.error();
    auto page = scan_page_of(std::move(*r));
    if (!page && page.error().code == errc::protocol) fail(page.error());
    return page;
  }

  /// Every key matching `match`, SCANning until the cursor returns to 0. SCAN may report a
  /// key more than once; the result holds each key once, sorted.
  result<std::vector<std::string>> scan_all(std::string_view match, std::uint64_t count = 1000) {
    std::vector<std::string> keys;
    std::uint64_t cursor = 0;
    do {
      auto page = scan(cursor, match, count);
      if (!page) return page.error();
      cursor = page->cursor;
      for (auto& k : page->keys) keys.push_back(std::move(k));
    } while (cursor != 0);
    std::sort(keys.begin(), keys.end());
    keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
    return keys;
  }

  /// Converts a SCAN reply (e.g. one from a pipeline) to a page; leaves the connection alone.
  static result<scan_page> scan_page_of(reply&& r) {
    if (r.is_error()) return redis::error{errc::server, std::move(r.str)};
    if (!r.is_array() || r.elements.size() != 2 || r.elements[0].type != reply_type::bulk_string ||
        !r.elements[1].is_array()) {
      return shape_error("SCAN", r);
    }
    scan_page page;
    const std::string& c = r.elements[0].str;
    if (c.empty() || c.size() > 20) return shape_error("SCAN", r);
    for (char ch : c) {
      if (ch < '0' || ch > '9') return shape_error("SCAN", r);
      auto d = static_cast<std::uint64_t>(ch - '0');
      if (page.cursor > (UINT64_MAX - d) / 10) return shape_error("SCAN", r);
      page.cursor = page.cursor * 10 + d;
    }
    page.keys.reserve(r.elements[1].elements.size());
    for (auto& k : r.elements[1].elements) {
      if (k.type != reply_type::bulk_string) return shape_error("SCAN", r);
      if (k.discarded) {
        ++page.discarded;
        continue;
      }
      page.keys.push_back(std::move(k.str));
    }
    return page;
  }

 private:
  using time_point = clock::time_point;

  template <command_arg... Args>
  result<std::int64_t> integer_command(std::string_view name, const Args&... args) {
    auto r = command(name, args...);
    if (!r) return r.error();
    if (r->type != reply_type::integer) return unexpected(name, *r);
    return r->integer;
  }

  static redis::error shape_error(std::string_view what, const reply& r) {
    return {errc::protocol, "unexpected " + std::string(to_string(r.type)) + " reply to " + std::string(what)};
  }
  // A reply of the wrong shape: the peer is not behaving as Redis, so the connection goes.
  redis::error unexpected(std::string_view what, const reply& r) {
    redis::error e = shape_error(what, r);
    fail(e);
    return e;
  }

  static redis::error errno_error(std::string_view what, int err) {
    return {errc::io, std::string(what) + ": " + std::system_category().message(err)};
  }

  void close_socket() noexcept {
    layer_.reset();
    if (fd_ >= 0) {
      ::close(fd_);
      fd_ = -1;
    }
    parser_.reset();
  }

  // Drops the connection and opens the backoff window.
  void fail(const redis::error& e) {
    close_socket();
    last_error_ = e;
    ++failures_;
    double delay = static_cast<double>(opt_.backoff_initial.count());
    const auto max = static_cast<double>(opt_.backoff_max.count());
    for (unsigned i = 1; i < failures_ && delay < max; ++i) delay *= std::max(1.0, opt_.backoff_multiplier);
    delay = std::min(delay, max);
    const double jitter = std::clamp(opt_.backoff_jitter, 0.0, 1.0);
    delay *= 1.0 - jitter * std::uniform_real_distribution<double>(0.0, 1.0)(rng_);
    window_ = std::chrono::microseconds(static_cast<std::int64_t>(delay * 1000.0));
    retry_at_ = clock::now() + window_;
  }

  static int poll_ms(time_point deadline) {
    auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - clock::now()).count();
    return left <= 0 ? 0 : static_cast<int>(std::min<long long>(left, 1 << 30));
  }

  // Waits for `events`; 0 on timeout, the revents otherwise, -1 with errno on failure.
  int wait(short events, time_point deadline) const {
    for (;;) {
      pollfd p{fd_, events, 0};
      int n = ::poll(&p, 1, poll_ms(deadline));
      if (n > 0) return p.revents == 0 ? events : p.revents;
      if (n == 0) return 0;
      if (errno != EINTR) return -1;
    }
  }

  result<void> ensure_connected() {
    if (fd_ >= 0) return {};
    if (failures_ > 0) {
      auto left = backoff_remaining();
      if (left.count() > 0) {
        return redis::error{errc::backoff, "reconnect to Redis held back for another " + std::to_string(left.count()) +
                                               " ms after: " + last_error_.to_string()};
      }
    }
    auto r = open();
    if (!r) {
      fail(r.error());
      return r;
    }
    failures_ = 0;
    return {};
  }

  // Connects fd_ to one address; on failure fd_ stays closed.
  result<void> connect_addr(int family, const sockaddr* addr, socklen_t len, time_point deadline,
                            const std::string& name) {
    int fd = metrics::detail::open_socket(family, SOCK_STREAM, 0);
    if (fd < 0) return errno_error("socket", errno);
    int rc = ::connect(fd, addr, len);
    if (rc != 0 && errno != EINPROGRESS && errno != EINTR) {
      int err = errno;
      ::close(fd);
      return errno_error("connect " + name, err);
    }
    if (rc != 0) {
      fd_ = fd;
      int ev = wait(POLLOUT, deadline);
      fd_ = -1;
      if (ev == 0) {
        ::close(fd);
        return redis::error{errc::timeout, "connect " + name + ": timed out after " +
                                               std::to_string(opt_.connect_timeout.count()) + " ms"};
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
    fd_ = fd;
    return {};
  }

  result<void> open() {
    const auto deadline = clock::now() + opt_.connect_timeout;
    const auto& t = opt_.target;
    if (!t.unix_path.empty()) {
      sockaddr_un sa{};
      sa.sun_family = AF_UNIX;
      if (t.unix_path.size() >= sizeof sa.sun_path) {
        return redis::error{errc::invalid_argument, "unix socket path longer than " +
                                                        std::to_string(sizeof sa.sun_path - 1) + " bytes"};
      }
      std::memcpy(sa.sun_path, t.unix_path.data(), t.unix_path.size());
      auto r = connect_addr(AF_UNIX, reinterpret_cast<const sockaddr*>(&sa), sizeof sa, deadline, t.unix_path);
      if (!r) return r;
    } else {
      addrinfo hints{};
      hints.ai_family = AF_UNSPEC;
      hints.ai_socktype = SOCK_STREAM;
      hints.ai_flags = AI_NUMERICSERV;
      addrinfo* res = nullptr;
      const std::string port = std::to_string(t.port);
      const std::string name = (t.host.find(':') != std::string::npos ? "[" + t.host + "]" : t.host) + ":" + port;
      int gai = ::getaddrinfo(t.host.c_str(), port.c_str(), &hints, &res);
      if (gai != 0) return redis::error{errc::io, "resolve " + name + ": " + ::gai_strerror(gai)};
      result<void> r = redis::error{errc::io, "resolve " + name + ": no address"};
      for (addrinfo* a = res; a != nullptr; a = a->ai_next) {
        r = connect_addr(a->ai_family, a->ai_addr, a->ai_addrlen, deadline, name);
        if (r || clock::now() >= deadline) break;
      }
      ::freeaddrinfo(res);
      if (!r) return r;
    }
    if (t.tls) {
      if (!opt_.tls) {
        close_socket();
        return redis::error{errc::invalid_argument,
                            "rediss:// needs TLS, which this client was not given: include anklet/metrics/redis/tls.hpp, "
                            "set client_options::tls = redis::tls_layer(...) and link OpenSSL"};
      }
      auto layer = opt_.tls->make(t);
      if (!layer) {
        close_socket();
        return layer.error();
      }
      layer_ = std::move(*layer);
      if (auto st = layer_->start(fd_, deadline); !st) {
        close_socket();
        return st;
      }
    }
    return handshake(deadline);
  }

  // AUTH and SELECT, pipelined, within the connect deadline.
  result<void> handshake(time_point deadline) {
    const auto& t = opt_.target;
    pipeline p;
    if (!t.password.empty()) {
      if (t.user.empty()) p.add("AUTH", t.password);
      else p.add("AUTH", t.user, t.password);
    }
    if (t.db != 0) p.add("SELECT", t.db);
    if (p.empty()) return {};
    std::vector<reply> replies;
    auto collect = [&](std::size_t, reply&& rep) { replies.push_back(std::move(rep)); };
    auto r = transfer(p.encoded(), p.size(), deadline, deadline, collect);
    if (!r) return r;
    std::size_t i = 0;
    if (!t.password.empty()) {
      const reply& a = replies[i++];
      if (a.is_error()) return redis::error{errc::server, "AUTH: " + a.str};
    }
    if (t.db != 0 && replies[i].is_error()) {
      return redis::error{errc::server, "SELECT " + std::to_string(t.db) + ": " + replies[i].str};
    }
    return {};
  }

  template <class F>
  result<void> roundtrip(std::string_view request, std::size_t n, F&& on_reply) {
    if (auto c = ensure_connected(); !c) return c;
    auto r = transfer(request, n, clock::now() + opt_.write_timeout, time_point::max(), on_reply);
    if (!r) fail(r.error());
    return r;
  }

  // Reads what is available into the parser: 1 bytes read, 0 would block, error otherwise.
  result<bool> read_some() {
    for (;;) {
      auto area = parser_.prepare(opt_.read_chunk);
      const std::size_t want = std::min(area.size(), opt_.read_chunk);
      const auto k = layer_ ? layer_->read(area.data(), want) : ::recv(fd_, area.data(), want, 0);
      if (k > 0) {
        parser_.commit(static_cast<std::size_t>(k));
        return true;
      }
      if (k == 0) {
        return redis::error{errc::closed, parser_.mid_reply() ? "connection closed by the server in the middle of a reply"
                                                               : "connection closed by the server"};
      }
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return false;
      return errno_error("recv", errno);
    }
  }

  // Hands complete replies to on_reply until `n` have come or the parser needs bytes.
  template <class F>
  result<void> drain(std::size_t n, std::size_t& got, F& on_reply) {
    while (got < n) {
      reply rep;
      auto s = parser_.next(rep);
      if (s == reply_parser::status::incomplete) break;
      if (s == reply_parser::status::error) return parser_.last_error();
      on_reply(got, std::move(rep));
      ++got;
    }
    return {};
  }

  // Writes the request (reading replies that arrive meanwhile), then reads until n replies.
  // A read deadline of time_point::max() means "read_timeout after the write completes".
  template <class F>
  result<void> transfer(std::string_view req, std::size_t n, time_point write_deadline, time_point read_deadline,
                        F& on_reply) {
    std::size_t sent = 0;
    std::size_t got = 0;
    while (sent < req.size()) {
      const auto k = layer_ ? layer_->write(req.data() + sent, req.size() - sent)
                            : ::send(fd_, req.data() + sent, req.size() - sent, metrics::detail::send_nosignal);
      if (k > 0) {
        sent += static_cast<std::size_t>(k);
        continue;
      }
      if (k < 0 && errno == EINTR) continue;
      if (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
        if (errno == EPIPE || errno == ECONNRESET) return errno_error("send (connection lost)", errno);
        return errno_error("send", errno);
      }
      // The kernel buffer is full: a server busy answering the first commands may wait for
      // us to read, so read while waiting to write.
      int ev = wait(POLLOUT | POLLIN, write_deadline);
      if (ev == 0) {
        return redis::error{errc::timeout, "write timed out after " + std::to_string(opt_.write_timeout.count()) + " ms"};
      }
      if (ev < 0) return errno_error("poll", errno);
      if (ev & (POLLIN | POLLHUP | POLLERR)) {
        auto rd = read_some();
        if (!rd) return rd.error();
        if (auto d = drain(n, got, on_reply); !d) return d;
      }
    }
    if (read_deadline == time_point::max()) read_deadline = clock::now() + opt_.read_timeout;
    bool data_flowing = false;
    for (;;) {
      if (auto d = drain(n, got, on_reply); !d) return d;
      if (got == n) break;
      // Right after a write the answer is rarely there yet, so poll first: a recv failing
      // with EAGAIN would waste a system call on every command. Once a large reply is
      // streaming in, read on until the socket runs dry.
      if (data_flowing) {
        auto rd = read_some();
        if (!rd) return rd.error();
        if (*rd) continue;
      }
      int ev = wait(POLLIN, read_deadline);
      if (ev == 0) {
        return redis::error{errc::timeout, "no reply within " + std::to_string(opt_.read_timeout.count()) + " ms (" +
                                               std::to_string(got) + " of " + std::to_string(n) + " replies read)"};
      }
      if (ev < 0) return errno_error("poll", errno);
      auto rd = read_some();
      if (!rd) return rd.error();
      data_flowing = true;
    }
    // Redis never speaks unasked in RESP2 without pub/sub: extra bytes mean we are out of step.
    if (parser_.buffered() != 0) return redis::error{errc::protocol, "unexpected bytes after the last reply"};
    return {};
  }

  client_options opt_;
  reply_parser parser_;
  int fd_ = -1;
  std::unique_ptr<stream_layer> layer_;
  unsigned failures_ = 0;
  time_point retry_at_{};
  std::chrono::microseconds window_{0};
  redis::error last_error_{};
  std::minstd_rand rng_;
  std::string scratch_;
};

}  // namespace anklet::metrics::redis
