// What the example programs share on the command line: flag parsing, the listen address,
// error lines, the URL line scripts wait for, and stop signals. Signals belong to programs,
// never to the library: the stop signals are blocked in every thread and taken by main
// with sigwait. gzip is there when the program is built with it (ANKLET_METRICS_GZIP, Meson
// option gzip).
#pragma once

#include <pthread.h>
#include <signal.h>

#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "anklet/metrics/detail/decimal.hpp"
#include "anklet/metrics/http/encoding.hpp"

#if ANKLET_METRICS_GZIP
#include "anklet/metrics/http/gzip.hpp"
#endif
#include "anklet/metrics/detail/text.hpp"

namespace anklet_examples {

/// A bad command line: the program prints the message on one line and exits with 2.
struct usage_error {
  std::string message;
};

/// "PROGRAM: MESSAGE" on stderr.
inline void print_error(std::string_view program, std::string_view message) {
  std::fprintf(stderr, "%.*s: %.*s\n", static_cast<int>(program.size()), program.data(),
               static_cast<int>(message.size()), message.data());
}

/// Walks argv accepting both "--flag value" and "--flag=value".
class arguments {
 public:
  arguments(int argc, char** argv) : argc_(argc), argv_(argv) {}

  /// Moves to the next flag; false at the end.
  bool next() {
    if (++i_ >= argc_) return false;
    flag_ = argv_[i_];
    inline_value_.reset();
    if (const auto eq = flag_.find('='); flag_.rfind("--", 0) == 0 && eq != std::string_view::npos) {
      inline_value_ = flag_.substr(eq + 1);
      flag_ = flag_.substr(0, eq);
    }
    return true;
  }
  [[nodiscard]] std::string_view flag() const { return flag_; }
  /// The current flag's value, inline or the next argument.
  std::string_view value() {
    if (inline_value_) return *inline_value_;
    if (i_ + 1 >= argc_) throw usage_error{std::string(flag_) + " needs a value"};
    return argv_[++i_];
  }
  /// For flags without a value: "--help=x" is an error.
  void expect_no_value() const {
    if (inline_value_) throw usage_error{std::string(flag_) + " takes no value"};
  }
  [[noreturn]] void unknown() const { throw usage_error{"unknown argument '" + std::string(flag_) + "' (see --help)"}; }

 private:
  int argc_;
  char** argv_;
  int i_ = 0;
  std::string_view flag_;
  std::optional<std::string_view> inline_value_;
};

inline std::uint16_t parse_port(std::string_view text, std::string_view flag) {
  unsigned value = 0;
  const auto* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc{} || ptr != end || value > 65535) {
    throw usage_error{std::string(flag) + ": invalid port '" + std::string(text) + "'"};
  }
  return static_cast<std::uint16_t>(value);
}

struct listen_address {
  std::string address;  ///< empty = every interface
  std::uint16_t port = 0;
};

/// ADDR:PORT, [IPV6]:PORT or :PORT, for --listen.
inline listen_address parse_listen(std::string_view text) {
  std::string_view host;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      throw usage_error{"--listen: expected [IPV6]:PORT, got '" + std::string(text) + "'"};
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) throw usage_error{"--listen: expected ADDR:PORT, got '" + std::string(text) + "'"};
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) {
      throw usage_error{"--listen: write IPv6 addresses in brackets, e.g. [::1]:" + std::string(port)};
    }
  }
  return {std::string(host), parse_port(port, "--listen")};
}

/// A duration in (possibly fractional) seconds, at most a year.
inline std::chrono::milliseconds parse_seconds(std::string_view text, std::string_view flag) {
  double seconds = 0;
  namespace d = anklet::metrics::detail;
  if (!d::is_plain_decimal(text) || !d::plain_decimal_to_double(text, seconds) || !(seconds >= 0) ||
      seconds > 86400.0 * 365) {
    throw usage_error{std::string(flag) + ": expected a number of seconds >= 0, got '" + std::string(text) + "'"};
  }
  return std::chrono::milliseconds(static_cast<std::int64_t>(seconds * 1000.0 + 0.5));
}

/// A whole number, at most `max`.
inline std::uint64_t parse_count(std::string_view text, std::string_view flag, std::uint64_t max = 1'000'000) {
  std::uint64_t value = 0;
  if (!anklet::metrics::detail::parse_unsigned(text, max, value)) {
    throw usage_error{std::string(flag) + ": expected a whole number from 0 to " + std::to_string(max) + ", got '" +
                      std::string(text) + "'"};
  }
  return value;
}

/// A Redis Cluster is reached over TCP and has only database 0.
template <class Target>
void check_cluster_target(const Target& t) {
  if (!t.unix_path.empty()) throw usage_error{"--redis-cluster: a cluster node is reached over TCP, not unix://"};
  if (t.db != 0) throw usage_error{"--redis-cluster: Redis Cluster has only database 0"};
}

/// The first stdout line, which scripts and users wait for: the full URL served, flushed.
inline void print_listening(std::string_view bound_address, unsigned port, std::string_view path_and_query) {
  const bool v6 = bound_address.find(':') != std::string_view::npos;
  std::printf("listening on http://%s%.*s%s:%u%.*s\n", v6 ? "[" : "", static_cast<int>(bound_address.size()),
              bound_address.data(), v6 ? "]" : "", port, static_cast<int>(path_and_query.size()),
              path_and_query.data());
  std::fflush(stdout);
}

/// The --help line of --no-gzip, aligned at `column`.
inline std::string no_gzip_help(std::size_t column) {
  std::string l = "  --no-gzip";
  l.append(column - l.size(), ' ');
#if ANKLET_METRICS_GZIP
  return l + "send answers uncompressed (default: gzip to clients that accept it)\n";
#else
  return l + "send answers uncompressed (always so: this build has no zlib)\n";
#endif
}

/// What the programs compress with: gzip at the library's defaults (docs/http.md), unless
/// turned off or built without zlib.
inline std::shared_ptr<const anklet::metrics::http::gzip_compressor> program_gzip([[maybe_unused]] bool enabled) {
#if ANKLET_METRICS_GZIP
  if (enabled) return anklet::metrics::http::gzip_compression();
#endif
  return nullptr;
}

/// Blocks SIGINT and SIGTERM in the calling thread and every thread it starts afterwards,
/// and ignores SIGPIPE (stdout may be a pipe its reader closed). Call before any thread.
class stop_signals {
 public:
  stop_signals() {
    sigemptyset(&set_);
    sigaddset(&set_, SIGINT);
    sigaddset(&set_, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set_, nullptr);
    ::signal(SIGPIPE, SIG_IGN);
  }
  /// Returns once SIGINT or SIGTERM arrived.
  void wait() const {
    int sig = 0;
    while (sigwait(&set_, &sig) != 0) {
    }
  }

 private:
  sigset_t set_{};
};

}  // namespace anklet_examples
