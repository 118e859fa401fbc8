// anklet::metrics HTTP exporter: the metrics routes (/metrics/v1 in Prometheus 0.0.4 or
// OpenMetrics as the scraper's Accept header prefers, JSON and Go Anklet's text,
// /healthcheck, /metrics 501; docs/http.md) as a router over the server of
// "anklet/metrics/http/server.hpp", with the library's renderers and, optionally, a host
// metrics source refreshed on scrapes.
//
// What is served comes from three compile-time parts:
//  - a snapshot source: the store (anything with generation() and snapshot_into()),
//  - a renderer: turns a snapshot into the body of one format (standard_renderer below),
//  - optionally a host refresher: a callable that refreshes host figures in the store,
//    run on a scrape at most once per host_refresh_interval; it may return bool, false
//    meaning it declined and nothing changed.
// A scrape takes a snapshot under the store's shared lock, releases it, renders, and only
// then writes; no lock is held while a socket is written. The two exposition formats get
// the collectors' families (server_options::collectors, then the scrape counts) after the
// snapshot's, and OpenMetrics its `# EOF`. Rendered bodies are cached per format while
// neither the store's generation, the host refresh epoch nor the collectors' generations
// changed, and with server_options::gzip each one's gzip form beside it, compressed on the
// first request that accepts gzip.
//
// Example:
//   #include "anklet/metrics/host/platform.hpp"
//   namespace am = anklet::metrics;
//   am::store metrics;
//   am::platform_host_source host;
//   am::http::host_refresher refresh{metrics, host};
//   am::http::server_options options;
//   options.address = "127.0.0.1";
//   options.port = 8080;
//   am::http::server_with_host<am::store, am::platform_host_source> srv{metrics, options, {}, refresh};
//   srv.start();  // serves /metrics/v1?format=prometheus|json|anklet until srv.stop()
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <iterator>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "anklet/metrics/core/model.hpp"
#include "anklet/metrics/detail/compiled.hpp"
#include "anklet/metrics/host/source.hpp"
#include "anklet/metrics/http/accept.hpp"
#include "anklet/metrics/http/encoding.hpp"
#include "anklet/metrics/http/scrape_counts.hpp"
#include "anklet/metrics/http/server.hpp"
#include "anklet/metrics/render/anklet_text.hpp"
#include "anklet/metrics/render/collector.hpp"
#include "anklet/metrics/render/format.hpp"
#include "anklet/metrics/render/json.hpp"
#include "anklet/metrics/render/openmetrics.hpp"
#include "anklet/metrics/render/prometheus.hpp"
#include "anklet/metrics/store.hpp"
#include "anklet/metrics/transport.hpp"

namespace anklet::metrics::http {

using metrics::all_formats;
using metrics::metrics_format;
using metrics::parse_format;
using metrics::to_string;

/// Where snapshots come from: a store, or a published_snapshot.
template <class S>
concept snapshot_source = requires(const S& s, metrics_snapshot& out) {
  { s.generation() } -> std::convertible_to<std::uint64_t>;
  { s.snapshot_into(out) } -> std::convertible_to<std::uint64_t>;
};

/// Renders a snapshot into the body of one format (appending to `out`) and names its
/// Content-Type. Called on the server's thread only, with no lock held.
template <class R>
concept snapshot_renderer = requires(R& r, metrics_format f, const metrics_snapshot& s, fmt::memory_buffer& out) {
  r.render(f, s, out);
  { r.content_type(f) } -> std::convertible_to<std::string_view>;
};

/// A renderer that names the formats it writes, and writes the two exposition formats as
/// the library's do: the snapshot's families only (collectors' families and OpenMetrics'
/// `# EOF` follow from the routes). Such a renderer gets format=openmetrics, negotiation
/// and the collectors; any other writes whole bodies and never sees openmetrics.
template <class R>
concept exposition_renderer = snapshot_renderer<R> && requires(const R& r, metrics_format f) {
  { r.supports(f) } -> std::convertible_to<bool>;
};

/// The host refresher of servers that have none.
struct no_host_refresh {
  void operator()() const noexcept {}
};

/// Latest snapshot pushed by publish(); a snapshot_source for servers that are fed by an
/// exporter instead of reading a store themselves. Thread-safe.
class published_snapshot {
 public:
  void publish(const metrics_snapshot& snap) {
    std::lock_guard lock(mutex_);
    snap_ = snap;
    generation_.fetch_add(1, std::memory_order_release);
  }
  [[nodiscard]] std::uint64_t generation() const noexcept { return generation_.load(std::memory_order_acquire); }
  std::uint64_t snapshot_into(metrics_snapshot& out) const {
    std::lock_guard lock(mutex_);
    out = snap_;
    return generation_.load(std::memory_order_relaxed);
  }

