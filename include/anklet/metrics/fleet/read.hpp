// anklet::metrics fleet read: every host's payload from Redis (docs/metrics.md), for the
// aggregator.
//
// read_fleet() SCANs `anklet/metrics/*` with a large COUNT and fetches the values with
// pipelined MGET batches (one write, not one round trip per key), parsing each payload as
// its reply arrives with the bounded payload reader. A value that is missing (expired or
// deleted between SCAN and MGET, or not a string), malformed or over a per-key limit is
// skipped and counted by reason; a read that reaches a whole-read bound (keys, key bytes,
// SCAN pages, time, value bytes) keeps what it read (docs/reliability.md). A Redis failure
// fails the whole read, so an answer is never made of a half-read fleet. A Redis Cluster is
// read master by master with pipelined GETs.
#pragma once

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include "anklet/metrics/core/sole_owner.hpp"
#include "anklet/metrics/core/stop.hpp"
#include "anklet/metrics/fleet/payload_reader.hpp"
#include "anklet/metrics/redis/client.hpp"
#include "anklet/metrics/redis/cluster.hpp"
#include "anklet/metrics/redis/keys.hpp"
#include "anklet/metrics/render/escape.hpp"
#include "anklet/metrics/render/time.hpp"

namespace anklet::metrics {

/// How the fleet is read, and the bounds of one read (docs/reliability.md). Every bound is
/// per key first: a key over one is skipped and counted, the other hosts are served. A read
/// that reaches a whole-read bound serves what it has read.
struct fleet_read_options {
  /// SCAN pattern; Go Anklet hosts and ours write under anklet/metrics/.
  std::string match = std::string(redis::metrics_key_pattern);
  /// SCAN COUNT: large, so that a fleet of thousands takes a few round trips (Go uses 10).
  std::uint64_t scan_count = 10000;
  /// Keys per MGET; the MGETs of one read go out in one pipelined write.
  std::size_t mget_batch = 1000;
  /// Keys one read takes; the SCAN ends there.
  std::size_t max_keys = 1000000;
  /// A key name longer than this is skipped (key_too_long), thrown away as it arrives.
  std::size_t max_key_length = 1024;
  /// Bytes of key names one read holds; the SCAN ends there.
  std::size_t max_key_bytes = std::size_t{64} << 20;
  /// SCAN round trips one read makes; the SCAN ends there (a cursor that never returns to 0).
  std::size_t max_scan_pages = 10000;
  /// Bytes of values one read keeps; values past it are skipped (over_budget).
  std::size_t max_read_bytes = std::size_t{256} << 20;
  /// Bytes one MGET reply may hold while it is read; values past it in that reply are
  /// thrown away as they arrive and skipped (over_budget).
  std::size_t max_batch_bytes = std::size_t{64} << 20;
  /// Time one read may take: the SCAN ends there, and the values then read are bounded by
  /// the client's read timeout.
  std::chrono::milliseconds max_read_time{10000};
  /// Bounds on each payload; a value longer than limits.max_bytes is skipped (too_large),
  /// thrown away as it arrives.
  payload_limits limits;
  /// Output bound, applied by aggregator (bound_output()): a host whose JSON and Prometheus
  /// answers together would take more than output_factor x (its key and value bytes) +
  /// output_per_host bytes is skipped (output_too_large).
  std::size_t output_factor = 16;
  std::size_t output_per_host = std::size_t{16} << 10;
  /// When above 0, a host whose last_update is older than this is left out (stale); 0
  /// keeps every host, as Go's aggregator does.
  std::chrono::seconds max_age{0};
};

/// Why a key was left out of the answer.
enum class skip_reason : std::uint8_t {
  missing,       ///< no value (expired, deleted) or not a string
  malformed,     ///< not a payload
  too_large,     ///< value longer than payload_limits::max_bytes
  over_limits,   ///< more plugins, longer strings or deeper nesting than payload_limits allow
  key_too_long,  ///< key name longer than fleet_read_options::max_key_length
  over_budget,   ///< the read's max_read_bytes was used up before this value
  stale,         ///< last_update older than the aggregator's max_age
  output_too_large,  ///< its answers would be larger than fleet_read_options' output bound
};
inline constexpr std::array<skip_reason, 8> all_skip_reasons{
    skip_reason::missing,      skip_reason::malformed,   skip_reason::too_large, skip_reason::over_limits,
    skip_reason::key_too_long, skip_reason::over_budget, skip_reason::stale,     skip_reason::output_too_large};

[[nodiscard]] constexpr std::string_view to_string(skip_reason r) noexcept {
  switch (r) {
    case skip_reason::missing: return "missing";
    case skip_reason::malformed: return "malformed";
    case skip_reason::too_large: return "too_large";
    case skip_reason::over_limits: return "over_limits";
    case skip_reason::key_too_long: return "key_too_long";
    case skip_reason::over_budget: return "over_budget";
    case skip_reason::stale: return "stale";
    case skip_reason::output_too_large: return "output_too_large";
  }
  return "unknown";
}

/// One skipped key, for logs.
struct skipped_key {
  std::string key;
  skip_reason reason = skip_reason::missing;
  std::string detail;
};

namespace detail {
// The per-host families of the fleet's text answers: the plugin families, the host
// figures, last_update.
inline constexpr std::size_t fleet_plugin_families = catalogue::plugin_families<reported_plugin>.size();
inline constexpr std::size_t fleet_sample_families = fleet_plugin_families + catalogue::host_fields.size() + 1;
}  // namespace detail

/// Which of a host's answer lines a render makes (render_fleet_hosts, bound_output) or a
/// fleet_host_cache holds; by default all of them.
struct fleet_lines {
  /// Its /metrics/v2 JSON entries, from which both JSON answers are put together.
  bool json = true;
  /// Its Prometheus text 0.0.4 lines, then its OpenMetrics lines.
  std::array<bool, 2> text{true, true};

