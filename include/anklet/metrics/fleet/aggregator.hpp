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
// text for format=prometheus (OpenMetrics when the scraper's Accept header prefers it). The
// aggregator class ties a client, a refresh period and the
// routes together; any HTTP server can call its respond(). Its options, the bodies it
// serves and the view its background reader publishes have headers of their own
// (fleet/aggregator_options.hpp, fleet/answer_bodies.hpp, fleet/published_view.hpp),
// included here.
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
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

#include "anklet/metrics/core/log.hpp"
#include "anklet/metrics/core/stop.hpp"
#include "anklet/metrics/fleet/aggregator_options.hpp"
#include "anklet/metrics/fleet/answer_bodies.hpp"
#include "anklet/metrics/fleet/published_view.hpp"
#include "anklet/metrics/fleet/read.hpp"
#include "anklet/metrics/fleet/render.hpp"
#include "anklet/metrics/http/accept.hpp"
#include "anklet/metrics/http/encoding.hpp"
#include "anklet/metrics/http/request_parser.hpp"
#include "anklet/metrics/http/response.hpp"
#include "anklet/metrics/redis/client.hpp"
#include "anklet/metrics/redis/cluster.hpp"

namespace anklet::metrics {

// ---- serving -------------------------------------------------------------------------

/// An answer of aggregator::respond(): the HTTP layer's response, whose age_seconds (the Age
/// header) is the time since the read the answer was made from, when it was.
using aggregator_response = http::response;

/// Serves the fleet. respond() is thread-safe.
///
/// Without start(), a request reads Redis (or reuses a read younger than `refresh`) on the
/// calling thread. After start(), a background thread reads the fleet and renders, once per
/// read, each answer that clients asked for before (another is rendered once, by the first
/// request for it); requests are answered from the last complete read at once,
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
  [[nodiscard]] std::uint64_t reads_completed() const { return views_.reads(); }

  /// Reads of Redis that failed since the last good one.
  [[nodiscard]] std::uint64_t failed_reads_in_a_row() const noexcept { return failed_reads_.load(std::memory_order_relaxed); }

  /// Answers one request: `path` without the query, `query` without the '?', `accept` the
  /// request's Accept header (several fields joined with commas), which decides between
  /// Prometheus text 0.0.4 and OpenMetrics for format=prometheus. GET and HEAD are served
  /// (HEAD without a body); other methods get 405. The body is a copy; servers use
  /// answer(), which shares it.
  aggregator_response respond(std::string_view method, std::string_view path, std::string_view query,
                              std::string_view accept = {}) {
    aggregator_response r;
    answer(method, path, query, accept, http::content_coding::identity, r);
    if (r.shared) {
      r.body = r.full_body();
      r.shared.reset();
    }
    if (method == "HEAD") r.body.clear();
    return r;
  }

