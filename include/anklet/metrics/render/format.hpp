// anklet::metrics formats: the names of the bodies the library writes, as a query spells
// them (/metrics/v1?format=..., docs/http.md). Independent of HTTP, so that a renderer or
// a tool can name a format without pulling in the server.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace anklet::metrics {

/// The formats of /metrics/v1 (docs/http.md). `openmetrics` is also what format=prometheus
/// answers to a scraper that asks for it in its Accept header.
enum class metrics_format : std::uint8_t { prometheus, json, anklet, openmetrics };

inline constexpr std::array<metrics_format, 4> all_formats{metrics_format::prometheus, metrics_format::json,
                                                         metrics_format::anklet, metrics_format::openmetrics};

/// The query spelling of a format.
[[nodiscard]] constexpr std::string_view to_string(metrics_format f) noexcept {
  switch (f) {
    case metrics_format::prometheus: return "prometheus";
    case metrics_format::json: return "json";
    case metrics_format::anklet: return "anklet";
    case metrics_format::openmetrics: return "openmetrics";
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

}  // namespace anklet::metrics