  friend constexpr bool operator==(const fleet_lines&, const fleet_lines&) = default;
};

/// A host's payload bytes and, once fleet/render.hpp has made them, its lines in the
/// answers asked for. A read that finds the same bytes under the same key again shares this
/// instead of parsing and rendering them anew: hosts export every 10 s, so a fleet read more
/// often sees mostly unchanged payloads (docs/performance-redis.md). Filled before a fleet
/// is shared and never changed after.
struct fleet_host_cache {
  std::string payload;
  /// Set once fleet/render.hpp has been through this payload with these two
  /// prometheus_options (bound_output checked its answers' size then).
  bool rendered = false;
  /// Which answers' lines the fields below hold.
  fleet_lines made{false, {false, false}};
  bool job_url_label = false;
  bool exemplars = false;
  /// Its /metrics/v2 JSON entries, comma separated; json_ends[i] ends plugin i's entry.
  std::string json;
  std::vector<std::size_t> json_ends;
  /// Its sample lines in one text format, family by family in the answer's order (the
  /// plugin families, the host figures, last_update): ends[k] ends family k's lines.
  struct text_lines {
    std::string lines;
    std::array<std::size_t, detail::fleet_sample_families> ends{};
  };
  /// Prometheus text 0.0.4, then OpenMetrics (render/exposition.hpp's exposition_format).
  std::array<text_lines, 2> text;
};

/// One host's payload and the key it came from.
struct fleet_host {
  std::string key;
  host_report report;
  std::size_t value_bytes = 0;  ///< of the payload read
  /// The payload and its rendered answers, shared with later reads while it stays the same.
  std::shared_ptr<fleet_host_cache> cache;
};

/// Everything one read found. Reused across reads to keep its storage.
struct fleet {
  std::vector<fleet_host> hosts;  ///< sorted by key
  std::array<std::uint64_t, all_skip_reasons.size()> skipped{};  ///< by skip_reason
  std::vector<skipped_key> skipped_keys;  ///< the first max_listed_skips skipped keys
  static constexpr std::size_t max_listed_skips = 100;
  std::size_t keys_seen = 0;                   ///< keys SCAN matched
  std::uint64_t value_bytes = 0;               ///< bytes of the values kept
  /// Empty when the SCAN went round; otherwise why it ended early (the keys found were read).
  std::string scan_cut;
  std::chrono::nanoseconds scan_time{0};       ///< SCAN round trips
  std::chrono::nanoseconds fetch_time{0};      ///< pipelined MGET, parsing included
  std::chrono::nanoseconds parse_time{0};      ///< of which payload parsing

