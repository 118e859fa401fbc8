// anklet::metrics logs: the one sink type through which the Redis writer, the HTTP server
// and the aggregator report what they cannot return (a failed background write, a refused
// connection, a skipped key). See docs/design.md ("Errors and logs").
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>

namespace anklet::metrics {

/// Severity of a log line.
enum class log_level : std::uint8_t { debug, info, warning, error };

[[nodiscard]] constexpr std::string_view to_string(log_level l) noexcept {
  switch (l) {
    case log_level::debug: return "debug";
    case log_level::info: return "info";
    case log_level::warning: return "warning";
    case log_level::error: return "error";
  }
  return "unknown";
}

/// Receives log lines; called with none of the caller's locks held, from the thread that
/// did the work. It must not throw (what it throws is dropped).
using log_sink = std::function<void(log_level, std::string_view)>;

namespace detail {

// Hands a line to `sink`, if any: a throwing sink must not take a server loop, a writer or
// a background reader down with it.
inline void emit(const log_sink& sink, log_level level, std::string_view line) noexcept {
  if (!sink) return;
  try {
    sink(level, line);
  } catch (...) {
  }
}

}  // namespace detail

}  // namespace anklet::metrics
