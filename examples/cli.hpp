// What the example programs share on the command line: flag parsing, the listen address,
// error lines, the URL line scripts wait for, and stop signals. Signals belong to programs,
// never to the library: the stop signals are blocked in every thread and taken by main
// with sigwait. gzip is there when the program is built with it (ANKLET_METRICS_GZIP, Meson
// option gzip). The bodies are in cli.cpp, compiled once for both programs.
#pragma once

#include <signal.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace anklet::metrics::http {
class gzip_compressor;
}

namespace anklet_examples {

/// A bad command line: the program prints the message on one line and exits with 2.
struct usage_error {
  std::string message;
};

/// "PROGRAM: MESSAGE" on stderr.
void print_error(std::string_view program, std::string_view message);

/// Walks argv accepting both "--flag value" and "--flag=value".
class arguments {
 public:
  arguments(int argc, char** argv) : argc_(argc), argv_(argv) {}

  /// Moves to the next flag; false at the end.
  bool next();
  [[nodiscard]] std::string_view flag() const { return flag_; }
  /// The current flag's value, inline or the next argument.
  std::string_view value();
  /// For flags without a value: "--help=x" is an error.
  void expect_no_value() const;
  [[noreturn]] void unknown() const;

 private:
  int argc_;
  char** argv_;
  int i_ = 0;
  std::string_view flag_;
  std::optional<std::string_view> inline_value_;
};

/// A port number, 0 to 65535.
std::uint16_t parse_port(std::string_view text, std::string_view flag);

struct listen_address {
  std::string address;  ///< empty = every interface
  std::uint16_t port = 0;
};

/// ADDR:PORT, [IPV6]:PORT or :PORT, for --listen.
listen_address parse_listen(std::string_view text);

/// A duration in (possibly fractional) seconds, at most a year.
std::chrono::milliseconds parse_seconds(std::string_view text, std::string_view flag);

/// A whole number, at most `max`.
std::uint64_t parse_count(std::string_view text, std::string_view flag, std::uint64_t max = 1'000'000);

/// The first stdout line, which scripts and users wait for: the full URL served, flushed.
void print_listening(std::string_view bound_address, unsigned port, std::string_view path_and_query);

/// The --help line of --no-gzip, aligned at `column`.
std::string no_gzip_help(std::size_t column);

/// What the programs compress with: gzip at the library's defaults (docs/http.md), unless
/// turned off or built without zlib.
std::shared_ptr<const anklet::metrics::http::gzip_compressor> program_gzip(bool enabled);

/// Blocks SIGINT and SIGTERM in the calling thread and every thread it starts afterwards,
/// and ignores SIGPIPE (stdout may be a pipe its reader closed). Call before any thread.
class stop_signals {
 public:
  stop_signals();
  /// Returns once SIGINT or SIGTERM arrived.
  void wait() const;

 private:
  sigset_t set_{};
};

}  // namespace anklet_examples