 private:
  mutable std::mutex mutex_;
  metrics_snapshot snap_;
  std::atomic<std::uint64_t> generation_{0};
};

/// The exporter's routes over a snapshot source: server_options::handler first (behind
/// authorization), then /metrics/v1, /metrics and /healthcheck. Runs on the server thread.
template <snapshot_source Source, snapshot_renderer Renderer, std::invocable<> HostRefresh = no_host_refresh>
class metrics_routes {
 public:
  metrics_routes(Source& source, const server_options& options, Renderer renderer, HostRefresh host_refresh)
      : source_(source),
        renderer_(std::move(renderer)),
        host_refresh_(std::move(host_refresh)),
        handler_(options.handler),
        health_(options.health),
        collectors_(options.collectors),
        scrapes_(options.scrapes),
        host_refresh_interval_(options.host_refresh_interval),
        cache_bodies_(options.cache_bodies),
        negotiate_(options.negotiate_openmetrics),
        gzip_(options.gzip),
        accept_encoding_(options.accept_encoding) {
    if (scrapes_) collectors_.emplace_back(scrapes_);
  }

  void route(const routed_request& req, response& out) {
    served_.reset();
    answer(req, out);
    if (scrapes_ && req.path == "/metrics/v1") scrapes_->count(served_, out.status, req.now);
  }

  void add_stats(server_stats& s) const noexcept {
    s.renders = renders_.load(std::memory_order_relaxed);
    s.compressions = compressions_.load(std::memory_order_relaxed);
    s.host_refreshes = refreshes_.load(std::memory_order_relaxed);
  }

  [[nodiscard]] Source& source() noexcept { return source_; }

 private:
  struct cache_entry {
    reusable_body body;
    std::uint64_t generation = 0;
    std::uint64_t host_epoch = 0;
    std::uint64_t collectors = 0;
    reusable_body gzip;  // `body` compressed, when gzip_fresh
    bool gzip_fresh = false;
  };

  static constexpr bool writes_exposition = exposition_renderer<Renderer>;

  [[nodiscard]] bool supports(metrics_format f) const {
    if constexpr (writes_exposition) {
      return renderer_.supports(f);
    } else {
      return f != metrics_format::openmetrics;
    }
  }

  void answer(const routed_request& req, response& out) {
    // A handler may answer any path, so it is guarded before it runs; the built-in routes
    // answer 404 and 405 before asking for credentials, as Go Anklet does.
    const bool guarded = static_cast<bool>(handler_);
    if (guarded) {
      if (!req.authorized()) return req.auth.deny(out);
      if (answer_with(req, out, handler_)) return;
    }
    const bool health = req.path == "/healthcheck";
    const bool v1 = req.path == "/metrics/v1";
    if (!health && !v1 && req.path != "/metrics") return out.text(404, "404 page not found\n");
    if (req.method != "GET" && req.method != "HEAD") {
      out.text(405, "method not allowed; use GET or HEAD\n");
      out.allow = "GET, HEAD";
      return;
    }
    if (!guarded && !req.authorized()) return req.auth.deny(out);
    if (health) return check_health(req, out);
    if (!v1) return out.text(501, "please use /metrics/v1");
    serve_metrics(req, out);
  }

  void check_health(const routed_request& req, response& out) const {
    if (!health_) return out.text(200, "ok");
    std::string problem;
    try {
      problem = health_();
    } catch (const std::exception& e) {
      problem = std::string("health check failed: ") + e.what();
    }
    if (problem.empty()) return out.text(200, "ok");
    req.report(log_level::warning, "/healthcheck answered 503: " + problem);
    out.text(503, "unhealthy: " + problem + "\n");
  }

