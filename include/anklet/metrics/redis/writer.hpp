// anklet::metrics::redis writer: the Redis export (docs/design.md) (Go Anklet's ExportMetricsToDB)
// and its Cleanup.
//
// Example:
//   #include <iostream>
//   #include "anklet/metrics/store.hpp"
//   namespace am = anklet::metrics;
//   am::store store;
//   store.add_handler({.name = "RUNNER1", .plugin_name = "github", .owner_name = "veertuinc", .repo_name = ""});
//   am::no_host_source host_source;
//   am::redis::writer_options o;
//   o.client.target = am::redis::parse_url("redis://127.0.0.1:6379").value();
//   o.key = am::redis::metrics_key("veertuinc", "RUNNER1");   // required
//   am::redis::writer w(o);
//   w.set_log([](am::redis::log_level, std::string_view line) { std::cerr << line << '\n'; });
//   w.start(store, host_source);   // first write now, then every o.interval
//   // ... the tool runs ...
//   w.stop();
//   (void)w.cleanup();             // deletes the key; failure is reported, not fatal
//
// The value is the JSON payload of json.hpp, written with `SET key value EX ttl` under the key
// the options name, which is required: Go Anklet's rule is `anklet/metrics/{owner}/{name}` of
// the process's first plugin (redis::metrics_key(owner, name); `anklet/metrics/{name}` for an
// empty owner), and deciding it once, at start, keeps the key from depending on which thread
// registered a plugin first. Aggregators read only keys under `anklet/metrics/`. A writer is
// also a `transport` (transport.hpp): publish() writes one snapshot at once, for use in an
// exporter.
//
// Failures never leave the writer: an unreachable, slow or refusing Redis is retried with
// exponential backoff and jitter (never slower than the interval), is visible in health() and
// goes to the log callback. Every write takes a fresh snapshot, so the first good write after
// an outage carries the current state. The periodic thread never throws out and never exits
// the process.
//
// Thread safety: every member may be called from any thread, except that stop() and the
// destructor must not be called from the log callback. Writes are serialised on one
// connection; cleanup() opens one of its own. stop() returns once the write in flight, if
// any, ends; that is bounded by the client's connect, write and read timeouts (a hung
// Redis cannot hold it longer).
#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <iterator>
#include <mutex>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

#include "anklet/metrics/core/clock.hpp"
#include "anklet/metrics/core/log.hpp"
#include "anklet/metrics/core/model.hpp"
#include "anklet/metrics/core/time.hpp"
#include "anklet/metrics/detail/compiled.hpp"
#include "anklet/metrics/host/source.hpp"
#include "anklet/metrics/redis/backoff.hpp"
#include "anklet/metrics/redis/client.hpp"
#include "anklet/metrics/redis/cluster.hpp"
#include "anklet/metrics/redis/error.hpp"
#include "anklet/metrics/redis/keys.hpp"
#include "anklet/metrics/render/json.hpp"
#include "anklet/metrics/transport.hpp"

namespace anklet::metrics::redis {

using metrics::log_level;
using metrics::to_string;
/// Receives the writer's log lines (the library's one log sink type).
using log_function = metrics::log_sink;

/// Where and how to write.
struct writer_options {
  /// Connection, timeouts and reconnect backoff. The backoff settings also pace retries
  /// of failed writes (capped at `interval`).
  client_options client;
  /// client.target is a seed of a Redis Cluster: each SET and DEL goes to its slot's master
  /// (redis/cluster.hpp), through failovers without a restart.
  bool cluster = false;
  /// The key every write goes to; required (the constructor refuses an empty one). Go
  /// Anklet's rule is redis::metrics_key(owner, name) of the process's first plugin.
  std::string key;
  /// EX of every SET.
  std::chrono::seconds ttl = default_metrics_ttl;
  /// Time between periodic writes (Go Anklet: 10 s).
  std::chrono::milliseconds interval{10000};
  /// Time zone of the payload's times (both read back to the same instants).
  json_options json;
  /// Bound of cleanup(): it opens a connection of its own with this connect, write and
  /// read timeout and tries once at once, whatever the reconnect backoff of the periodic
  /// writes says (after an outage it may still hold reconnects back for seconds).
  std::chrono::milliseconds cleanup_timeout{1000};
};

/// What the writer has done so far; a copy, safe to keep.
struct writer_health {
  bool running = false;                     ///< the periodic thread is active
  std::string key;                          ///< the key of the last attempt
  time_point last_success = never;          ///< wall time of the last good write
  time_point last_failure = never;          ///< wall time of the last failed write
  std::uint64_t writes_ok = 0;
  std::uint64_t writes_failed = 0;
  std::uint64_t consecutive_failures = 0;   ///< failed writes since the last good one
  std::optional<redis::error> last_error;   ///< the last failure, kept after a recovery
  /// Host figures (start(store, source) only): the last sample's failed parts and why,
  /// empty when it was complete. Failed parts were written with their last good values.
  std::string host_error;
  std::uint64_t host_samples_failed = 0;    ///< samples with at least one failed part

