// anklet::metrics errors: one typed style for every fallible operation of the library.
// Operations that can fail because of the network, the system or untrusted bytes return
// result<T>, whose error carries a kind, a message and, for parsers, an offset; exceptions
// are kept for programmer errors (reading the value of a failed result, invalid options).
// See docs/design.md ("Errors and logs").
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

namespace anklet::metrics {

/// What kind of failure happened. Each kind asks for a different reaction from the caller,
/// which is why they are kept apart.
enum class errc : std::uint8_t {
  io,            ///< a socket call failed (connect refused, reset, ...); errno text in the message
  timeout,       ///< connect, write or read did not finish in time
  closed,        ///< the server closed the connection (possibly in the middle of a reply)
  protocol,      ///< the server sent bytes that are not valid RESP2, or an unexpected reply type
  limit,         ///< a reply exceeded one of the parser limits (bulk, array, depth, total size)
  server,        ///< the server answered with an error reply; the message is the server's text
  backoff,       ///< a reconnect was refused because the backoff window after a failure is open
  invalid_url,   ///< a connection string could not be parsed
  invalid_argument,  ///< settings or a request that cannot work (a Unix path too long, a TLS file that does not load)
  cluster,       ///< a Redis Cluster cannot route the command: no master for its slot, or too many redirections
  parse,         ///< untrusted text (a payload, a /proc file, a request) is malformed; offset() says where
  system,        ///< a local system call failed (open, read, sysctl, statfs, ...); errno text in the message
  callback,      ///< a function the caller supplied (a collect function, a host source) threw; its what() in the message
};

/// A short stable name for an error kind, for logs.
[[nodiscard]] constexpr std::string_view to_string(errc e) noexcept {
  switch (e) {
    case errc::io: return "io";
    case errc::timeout: return "timeout";
    case errc::closed: return "closed";
    case errc::protocol: return "protocol";
    case errc::limit: return "limit";
    case errc::server: return "server";
    case errc::backoff: return "backoff";
    case errc::invalid_url: return "invalid_url";
    case errc::invalid_argument: return "invalid_argument";
    case errc::cluster: return "cluster";
    case errc::parse: return "parse";
    case errc::system: return "system";
    case errc::callback: return "callback";
  }
  return "unknown";
}

/// A failure: its kind, a human-readable message and, for parsers, the byte offset in the
/// input where it was found. For errc::server the message is the server's error text
/// unchanged (e.g. "WRONGPASS invalid username-password pair ...").
struct error {
  /// offset when the failure has no position in an input.
  static constexpr std::size_t no_offset = static_cast<std::size_t>(-1);

  errc code{errc::io};
  std::string message;
  std::size_t offset = no_offset;

  error() = default;
  error(errc c, std::string msg, std::size_t at = no_offset) : code(c), message(std::move(msg)), offset(at) {}

  [[nodiscard]] bool has_offset() const noexcept { return offset != no_offset; }
  /// "kind: message" (with " at byte N" for parsers), for logs.
  [[nodiscard]] std::string to_string() const {
    std::string s(metrics::to_string(code));
    s += ": ";
    s += message;
    if (has_offset()) {
      s += " at byte ";
      s += std::to_string(offset);
    }
    return s;
  }
};

/// Thrown when value() is called on a failed result, or error() on a successful one:
/// a bug in the caller, not a runtime condition.
class bad_result_access : public std::logic_error {
 public:
  explicit bad_result_access(const std::string& what) : std::logic_error(what) {}
};

/// Either a T or an error. Test it with `if (r)` / `r.has_value()` before value().
template <class T>
class [[nodiscard]] result {
 public:
  result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit on purpose
  result(metrics::error e) : v_(std::in_place_index<1>, std::move(e)) {}      // NOLINT: implicit on purpose

  [[nodiscard]] bool has_value() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return has_value(); }

  [[nodiscard]] T& value() & {
    check_value();
    return std::get<0>(v_);
  }
  [[nodiscard]] const T& value() const& {
    check_value();
    return std::get<0>(v_);
  }
  [[nodiscard]] T&& value() && {
    check_value();
    return std::get<0>(std::move(v_));
  }
  [[nodiscard]] const metrics::error& error() const {
    if (has_value()) throw bad_result_access("result holds a value, not an error");
    return std::get<1>(v_);
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  void check_value() const {
    if (!has_value()) throw bad_result_access("result holds an error: " + std::get<1>(v_).to_string());
  }
  std::variant<T, metrics::error> v_;
};

/// result<void>: success carries nothing.
template <>
class [[nodiscard]] result<void> {
 public:
  result() = default;
  result(metrics::error e) : err_(std::move(e)), failed_(true) {}  // NOLINT: implicit on purpose

  [[nodiscard]] bool has_value() const noexcept { return !failed_; }
  explicit operator bool() const noexcept { return has_value(); }
  void value() const {
    if (failed_) throw bad_result_access("result holds an error: " + err_.to_string());
  }
  [[nodiscard]] const metrics::error& error() const {
    if (!failed_) throw bad_result_access("result holds a value, not an error");
    return err_;
  }

 private:
  metrics::error err_;
  bool failed_ = false;
};

}  // namespace anklet::metrics