  [[nodiscard]] std::uint64_t skipped_count(skip_reason r) const noexcept {
    return skipped[static_cast<std::size_t>(r)];
  }
  [[nodiscard]] std::uint64_t skipped_total() const noexcept {
    std::uint64_t n = 0;
    for (auto v : skipped) n += v;
    return n;
  }
};

namespace detail {
// Forgets the lines a cache holds; their strings keep their storage for the next ones.
inline void forget_lines(fleet_host_cache& c) noexcept {
  c.rendered = false;
  c.made = {false, {false, false}};
  c.json.clear();
  c.json_ends.clear();
  for (auto& t : c.text) {
    t.lines.clear();
    t.ends = {};
  }
}

inline void note_skip(fleet& f, std::string_view key, skip_reason why, std::string detail_text) {
  ++f.skipped[static_cast<std::size_t>(why)];
  if (f.skipped_keys.size() < fleet::max_listed_skips) {
    f.skipped_keys.push_back({std::string(key), why, std::move(detail_text)});
  }
}

inline void start_read(fleet& out) {
  out.skipped = {};
  out.skipped_keys.clear();
  out.keys_seen = 0;
  out.value_bytes = 0;
  out.scan_cut.clear();
  out.scan_time = out.fetch_time = out.parse_time = std::chrono::nanoseconds{0};
}

// Sets a client's reply limits for one phase of a read and puts the caller's back after.
class scoped_limits {
 public:
  scoped_limits(redis::client& c, const redis::reply_limits& l) : c_(c), saved_(c.options().limits) { c_.set_limits(l); }
  scoped_limits(const scoped_limits&) = delete;
  scoped_limits& operator=(const scoped_limits&) = delete;
  ~scoped_limits() { c_.set_limits(saved_); }

 private:
  redis::client& c_;
  redis::reply_limits saved_;
};

// The SCAN of one node with the whole-read bounds of fleet_read_options: key names over
// max_key_length are dropped as they arrive; a cursor that repeats, too many pages, keys or
// key bytes, the read's deadline or a stop request end the SCAN with what it found. (The
// bounded form of redis::client::scan_all, whose loop it repeats.)
class fleet_scan {
 public:
  fleet_scan(const fleet_read_options& opt, fleet& out, std::chrono::steady_clock::time_point deadline,
             stop_token stop)
      : opt_(opt), out_(out), deadline_(deadline), stop_(std::move(stop)) {}

