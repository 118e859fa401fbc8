// anklet::metrics aggregator: the fleet view of docs/metrics.md (Go Anklet's metrics aggregator).
//
// read_fleet() SCANs `anklet/metrics/*` with a large COUNT and fetches the values with
// pipelined MGET batches (one write, not one round trip per key), parsing each payload as
// its reply arrives with the bounded payload reader. A value that is missing (expired or
// deleted between SCAN and MGET, or not a string), malformed or over a per-key limit is
// skipped and counted by reason; a read that reaches a whole-read bound (keys, key bytes,
// SCAN pages, time, value bytes) keeps what it read (docs/reliability.md). A Redis failure
// fails the whole read, so an answer is never made of a half-read fleet.
//
// The renderers turn a fleet into Go's aggregator answers: /metrics/v1?format=json (an
// object keyed by plugin name), /metrics/v2?format=json (an array), and valid Prometheus
// text for format=prometheus (OpenMetrics when the scraper's Accept header prefers it). The aggregator class ties a client, a refresh period and the
// routes together; any HTTP server can call its respond().
//
// Example:
//   namespace am = anklet::metrics;
//   am::aggregator_options options;
//   options.client.target = am::redis::parse_url("redis://127.0.0.1:6379").value();
//   am::aggregator agg(options);
//   auto resp = agg.respond("GET", "/metrics/v2", "format=json");
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <condition_variable>
#include <functional>
#include <iterator>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "anklet/metrics/core/catalogue.hpp"
#include "anklet/metrics/core/log.hpp"
#include "anklet/metrics/core/status.hpp"
#include "anklet/metrics/core/stop.hpp"
#include "anklet/metrics/fleet/payload_reader.hpp"
#include "anklet/metrics/fleet/read.hpp"
#include "anklet/metrics/fleet/render.hpp"
#include "anklet/metrics/http/accept.hpp"
#include "anklet/metrics/http/request_parser.hpp"
#include "anklet/metrics/http/response.hpp"
#include "anklet/metrics/redis/client.hpp"
#include "anklet/metrics/redis/cluster.hpp"
#include "anklet/metrics/render/common.hpp"
#include "anklet/metrics/render/openmetrics.hpp"
#include "anklet/metrics/render/prometheus.hpp"

namespace anklet::metrics {

// ---- serving -------------------------------------------------------------------------

/// An answer of aggregator::respond(): the HTTP layer's response, whose age_seconds (the Age
/// header) is the time since the read the answer was made from, when it was.
using aggregator_response = http::response;

/// The aggregator: a Redis client, a refresh period and the routes in docs/metrics.md.
struct aggregator_options {
  redis::client_options client;
  /// client.target is a seed of a Redis Cluster, whose every master is read.
  bool cluster = false;
  fleet_read_options read;
  /// How long one read may answer requests; 0 reads Redis for every request. With
  /// start(), the pause between the end of one background read and the next (at least
  /// 100 ms).
  std::chrono::milliseconds refresh{0};
  /// Options of format=prometheus (e.g. Anklet's job_url label, off by default).
  prometheus_options prometheus{};
  /// format=prometheus answers OpenMetrics 1.0.0 to a scraper whose Accept header prefers
  /// it, as Prometheus's does; false keeps the 0.0.4 text for every scraper.
  bool negotiate_openmetrics = true;
  /// /healthcheck answers 503 once this many reads of Redis in a row have failed (the
  /// answers are still served from the last good read); 0 never does.
  std::uint64_t unhealthy_after_failed_reads = 0;
  /// Where the background reader reports a failed read (error) and the keys it skipped or
  /// a SCAN cut short (warning; at most max_logged_skips lines a minute, then a count);
  /// nothing when empty.
  log_sink log;
  std::size_t max_logged_skips = 20;
};

/// Serves the fleet. respond() is thread-safe.
///
/// Without start(), a request reads Redis (or reuses a read younger than `refresh`) on the
/// calling thread. After start(), a background thread reads the fleet and renders every
/// answer once per read; requests are answered from the last complete read at once,
/// whatever Redis does, with its age (Age header, anklet_metrics_aggregator_fleet_age_seconds), and a
/// failed read keeps the last good view (docs/reliability.md). The library starts no
/// thread unless start() is called.
class aggregator {
 public:
  explicit aggregator(aggregator_options options = {}) : opt_(std::move(options)), client_(opt_.client) {
    if (opt_.cluster) cluster_.emplace(redis::cluster_options{opt_.client, {}, 5, {}});
  }
  aggregator(const aggregator&) = delete;
  aggregator& operator=(const aggregator&) = delete;
  ~aggregator() { stop(); }

