// anklet::metrics aggregator bodies: the bodies of the fleet's answers (docs/metrics.md),
// rendered and gzip-compressed from one read, and the families that change with every
// request, written after a cached text body so that the body itself is never copied
// (docs/http.md). The aggregator of "anklet/metrics/fleet/aggregator.hpp" serves them from
// a read per request and from its background reader's published view alike.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include <fmt/format.h>

#include "anklet/metrics/core/catalogue.hpp"
#include "anklet/metrics/core/log.hpp"
#include "anklet/metrics/fleet/aggregator_options.hpp"
#include "anklet/metrics/fleet/read.hpp"
#include "anklet/metrics/fleet/render.hpp"
#include "anklet/metrics/http/encoding.hpp"
#include "anklet/metrics/http/response.hpp"
#include "anklet/metrics/render/exposition.hpp"
#include "anklet/metrics/render/numbers.hpp"
#include "anklet/metrics/render/openmetrics.hpp"
#include "anklet/metrics/render/prometheus.hpp"
#include "anklet/metrics/render/sink.hpp"

namespace anklet::metrics::detail {

/// The four bodies of a read (the text formats are the same on both versions; they end
/// before the families that change with every request).
enum class body_kind : std::uint8_t { json_v1, json_v2, prometheus, openmetrics };
inline constexpr std::size_t body_kinds = 4;

inline bool is_text(body_kind kind) noexcept { return kind == body_kind::prometheus || kind == body_kind::openmetrics; }

using body_ptr = std::shared_ptr<const http::shared_body>;

/// A body compressed; for the text formats an open gzip member, closed per request after
/// the families that change with every request.
struct gzip_body {
  body_ptr bytes;
  std::uint32_t crc = 0;
};

/// One answer of one read: its body and, once a client asked for gzip, its gzip form.
struct cached_answer {
  body_ptr plain;
  gzip_body gzip;
};

/// Renders and compresses bodies with an aggregator's options, counting both for
/// aggregator::renders() and compressions(). Thread-safe; the options must outlive it.
class answer_bodies {
 public:
  explicit answer_bodies(const aggregator_options& options) noexcept : opt_(options) {}

  [[nodiscard]] body_ptr render(const fleet& f, body_kind kind) const {
    auto out = std::make_shared<http::shared_body>();
    render_into(out->bytes, f, kind);
    return out;
  }

  void render_into(fmt::memory_buffer& body, const fleet& f, body_kind kind) const {
    renders_.fetch_add(1, std::memory_order_relaxed);
    switch (kind) {
      case body_kind::json_v1:
      case body_kind::json_v2:
        body.reserve(f.hosts.size() * 2048 + 16);
        if (kind == body_kind::json_v1) format_fleet_json_v1(f, std::back_inserter(body));
        else format_fleet_json_v2(f, std::back_inserter(body));
        break;
      case body_kind::prometheus:
      case body_kind::openmetrics:
        body.reserve(f.hosts.size() * 4096 + 1024);
        write_through(std::back_inserter(body),
                      [&](auto& s) { write_fleet_exposition(s, f, text_format(kind), opt_.prometheus); });
        break;
    }
  }

  /// Whether `plain` goes compressed to clients that accept gzip: options().gzip is set and
  /// the body long enough to gain.
  [[nodiscard]] bool compresses(const http::shared_body& plain) const noexcept {
    return opt_.gzip && plain.bytes.size() >= opt_.gzip->min_bytes();
  }

  /// `plain`, a body of `kind`, compressed; empty when the compressor failed (then the
  /// plain body is served).
  [[nodiscard]] gzip_body compress(const http::shared_body& plain, body_kind kind) const {
    try {
      auto out = std::make_shared<http::shared_body>();
      gzip_body z;
      z.crc = opt_.gzip->compress(view_of(plain), out->bytes, is_text(kind));
      z.bytes = std::move(out);
      compressions_.fetch_add(1, std::memory_order_relaxed);
      return z;
    } catch (const std::exception& e) {
      // Also runs on the background reader, where a throwing sink would end the process.
      metrics::detail::emit(opt_.log, log_level::error, std::string("gzip failed: ") + e.what());
      return {};
    }
  }

  /// The body of `a` (an answer of kind `kind` from `f`), rendered now if it was not yet.
  const body_ptr& plain_of(cached_answer& a, const fleet& f, body_kind kind) const {
    if (!a.plain) a.plain = render(f, kind);
    return a.plain;
  }

  /// The gzip form of `a`'s body, compressed now if it was not yet; empty when the body is
  /// too short to gain or the compressor failed (then the plain body is served).
  const gzip_body& gzip_of(cached_answer& a, body_kind kind) const {
    if (!a.gzip.bytes && compresses(*a.plain)) a.gzip = compress(*a.plain, kind);
    return a.gzip;
  }

  /// Sends the cached `plain` body (or `z`, its gzip form) followed by the families of this
  /// request for the text formats: a second piece of the same write, not a copy of the body.
  void send(body_kind kind, const body_ptr& plain, const gzip_body& z, std::optional<double> age,
            std::uint64_t failed_reads, http::response& r) const {
    r.content_type = content_type(kind);
    r.shared = z.bytes ? z.bytes : plain;
    if (!is_text(kind)) return;
    if (!z.bytes) return write_request_families(kind, age, failed_reads, r.body);
    std::string tail;
    write_request_families(kind, age, failed_reads, tail);
    http::close_gzip_member(z.crc, plain->bytes.size(), tail, r.body);
  }

  [[nodiscard]] static std::string_view view_of(const http::shared_body& b) noexcept {
    return {b.bytes.data(), b.bytes.size()};
  }

  [[nodiscard]] std::uint64_t renders() const noexcept { return renders_.load(std::memory_order_relaxed); }
  [[nodiscard]] std::uint64_t compressions() const noexcept { return compressions_.load(std::memory_order_relaxed); }

 private:
  static exposition_format text_format(body_kind kind) noexcept {
    return kind == body_kind::openmetrics ? exposition_format::openmetrics : exposition_format::prometheus;
  }

  static std::string_view content_type(body_kind kind) noexcept {
    switch (kind) {
      case body_kind::prometheus: return prometheus_content_type;
      case body_kind::openmetrics: return openmetrics_content_type;
      default: return "application/json";
    }
  }

  // The families that change with every request, after a cached text body: the age of the
  // read answered from (when known) and the failed reads since the last good one; then
  // OpenMetrics' `# EOF`.
  static void write_request_families(body_kind kind, std::optional<double> age, std::uint64_t failed_reads,
                                     std::string& out) {
    text_sink ts(std::back_inserter(out));
    const auto fmt = text_format(kind);
    if (age) {
      write_family_header(ts, fmt, catalogue::fleet_age);
      ts.write(catalogue::fleet_age.name);
      ts.put(' ');
      write_prometheus_double(ts, *age);
      ts.put('\n');
    }
    write_family_header(ts, fmt, catalogue::fleet_read_failures);
    ts.write(catalogue::fleet_read_failures.name);
    ts.put(' ');
    write_uint(ts, failed_reads);
    ts.put('\n');
    if (kind == body_kind::openmetrics) ts.write(openmetrics_eof);
  }

  const aggregator_options& opt_;
  mutable std::atomic<std::uint64_t> renders_{0};
  mutable std::atomic<std::uint64_t> compressions_{0};
};

}  // namespace anklet::metrics::detail