  /// True when at least one write succeeded and none failed since.
  [[nodiscard]] bool healthy() const noexcept { return writes_ok > 0 && consecutive_failures == 0; }
};

/// Fills a snapshot for one periodic write (refresh host figures, then snapshot_into).
using collect_function = std::function<void(metrics_snapshot&)>;

class writer {
 public:
  explicit writer(writer_options options = {});
  writer(const writer&) = delete;
  writer& operator=(const writer&) = delete;
  ~writer();

  [[nodiscard]] const writer_options& options() const noexcept { return opt_; }
  [[nodiscard]] std::string_view name() const noexcept { return "redis"; }

  /// Sets (or clears, with an empty function) the log callback.
  void set_log(log_function f);

  /// Writes `s` now: one `SET key json EX ttl`. The outcome is recorded in health() and
  /// logged; the result says it too. Never throws for Redis trouble.
  result<void> write(const metrics_snapshot& s);

  /// The transport interface: write(s), whose failure stays in health() and the log.
  void publish(const metrics_snapshot& s) { static_cast<void>(write(s)); }

  /// Starts the periodic writes: the first at once, then every interval; before each,
  /// `collect` fills the snapshot. Throws std::logic_error when already running.
  void start(collect_function collect);

  /// Starts the periodic writes of `store`, refreshing its host figures from `source`
  /// just before each write. Both must outlive stop().
  template <class Store, host_metrics_source Source>
    requires snapshot_store<Store>
  void start(Store& store, Source& source);

  /// Stops the periodic writes and waits for the thread; safe to call when not running.
  void stop();

  [[nodiscard]] bool running() const;

  [[nodiscard]] writer_health health() const;

  /// Deletes `key` (Go Anklet's Cleanup): one attempt at once on a fresh connection
  /// bounded by options().cleanup_timeout, so a shutdown right after an outage does not
  /// leave the key behind because of the periodic writes' backoff. Returns whether it
  /// existed; a failure is returned and logged, never thrown.
  result<bool> cleanup(std::string_view key);

  /// Deletes the key of `owner` and `name` by the key rule.
  result<bool> cleanup(std::string_view owner, std::string_view name) { return cleanup(metrics_key(owner, name)); }

  /// Deletes the writer's key. Stop the periodic writes first, or the next one recreates it.
  result<bool> cleanup() { return cleanup(opt_.key); }

 private:
  static cluster_options cluster_options_for(client_options node) { return cluster_options{std::move(node), {}, 5, {}}; }

  void log(log_level level, std::string_view line);
  void record(const std::string& key, const std::optional<redis::error>& e);
  // The wait before retrying after `failures` consecutive failures: the client's backoff
  // progression (with jitter), never less than its reconnect window and never more than
  // the interval.
  std::chrono::milliseconds retry_delay(std::uint64_t failures);
  void run(collect_function& collect) noexcept;
  // Logs a host problem when it starts or changes and when it ends, not on every write.
  void record_host(const host_sample& h);
  void record_exception(const char* what) noexcept;