  [[nodiscard]] const aggregator_options& options() const noexcept { return opt_; }

  /// Starts the background reader; idempotent.
  void start() {
    std::lock_guard lock(mutex_);
    if (reader_.joinable()) return;
    background_ = true;
    {
      std::lock_guard wake(wake_mutex_);
      stop_ = stop_source();
    }
    reader_ = std::thread([this, token = stop_.get_token()] { background(token); });
  }
  /// Stops the background reader (ending a read in progress at its next SCAN page); idempotent.
  void stop() {
    {
      // Under the wake mutex, so that the reader cannot miss the notification between
      // its check and its wait.
      std::lock_guard lock(wake_mutex_);
      stop_.request_stop();
    }
    wake_.notify_all();
    if (reader_.joinable()) reader_.join();
  }
  /// Completed background reads so far (failed ones not counted).
  [[nodiscard]] std::uint64_t reads_completed() const {
    std::lock_guard lock(view_mutex_);
    return reads_;
  }

  /// Reads of Redis that failed since the last good one.
  [[nodiscard]] std::uint64_t failed_reads_in_a_row() const noexcept { return failed_reads_.load(std::memory_order_relaxed); }

  /// Answers one request: `path` without the query, `query` without the '?', `accept` the
  /// request's Accept header (several fields joined with commas), which decides between
  /// Prometheus text 0.0.4 and OpenMetrics for format=prometheus. GET and HEAD are served
  /// (HEAD without a body); other methods get 405.
  aggregator_response respond(std::string_view method, std::string_view path, std::string_view query,
                              std::string_view accept = {}) {
    aggregator_response r;
    const bool head = method == "HEAD";
    const bool known = path == "/healthcheck" || path == "/metrics" || path == "/metrics/v1" || path == "/metrics/v2";
    if (!known) {
      r.status = 404;
      r.body = "404 page not found\n";
    } else if (method != "GET" && !head) {
      r.status = 405;
      r.allow = "GET, HEAD";
      r.body = "method not allowed\n";
    } else if (path == "/healthcheck") {
      const auto failed = failed_reads_.load(std::memory_order_relaxed);
      if (opt_.unhealthy_after_failed_reads > 0 && failed >= opt_.unhealthy_after_failed_reads) {
        r.status = 503;
        r.body = "unhealthy: " + std::to_string(failed) + " reads of Redis in a row failed\n";
      } else {
        r.body = "ok";
      }
    } else if (path == "/metrics") {
      r.status = 501;
      r.body = "please use /metrics/v1";
    } else {
      const auto format = http::query_value(query, "format");
      const int version = path == "/metrics/v1" ? 1 : 2;
      if (format == "json" || format == "prometheus" || format == "openmetrics") {
        body_kind kind = *format == "json" ? (version == 1 ? body_kind::json_v1 : body_kind::json_v2)
                         : *format == "openmetrics" ? body_kind::openmetrics
                                                    : body_kind::prometheus;
        if (kind == body_kind::prometheus && opt_.negotiate_openmetrics) {
          r.headers = "Vary: Accept\r\n";
          if (http::prefers_openmetrics(accept)) kind = body_kind::openmetrics;
        }
        if (background_) serve_cached(kind, r);
        else serve(kind, r);
      } else {
        r.status = 400;
        r.body = "unsupported format, please use '?format=json' or '?format=prometheus' (or '?format=openmetrics')\n";
      }
    }
    if (head) r.body.clear();
    return r;
  }

