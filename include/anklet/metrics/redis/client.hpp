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
// reconnects, but only once a backoff delay has passed (exponential with jitter, set in
// client_options, computed by redis/backoff.hpp). A call inside that window fails at once with errc::backoff.
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

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "anklet/metrics/detail/socket.hpp"
#include "anklet/metrics/redis/backoff.hpp"
#include "anklet/metrics/redis/command.hpp"
#include "anklet/metrics/redis/error.hpp"
#include "anklet/metrics/redis/options.hpp"
#include "anklet/metrics/redis/replies.hpp"
#include "anklet/metrics/redis/resp.hpp"
#include "anklet/metrics/redis/socket.hpp"
#include "anklet/metrics/redis/url.hpp"

namespace anklet::metrics::redis {

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
  static result<std::vector<std::optional<std::string>>> values_of(reply&& r) { return mget_values(std::move(r)); }

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
  static result<scan_page> scan_page_of(reply&& r) { return redis::scan_page_of(std::move(r)); }

 private:
  using time_point = clock::time_point;

  template <command_arg... Args>
  result<std::int64_t> integer_command(std::string_view name, const Args&... args) {
    auto r = command(name, args...);
    if (!r) return r.error();
    if (r->type != reply_type::integer) return unexpected(name, *r);
    return r->integer;
  }

  // A reply of the wrong shape: the peer is not behaving as Redis, so the connection goes.
  redis::error unexpected(std::string_view what, const reply& r) {
    redis::error e = shape_error(what, r);
    fail(e);
    return e;
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
    const auto delay = jittered_backoff(opt_.backoff_initial, opt_.backoff_max, opt_.backoff_multiplier,
                                        opt_.backoff_jitter, failures_, rng_);
    window_ = std::chrono::microseconds(static_cast<std::int64_t>(delay.count() * 1000.0));
    retry_at_ = clock::now() + window_;
  }

  // Waits for `events`; 0 on timeout, the revents otherwise, -1 with errno on failure.
  int wait(short events, time_point deadline) const { return detail::wait_fd(fd_, events, deadline); }

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

  result<void> open() {
    const auto deadline = clock::now() + opt_.connect_timeout;
    const auto& t = opt_.target;
    auto fd = detail::connect_target(t, deadline, opt_.connect_timeout);
    if (!fd) return fd.error();
    fd_ = *fd;
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
      return detail::errno_error("recv", errno);
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
        if (errno == EPIPE || errno == ECONNRESET) return detail::errno_error("send (connection lost)", errno);
        return detail::errno_error("send", errno);
      }
      // The kernel buffer is full: a server busy answering the first commands may wait for
      // us to read, so read while waiting to write.
      int ev = wait(POLLOUT | POLLIN, write_deadline);
      if (ev == 0) {
        return redis::error{errc::timeout, "write timed out after " + std::to_string(opt_.write_timeout.count()) + " ms"};
      }
      if (ev < 0) return detail::errno_error("poll", errno);
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
      if (ev < 0) return detail::errno_error("poll", errno);
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