  // Calls on_key(std::string&&) per key; the error is the node's, when it failed.
  template <class OnKey>
  redis::result<void> run(redis::client& c, OnKey&& on_key) {
    redis::reply_limits l = c.options().limits;
    l.discard_bulk_over = std::max<std::size_t>(1, opt_.max_key_length);
    const scoped_limits phase(c, l);
    std::unordered_set<std::uint64_t> cursors;
    std::uint64_t cursor = 0;
    do {
      if (cut()) return {};
      auto page = c.scan(cursor, opt_.match, opt_.scan_count);
      if (!page) return page.error();
      ++pages_;
      cursor = page->cursor;
      for (std::size_t i = 0; i < page->discarded; ++i) {
        note_skip(out_, "", skip_reason::key_too_long,
                  "key name longer than max_key_length (" + std::to_string(opt_.max_key_length) + ")");
      }
      for (auto& k : page->keys) {
        if (k.size() > opt_.max_key_length) {  // a server that ignored our limits
          note_skip(out_, std::string_view(k).substr(0, 64), skip_reason::key_too_long, "key name too long");
          continue;
        }
        if (keys_ == opt_.max_keys || key_bytes_ + k.size() > opt_.max_key_bytes) {
          out_.scan_cut = keys_ == opt_.max_keys ? "more than max_keys (" + std::to_string(opt_.max_keys) + ") keys"
                                                 : "key names over max_key_bytes (" +
                                                       std::to_string(opt_.max_key_bytes) + ")";
          return {};
        }
        ++keys_;
        key_bytes_ += k.size();
        on_key(std::move(k));
      }
      if (cursor != 0 && !cursors.insert(cursor).second) {
        out_.scan_cut = "SCAN cursor " + std::to_string(cursor) + " came back";
        return {};
      }
    } while (cursor != 0);
    return {};
  }

 private:
  bool cut() {
    if (stop_.stop_requested()) out_.scan_cut = "stop requested";
    else if (pages_ >= opt_.max_scan_pages) out_.scan_cut = "more than max_scan_pages (" + std::to_string(opt_.max_scan_pages) + ")";
    else if (std::chrono::steady_clock::now() >= deadline_) out_.scan_cut = "read took longer than max_read_time";
    return !out_.scan_cut.empty();
  }

  const fleet_read_options& opt_;
  fleet& out_;
  std::chrono::steady_clock::time_point deadline_;
  stop_token stop_;
  std::size_t pages_ = 0;
  std::size_t keys_ = 0;
  std::size_t key_bytes_ = 0;
};

// Reply limits for reading values: a value over the payload limit is dropped as it arrives,
// and values past the read's byte budget are dropped rather than failing the reply.
inline redis::reply_limits value_limits(redis::reply_limits l, const fleet_read_options& opt) {
  l.discard_bulk_over = std::max<std::size_t>(1, opt.limits.max_bytes);
  l.max_reply_bytes = std::min(l.max_reply_bytes, opt.max_batch_bytes + opt.mget_batch * (sizeof(redis::reply) + 64));
  l.discard_over_budget = true;
  return l;
}

// Names are compared (de-duplicated, sorted) as every renderer prints them, invalid
// UTF-8 already replaced.
inline void as_rendered(reported_plugin& p) {
  for (auto* str : {&p.name, &p.plugin_name, &p.repo_name, &p.owner_name, &p.status, &p.last_successful_run_job_url,
                    &p.last_failed_run_job_url, &p.last_canceled_run_job_url}) {
    replace_invalid_utf8(*str);
  }
}

// The hosts of an earlier read by key, to find a payload that came back unchanged.
class earlier_hosts {
 public:
  explicit earlier_hosts(const fleet* earlier) {
    if (earlier == nullptr) return;
    by_key_.reserve(earlier->hosts.size());
    for (const auto& h : earlier->hosts) by_key_.push_back(&h);
    std::sort(by_key_.begin(), by_key_.end(), [](const fleet_host* a, const fleet_host* b) { return a->key < b->key; });
  }
  // The earlier host of `key` if it read exactly `value`, else nullptr.
  [[nodiscard]] const fleet_host* same(std::string_view key, std::string_view value) const {
    const auto it = std::lower_bound(by_key_.begin(), by_key_.end(), key,
                                     [](const fleet_host* h, std::string_view k) { return h->key < k; });
    if (it == by_key_.end() || (*it)->key != key || !(*it)->cache || (*it)->cache->payload != value) return nullptr;
    return *it;
  }