  /// Reads the fleet now (or reuses a read younger than the refresh period) and calls
  /// f(const fleet&) under the aggregator's lock; returns the read's error, if any. With
  /// start(), f sees the last complete background read instead (an error before the first).
  template <class F>
  redis::result<void> with_fleet(F&& f) {
    if (background_) {
      std::lock_guard lock(view_mutex_);
      if (!view_) return redis::error{redis::errc::io, "no complete read of the fleet yet"};
      f(view_->read);
      return {};
    }
    std::lock_guard lock(mutex_);
    auto r = refresh_locked();
    if (!r) return r;
    f(fleet_);
    return {};
  }

 private:
  using clock = std::chrono::steady_clock;

  // The four bodies of a read (the text formats are the same on both versions; they end
  // before the families that change with every request).
  enum class body_kind : std::uint8_t { json_v1, json_v2, prometheus, openmetrics };
  static constexpr std::size_t body_kinds = 4;

  // One complete read and its answers, rendered once.
  struct view {
    struct fleet read;
    std::array<std::string, body_kinds> bodies;
    clock::time_point read_at;
  };

  std::string render(const fleet& f, body_kind kind) const {
    std::string body;
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
        write_through(std::back_inserter(body), [&](auto& s) {
          write_fleet_exposition(s, f, text_format(kind), opt_.prometheus);
        });
        break;
    }
    return body;
  }

  static exposition_format text_format(body_kind kind) noexcept {
    return kind == body_kind::openmetrics ? exposition_format::openmetrics : exposition_format::prometheus;
  }

  // The families that change with every request, after a cached text body: the age of the
  // read answered from (when known) and the failed reads since the last good one; then
  // OpenMetrics' `# EOF`.
  void append_request_families(body_kind kind, std::optional<double> age, std::string& body) const {
    text_sink ts(std::back_inserter(body));
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
    write_uint(ts, failed_reads_.load(std::memory_order_relaxed));
    ts.put('\n');
    if (kind == body_kind::openmetrics) ts.write(openmetrics_eof);
  }

  static std::string_view content_type(body_kind kind) noexcept {
    switch (kind) {
      case body_kind::prometheus: return prometheus_content_type;
      case body_kind::openmetrics: return openmetrics_content_type;
      default: return "application/json";
    }
  }

  redis::result<void> read_into(fleet& f, stop_token stop = {}) {
    auto r = cluster_ ? read_fleet(*cluster_, f, opt_.read, std::move(stop))
                      : read_fleet(client_, f, opt_.read, std::move(stop));
    if (!r) return r;
    bound_output(f, opt_.read, opt_.prometheus);
    return {};
  }

  redis::result<void> refresh_locked() {
    const auto now = clock::now();
    if (read_at_ && opt_.refresh.count() > 0 && now - *read_at_ < opt_.refresh) return {};
    read_at_.reset();
    for (auto& c : cache_) c.reset();
    auto r = read_into(fleet_);
    note_read(static_cast<bool>(r));
    if (!r) return r;
    read_at_ = now;
    return {};
  }

  void note_read(bool ok) noexcept {
    if (ok) failed_reads_.store(0, std::memory_order_relaxed);
    else failed_reads_.fetch_add(1, std::memory_order_relaxed);
  }

  void serve(body_kind kind, aggregator_response& r) {
    std::lock_guard lock(mutex_);
    if (auto rd = refresh_locked(); !rd) {
      r.status = 503;
      r.headers.clear();
      r.body = "cannot read the fleet from Redis: " + rd.error().to_string() + "\n";
      return;
    }
    auto& slot = cache_[static_cast<std::size_t>(kind)];
    if (!slot) slot = render(fleet_, kind);
    r.content_type = content_type(kind);
    // With refresh 0 the cache is dropped on the next request anyway: hand the body over.
    if (opt_.refresh.count() > 0) r.body = *slot;
    else r.body = std::move(*slot), slot.reset();
    if (kind == body_kind::prometheus || kind == body_kind::openmetrics) append_request_families(kind, std::nullopt, r.body);
  }

