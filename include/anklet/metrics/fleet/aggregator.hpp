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
#include "anklet/metrics/http/encoding.hpp"
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
  /// When set (`http::gzip_compression()` of "anklet/metrics/http/gzip.hpp", opt-in), answers
  /// go gzip-compressed to clients that accept it. Each body of a read is compressed once,
  /// in the background once a client asked for it in that coding (docs/http.md).
  std::shared_ptr<const http::gzip_compressor> gzip{};
  /// Where the background reader reports a failed read (error) and the keys it skipped or
  /// a SCAN cut short (warning; at most max_logged_skips lines a minute, then a count);
  /// nothing when empty.
  log_sink log;
  std::size_t max_logged_skips = 20;
};

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
  [[nodiscard]] std::uint64_t reads_completed() const {
    std::lock_guard lock(view_mutex_);
    return reads_;
  }

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
  [[nodiscard]] std::uint64_t renders() const noexcept { return renders_.load(std::memory_order_relaxed); }

  /// Bodies gzip-compressed so far (each body of a read at most once).
  [[nodiscard]] std::uint64_t compressions() const noexcept { return compressions_.load(std::memory_order_relaxed); }

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

  using body_ptr = std::shared_ptr<const http::shared_body>;

  // The four bodies of a read (the text formats are the same on both versions; they end
  // before the families that change with every request).
  enum class body_kind : std::uint8_t { json_v1, json_v2, prometheus, openmetrics };
  static constexpr std::size_t body_kinds = 4;

  static bool is_text(body_kind kind) noexcept { return kind == body_kind::prometheus || kind == body_kind::openmetrics; }

  // A body compressed; for the text formats an open gzip member, closed per request after
  // the families that change with every request.
  struct gzip_body {
    body_ptr bytes;
    std::uint32_t crc = 0;
  };

  // One complete read and its answers, each rendered and compressed at most once: by the
  // background reader for the kinds clients asked for before the read, else by the first
  // request for it.
  struct view {
    struct fleet read;
    clock::time_point read_at;
    mutable std::mutex answers_mutex;
    // Under answers_mutex once the view is published.
    mutable std::array<body_ptr, body_kinds> bodies;
    mutable std::array<gzip_body, body_kinds> gzip;
  };

  body_ptr render(const fleet& f, body_kind kind) const {
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

  static exposition_format text_format(body_kind kind) noexcept {
    return kind == body_kind::openmetrics ? exposition_format::openmetrics : exposition_format::prometheus;
  }

  // The families that change with every request, after a cached text body: the age of the
  // read answered from (when known) and the failed reads since the last good one; then
  // OpenMetrics' `# EOF`.
  void write_request_families(body_kind kind, std::optional<double> age, std::string& out) const {
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

  // Sends the cached `plain` body (or `z`, its gzip form) followed by the families of this
  // request for the text formats: a second piece of the same write, not a copy of the body.
  void send_body(body_kind kind, const body_ptr& plain, const gzip_body& z, std::optional<double> age,
                 aggregator_response& r) const {
    r.content_type = content_type(kind);
    r.shared = z.bytes ? z.bytes : plain;
    if (!is_text(kind)) return;
    if (!z.bytes) return write_request_families(kind, age, r.body);
    std::string tail;
    write_request_families(kind, age, tail);
    http::close_gzip_member(z.crc, plain->bytes.size(), tail, r.body);
  }

  static std::string_view view_of(const http::shared_body& b) noexcept { return {b.bytes.data(), b.bytes.size()}; }

  gzip_body compress(const http::shared_body& plain, bool open) const {
    auto out = std::make_shared<http::shared_body>();
    gzip_body z;
    z.crc = opt_.gzip->compress(view_of(plain), out->bytes, open);
    z.bytes = std::move(out);
    compressions_.fetch_add(1, std::memory_order_relaxed);
    return z;
  }

  // The body of `slot` in `v`: rendered by the background reader when a client asked for
  // it before that read, else here, once per read.
  body_ptr body_of(const view& v, std::size_t slot) {
    body_wanted_[slot].store(true, std::memory_order_relaxed);
    std::lock_guard lock(v.answers_mutex);
    auto& body = v.bodies[slot];
    if (!body) body = render(v.read, static_cast<body_kind>(slot));
    return body;
  }

  // `plain`, the body of `slot` in `v`, compressed: by the background reader when a client
  // asked for it before that read, else here, once per read. Empty when too short to gain
  // or when the compressor failed (then the plain body is served).
  gzip_body gzip_of(const view& v, std::size_t slot, const http::shared_body& plain) {
    gzip_wanted_[slot].store(true, std::memory_order_relaxed);
    if (plain.bytes.size() < opt_.gzip->min_bytes()) return {};
    std::lock_guard lock(v.answers_mutex);
    auto& z = v.gzip[slot];
    if (!z.bytes) {
      try {
        z = compress(plain, is_text(static_cast<body_kind>(slot)));
      } catch (const std::exception& e) {
        log(log_level::error, std::string("gzip failed: ") + e.what());
        return {};
      }
    }
    return z;
  }

  // Background: renders the bodies of `next` (not published yet) that clients asked for,
  // each into `rendered`'s buffer for its kind.
  void render_wanted(view& next, std::array<http::reusable_body, body_kinds>& rendered) const {
    for (std::size_t slot = 0; slot < body_kinds; ++slot) {
      if (!body_wanted_[slot].load(std::memory_order_relaxed)) continue;
      render_into(rendered[slot].renew(), next.read, static_cast<body_kind>(slot));
      next.bodies[slot] = rendered[slot].current;
    }
  }

  // Background: compresses the bodies of `next` (not published yet) that clients asked for
  // in gzip, reusing those of `prev` (the view being served) when the body did not change:
  // a fleet read every 0.1 s mostly finds the same fleet.
  void compress_wanted(view& next, const view* prev) {
    if (!opt_.gzip) return;
    for (std::size_t slot = 0; slot < body_kinds; ++slot) {
      if (!gzip_wanted_[slot].load(std::memory_order_relaxed) || !next.bodies[slot]) continue;
      const auto& plain = *next.bodies[slot];
      if (plain.bytes.size() < opt_.gzip->min_bytes()) continue;
      body_ptr prev_plain;
      gzip_body prev_gzip;
      if (prev) {
        std::lock_guard lock(prev->answers_mutex);
        prev_plain = prev->bodies[slot];
        prev_gzip = prev->gzip[slot];
      }
      if (prev_plain && prev_gzip.bytes && view_of(plain) == view_of(*prev_plain)) {
        next.bodies[slot] = std::move(prev_plain);
        next.gzip[slot] = std::move(prev_gzip);
        continue;
      }
      try {
        next.gzip[slot] = compress(plain, is_text(static_cast<body_kind>(slot)));
      } catch (const std::exception& e) {
        log(log_level::error, std::string("gzip failed: ") + e.what());
      }
    }
  }

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

  // The hosts' lines the answers clients asked for are put together from.
  fleet_lines lines_wanted() const noexcept {
    const auto wanted = [this](body_kind k) {
      return body_wanted_[static_cast<std::size_t>(k)].load(std::memory_order_relaxed);
    };
    return {wanted(body_kind::json_v1) || wanted(body_kind::json_v2),
            {wanted(body_kind::prometheus), wanted(body_kind::openmetrics)}};
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

  void serve(body_kind kind, http::content_coding coding, aggregator_response& r) {
    std::lock_guard lock(mutex_);
    if (auto rd = refresh_locked(); !rd) {
      r.status = 503;
      r.headers.clear();
      r.body = "cannot read the fleet from Redis: " + rd.error().to_string() + "\n";
      return;
    }
    auto& slot = cache_[static_cast<std::size_t>(kind)];
    if (!slot.plain) slot.plain = render(fleet_, kind);
    if (opt_.gzip) {
      if (coding == http::content_coding::gzip && slot.plain->bytes.size() >= opt_.gzip->min_bytes()) {
        try {
          if (!slot.gzip.bytes) slot.gzip = compress(*slot.plain, is_text(kind));
        } catch (const std::exception& e) {
          log(log_level::error, std::string("gzip failed: ") + e.what());
        }
      }
      const bool zipped = coding == http::content_coding::gzip && slot.gzip.bytes;
      http::set_content_coding(r, zipped ? http::content_coding::gzip : http::content_coding::identity);
      if (zipped) return send_body(kind, slot.plain, slot.gzip, std::nullopt, r);
    }
    send_body(kind, slot.plain, {}, std::nullopt, r);
  }

  void serve_cached(body_kind kind, http::content_coding coding, aggregator_response& r) {
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
    const auto slot = static_cast<std::size_t>(kind);
    const body_ptr plain = body_of(*v, slot);
    gzip_body z;
    if (opt_.gzip) {
      if (coding == http::content_coding::gzip) z = gzip_of(*v, slot, *plain);
      http::set_content_coding(r, z.bytes ? http::content_coding::gzip : http::content_coding::identity);
    }
    send_body(kind, plain, z, age, r);
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
    std::shared_ptr<view> published;  // the last view this thread published
    std::shared_ptr<view> spare;      // the one before, reused once no request holds it
    // Where each kind's body is rendered: into the buffer of the one before it once no
    // request and no view holds that any more (a 50 MB answer is not allocated, and its
    // pages faulted in, on every read).
    std::array<http::reusable_body, body_kinds> rendered;
    while (!stop.stop_requested()) {
      // A view no request holds any more lends its storage (strings, plugins) to the next read.
      auto next = spare && spare.use_count() == 1 ? std::move(spare) : std::make_shared<view>();
      spare.reset();
      next->bodies = {};  // a reused view still holds the answers of an older read
      next->gzip = {};
      auto r = read_into(next->read, lines_wanted(), stop, published ? &published->read : nullptr);
      note_read(static_cast<bool>(r));
      if (stop.stop_requested()) break;
      if (!r) {
        log(log_level::error, "cannot read the fleet from Redis (serving the last good read): " + r.error().to_string());
        std::lock_guard lock(view_mutex_);
        last_failure_ = "cannot read the fleet from Redis: " + r.error().to_string();
      } else {
        render_wanted(*next, rendered);
        compress_wanted(*next, published.get());
        next->read_at = clock::now();
        log_skips(next->read);
        if (!next->read.scan_cut.empty()) log(log_level::warning, "SCAN ended early: " + next->read.scan_cut);
        spare = std::move(published);
        published = next;
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
  fleet next_fleet_;  // the storage of the read before, reused by the next one
  std::optional<clock::time_point> read_at_;
  struct cached_answer {
    body_ptr plain;
    gzip_body gzip;
  };
  std::array<cached_answer, body_kinds> cache_;  // of the reads made for requests (no start())
  std::array<std::atomic<bool>, body_kinds> body_wanted_{};
  std::array<std::atomic<bool>, body_kinds> gzip_wanted_{};
  std::atomic<std::uint64_t> failed_reads_{0};
  mutable std::atomic<std::uint64_t> compressions_{0};
  mutable std::atomic<std::uint64_t> renders_{0};

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
