// anklet::metrics plugin statuses and their wire spellings.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace anklet::metrics {

/// The statuses Anklet plugins report. Flow: idle -> paused -> idle -> in_progress -> idle,
/// and paused -> pulling -> running -> in_progress -> idle; `draining` is set on handlers
/// while a drain file exists, `limit_paused` while the GitHub API rate limit holds a plugin
/// back, `stopped` at shutdown.
enum class plugin_status : std::uint8_t { idle, paused, pulling, running, in_progress, stopped, draining, limit_paused };

/// Every status, in declaration order (the order of Prometheus state-set series).
inline constexpr std::array<plugin_status, 8> all_statuses{
    plugin_status::idle,        plugin_status::paused,  plugin_status::pulling,  plugin_status::running,
    plugin_status::in_progress, plugin_status::stopped, plugin_status::draining, plugin_status::limit_paused};

/// The wire spelling of a status, as Go Anklet writes it.
[[nodiscard]] constexpr std::string_view to_string(plugin_status s) noexcept {
  constexpr std::array<std::string_view, all_statuses.size()> names{
      "idle", "paused", "pulling", "running", "in_progress", "stopped", "draining", "limit_paused"};
  const auto index = static_cast<std::size_t>(s);
  return index < names.size() ? names[index] : std::string_view{"unknown"};
}

/// The status spelled `text`, or nothing when `text` is not one of Anklet's statuses.
[[nodiscard]] constexpr std::optional<plugin_status> parse_status(std::string_view text) noexcept {
  for (const auto s : all_statuses) {
    if (to_string(s) == text) return s;
  }
  return std::nullopt;
}

/// Thrown by status_from_string for a spelling Anklet does not define.
class unknown_status_error : public std::invalid_argument {
 public:
  explicit unknown_status_error(std::string_view text)
      : std::invalid_argument("unknown plugin status '" + std::string(text) +
                              "' (expected idle, paused, pulling, running, in_progress, stopped, draining or limit_paused)"),
        text_(text) {}
  /// The rejected spelling.
  [[nodiscard]] const std::string& text() const noexcept { return text_; }

 private:
  std::string text_;
};

/// Like parse_status, but an unknown spelling throws unknown_status_error naming it.
[[nodiscard]] inline plugin_status status_from_string(std::string_view text) {
  if (const auto s = parse_status(text)) return *s;
  throw unknown_status_error(text);
}

}  // namespace anklet::metrics