  // format=prometheus answers OpenMetrics to a scraper that prefers it; every Accept
  // header counts (several fields are one list).
  [[nodiscard]] static bool prefers_openmetrics(const request& raw) noexcept {
    accept_weights weights;
    for (const auto& h : raw.headers) {
      if (metrics::detail::iequals(h.name, "accept")) weights.add(h.value);
    }
    return weights.prefers_openmetrics();
  }

  void serve_metrics(const routed_request& req, response& out) {
    // Lenient as Go: a malformed escape in another parameter does not fail the request.
    std::optional<metrics_format> format;
    if (const auto value = query_value(req.query, "format")) format = parse_format(*value);
    if (!format || !supports(*format)) {
      return out.text(400, supports(metrics_format::openmetrics)
                               ? "missing or unsupported format; supported: format=prometheus, format=openmetrics, "
                                 "format=json, format=anklet\n"
                               : "missing or unsupported format; supported: format=prometheus, format=json, "
                                 "format=anklet\n");
    }
    if (*format == metrics_format::prometheus && negotiate_ && supports(metrics_format::openmetrics)) {
      out.add_vary("Accept");
      if (prefers_openmetrics(req.raw)) format = metrics_format::openmetrics;
    }
    try {
      auto& entry = render(*format, req);
      out.shared = entry.body.current;
      if (gzip_) {
        auto coding = read_accept_encoding(req.raw, accept_encoding_).choose(true);
        if (coding == content_coding::gzip) {
          if (auto compressed = compress(entry, req)) out.shared = std::move(compressed);
          else coding = content_coding::identity;
        }
        set_content_coding(out, coding);
      }
    } catch (const std::exception& e) {
      req.report(log_level::error, std::string("rendering failed: ") + e.what());
      out.headers.clear();
      out.shared.reset();
      return out.text(500, "rendering failed\n");
    }
    served_ = format;
    out.content_type.assign(renderer_.content_type(*format));
  }

  // The entry's body compressed, once per rendered body; null when it is too short to gain
  // or the compressor failed (then the plain body is served).
  std::shared_ptr<const shared_body> compress(cache_entry& entry, const routed_request& req) {
    const auto& plain = entry.body.current->bytes;
    if (plain.size() < gzip_->min_bytes()) return nullptr;
    if (entry.gzip_fresh && cache_bodies_) return entry.gzip.current;
    auto& compressed = entry.gzip.renew();
    try {
      gzip_->compress(std::string_view(plain.data(), plain.size()), compressed, false);
    } catch (const std::exception& e) {
      req.report(log_level::error, std::string("gzip failed: ") + e.what());
      return nullptr;
    }
    entry.gzip_fresh = true;
    compressions_.fetch_add(1, std::memory_order_relaxed);
    return entry.gzip.current;
  }

  void maybe_refresh_host(const routed_request& req) {
    if constexpr (!std::is_same_v<HostRefresh, no_host_refresh>) {
      if (refreshed_once_ && host_refresh_interval_.count() > 0 && req.now - last_refresh_ < host_refresh_interval_) {
        return;
      }
      refreshed_once_ = true;
      last_refresh_ = req.now;
      bool refreshed = true;
      try {
        // A refresher returning bool may decline (e.g. one rate-limited across servers);
        // then the cached bodies stay valid.
        if constexpr (std::is_same_v<std::invoke_result_t<HostRefresh&>, bool>) {
          refreshed = host_refresh_();
        } else {
          host_refresh_();
        }
      } catch (const std::exception& e) {
        req.report(log_level::error, std::string("host metrics refresh failed: ") + e.what());
      }
      if (!refreshed) return;
      ++host_epoch_;
      refreshes_.fetch_add(1, std::memory_order_relaxed);
    }
  }