  void serve_cached(body_kind kind, aggregator_response& r) {
    std::shared_ptr<const view> v;
    std::string failure;
    {
      std::lock_guard lock(view_mutex_);
      v = view_;
      if (!v) failure = last_failure_;
    }
    if (!v) {
      r.status = 503;
      r.headers.clear();
      r.body = "no complete read of the fleet from Redis yet" + (failure.empty() ? "" : ": " + failure) + "\n";
      return;
    }
    const auto age = std::chrono::duration<double>(clock::now() - v->read_at).count();
    r.age_seconds = static_cast<std::int64_t>(age);
    r.content_type = content_type(kind);
    const std::string& body = v->bodies[static_cast<std::size_t>(kind)];
    r.body.reserve(body.size() + 512);
    r.body = body;
    if (kind == body_kind::prometheus || kind == body_kind::openmetrics) append_request_families(kind, age, r.body);
  }

  // Runs on the background reader too, where a throwing sink would end the process.
  void log(log_level level, const std::string& line) const { metrics::detail::emit(opt_.log, level, line); }

  // Skipped keys, rate-limited: at most max_logged_skips lines a minute, then one count.
  void log_skips(const fleet& f) {
    if (!opt_.log || f.skipped_total() == 0) return;
    const auto now = clock::now();
    if (now - log_window_ >= std::chrono::minutes(1)) {
      log_window_ = now;
      logged_ = 0;
    }
    std::size_t shown = 0;
    for (const auto& k : f.skipped_keys) {
      if (logged_ >= opt_.max_logged_skips) break;
      log(log_level::warning, "skipped key " + (k.key.empty() ? std::string("(name not kept)") : k.key) + " (" +
          std::string(to_string(k.reason)) + "): " + k.detail);
      ++logged_;
      ++shown;
    }
    if (shown < f.skipped_total()) {
      log(log_level::warning, std::to_string(f.skipped_total() - shown) + " more keys skipped in this read (see anklet_metrics_aggregator_skipped_keys)");
    }
  }

  void background(stop_token stop) {
    const auto pause = std::max<std::chrono::milliseconds>(opt_.refresh, std::chrono::milliseconds(100));
    while (!stop.stop_requested()) {
      auto next = std::make_shared<view>();
      auto r = read_into(next->read, stop);
      if (stop.stop_requested()) break;
      note_read(static_cast<bool>(r));
      if (!r) {
        log(log_level::error, "cannot read the fleet from Redis (serving the last good read): " + r.error().to_string());
        std::lock_guard lock(view_mutex_);
        last_failure_ = "cannot read the fleet from Redis: " + r.error().to_string();
      } else {
        for (std::size_t k = 0; k < body_kinds; ++k) next->bodies[k] = render(next->read, static_cast<body_kind>(k));
        next->read_at = clock::now();
        log_skips(next->read);
        if (!next->read.scan_cut.empty()) log(log_level::warning, "SCAN ended early: " + next->read.scan_cut);
        std::lock_guard lock(view_mutex_);
        view_ = std::move(next);
        ++reads_;
      }
      std::unique_lock lock(wake_mutex_);
      wake_.wait_for(lock, pause, [&stop] { return stop.stop_requested(); });
    }
  }

  aggregator_options opt_;
  redis::client client_;
  std::optional<redis::cluster_client> cluster_;
  std::mutex mutex_;
  fleet fleet_;
  std::optional<clock::time_point> read_at_;
  std::array<std::optional<std::string>, body_kinds> cache_;
  std::atomic<std::uint64_t> failed_reads_{0};

  std::atomic<bool> background_{false};
  mutable std::mutex view_mutex_;
  std::shared_ptr<const view> view_;
  std::string last_failure_;  // of the last failed read, shown until a read succeeds
  std::uint64_t reads_ = 0;
  clock::time_point log_window_{};
  std::size_t logged_ = 0;
  std::mutex wake_mutex_;
  std::condition_variable wake_;
  // std::thread and our stop_source, not std::jthread: Apple's libc++ has no <stop_token>.
  stop_source stop_;
  std::thread reader_;
};

}  // namespace anklet::metrics