  /// Answers one request into `r` (an empty 200 to start with) as respond() does, except
  /// that HEAD keeps its body and that cached bodies are not copied: `r.shared` points at
  /// the body of the last read, and `r.body` holds what follows it (the families that
  /// change with every request, in the text formats). With options().gzip set, answers are
  /// in `coding` when it is gzip and the body is long enough, and say so (Content-Encoding,
  /// Vary).
  void answer(std::string_view method, std::string_view path, std::string_view query, std::string_view accept,
              http::content_coding coding, aggregator_response& r) {
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
          r.add_vary("Accept");
          if (http::prefers_openmetrics(accept)) kind = body_kind::openmetrics;
        }
        if (!opt_.gzip) coding = http::content_coding::identity;
        if (background_) serve_cached(kind, coding, r);
        else serve(kind, coding, r);
      } else {
        r.status = 400;
        r.body = "unsupported format, please use '?format=json' or '?format=prometheus' (or '?format=openmetrics')\n";
      }
    }
  }

  /// Answers put together so far from the hosts' lines (each kind of answer at most once
  /// per read, and with start() only the kinds requested).
  [[nodiscard]] std::uint64_t renders() const noexcept { return bodies_.renders(); }

  /// Bodies gzip-compressed so far (each body of a read at most once).
  [[nodiscard]] std::uint64_t compressions() const noexcept { return bodies_.compressions(); }

  /// Reads the fleet now (or reuses a read younger than the refresh period) and calls
  /// f(const fleet&) under the aggregator's lock; returns the read's error, if any. With
  /// start(), f sees the last complete background read instead (an error before the first).
  template <class F>
  redis::result<void> with_fleet(F&& f) {
    if (background_) {
      if (!views_.with_read(f)) return redis::error{redis::errc::io, "no complete read of the fleet yet"};
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
  using body_kind = detail::body_kind;

  // Reads into `f`, taking each payload that `earlier` read with the same bytes (and its
  // rendered lines) from there, then bounds the hosts' answers and renders their lines in
  // the answers `wanted`.
  redis::result<void> read_into(fleet& f, const fleet_lines& wanted, stop_token stop = {},
                                const fleet* earlier = nullptr) {
    auto r = cluster_ ? read_fleet(*cluster_, f, opt_.read, std::move(stop), earlier)
                      : read_fleet(client_, f, opt_.read, std::move(stop), earlier);
    if (!r) return r;
    bound_output(f, opt_.read, opt_.prometheus, wanted);
    return {};
  }

  redis::result<void> refresh_locked() {
    const auto now = clock::now();
    if (read_at_ && opt_.refresh.count() > 0 && now - *read_at_ < opt_.refresh) return {};
    cache_ = {};
    // fleet_ holds the last good read (or nothing): the earlier one until this one succeeds.
    read_at_.reset();
    auto r = read_into(next_fleet_, fleet_lines{}, {}, &fleet_);
    note_read(static_cast<bool>(r));
    if (!r) return r;
    std::swap(fleet_, next_fleet_);
    read_at_ = now;
    return {};
  }

  void note_read(bool ok) noexcept {
    if (ok) failed_reads_.store(0, std::memory_order_relaxed);
    else failed_reads_.fetch_add(1, std::memory_order_relaxed);
  }

  // `z` is empty unless the client takes gzip (`coding`) and the body was compressed.
  void send_body(body_kind kind, const detail::body_ptr& plain, const detail::gzip_body& z, std::optional<double> age,
                 http::content_coding coding, aggregator_response& r) const {
    if (opt_.gzip) http::set_content_coding(r, z.bytes ? coding : http::content_coding::identity);
    bodies_.send(kind, plain, z, age, failed_reads_.load(std::memory_order_relaxed), r);
  }

  void serve(body_kind kind, http::content_coding coding, aggregator_response& r) {
    std::lock_guard lock(mutex_);
    if (auto rd = refresh_locked(); !rd) {
      r.status = 503;
      r.headers.clear();
      r.body = "cannot read the fleet from Redis: " + rd.error().to_string() + "\n";
      return;
    }
    auto& answer = cache_[static_cast<std::size_t>(kind)];
    const detail::body_ptr plain = bodies_.plain_of(answer, fleet_, kind);
    detail::gzip_body z;
    if (coding == http::content_coding::gzip) z = bodies_.gzip_of(answer, kind);
    send_body(kind, plain, z, std::nullopt, coding, r);
  }

  void serve_cached(body_kind kind, http::content_coding coding, aggregator_response& r) {
    std::string failure;
    const auto v = views_.latest(failure);
    if (!v) {
      r.status = 503;
      r.headers.clear();
      r.body = "no complete read of the fleet from Redis yet" + (failure.empty() ? "" : ": " + failure) + "\n";
      return;
    }
    const auto age = std::chrono::duration<double>(clock::now() - v->read_at).count();
    r.age_seconds = static_cast<std::int64_t>(age);
    const detail::body_ptr plain = views_.body_of(*v, kind);
    detail::gzip_body z;
    if (coding == http::content_coding::gzip) z = views_.gzip_of(*v, kind);
    send_body(kind, plain, z, age, coding, r);
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
    detail::published_view::publisher publisher(views_);
    while (!stop.stop_requested()) {
      auto next = publisher.next();
      auto r = read_into(next->read, views_.lines_wanted(), stop, publisher.last_read());
      note_read(static_cast<bool>(r));
      if (stop.stop_requested()) break;
      if (!r) {
        log(log_level::error, "cannot read the fleet from Redis (serving the last good read): " + r.error().to_string());
        views_.fail("cannot read the fleet from Redis: " + r.error().to_string());
      } else {
        publisher.answer_wanted(*next);
        next->read_at = clock::now();
        log_skips(next->read);
        if (!next->read.scan_cut.empty()) log(log_level::warning, "SCAN ended early: " + next->read.scan_cut);
        publisher.publish(std::move(next));
      }
      std::unique_lock lock(wake_mutex_);
      wake_.wait_for(lock, pause, [&stop] { return stop.stop_requested(); });
    }
  }

  aggregator_options opt_;
  redis::client client_;
  std::optional<redis::cluster_client> cluster_;
  detail::answer_bodies bodies_{opt_};
  detail::published_view views_{bodies_};
  std::mutex mutex_;
  fleet fleet_;
  fleet next_fleet_;  // the storage of the read before, reused by the next one
  std::optional<clock::time_point> read_at_;
  std::array<detail::cached_answer, detail::body_kinds> cache_;  // of the reads made for requests (no start())
  std::atomic<std::uint64_t> failed_reads_{0};

  std::atomic<bool> background_{false};
  clock::time_point log_window_{};
  std::size_t logged_ = 0;
  std::mutex wake_mutex_;
  std::condition_variable wake_;
  // std::thread and our stop_source, not std::jthread: Apple's libc++ has no <stop_token>.
  stop_source stop_;
  std::thread reader_;
};

}  // namespace anklet::metrics