 private:
  std::vector<const fleet_host*> by_key_;
};

// Reads one payload into `host`; false (and the skip counted) when it is left out. A payload
// that `earlier` read with the same bytes is copied from there, not parsed again.
inline bool take_payload(fleet& out, const fleet_read_options& opt, std::string_view key, std::string_view value,
                         fleet_host& host, std::chrono::steady_clock::duration& parsing, const earlier_hosts& earlier) {
  if (out.value_bytes + value.size() > opt.max_read_bytes) {
    note_skip(out, key, skip_reason::over_budget, "read over max_read_bytes (" + std::to_string(opt.max_read_bytes) + ")");
    return false;
  }
  const fleet_host* same = earlier.same(key, value);
  if (same == nullptr) {
    const auto p0 = std::chrono::steady_clock::now();
    const auto read = read_payload(value, host.report, opt.limits);
    parsing += std::chrono::steady_clock::now() - p0;
    if (!read) {
      const auto& e = read.error();
      note_skip(out, key, e.code == errc::limit ? skip_reason::over_limits : skip_reason::malformed,
                e.message + " at byte " + std::to_string(e.offset));
      return false;
    }
  }
  const host_report& report = same != nullptr ? same->report : host.report;
  if (opt.max_age.count() > 0) {
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch()).count();
    const auto at = to_unix_seconds(report.last_update.instant);
    if (at < now - opt.max_age.count()) {
      note_skip(out, key, skip_reason::stale,
                "last_update " + std::to_string(now - at) + " s ago, over max_age " + std::to_string(opt.max_age.count()));
      return false;
    }
  }
  out.value_bytes += value.size();
  host.value_bytes = value.size();
  host.key = key;
  if (same != nullptr) {
    host.report = same->report;  // into this slot's storage, names already as rendered
    host.cache = same->cache;
  } else {
    for (auto& p : host.report.plugins) as_rendered(p);
    // The slot's cache from an older read lends its storage when nothing else holds it: in a
    // fleet whose payloads all changed, every host's payload and lines would otherwise be
    // allocated, and their pages faulted in, anew on every read.
    if (sole_owner(host.cache)) forget_lines(*host.cache);
    else host.cache = std::make_shared<fleet_host_cache>();
    host.cache->payload = value;
  }
  return true;
}

// Reads one value of an MGET or GET reply into `host`, as take_payload.
inline bool take_value(fleet& out, const fleet_read_options& opt, std::string_view key, const redis::reply& v,
                       fleet_host& host, std::chrono::steady_clock::duration& parsing, const earlier_hosts& earlier) {
  if (v.type != redis::reply_type::bulk_string) {
    note_skip(out, key, skip_reason::missing, v.is_nil() ? "no value (expired or deleted)" : "not a string");
    return false;
  }
  if (v.discarded || v.str.size() > opt.limits.max_bytes) {
    const auto n = v.discarded ? static_cast<std::uint64_t>(v.integer) : v.str.size();
    if (n > opt.limits.max_bytes) {
      note_skip(out, key, skip_reason::too_large,
                "value of " + std::to_string(n) + " bytes over " + std::to_string(opt.limits.max_bytes));
    } else {
      note_skip(out, key, skip_reason::over_budget,
                "MGET reply over max_batch_bytes (" + std::to_string(opt.max_batch_bytes) + ")");
    }
    return false;
  }
  return take_payload(out, opt, key, v.str, host, parsing, earlier);
}
}  // namespace detail

/// Adds one host to `out` as read_fleet does with each value (limits, names as rendered);
/// false, and the skip counted, when the payload is left out. For fleets from elsewhere.
inline bool add_host(fleet& out, std::string_view key, std::string_view value, const fleet_read_options& opt = {}) {
  fleet_host h;
  std::chrono::steady_clock::duration parsing{0};
  if (value.size() > opt.limits.max_bytes) {
    detail::note_skip(out, key, skip_reason::too_large, "value of " + std::to_string(value.size()) + " bytes");
    return false;
  }
  if (!detail::take_payload(out, opt, key, value, h, parsing, detail::earlier_hosts(nullptr))) return false;
  out.hosts.push_back(std::move(h));
  return true;
}