  cache_entry& render(metrics_format f, const routed_request& req) {
    maybe_refresh_host(req);
    auto& entry = cache_[static_cast<std::size_t>(f)];
    const bool exposition = writes_exposition && (f == metrics_format::prometheus || f == metrics_format::openmetrics);
    const std::uint64_t collectors = exposition ? collectors_generation(collectors_) : 0;
    if (cache_bodies_ && entry.body.current && entry.generation == source_.generation() &&
        entry.host_epoch == host_epoch_ && entry.collectors == collectors) {
      return entry;
    }
    const auto generation = source_.snapshot_into(snapshot_);  // the only time the store is locked
    auto& bytes = entry.body.renew();
    try {
      renderer_.render(f, snapshot_, bytes);
      if (exposition) {
        const auto text = f == metrics_format::openmetrics ? exposition_format::openmetrics : exposition_format::prometheus;
        write_collectors(collectors_, text, bytes);
        if (text == exposition_format::openmetrics) bytes.append(openmetrics_eof);
      }
    } catch (...) {
      entry.body.current.reset();  // never serve a half-rendered body from the cache
      throw;
    }
    entry.generation = generation;
    entry.host_epoch = host_epoch_;
    entry.collectors = collectors;
    entry.gzip_fresh = false;
    renders_.fetch_add(1, std::memory_order_relaxed);
    return entry;
  }

  Source& source_;
  Renderer renderer_;
  HostRefresh host_refresh_;
  request_handler handler_;
  std::function<std::string()> health_;
  std::vector<any_collector> collectors_;  // the options', then scrapes_
  std::shared_ptr<scrape_counts> scrapes_;
  std::chrono::milliseconds host_refresh_interval_;
  bool cache_bodies_;
  bool negotiate_;
  std::optional<metrics_format> served_;  // of the request being answered
  std::shared_ptr<const gzip_compressor> gzip_;
  accept_encoding_limits accept_encoding_;

  metrics_snapshot snapshot_;
  std::array<cache_entry, all_formats.size()> cache_{};
  std::uint64_t host_epoch_ = 0;
  std::chrono::steady_clock::time_point last_refresh_{};
  bool refreshed_once_ = false;
  std::atomic<std::uint64_t> renders_{0};
  std::atomic<std::uint64_t> refreshes_{0};
  std::atomic<std::uint64_t> compressions_{0};
};

/// The exporter's HTTP server: the metrics routes over `Source`, which must outlive it.
///
/// As a transport (publish(snapshot)), a pull server needs nothing pushed: when its source
/// is a store, publish() is accepted and ignored, because every scrape reads the store
/// itself and is never older than a pushed copy; when its source is a published_snapshot,
/// publish() replaces what is served.
template <snapshot_source Source, snapshot_renderer Renderer, std::invocable<> HostRefresh = no_host_refresh>
class basic_server : public router_server<metrics_routes<Source, Renderer, HostRefresh>> {
 public:
  explicit basic_server(Source& source, server_options options = {}, Renderer renderer = {},
                        HostRefresh host_refresh = {})
      : router_server<metrics_routes<Source, Renderer, HostRefresh>>(options, source, options, std::move(renderer),
                                                                     std::move(host_refresh)) {}
  // The event loop makes virtual calls on this object: it stops before the destructors of
  // the classes below begin, each by changing the object's dynamic type.
  ~basic_server() override { this->stop(); }

  /// Transport hook; see the class comment.
  void publish(const metrics_snapshot& snap) {
    if constexpr (requires(Source& s) { s.publish(snap); }) {
      this->router().source().publish(snap);
    }
  }
};

/// Content-Type of format=anklet: Go Anklet's text, which is not Prometheus exposition.
inline constexpr std::string_view anklet_text_content_type = "text/plain; charset=utf-8";

/// The library's renderers behind the server's renderer interface. The two exposition
/// formats get the snapshot's families; the routes add the collectors' and OpenMetrics'
/// `# EOF` (exposition_renderer).
struct standard_renderer {
  /// Zone of the times in the JSON and Anklet text (Go prints local time).
  time_zone zone = time_zone::local;
  /// Options of format=prometheus and OpenMetrics (e.g. Anklet's job_url label, off by
  /// default; OpenMetrics exemplars, on).
  prometheus_options prometheus{};

  [[nodiscard]] constexpr bool supports(metrics_format) const noexcept { return true; }

