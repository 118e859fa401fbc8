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
// text for format=prometheus. The aggregator class ties a client, a refresh period and the
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
#include "anklet/metrics/http/encoding.hpp"
#include "anklet/metrics/http/request_parser.hpp"
#include "anklet/metrics/http/response.hpp"
#include "anklet/metrics/redis/client.hpp"
#include "anklet/metrics/redis/cluster.hpp"
#include "anklet/metrics/render/common.hpp"
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
/// calling thread. After start(), a background thread reads the fleet and renders every
/// answer once per read; requests are answered from the last complete read at once,
/// whatever Redis does, with its age (Age header, aggregator_fleet_age_seconds), and a
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

  /// Answers one request: `path` without the query, `query` without the '?'.
  /// GET and HEAD are served (HEAD without a body); other methods get 405. The body is a
  /// copy; servers use answer(), which shares it.
  aggregator_response respond(std::string_view method, std::string_view path, std::string_view query) {
    aggregator_response r;
    answer(method, path, query, http::content_coding::identity, r);
    if (r.shared) {
      r.body = r.full_body();
      r.shared.reset();
    }
    if (method == "HEAD") r.body.clear();
    return r;
  }

  /// Answers one request into `r` (an empty 200 to start with) as respond() does, except
  /// that HEAD keeps its body and that cached bodies are not copied: `r.shared` points at
  /// the body of the last read, and `r.body` holds what follows it (the age lines of
  /// format=prometheus). With options().gzip set, answers are in `coding` when it is gzip
  /// and the body is long enough, and say so (Content-Encoding, Vary).
  void answer(std::string_view method, std::string_view path, std::string_view query, http::content_coding coding,
              aggregator_response& r) {
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
      r.body = "ok";
    } else if (path == "/metrics") {
      r.status = 501;
      r.body = "please use /metrics/v1";
    } else {
      const auto format = http::query_value(query, "format");
      const int version = path == "/metrics/v1" ? 1 : 2;
      if (format == "json" || format == "prometheus") {
        const bool json = *format == "json";
        if (!opt_.gzip) coding = http::content_coding::identity;
        if (background_) serve_cached(version, json, coding, r);
        else serve(version, json, coding, r);
      } else {
        r.status = 400;
        r.body = "unsupported format, please use '?format=json' or '?format=prometheus'\n";
      }
    }
  }

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

  // A body compressed; for Prometheus an open gzip member, closed per request after the age.
  struct gzip_body {
    body_ptr bytes;
    std::uint32_t crc = 0;
  };

  // One complete read and its four answers, rendered once, and compressed at most once.
  struct view {
    struct fleet read;
    std::array<body_ptr, 4> bodies;  // v1 json, v1 prometheus, v2 json, v2 prometheus
    clock::time_point read_at;
    mutable std::mutex gzip_mutex;
    mutable std::array<gzip_body, 4> gzip;  // under gzip_mutex once the view is served
  };

  static std::size_t slot_of(int version, bool json) {
    return static_cast<std::size_t>((version - 1) * 2 + (json ? 0 : 1));
  }

  body_ptr render(const fleet& f, int version, bool json) const {
    auto out = std::make_shared<http::shared_body>();
    auto& body = out->bytes;
    if (json) {
      body.reserve(f.hosts.size() * 2048 + 16);
      if (version == 1) format_fleet_json_v1(f, std::back_inserter(body));
      else format_fleet_json_v2(f, std::back_inserter(body));
    } else {
      body.reserve(f.hosts.size() * 4096 + 1024);
      format_fleet_prometheus(f, std::back_inserter(body), opt_.prometheus);
    }
    return out;
  }

  static std::string_view view_of(const http::shared_body& b) noexcept { return {b.bytes.data(), b.bytes.size()}; }

  // Prometheus bodies are left open: the age lines follow them per request.
  static bool open_member(std::size_t slot) noexcept { return slot % 2 == 1; }

  gzip_body compress(const http::shared_body& plain, bool open) const {
    auto out = std::make_shared<http::shared_body>();
    gzip_body z;
    z.crc = opt_.gzip->compress(view_of(plain), out->bytes, open);
    z.bytes = std::move(out);
    compressions_.fetch_add(1, std::memory_order_relaxed);
    return z;
  }

  // The body of `slot` in `v` compressed: by the background reader when a client asked for
  // it before that read, else here, once per read. Empty when too short to gain or when
  // the compressor failed (then the plain body is served).
  gzip_body gzip_of(const view& v, std::size_t slot) {
    gzip_wanted_[slot].store(true, std::memory_order_relaxed);
    const auto& plain = *v.bodies[slot];
    if (plain.bytes.size() < opt_.gzip->min_bytes()) return {};
    std::lock_guard lock(v.gzip_mutex);
    auto& z = v.gzip[slot];
    if (!z.bytes) {
      try {
        z = compress(plain, open_member(slot));
      } catch (const std::exception& e) {
        log(log_level::error, std::string("gzip failed: ") + e.what());
        return {};
      }
    }
    return z;
  }

  // Background: compresses the bodies of `next` (not published yet) that clients asked for
  // in gzip, reusing those of `prev` (the view being served) when the body did not change:
  // a fleet read every 0.1 s mostly finds the same fleet.
  void compress_wanted(view& next, const view* prev) {
    if (!opt_.gzip) return;
    next.gzip = {};  // a reused view still holds the members of an older read
    for (std::size_t slot = 0; slot < next.bodies.size(); ++slot) {
      if (!gzip_wanted_[slot].load(std::memory_order_relaxed)) continue;
      const auto& plain = *next.bodies[slot];
      if (plain.bytes.size() < opt_.gzip->min_bytes()) continue;
      if (prev && view_of(plain) == view_of(*prev->bodies[slot])) {
        std::lock_guard lock(prev->gzip_mutex);
        if (prev->gzip[slot].bytes) {
          next.bodies[slot] = prev->bodies[slot];
          next.gzip[slot] = prev->gzip[slot];
          continue;
        }
      }
      try {
        next.gzip[slot] = compress(plain, open_member(slot));
      } catch (const std::exception& e) {
        log(log_level::error, std::string("gzip failed: ") + e.what());
      }
    }
  }

  // Reads into `f`, taking each payload that `earlier` read with the same bytes (and its
  // rendered lines) from there, then bounds and renders the hosts' answers.
  redis::result<void> read_into(fleet& f, stop_token stop = {}, const fleet* earlier = nullptr) {
    auto r = cluster_ ? read_fleet(*cluster_, f, opt_.read, std::move(stop), earlier)
                      : read_fleet(client_, f, opt_.read, std::move(stop), earlier);
    if (!r) return r;
    bound_output(f, opt_.read, opt_.prometheus);
    return {};
  }

  redis::result<void> refresh_locked() {
    const auto now = clock::now();
    if (read_at_ && opt_.refresh.count() > 0 && now - *read_at_ < opt_.refresh) return {};
    cache_ = {};
    // fleet_ holds the last good read (or nothing): the earlier one until this one succeeds.
    read_at_.reset();
    auto r = read_into(next_fleet_, {}, &fleet_);
    if (!r) return r;
    std::swap(fleet_, next_fleet_);
    read_at_ = now;
    return {};
  }

  void serve(int version, bool json, http::content_coding coding, aggregator_response& r) {
    std::lock_guard lock(mutex_);
    if (auto rd = refresh_locked(); !rd) {
      r.status = 503;
      r.body = "cannot read the fleet from Redis: " + rd.error().to_string() + "\n";
      return;
    }
    auto& slot = cache_[slot_of(version, json)];
    if (!slot.plain) slot.plain = render(fleet_, version, json);
    r.content_type = json ? "application/json" : std::string(prometheus_content_type);
    r.shared = slot.plain;
    if (!opt_.gzip) return;
    if (coding == http::content_coding::gzip && slot.plain->bytes.size() >= opt_.gzip->min_bytes()) {
      try {
        if (!slot.gzip.bytes) slot.gzip = compress(*slot.plain, false);
        r.shared = slot.gzip.bytes;
      } catch (const std::exception& e) {
        log(log_level::error, std::string("gzip failed: ") + e.what());
        coding = http::content_coding::identity;
      }
    } else {
      coding = http::content_coding::identity;
    }
    http::set_content_coding(r, coding);
  }

  void serve_cached(int version, bool json, http::content_coding coding, aggregator_response& r) {
    std::shared_ptr<const view> v;
    std::string failure;
    {
      std::lock_guard lock(view_mutex_);
      v = view_;
      if (!v) failure = last_failure_;
    }
    if (!v) {
      r.status = 503;
      r.body = "no complete read of the fleet from Redis yet" + (failure.empty() ? "" : ": " + failure) + "\n";
      return;
    }
    const auto age = std::chrono::duration<double>(clock::now() - v->read_at).count();
    r.age_seconds = static_cast<std::int64_t>(age);
    r.content_type = json ? "application/json" : std::string(prometheus_content_type);
    const auto slot = slot_of(version, json);
    const auto& plain = v->bodies[slot];
    gzip_body z;
    if (opt_.gzip) {
      if (coding == http::content_coding::gzip) z = gzip_of(*v, slot);
      http::set_content_coding(r, z.bytes ? http::content_coding::gzip : http::content_coding::identity);
    }
    r.shared = z.bytes ? z.bytes : plain;
    if (json) return;
    // The age changes with every request: its family follows the cached text, sent from
    // r.body after it (a second piece of the same write, not a copy of the body).
    std::string tail;
    std::string& age_text = z.bytes ? tail : r.body;
    text_sink ts(std::back_inserter(age_text));
    const auto& age_family = catalogue::fleet_age;
    write_prometheus_family_header(ts, age_family.name, age_family.help, to_string(age_family.type));
    ts.write(age_family.name);
    ts.put(' ');
    write_prometheus_double(ts, age);
    ts.put('\n');
    if (z.bytes) http::close_gzip_member(z.crc, plain->bytes.size(), tail, r.body);
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
      log(log_level::warning, std::to_string(f.skipped_total() - shown) + " more keys skipped in this read (see aggregator_skipped_keys)");
    }
  }

  void background(stop_token stop) {
    const auto pause = std::max<std::chrono::milliseconds>(opt_.refresh, std::chrono::milliseconds(100));
    std::shared_ptr<view> published;  // the last view this thread published
    std::shared_ptr<view> spare;      // the one before, reused once no request holds it
    while (!stop.stop_requested()) {
      // A view no request holds any more lends its storage (strings, plugins) to the next read.
      auto next = spare && spare.use_count() == 1 ? std::move(spare) : std::make_shared<view>();
      spare.reset();
      auto r = read_into(next->read, stop, published ? &published->read : nullptr);
      if (stop.stop_requested()) break;
      if (!r) {
        log(log_level::error, "cannot read the fleet from Redis (serving the last good read): " + r.error().to_string());
        std::lock_guard lock(view_mutex_);
        last_failure_ = "cannot read the fleet from Redis: " + r.error().to_string();
      } else {
        for (int version = 1; version <= 2; ++version) {
          for (const bool json : {true, false}) next->bodies[slot_of(version, json)] = render(next->read, version, json);
        }
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
  std::array<cached_answer, 4> cache_;  // of the reads made for requests (no start())
  std::array<std::atomic<bool>, 4> gzip_wanted_{};
  mutable std::atomic<std::uint64_t> compressions_{0};

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