/// Reads every matching key into `out` (see the file comment). On failure `out` holds no
/// hosts and the error says what went wrong. `stop` ends the SCAN early, as its bounds do.
/// A payload that `earlier` (a fleet from a previous read, not `out`) holds with the same
/// bytes under the same key is copied from there instead of parsed, and its rendered
/// answers are shared (fleet_host_cache).
inline redis::result<void> read_fleet(redis::client& c, fleet& out, const fleet_read_options& opt = {},
                                      stop_token stop = {}, const fleet* earlier = nullptr) {
  using clock = std::chrono::steady_clock;
  detail::start_read(out);
  const detail::earlier_hosts before(earlier);
  std::size_t used = 0;  // hosts [0, used) hold this read's reports; the rest keep storage
  auto fail = [&](redis::error e) -> redis::result<void> {
    out.hosts.clear();
    return e;
  };

  const auto t0 = clock::now();
  std::vector<std::string> keys;
  detail::fleet_scan scan(opt, out, t0 + opt.max_read_time, std::move(stop));
  if (auto r = scan.run(c, [&](std::string&& k) { keys.push_back(std::move(k)); }); !r) return fail(r.error());
  // SCAN may report a key twice; sorting also makes the answer's order stable.
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  out.keys_seen = keys.size();
  const auto t1 = clock::now();
  out.scan_time = t1 - t0;

  const std::size_t batch = std::max<std::size_t>(1, opt.mget_batch);
  redis::pipeline p;
  for (std::size_t i = 0; i < keys.size(); i += batch) {
    const auto last = std::min(keys.size(), i + batch);
    p.add("MGET", std::vector<std::string_view>(keys.begin() + static_cast<std::ptrdiff_t>(i),
                                                keys.begin() + static_cast<std::ptrdiff_t>(last)));
  }
  if (out.hosts.size() < keys.size()) out.hosts.resize(keys.size());
  std::optional<redis::error> batch_error;
  clock::duration parsing{0};
  auto on_reply = [&](std::size_t index, redis::reply&& r) {
    if (batch_error) return;
    const std::size_t first = index * batch;
    const std::size_t count = std::min(batch, keys.size() - first);
    if (r.is_error()) {
      batch_error = redis::error{redis::errc::server, "MGET: " + r.str};
      return;
    }
    if (!r.is_array() || r.elements.size() != count) {
      batch_error = redis::error{redis::errc::protocol, "MGET: unexpected reply shape"};
      return;
    }
    for (std::size_t j = 0; j < count; ++j) {
      const std::string& key = keys[first + j];
      if (detail::take_value(out, opt, key, r.elements[j], out.hosts[used], parsing, before)) ++used;
    }
  };
  if (!p.empty()) {
    const detail::scoped_limits phase(c, detail::value_limits(c.options().limits, opt));
    auto r = c.execute(p, on_reply);
    if (!r) return fail(r.error());
    if (batch_error) return fail(*batch_error);
  }
  out.hosts.resize(used);
  out.fetch_time = clock::now() - t1;
  out.parse_time = parsing;
  return {};
}