  writer_options opt_;
  client client_;
  std::optional<cluster_client> cluster_;
  std::string payload_;
  std::minstd_rand rng_;
  mutable std::mutex io_mutex_;       // client_, cluster_, payload_
  mutable std::mutex state_mutex_;    // health_, log_, stop_requested_
  std::mutex control_mutex_;          // start/stop against each other
  std::condition_variable wake_;
  bool stop_requested_ = false;
  writer_health health_;
  log_function log_;
  std::thread thread_;
};

// Not inline, so that compiled mode (docs/compiled-mode.md) can keep its instantiation for
// the standard store and host source out of the files that call it.
template <class Store, host_metrics_source Source>
  requires snapshot_store<Store>
void writer::start(Store& store, Source& source) {
  start([this, &store, &source](metrics_snapshot& out) {
    record_host(refresh_host_metrics(store, source));
    store.snapshot_into(out);
  });
}

#if ANKLET_METRICS_DEFINE_BODIES

ANKLET_METRICS_INLINE writer::writer(writer_options options)
    : opt_(std::move(options)),
      client_(opt_.client),
      cluster_(opt_.cluster ? std::optional<cluster_client>(std::in_place, cluster_options_for(opt_.client))
                            : std::nullopt),
      rng_(static_cast<std::uint_fast32_t>(std::chrono::steady_clock::now().time_since_epoch().count())) {
  if (opt_.interval <= std::chrono::milliseconds{0}) throw std::invalid_argument("writer interval must be positive");
  if (opt_.key.empty()) {
    throw std::invalid_argument(
        "redis::writer_options::key is empty: name the key, e.g. redis::metrics_key(owner, name) "
        "(Go Anklet uses anklet/metrics/{owner}/{name} of its first plugin)");
  }
}

ANKLET_METRICS_INLINE writer::~writer() { stop(); }

ANKLET_METRICS_INLINE void writer::set_log(log_function f) {
  std::lock_guard lock(state_mutex_);
  log_ = std::move(f);
}

ANKLET_METRICS_INLINE result<void> writer::write(const metrics_snapshot& s) {
  const std::string& key = opt_.key;
  result<void> r;
  {
    std::lock_guard io(io_mutex_);
    payload_.clear();
    format_json(s, std::back_inserter(payload_), opt_.json);
    r = cluster_ ? cluster_->set(key, payload_, opt_.ttl) : client_.set(key, payload_, opt_.ttl);
  }
  if (r) record(key, std::nullopt);
  else record(key, r.error());
  return r;
}

ANKLET_METRICS_INLINE void writer::start(collect_function collect) {
  if (!collect) throw std::invalid_argument("writer::start needs a collect function");
  std::lock_guard control(control_mutex_);
  {
    std::lock_guard lock(state_mutex_);
    if (thread_.joinable()) throw std::logic_error("redis writer already started");
    stop_requested_ = false;
    health_.running = true;
  }
  thread_ = std::thread([this, c = std::move(collect)]() mutable { run(c); });
}

ANKLET_METRICS_INLINE void writer::stop() {
  std::lock_guard control(control_mutex_);
  {
    std::lock_guard lock(state_mutex_);
    stop_requested_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  std::lock_guard lock(state_mutex_);
  health_.running = false;
}

ANKLET_METRICS_INLINE bool writer::running() const {
  std::lock_guard lock(state_mutex_);
  return health_.running;
}

ANKLET_METRICS_INLINE writer_health writer::health() const {
  std::lock_guard lock(state_mutex_);
  return health_;
}

ANKLET_METRICS_INLINE result<bool> writer::cleanup(std::string_view key) {
  result<std::int64_t> r = [&]() -> result<std::int64_t> {
    client_options o = opt_.client;
    o.connect_timeout = o.write_timeout = o.read_timeout = opt_.cleanup_timeout;
    if (cluster_) return cluster_client(cluster_options_for(std::move(o))).del(key);
    return client(std::move(o)).del(key);
  }();
  if (!r) {
    log(log_level::warning, "Redis cleanup of " + std::string(key) + " failed: " + r.error().to_string());
    return r.error();
  }
  log(log_level::info, "Redis cleanup deleted " + std::string(key) + (*r > 0 ? "" : " (it did not exist)"));
  return *r > 0;
}

ANKLET_METRICS_INLINE void writer::log(log_level level, std::string_view line) {
  log_function f;
  {
    std::lock_guard lock(state_mutex_);
    f = log_;
  }
  metrics::detail::emit(f, level, line);
}

ANKLET_METRICS_INLINE void writer::record(const std::string& key, const std::optional<redis::error>& e) {
  const time_point now = system_clock{}.now();
  std::uint64_t failures_before = 0;
  std::uint64_t failures = 0;
  {
    std::lock_guard lock(state_mutex_);
    if (!key.empty()) health_.key = key;
    failures_before = health_.consecutive_failures;
    if (e) {
      health_.last_failure = now;
      ++health_.writes_failed;
      failures = ++health_.consecutive_failures;
      health_.last_error = *e;
    } else {
      health_.last_success = now;
      ++health_.writes_ok;
      health_.consecutive_failures = 0;
    }
  }
  const std::string where = key.empty() ? std::string("Redis") : key;
  if (e) {
    log(failures == 1 ? log_level::error : log_level::warning,
        "Redis export to " + where + " failed (" + std::to_string(failures) + " in a row): " + e->to_string());
  } else if (failures_before > 0) {
    log(log_level::info,
        "Redis export to " + where + " recovered after " + std::to_string(failures_before) + " failed writes");
  } else {
    log(log_level::debug, "Redis export to " + where + " done");
  }
}

ANKLET_METRICS_INLINE std::chrono::milliseconds writer::retry_delay(std::uint64_t failures) {
  const auto& c = opt_.client;
  const auto delay = jittered_backoff(c.backoff_initial, std::min<std::chrono::milliseconds>(c.backoff_max, opt_.interval),
                                      c.backoff_multiplier, c.backoff_jitter, failures, rng_);
  auto d = std::chrono::milliseconds(static_cast<std::int64_t>(delay.count()));
  {
    std::lock_guard io(io_mutex_);
    d = std::max(d, cluster_ ? cluster_->backoff_remaining() : client_.backoff_remaining());
  }
  return std::clamp(d, std::chrono::milliseconds{1}, opt_.interval);
}

ANKLET_METRICS_INLINE void writer::run(collect_function& collect) noexcept {
  using steady = std::chrono::steady_clock;
  metrics_snapshot snap;
  auto next = steady::now();
  for (;;) {
    {
      std::unique_lock lock(state_mutex_);
      if (wake_.wait_until(lock, next, [this] { return stop_requested_; })) break;
    }
    bool ok = false;
    try {
      collect(snap);
      ok = static_cast<bool>(write(snap));
    } catch (const std::exception& ex) {
      record_exception(ex.what());
    } catch (...) {
      record_exception("non-standard exception");
    }
    const auto now = steady::now();
    if (ok) {
      next += opt_.interval;
      if (next <= now) next = now + opt_.interval;  // fell behind: do not burst
    } else {
      std::uint64_t failures = 1;
      {
        std::lock_guard lock(state_mutex_);
        failures = std::max<std::uint64_t>(1, health_.consecutive_failures);
      }
      try {
        next = now + retry_delay(failures);
      } catch (...) {
        next = now + opt_.interval;
      }
    }
  }
}

ANKLET_METRICS_INLINE void writer::record_host(const host_sample& h) {
  std::string summary = h.error_summary();
  std::string before;
  {
    std::lock_guard lock(state_mutex_);
    if (!summary.empty()) ++health_.host_samples_failed;
    if (summary == health_.host_error) return;
    before = std::exchange(health_.host_error, summary);
  }
  if (!summary.empty()) {
    log(log_level::warning, "host metrics: " + summary + " (exporting the last good values)");
  } else {
    log(log_level::info, "host metrics read again after: " + before);
  }
}

ANKLET_METRICS_INLINE void writer::record_exception(const char* what) noexcept {
  try {
    record({}, redis::error{errc::callback, std::string("collecting the snapshot failed: ") + what});
  } catch (...) {
    // Out of memory while reporting: nothing sensible is left to do; try again next time.
  }
}

#endif  // ANKLET_METRICS_DEFINE_BODIES

static_assert(transport<writer>);

}  // namespace anklet::metrics::redis

// Compiled mode (docs/compiled-mode.md): the writer of the standard store and host source
// is compiled in the implementation file only.
#if defined(ANKLET_METRICS_STANDARD_INSTANCE)
#include "anklet/metrics/host/platform.hpp"
#include "anklet/metrics/store.hpp"

namespace anklet::metrics::redis {
ANKLET_METRICS_STANDARD_INSTANCE void writer::start<metrics::store, platform_host_source>(metrics::store&,
                                                                                           platform_host_source&);
}  // namespace anklet::metrics::redis
#endif
