// anklet::metrics HTTP exporter: the responder of "anklet/metrics/http/server.hpp" wired
// to the library's renderers (Prometheus 0.0.4, JSON, Go Anklet's text) and, optionally,
// to a host metrics source refreshed on scrapes.
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

#include <chrono>
#include <functional>
#include <iterator>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

#include "anklet/metrics/host/source.hpp"
#include "anklet/metrics/http/server.hpp"
#include "anklet/metrics/render/anklet_text.hpp"
#include "anklet/metrics/render/json.hpp"
#include "anklet/metrics/render/prometheus.hpp"
#include "anklet/metrics/store.hpp"
#include "anklet/metrics/transport.hpp"

namespace anklet::metrics::http {

/// Content-Type of format=anklet: Go Anklet's text, which is not Prometheus exposition.
inline constexpr std::string_view anklet_text_content_type = "text/plain; charset=utf-8";

/// The library's renderers behind the server's renderer interface.
struct standard_renderer {
  /// Zone of the times in the JSON and Anklet text (Go prints local time).
  time_zone zone = time_zone::local;
  /// Options of format=prometheus (e.g. Anklet's job_url label, off by default).
  prometheus_options prometheus{};

  void render(metrics_format f, const metrics_snapshot& snap, fmt::memory_buffer& out) const {
    switch (f) {
      case metrics_format::prometheus:
        format_prometheus(snap, std::back_inserter(out), prometheus);
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
    }
    return anklet_text_content_type;
  }
};

static_assert(snapshot_renderer<standard_renderer>);

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