/// Reads every matching key of a Redis Cluster into `out`: the slot map is read first, then
/// every master is SCANned (a key lives on its slot's master only) and its values are read
/// with pipelined GETs on that master's connection (an MGET would cross slots). A value that
/// moved between SCAN and GET (MOVED or ASK) is read again through the cluster's routing.
/// The limits, the outcome and the use of `earlier` are those of the single-node read_fleet.
inline redis::result<void> read_fleet(redis::cluster_client& c, fleet& out, const fleet_read_options& opt = {},
                                      stop_token stop = {}, const fleet* earlier = nullptr) {
  using clock = std::chrono::steady_clock;
  detail::start_read(out);
  const detail::earlier_hosts before(earlier);
  auto fail = [&](redis::error e) -> redis::result<void> {
    out.hosts.clear();
    return e;
  };

  const auto t0 = clock::now();
  // A failover shows in the map: read it for every fleet read, not only after a failure.
  if (auto r = c.refresh(); !r) return fail(r.error());
  const std::vector<redis::cluster_node> masters = c.slots().masters();
  struct found {
    std::string key;
    std::size_t node;
  };
  std::vector<found> keys;
  detail::fleet_scan scan(opt, out, t0 + opt.max_read_time, std::move(stop));
  for (std::size_t n = 0; n < masters.size() && out.scan_cut.empty(); ++n) {
    redis::client& conn = c.connection(masters[n]);
    auto r = scan.run(conn, [&](std::string&& k) { keys.push_back({std::move(k), n}); });
    if (!r) {
      c.invalidate();
      return fail({r.error().code, masters[n].address() + ": " + r.error().message});
    }
  }
  std::sort(keys.begin(), keys.end(), [](const found& a, const found& b) { return a.key < b.key; });
  keys.erase(std::unique(keys.begin(), keys.end(), [](const found& a, const found& b) { return a.key == b.key; }),
             keys.end());
  out.keys_seen = keys.size();
  const auto t1 = clock::now();
  out.scan_time = t1 - t0;

  // hosts[i] is the report of keys[i] when ok[i]; compacted in key order at the end.
  if (out.hosts.size() < keys.size()) out.hosts.resize(keys.size());
  std::vector<char> ok(keys.size(), 0);
  std::vector<std::size_t> moved;
  clock::duration parsing{0};
  auto take = [&](std::size_t i, redis::reply& v) {
    if (detail::take_value(out, opt, keys[i].key, v, out.hosts[i], parsing, before)) ok[i] = 1;
  };
  for (std::size_t n = 0; n < masters.size(); ++n) {
    std::vector<std::size_t> mine;
    redis::pipeline p;
    for (std::size_t i = 0; i < keys.size(); ++i) {
      if (keys[i].node != n) continue;
      mine.push_back(i);
      p.add("GET", keys[i].key);
    }
    if (p.empty()) continue;
    std::optional<redis::error> reply_error;
    auto on_reply = [&](std::size_t j, redis::reply&& r) {
      const std::size_t i = mine[j];
      if (r.is_error()) {
        if (r.str.rfind("MOVED ", 0) == 0 || r.str.rfind("ASK ", 0) == 0) {
          moved.push_back(i);
        } else if (r.str.rfind("WRONGTYPE", 0) == 0) {
          detail::note_skip(out, keys[i].key, skip_reason::missing, "not a string");
        } else if (!reply_error) {
          reply_error = redis::error{redis::errc::server, "GET: " + r.str};
        }
        return;
      }
      take(i, r);
    };
    redis::client& conn = c.connection(masters[n]);
    const detail::scoped_limits phase(conn, detail::value_limits(conn.options().limits, opt));
    auto r = conn.execute(p, on_reply);
    if (!r) {
      c.invalidate();
      return fail({r.error().code, masters[n].address() + ": " + r.error().message});
    }
    if (reply_error) return fail(*reply_error);
  }
  for (const std::size_t i : moved) {
    auto v = c.command_for_key(keys[i].key, "GET", keys[i].key);
    if (!v) {
      if (v.error().code == redis::errc::server && v.error().message.rfind("WRONGTYPE", 0) == 0) {
        detail::note_skip(out, keys[i].key, skip_reason::missing, "not a string");
        continue;
      }
      return fail(v.error());
    }
    take(i, *v);
  }
  std::size_t used = 0;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    if (!ok[i]) continue;
    if (used != i) std::swap(out.hosts[used], out.hosts[i]);
    ++used;
  }
  out.hosts.resize(used);
  out.fetch_time = clock::now() - t1;
  out.parse_time = parsing;
  return {};
}

}  // namespace anklet::metrics
