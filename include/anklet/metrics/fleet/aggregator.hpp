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
#include <stop_token>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "anklet/metrics/core/catalogue.hpp"
#include "anklet/metrics/core/log.hpp"
#include "anklet/metrics/core/status.hpp"
#include "anklet/metrics/fleet/payload_reader.hpp"
#include "anklet/metrics/http/request_parser.hpp"
#include "anklet/metrics/http/response.hpp"
#include "anklet/metrics/redis/client.hpp"
#include "anklet/metrics/redis/cluster.hpp"
#include "anklet/metrics/render/common.hpp"
#include "anklet/metrics/render/prometheus.hpp"

namespace anklet::metrics {

/// How the fleet is read, and the bounds of one read (docs/reliability.md). Every bound is
/// per key first: a key over one is skipped and counted, the other hosts are served. A read
/// that reaches a whole-read bound serves what it has read.
struct fleet_read_options {
  /// SCAN pattern; Go Anklet hosts and ours write under anklet/metrics/.
  std::string match = "anklet/metrics/*";
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

/// One host's payload and the key it came from.
struct fleet_host {
  std::string key;
  host_report report;
  std::size_t value_bytes = 0;  ///< of the payload read
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
// key bytes, the read's deadline or a stop request end the SCAN with what it found.
class fleet_scan {
 public:
  fleet_scan(const fleet_read_options& opt, fleet& out, std::chrono::steady_clock::time_point deadline,
             std::stop_token stop)
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
  std::stop_token stop_;
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

// Replaces each byte that is not valid UTF-8 with U+FFFD, as every renderer prints it, so
// that names are compared (de-duplicated, sorted) as they are rendered.
inline void as_rendered(std::string& s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const std::size_t n = s.size();
  std::size_t i = 0;
  for (std::size_t len; i < n && (len = utf8_sequence_length(p + i, n - i)) != 0;) i += len;
  if (i == n) return;
  std::string out(s, 0, i);
  while (i < n) {
    const std::size_t len = utf8_sequence_length(p + i, n - i);
    if (len == 0) {
      out += utf8_replacement;
      ++i;
    } else {
      out.append(s, i, len);
      i += len;
    }
  }
  s.swap(out);
}

inline void as_rendered(reported_plugin& p) {
  for (auto* str : {&p.name, &p.plugin_name, &p.repo_name, &p.owner_name, &p.status, &p.last_successful_run_job_url,
                    &p.last_failed_run_job_url, &p.last_canceled_run_job_url}) {
    as_rendered(*str);
  }
}

// Reads one payload into `host`; false (and the skip counted) when it is left out.
inline bool take_payload(fleet& out, const fleet_read_options& opt, std::string_view key, std::string_view value,
                         fleet_host& host, payload_error& perr, std::chrono::steady_clock::duration& parsing) {
  if (out.value_bytes + value.size() > opt.max_read_bytes) {
    note_skip(out, key, skip_reason::over_budget, "read over max_read_bytes (" + std::to_string(opt.max_read_bytes) + ")");
    return false;
  }
  const auto p0 = std::chrono::steady_clock::now();
  const bool ok = read_payload(value, host.report, opt.limits, &perr);
  parsing += std::chrono::steady_clock::now() - p0;
  if (!ok) {
    note_skip(out, key, perr.limit ? skip_reason::over_limits : skip_reason::malformed,
              perr.message + " at byte " + std::to_string(perr.offset));
    return false;
  }
  if (opt.max_age.count() > 0) {
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch()).count();
    const auto at = to_unix_seconds(host.report.last_update.instant);
    if (at < now - opt.max_age.count()) {
      note_skip(out, key, skip_reason::stale,
                "last_update " + std::to_string(now - at) + " s ago, over max_age " + std::to_string(opt.max_age.count()));
      return false;
    }
  }
  out.value_bytes += value.size();
  host.value_bytes = value.size();
  host.key = key;
  for (auto& p : host.report.plugins) as_rendered(p);
  return true;
}

// Reads one value of an MGET or GET reply into `host`, as take_payload.
inline bool take_value(fleet& out, const fleet_read_options& opt, std::string_view key, const redis::reply& v,
                       fleet_host& host, payload_error& perr, std::chrono::steady_clock::duration& parsing) {
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
  return take_payload(out, opt, key, v.str, host, perr, parsing);
}
}  // namespace detail

/// Adds one host to `out` as read_fleet does with each value (limits, names as rendered);
/// false, and the skip counted, when the payload is left out. For fleets from elsewhere.
inline bool add_host(fleet& out, std::string_view key, std::string_view value, const fleet_read_options& opt = {}) {
  fleet_host h;
  payload_error perr;
  std::chrono::steady_clock::duration parsing{0};
  if (value.size() > opt.limits.max_bytes) {
    detail::note_skip(out, key, skip_reason::too_large, "value of " + std::to_string(value.size()) + " bytes");
    return false;
  }
  if (!detail::take_payload(out, opt, key, value, h, perr, parsing)) return false;
  out.hosts.push_back(std::move(h));
  return true;
}

/// Reads every matching key into `out` (see the file comment). On failure `out` holds no
/// hosts and the error says what went wrong. `stop` ends the SCAN early, as its bounds do.
inline redis::result<void> read_fleet(redis::client& c, fleet& out, const fleet_read_options& opt = {},
                                      std::stop_token stop = {}) {
  using clock = std::chrono::steady_clock;
  detail::start_read(out);
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
  payload_error perr;
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
      if (detail::take_value(out, opt, key, r.elements[j], out.hosts[used], perr, parsing)) ++used;
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
/// The limits and the outcome are those of the single-node read_fleet.
inline redis::result<void> read_fleet(redis::cluster_client& c, fleet& out, const fleet_read_options& opt = {},
                                      std::stop_token stop = {}) {
  using clock = std::chrono::steady_clock;
  detail::start_read(out);
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
  payload_error perr;
  auto take = [&](std::size_t i, redis::reply& v) {
    if (detail::take_value(out, opt, keys[i].key, v, out.hosts[i], perr, parsing)) ok[i] = 1;
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

// ---- rendering -----------------------------------------------------------------------

/// One plugin of the fleet: where it is in the fleet.
struct fleet_entry {
  const fleet_host* host;
  const reported_plugin* plugin;
};

namespace detail {

// A plugin counts as a receiver when its plugin name says so (Go Anklet's own rule); the
// aggregator then shows its handler fields as zero, as Go's does.
inline bool reported_receiver(const reported_plugin& p) noexcept {
  return p.plugin_name.find("_receiver") != std::string::npos;
}

// Of two entries with the same identity, the one with the later last_update wins; on a
// tie the later key (Go's aggregator lets the last one read win).
inline bool newer_or_same(const fleet_entry& a, const fleet_entry& b) noexcept {
  return a.host->report.last_update.instant >= b.host->report.last_update.instant;
}

template <class Out>
void write_zoned(text_sink<Out>& s, const zoned_time& t) {
  write_rfc3339(s, to_civil(t.instant, t.offset_seconds));
}

template <class Out>
void write_aggregate_json_entry(text_sink<Out>& s, const fleet_entry& e) {
  const auto& p = *e.plugin;
  const auto& r = e.host->report;
  const auto& h = r.host;
  const bool handler = !reported_receiver(p);
  const zoned_time zero{};
  const auto str = [&](std::string_view key, std::string_view v) {
    s.put('"');
    s.write(key);
    s.write("\":");
    write_json_string(s, v);
    s.put(',');
  };
  const auto tim = [&](std::string_view key, const zoned_time& t) {
    s.put('"');
    s.write(key);
    s.write("\":\"");
    write_zoned(s, t);
    s.write("\",");
  };
  const auto num = [&](std::string_view key, std::uint64_t v) {
    s.put('"');
    s.write(key);
    s.write("\":");
    write_uint(s, v);
    s.put(',');
  };
  const auto fig = [&](const catalogue::host_field& f) {
    s.put('"');
    s.write(f.meta.fleet_key);
    s.write("\":");
    if (f.count != nullptr) write_uint(s, h.*f.count);
    else write_json_double(s, h.*f.share);
  };
  const auto& families = catalogue::plugin_families<reported_plugin>;
  s.put('{');
  str("repo_name", p.repo_name);
  str("plugin_name", p.plugin_name);
  str("custom_name", p.name);
  str("owner_name", p.owner_name);
  tim(catalogue::fleet_last_update.fleet_key, r.last_update);
  str(families[0].meta.fleet_key, p.status);
  // Go's entry order: last runs, status_since, counters, job URLs, host figures.
  for (const auto& f : families) {
    if (f.job_url != nullptr) tim(f.meta.fleet_key, handler ? p.*f.time : zero);
  }
  for (const auto& f : families) {
    if (f.time != nullptr && !f.handlers_only) tim(f.meta.fleet_key, p.*f.time);
  }
  for (const auto& f : families) {
    if (f.count != nullptr) num(f.meta.fleet_key, handler ? p.*f.count : 0);
  }
  for (const auto& f : families) {
    if (f.job_url != nullptr) str(f.job_url_fleet_key, handler ? std::string_view(p.*f.job_url) : "");
  }
  for (std::size_t i = 0; i < catalogue::host_fields.size(); ++i) {
    if (i != 0) s.put(',');
    fig(catalogue::host_fields[i]);
  }
  s.put('}');
}

}  // namespace detail

/// Every plugin of the fleet: hosts in key order, plugins in payload order (v2's order).
[[nodiscard]] inline std::vector<fleet_entry> fleet_entries(const fleet& f) {
  std::vector<fleet_entry> out;
  std::size_t n = 0;
  for (const auto& h : f.hosts) n += h.report.plugins.size();
  out.reserve(n);
  for (const auto& h : f.hosts) {
    for (const auto& p : h.report.plugins) out.push_back({&h, &p});
  }
  return out;
}

/// /metrics/v2?format=json: an array with an entry per plugin (Go's field names and
/// order, times RFC 3339 to the second in the offset each payload carried), then a newline
/// as Go's encoder writes.
template <std::output_iterator<char> Out>
Out format_fleet_json_v2(const fleet& f, Out out) {
  text_sink<Out> s(std::move(out));
  s.put('[');
  bool first = true;
  for (const auto& h : f.hosts) {
    for (const auto& p : h.report.plugins) {
      if (!first) s.put(',');
      first = false;
      detail::write_aggregate_json_entry(s, {&h, &p});
    }
  }
  s.write("]\n");
  return std::move(s).out();
}

/// /metrics/v1?format=json: an object keyed by plugin name (custom_name), keys sorted
/// bytewise as Go's encoder sorts map keys. A name reported by several hosts appears once:
/// the entry with the latest last_update.
template <std::output_iterator<char> Out>
Out format_fleet_json_v1(const fleet& f, Out out) {
  std::vector<fleet_entry> entries = fleet_entries(f);
  // Stable: among equal names the later key stays later, so "last wins" on equal times.
  std::stable_sort(entries.begin(), entries.end(),
                   [](const fleet_entry& a, const fleet_entry& b) { return a.plugin->name < b.plugin->name; });
  text_sink<Out> s(std::move(out));
  s.put('{');
  bool first = true;
  for (std::size_t i = 0; i < entries.size();) {
    std::size_t best = i;
    std::size_t j = i + 1;
    for (; j < entries.size() && entries[j].plugin->name == entries[i].plugin->name; ++j) {
      if (detail::newer_or_same(entries[j], entries[best])) best = j;
    }
    if (!first) s.put(',');
    first = false;
    write_json_string(s, entries[best].plugin->name);
    s.put(':');
    detail::write_aggregate_json_entry(s, entries[best]);
    i = j;
  }
  s.write("}\n");
  return std::move(s).out();
}

namespace detail {

template <class Out>
void write_host_labels(text_sink<Out>& s, const reported_plugin& p) {
  write_prometheus_label(s, "name", p.name);
  s.put(',');
  write_prometheus_label(s, "owner", p.owner_name);
}

// The plugins shown in Prometheus text: one per (name, owner), since the host series carry
// only those two labels and a repeated series would make the whole scrape invalid.
inline std::vector<fleet_entry> unique_by_name_owner(const fleet& f) {
  std::vector<fleet_entry> all = fleet_entries(f);
  struct pair_hash {
    std::size_t operator()(const std::pair<std::string_view, std::string_view>& k) const noexcept {
      const std::size_t a = std::hash<std::string_view>{}(k.first);
      return a ^ (std::hash<std::string_view>{}(k.second) + 0x9e3779b97f4a7c15ull + (a << 6) + (a >> 2));
    }
  };
  std::unordered_map<std::pair<std::string_view, std::string_view>, std::size_t, pair_hash> best;
  best.reserve(all.size());
  std::vector<bool> keep(all.size(), true);
  for (std::size_t i = 0; i < all.size(); ++i) {
    auto [it, inserted] = best.try_emplace({all[i].plugin->name, all[i].plugin->owner_name}, i);
    if (inserted) continue;
    if (newer_or_same(all[i], all[it->second])) {
      keep[it->second] = false;
      it->second = i;
    } else {
      keep[i] = false;
    }
  }
  std::vector<fleet_entry> out;
  out.reserve(best.size());
  for (std::size_t i = 0; i < all.size(); ++i) {
    if (keep[i]) out.push_back(all[i]);
  }
  return out;
}

// A plugin's label sets, escaped once per answer rather than once per series: label
// escaping dominates the cost of a fleet's Prometheus text otherwise.
struct labelled_entry {
  fleet_entry e;
  std::string plugin_labels;  // name, plugin, owner[, repo]
  std::string host_labels;    // name, owner
};

inline std::vector<labelled_entry> with_labels(const std::vector<fleet_entry>& entries) {
  std::vector<labelled_entry> out;
  out.reserve(entries.size());
  for (const auto& e : entries) {
    auto& l = out.emplace_back();
    l.e = e;
    text_sink p(std::back_inserter(l.plugin_labels));
    write_plugin_prometheus_labels(p, *e.plugin);
    text_sink h(std::back_inserter(l.host_labels));
    write_host_labels(h, *e.plugin);
  }
  return out;
}

template <class Out, class Select, class Value>
void write_fleet_family(text_sink<Out>& s, const std::vector<labelled_entry>& entries, std::string_view name,
                        std::string_view help, std::string_view type, Select select, Value value) {
  bool any = false;
  for (const auto& e : entries) {
    if (!select(e)) continue;
    if (!any) {
      write_prometheus_family_header(s, name, help, type);
      any = true;
    }
    s.write(name);
    s.put('{');
    value(s, e);
    s.put('\n');
  }
}

}  // namespace detail

/// format=prometheus on both versions: valid exposition 0.0.4. Per plugin (one per name
/// and owner): plugin_status as a state set, plugin_status_since and, for handlers, the
/// three plugin_last_*_run in Unix seconds (with a job_url label only when `options` ask
/// for it: a label that changes per job makes a series per job), and the four plugin_total_*
/// counters, all labelled name, plugin, owner and (when set) repo; then the 11 host_*
/// values and last_update (Unix seconds) labelled name and owner; then the aggregator's own
/// aggregator_hosts and aggregator_skipped_keys{reason}.
template <std::output_iterator<char> Out>
Out format_fleet_prometheus(const fleet& f, Out out, const prometheus_options& options = {}) {
  using detail::write_fleet_family;
  const std::vector<detail::labelled_entry> entries = detail::with_labels(detail::unique_by_name_owner(f));
  text_sink<Out> s(std::move(out));
  const auto every = [](const detail::labelled_entry&) { return true; };
  const auto handlers = [](const detail::labelled_entry& l) { return !detail::reported_receiver(*l.e.plugin); };

  const auto& families = catalogue::plugin_families<reported_plugin>;
  if (!entries.empty()) {
    write_prometheus_family_header(s, families[0].meta.name, families[0].meta.help, to_string(families[0].meta.type));
    for (const auto& l : entries) {
      write_status_state_set(
          s, families[0].meta.name, [&](auto& sink) { sink.write(l.plugin_labels); }, l.e.plugin->status);
    }
  }
  const auto plugin_time = [](auto member) {
    return [member](auto& sink, const detail::labelled_entry& l) {
      const fleet_entry& e = l.e;
      sink.write(l.plugin_labels);
      sink.write("} ");
      write_int(sink, to_unix_seconds((e.plugin->*member).instant));
    };
  };
  const auto run_time = [&options](auto member, auto url) {
    return [member, url, &options](auto& sink, const detail::labelled_entry& l) {
      const fleet_entry& e = l.e;
      sink.write(l.plugin_labels);
      if (options.job_url_label) {
        sink.put(',');
        write_prometheus_label(sink, "job_url", e.plugin->*url);
      }
      sink.write("} ");
      write_int(sink, to_unix_seconds((e.plugin->*member).instant));
    };
  };
  const auto plugin_count = [](auto member) {
    return [member](auto& sink, const detail::labelled_entry& l) {
      const fleet_entry& e = l.e;
      sink.write(l.plugin_labels);
      sink.write("} ");
      write_uint(sink, e.plugin->*member);
    };
  };
  for (std::size_t k = 1; k < families.size(); ++k) {
    const auto& fam = families[k];
    const std::string_view type = to_string(fam.meta.type);
    const auto write = [&](auto select) {
      if (fam.job_url != nullptr) {
        write_fleet_family(s, entries, fam.meta.name, fam.meta.help, type, select, run_time(fam.time, fam.job_url));
      } else if (fam.time != nullptr) {
        write_fleet_family(s, entries, fam.meta.name, fam.meta.help, type, select, plugin_time(fam.time));
      } else {
        write_fleet_family(s, entries, fam.meta.name, fam.meta.help, type, select, plugin_count(fam.count));
      }
    };
    if (fam.handlers_only) write(handlers);
    else write(every);
  }

  const auto host_uint = [](auto member) {
    return [member](auto& sink, const detail::labelled_entry& l) {
      const fleet_entry& e = l.e;
      sink.write(l.host_labels);
      sink.write("} ");
      write_uint(sink, e.host->report.host.*member);
    };
  };
  const auto host_double = [](auto member) {
    return [member](auto& sink, const detail::labelled_entry& l) {
      const fleet_entry& e = l.e;
      sink.write(l.host_labels);
      sink.write("} ");
      write_prometheus_double(sink, e.host->report.host.*member);
    };
  };
  for (const auto& hf : catalogue::host_fields) {
    const std::string_view type = to_string(hf.meta.type);
    if (hf.count != nullptr) {
      write_fleet_family(s, entries, hf.meta.name, hf.meta.help, type, every, host_uint(hf.count));
    } else {
      write_fleet_family(s, entries, hf.meta.name, hf.meta.help, type, every, host_double(hf.share));
    }
  }
  const auto& last_update = catalogue::fleet_last_update;
  write_fleet_family(s, entries, last_update.name, last_update.help, to_string(last_update.type), every,
                     [](auto& sink, const detail::labelled_entry& l) {
                       sink.write(l.host_labels);
                       const fleet_entry& e = l.e;
                       sink.write("} ");
                       write_int(sink, to_unix_seconds(e.host->report.last_update.instant));
                     });

  const auto& hosts = catalogue::fleet_hosts;
  write_prometheus_family_header(s, hosts.name, hosts.help, to_string(hosts.type));
  s.write(hosts.name);
  s.put(' ');
  write_uint(s, f.hosts.size());
  s.put('\n');
  const auto& scan = catalogue::fleet_scan_complete;
  write_prometheus_family_header(s, scan.name, scan.help, to_string(scan.type));
  s.write(scan.name);
  s.write(f.scan_cut.empty() ? " 1\n" : " 0\n");
  const auto& skipped = catalogue::fleet_skipped_keys;
  write_prometheus_family_header(s, skipped.name, skipped.help, to_string(skipped.type));
  for (const auto r : all_skip_reasons) {
    s.write(skipped.name);
    s.write("{reason=\"");
    s.write(to_string(r));
    s.write("\"} ");
    write_uint(s, f.skipped_count(r));
    s.put('\n');
  }
  return std::move(s).out();
}

namespace detail {
// An output iterator that only counts what is written through it.
struct counting_iterator {
  using difference_type = std::ptrdiff_t;
  std::size_t* n;
  counting_iterator& operator*() noexcept { return *this; }
  counting_iterator& operator=(char) noexcept {
    ++*n;
    return *this;
  }
  counting_iterator& operator++() noexcept { return *this; }
  counting_iterator operator++(int) noexcept { return *this; }
};
}  // namespace detail

/// The output bound of docs/reliability.md: skips (output_too_large) each host whose v2 JSON
/// and Prometheus text would together take more than opt.output_factor x its key and
/// value bytes + opt.output_per_host, so that no payload within the reader's limits (long
/// names of invalid UTF-8 repeated on every series, thousands of empty plugins) makes an
/// answer much larger than what was read.
inline void bound_output(fleet& f, const fleet_read_options& opt, const prometheus_options& prom = {}) {
  fleet one;
  one.hosts.resize(1);
  std::size_t used = 0;
  for (std::size_t i = 0; i < f.hosts.size(); ++i) {
    std::swap(one.hosts[0], f.hosts[i]);
    std::size_t n = 0;
    format_fleet_json_v2(one, detail::counting_iterator{&n});
    format_fleet_prometheus(one, detail::counting_iterator{&n}, prom);
    const fleet_host& h = one.hosts[0];
    const std::size_t allowed = opt.output_factor * (h.value_bytes + h.key.size()) + opt.output_per_host;
    std::swap(one.hosts[0], f.hosts[i]);
    if (n > allowed) {
      f.value_bytes -= std::min(f.value_bytes, std::uint64_t{f.hosts[i].value_bytes});
      detail::note_skip(f, f.hosts[i].key, skip_reason::output_too_large,
                        "answers of " + std::to_string(n) + " bytes from " + std::to_string(f.hosts[i].value_bytes));
      continue;
    }
    if (used != i) std::swap(f.hosts[used], f.hosts[i]);
    ++used;
  }
  f.hosts.resize(used);
}

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
    reader_ = std::jthread([this](std::stop_token st) { background(std::move(st)); });
  }
  /// Stops the background reader (ending a read in progress at its next SCAN page); idempotent.
  void stop() {
    reader_.request_stop();
    wake_.notify_all();
    if (reader_.joinable()) reader_.join();
  }
  /// Completed background reads so far (failed ones not counted).
  [[nodiscard]] std::uint64_t reads_completed() const {
    std::lock_guard lock(view_mutex_);
    return reads_;
  }

  /// Answers one request: `path` without the query, `query` without the '?'.
  /// GET and HEAD are served (HEAD without a body); other methods get 405.
  aggregator_response respond(std::string_view method, std::string_view path, std::string_view query) {
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
      r.body = "ok";
    } else if (path == "/metrics") {
      r.status = 501;
      r.body = "please use /metrics/v1";
    } else {
      const auto format = http::query_value(query, "format");
      const int version = path == "/metrics/v1" ? 1 : 2;
      if (format == "json" || format == "prometheus") {
        const bool json = *format == "json";
        if (background_) serve_cached(version, json, r);
        else serve(version, json, r);
      } else {
        r.status = 400;
        r.body = "unsupported format, please use '?format=json' or '?format=prometheus'\n";
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

  // One complete read and its four answers, rendered once.
  struct view {
    struct fleet read;
    std::array<std::string, 4> bodies;  // v1 json, v1 prometheus, v2 json, v2 prometheus
    clock::time_point read_at;
  };

  static std::size_t slot_of(int version, bool json) {
    return static_cast<std::size_t>((version - 1) * 2 + (json ? 0 : 1));
  }

  std::string render(const fleet& f, int version, bool json) const {
    std::string body;
    if (json) {
      body.reserve(f.hosts.size() * 2048 + 16);
      if (version == 1) format_fleet_json_v1(f, std::back_inserter(body));
      else format_fleet_json_v2(f, std::back_inserter(body));
    } else {
      body.reserve(f.hosts.size() * 4096 + 1024);
      format_fleet_prometheus(f, std::back_inserter(body), opt_.prometheus);
    }
    return body;
  }

  redis::result<void> read_into(fleet& f, std::stop_token stop = {}) {
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
    if (!r) return r;
    read_at_ = now;
    return {};
  }

  void serve(int version, bool json, aggregator_response& r) {
    std::lock_guard lock(mutex_);
    if (auto rd = refresh_locked(); !rd) {
      r.status = 503;
      r.body = "cannot read the fleet from Redis: " + rd.error().to_string() + "\n";
      return;
    }
    auto& slot = cache_[slot_of(version, json)];
    if (!slot) slot = render(fleet_, version, json);
    r.content_type = json ? "application/json" : std::string(prometheus_content_type);
    // With refresh 0 the cache is dropped on the next request anyway: hand the body over.
    if (opt_.refresh.count() > 0) r.body = *slot;
    else r.body = std::move(*slot), slot.reset();
  }

  void serve_cached(int version, bool json, aggregator_response& r) {
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
    const std::string& body = v->bodies[slot_of(version, json)];
    if (json) {
      r.body = body;
      return;
    }
    // The age changes with every request: its family goes after the cached text.
    std::string tail;
    text_sink ts(std::back_inserter(tail));
    const auto& age_family = catalogue::fleet_age;
    write_prometheus_family_header(ts, age_family.name, age_family.help, to_string(age_family.type));
    ts.write(age_family.name);
    ts.put(' ');
    write_prometheus_double(ts, age);
    ts.put('\n');
    r.body.reserve(body.size() + tail.size());
    r.body = body;
    r.body += tail;
  }

  void log(log_level level, const std::string& line) const {
    if (opt_.log) opt_.log(level, line);
  }

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

  void background(std::stop_token stop) {
    const auto pause = std::max<std::chrono::milliseconds>(opt_.refresh, std::chrono::milliseconds(100));
    while (!stop.stop_requested()) {
      auto next = std::make_shared<view>();
      auto r = read_into(next->read, stop);
      if (stop.stop_requested()) break;
      if (!r) {
        log(log_level::error, "cannot read the fleet from Redis (serving the last good read): " + r.error().to_string());
        std::lock_guard lock(view_mutex_);
        last_failure_ = "cannot read the fleet from Redis: " + r.error().to_string();
      } else {
        for (int version = 1; version <= 2; ++version) {
          for (const bool json : {true, false}) next->bodies[slot_of(version, json)] = render(next->read, version, json);
        }
        next->read_at = clock::now();
        log_skips(next->read);
        if (!next->read.scan_cut.empty()) log(log_level::warning, "SCAN ended early: " + next->read.scan_cut);
        std::lock_guard lock(view_mutex_);
        view_ = std::move(next);
        ++reads_;
      }
      std::unique_lock lock(wake_mutex_);
      wake_.wait_for(lock, stop, pause, [] { return false; });
    }
  }

  aggregator_options opt_;
  redis::client client_;
  std::optional<redis::cluster_client> cluster_;
  std::mutex mutex_;
  fleet fleet_;
  std::optional<clock::time_point> read_at_;
  std::array<std::optional<std::string>, 4> cache_;

  std::atomic<bool> background_{false};
  mutable std::mutex view_mutex_;
  std::shared_ptr<const view> view_;
  std::string last_failure_;  // of the last failed read, shown until a read succeeds
  std::uint64_t reads_ = 0;
  clock::time_point log_window_{};
  std::size_t logged_ = 0;
  std::mutex wake_mutex_;
  std::condition_variable_any wake_;
  std::jthread reader_;
};

}  // namespace anklet::metrics