  void render(metrics_format f, const metrics_snapshot& snap, fmt::memory_buffer& out) const {
    switch (f) {
      case metrics_format::prometheus:
        format_prometheus(snap, std::back_inserter(out), prometheus);
        return;
      case metrics_format::openmetrics:
        write_through(std::back_inserter(out), [&](auto& s) { write_openmetrics_families(s, snap, prometheus); });
        return;
      case metrics_format::json:
        format_json(snap, std::back_inserter(out), json_options{zone});
        return;
      case metrics_format::anklet:
        format_anklet_text(snap, std::back_inserter(out), anklet_text_options{zone});
        return;
    }
  }
  [[nodiscard]] std::string_view content_type(metrics_format f) const noexcept {
    switch (f) {
      case metrics_format::prometheus: return prometheus_content_type;
      case metrics_format::json: return json_content_type;
      case metrics_format::anklet: return anklet_text_content_type;
      case metrics_format::openmetrics: return openmetrics_content_type;
    }
    return anklet_text_content_type;
  }
};

static_assert(exposition_renderer<standard_renderer>);

/// The server's host refresher for a store and a host source: samples the source (no
/// store lock held), stores the figures and hands the sample to `on_sample`, e.g. to log
/// failed parts. Copies share one rate limit: with `min_interval` > 0, servers that share
/// a port (start_sharing) refresh the host once per interval between them
/// (give those servers host_refresh_interval 0). Thread-safe; sampling and on_sample are
/// serialized. Holds references; the store and source must outlive it.
template <class Store, host_metrics_source Source>
class host_refresher {
 public:
  host_refresher(Store& store, Source& source, std::function<void(const host_sample&)> on_sample = {},
                 std::chrono::milliseconds min_interval = std::chrono::milliseconds(0))
      : store_(&store), source_(&source), shared_(std::make_shared<shared_state>()) {
    shared_->on_sample = std::move(on_sample);
    shared_->min_interval = min_interval;
  }

  /// Refreshes unless a copy did so less than min_interval ago; returns whether it did.
  bool operator()() {
    std::lock_guard lock(shared_->mutex);
    const auto now = std::chrono::steady_clock::now();
    if (shared_->sampled && now - shared_->last < shared_->min_interval) return false;
    shared_->sampled = true;
    shared_->last = now;
    const auto sample = refresh_host_metrics(*store_, *source_);
    shared_->last_error = sample.error_summary();
    if (shared_->on_sample) shared_->on_sample(sample);
    return true;
  }

  /// The failed parts of the last sample and why ("memory: ..."), empty when it was
  /// complete. Failed parts are served with their last good values meanwhile.
  [[nodiscard]] std::string last_error() const {
    std::lock_guard lock(shared_->mutex);
    return shared_->last_error;
  }

 private:
  struct shared_state {
    std::mutex mutex;
    std::function<void(const host_sample&)> on_sample;
    std::string last_error;
    std::chrono::milliseconds min_interval{0};
    std::chrono::steady_clock::time_point last{};
    bool sampled = false;
  };
  Store* store_;
  Source* source_;
  std::shared_ptr<shared_state> shared_;
};

/// A server for `Store` with the standard renderers and no host figures.
template <class Store = metrics::store>
using server = basic_server<Store, standard_renderer>;

/// A server for `Store` with the standard renderers, refreshing host figures from `Source`
/// on scrapes (at most once per server_options::host_refresh_interval).
template <class Store, class Source>
using server_with_host = basic_server<Store, standard_renderer, host_refresher<Store, Source>>;

// An exporter can hand snapshots to a server like to any transport (see basic_server::publish).
static_assert(transport<server<metrics::store>>);
static_assert(transport<server<published_snapshot>>);

}  // namespace anklet::metrics::http

// Compiled mode (docs/compiled-mode.md): the standard servers are compiled in the
// implementation file only.
#if defined(ANKLET_METRICS_STANDARD_INSTANCE)
#include "anklet/metrics/host/platform.hpp"

namespace anklet::metrics::http {
ANKLET_METRICS_STANDARD_INSTANCE class router_server<metrics_routes<metrics::store, standard_renderer, no_host_refresh>>;
ANKLET_METRICS_STANDARD_INSTANCE class router_server<
    metrics_routes<metrics::store, standard_renderer, host_refresher<metrics::store, platform_host_source>>>;
}  // namespace anklet::metrics::http
#endif
