// anklet::metrics fleet renderers: a fleet as Go's aggregator answers it.
// /metrics/v1?format=json is an object keyed by plugin name, /metrics/v2?format=json an
// array, and format=prometheus valid exposition 0.0.4 text; bound_output() leaves out a
// host whose answers would be out of proportion to what was read (docs/reliability.md).
// The families and fields follow the catalogue (core/catalogue.hpp).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <iterator>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "anklet/metrics/core/catalogue.hpp"
#include "anklet/metrics/core/status.hpp"
#include "anklet/metrics/fleet/payload_reader.hpp"
#include "anklet/metrics/fleet/read.hpp"
#include "anklet/metrics/render/escape.hpp"
#include "anklet/metrics/render/exposition.hpp"
#include "anklet/metrics/render/numbers.hpp"
#include "anklet/metrics/render/prometheus.hpp"
#include "anklet/metrics/render/sink.hpp"
#include "anklet/metrics/render/time.hpp"

namespace anklet::metrics {

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

template <char_sink Sink>
void write_zoned(Sink& s, const zoned_time& t) {
  write_rfc3339(s, to_civil(t.instant, t.offset_seconds));
}

template <char_sink Sink>
void write_aggregate_json_entry(Sink& s, const fleet_entry& e) {
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

namespace detail {
// Whether render_fleet_hosts() left this host's JSON entries in its cache (they do not
// depend on prometheus_options).
inline bool host_json_made(const fleet_host& h) noexcept { return h.cache && h.cache->rendered && h.cache->made.json; }
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
    if (detail::host_json_made(h)) {  // the same bytes, written once per payload
      if (h.cache->json.empty()) continue;
      if (!first) s.put(',');
      first = false;
      s.write(h.cache->json);
      continue;
    }
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
    const fleet_host& h = *entries[best].host;
    if (detail::host_json_made(h)) {
      const auto k = static_cast<std::size_t>(entries[best].plugin - h.report.plugins.data());
      const std::size_t begin = k == 0 ? 0 : h.cache->json_ends[k - 1] + 1;  // after the comma
      s.write(std::string_view(h.cache->json).substr(begin, h.cache->json_ends[k] - begin));
    } else {
      detail::write_aggregate_json_entry(s, entries[best]);
    }
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

// Family k of the per-host families (fleet_sample_families, in the answer's order).
inline const catalogue::family& fleet_family_meta(std::size_t k) noexcept {
  if (k < fleet_plugin_families) return catalogue::plugin_families<reported_plugin>[k].meta;
  if (k < fleet_sample_families - 1) return catalogue::host_fields[k - fleet_plugin_families].meta;
  return catalogue::fleet_last_update;
}

// The sample lines of family k for `entries` in `fmt`; `first()` runs before the first
// line, so that a family without lines has no header.
template <char_sink Sink, class First>
void write_fleet_family_lines(Sink& s, exposition_format fmt, const std::vector<labelled_entry>& entries,
                              std::size_t k, const prometheus_options& options, First first) {
  const auto& meta = fleet_family_meta(k);
  const std::string_view suffix = sample_suffix(fmt, meta.name, meta.type);
  bool any = false;
  for (const auto& l : entries) {
    const reported_plugin& p = *l.e.plugin;
    const host_report& r = l.e.host->report;
    if (k < fleet_plugin_families) {
      const auto& fam = catalogue::plugin_families<reported_plugin>[k];
      if (fam.handlers_only && reported_receiver(p)) continue;
      if (!any) first();
      any = true;
      if (k == 0) {
        write_status_state_set(s, meta.name, [&](auto& sink) { sink.write(l.plugin_labels); }, p.status);
        continue;
      }
      s.write(meta.name);
      s.write(suffix);
      s.put('{');
      s.write(l.plugin_labels);
      if (fam.job_url != nullptr && options.job_url_label) {
        s.put(',');
        write_prometheus_label(s, "job_url", p.*fam.job_url);
      }
      s.write("} ");
      if (fam.time != nullptr) {
        write_int(s, to_unix_seconds((p.*fam.time).instant));
      } else {
        write_uint(s, p.*fam.count);
        // In OpenMetrics a run counter carries its latest run as an exemplar.
        if (fmt == exposition_format::openmetrics && options.exemplars && fam.exemplar_url != nullptr &&
            p.*fam.count != 0) {
          write_exemplar(s, "job_url", p.*fam.exemplar_url, (p.*fam.exemplar_time).instant);
        }
      }
    } else {
      if (!any) first();
      any = true;
      s.write(meta.name);
      s.put('{');
      s.write(l.host_labels);
      s.write("} ");
      if (k == fleet_sample_families - 1) {
        write_int(s, to_unix_seconds(r.last_update.instant));
      } else {
        const auto& hf = catalogue::host_fields[k - fleet_plugin_families];
        if (hf.count != nullptr) write_uint(s, r.host.*hf.count);
        else write_prometheus_double(s, r.host.*hf.share);
      }
    }
    s.put('\n');
  }
}

// The families that only depend on the read and not on the request: hosts, SCAN, skipped
// keys by reason, the read's duration.
template <char_sink Sink>
void write_fleet_read_families(Sink& s, exposition_format fmt, const fleet& f) {
  const auto& hosts = catalogue::fleet_hosts;
  write_family_header(s, fmt, hosts);
  s.write(hosts.name);
  s.put(' ');
  write_uint(s, f.hosts.size());
  s.put('\n');
  const auto& scan = catalogue::fleet_scan_complete;
  write_family_header(s, fmt, scan);
  s.write(scan.name);
  s.write(f.scan_cut.empty() ? " 1\n" : " 0\n");
  const auto& skipped = catalogue::fleet_skipped_keys;
  write_family_header(s, fmt, skipped);
  for (const auto r : all_skip_reasons) {
    s.write(skipped.name);
    s.write("{reason=\"");
    s.write(to_string(r));
    s.write("\"} ");
    write_uint(s, f.skipped_count(r));
    s.put('\n');
  }
  const auto& duration = catalogue::fleet_read_duration;
  write_family_header(s, fmt, duration);
  s.write(duration.name);
  s.put(' ');
  write_prometheus_double(s, std::chrono::duration<double>(f.scan_time + f.fetch_time).count());
  s.put('\n');
}

// Whether render_host() went through this host's payload with `options`.
inline bool host_rendered_for(const fleet_host& h, const prometheus_options& options) noexcept {
  return h.cache && h.cache->rendered && h.cache->job_url_label == options.job_url_label &&
         h.cache->exemplars == options.exemplars;
}

// Whether this host's cache holds its lines of text format `fmt` rendered with `options`.
inline bool host_text_for(const fleet_host& h, exposition_format fmt, const prometheus_options& options) noexcept {
  return host_rendered_for(h, options) && h.cache->made.text[static_cast<std::size_t>(fmt)];
}

// Whether this host's cache holds every kind of lines in `wanted` (the text ones rendered
// with `options`).
inline bool host_lines_for(const fleet_host& h, const prometheus_options& options, const fleet_lines& wanted) noexcept {
  if (!host_rendered_for(h, options)) return false;
  const auto& made = h.cache->made;
  return (made.json || !wanted.json) && (made.text[0] || !wanted.text[0]) && (made.text[1] || !wanted.text[1]);
}

// Renders the host's lines in the answers `wanted` into a cache of its own: the one it has,
// when nothing else holds it, else a new one (an earlier fleet sharing it keeps it as it
// is). Each text is written into `scratch` (reused from host to host, so writing never
// reallocates) and then copied into the cache, whose strings are thus no larger than a
// payload of theirs needed: thousands of hosts' lines are held until their payloads change.
inline void render_host(fleet_host& h, const prometheus_options& options, const fleet_lines& wanted,
                        std::string& scratch) {
  if (!sole_owner(h.cache)) {
    auto own = std::make_shared<fleet_host_cache>();
    if (h.cache) own->payload = h.cache->payload;
    h.cache = std::move(own);
  }
  fleet_host_cache* const c = h.cache.get();
  forget_lines(*c);  // marked rendered only once every line is written
  const auto render = [&scratch](std::string& out, auto&& write) {
    scratch.clear();
    {
      buffer_sink sink(scratch);
      write(sink);
    }
    out.assign(scratch);
  };
  if (wanted.json) {
    render(c->json, [&](auto& json) {
      for (std::size_t i = 0; i < h.report.plugins.size(); ++i) {
        if (i != 0) json.put(',');
        write_aggregate_json_entry(json, {&h, &h.report.plugins[i]});
        c->json_ends.push_back(json.size());
      }
    });
  }
  if (wanted.text[0] || wanted.text[1]) {
    std::vector<fleet_entry> mine;
    mine.reserve(h.report.plugins.size());
    for (const auto& p : h.report.plugins) mine.push_back({&h, &p});
    const auto entries = with_labels(mine);
    for (const auto fmt : {exposition_format::prometheus, exposition_format::openmetrics}) {
      if (!wanted.text[static_cast<std::size_t>(fmt)]) continue;
      auto& text = c->text[static_cast<std::size_t>(fmt)];
      render(text.lines, [&](auto& lines) {
        for (std::size_t k = 0; k < fleet_sample_families; ++k) {
          write_fleet_family_lines(lines, fmt, entries, k, options, [] {});
          text.ends[k] = lines.size();
        }
      });
    }
  }
  c->job_url_label = options.job_url_label;
  c->exemplars = options.exemplars;
  c->made = wanted;
  c->rendered = true;
}

}  // namespace detail

/// Renders the lines in the answers `wanted` of each host of `f` whose cache does not hold
/// them yet (for `options`), so that those answers are put together from each host's lines
/// instead of written anew; a host whose payload comes back unchanged in the next read
/// keeps them (read_fleet's `earlier`). The answers are the same bytes either way.
inline void render_fleet_hosts(fleet& f, const prometheus_options& options = {}, const fleet_lines& wanted = {}) {
  std::string scratch;
  for (auto& h : f.hosts) {
    if (!detail::host_lines_for(h, options, wanted)) detail::render_host(h, options, wanted, scratch);
  }
}

/// format=prometheus on both versions, in Prometheus text 0.0.4 or OpenMetrics (`fmt`;
/// without the closing `# EOF`, which comes after the aggregator's per-request families).
/// Per plugin (one per name and owner): plugin_status as a state set,
/// plugin_status_since and, for handlers, the three plugin_last_*_run in Unix seconds
/// (with a job_url label only when `options` ask for it: a label that changes per job
/// makes a series per job), and the four plugin_total_* counters (in OpenMetrics the run
/// counters with the latest run's exemplar), all labelled name, plugin, owner and (when
/// set) repo; then the 11 host_* values and last_update (Unix seconds) labelled name and
/// owner; then the aggregator's own families (anklet_metrics_aggregator_*). Put together
/// from each host's rendered lines when render_fleet_hosts() made them and no two plugins
/// share a name and owner.
template <char_sink Sink>
void write_fleet_exposition(Sink& s, const fleet& f, exposition_format fmt, const prometheus_options& options = {}) {
  const std::vector<fleet_entry> unique = detail::unique_by_name_owner(f);
  std::size_t plugins = 0;
  for (const auto& h : f.hosts) plugins += h.report.plugins.size();
  const bool rendered = std::all_of(f.hosts.begin(), f.hosts.end(),
                                    [&](const fleet_host& h) { return detail::host_text_for(h, fmt, options); });
  if (unique.size() == plugins && rendered) {
    for (std::size_t k = 0; k < detail::fleet_sample_families; ++k) {
      bool any = false;
      for (const auto& h : f.hosts) {
        const auto& text = h.cache->text[static_cast<std::size_t>(fmt)];
        const std::size_t begin = k == 0 ? 0 : text.ends[k - 1];
        if (text.ends[k] == begin) continue;
        if (!any) write_family_header(s, fmt, detail::fleet_family_meta(k));
        any = true;
        s.write(std::string_view(text.lines).substr(begin, text.ends[k] - begin));
      }
    }
  } else {
    const std::vector<detail::labelled_entry> entries = detail::with_labels(unique);
    for (std::size_t k = 0; k < detail::fleet_sample_families; ++k) {
      detail::write_fleet_family_lines(s, fmt, entries, k, options,
                                       [&] { write_family_header(s, fmt, detail::fleet_family_meta(k)); });
    }
  }
  detail::write_fleet_read_families(s, fmt, f);
}

/// format=prometheus as Prometheus text 0.0.4 (write_fleet_exposition).
template <std::output_iterator<char> Out>
Out format_fleet_prometheus(const fleet& f, Out out, const prometheus_options& options = {}) {
  return write_through(std::move(out), [&](auto& s) { write_fleet_exposition(s, f, exposition_format::prometheus, options); });
}

/// format=prometheus as OpenMetrics 1.0.0, `# EOF` included (write_fleet_exposition).
template <std::output_iterator<char> Out>
Out format_fleet_openmetrics(const fleet& f, Out out, const prometheus_options& options = {}) {
  return write_through(std::move(out), [&](auto& s) {
    write_fleet_exposition(s, f, exposition_format::openmetrics, options);
    s.write(openmetrics_eof);
  });
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

namespace detail {

// An upper bound of the bytes of a one-host fleet's v2 JSON and Prometheus answers, from
// the lengths of its strings: escaping at most sextuples a byte (a control character as
// \u00XX), a line's fixed parts take under 128 bytes, a JSON entry's under 2 KiB, and the
// family headers and the answer's own families under 16 KiB.
inline std::size_t answer_bytes_bound(const fleet_host& h, const prometheus_options& prom) noexcept {
  constexpr std::size_t lines_per_plugin = all_statuses.size() + 1 + fleet_sample_families;
  std::size_t n = 16384 + 6 * h.key.size();
  for (const auto& p : h.report.plugins) {
    const std::size_t labels = p.name.size() + p.plugin_name.size() + p.owner_name.size() + p.repo_name.size() +
                               p.status.size();
    const std::size_t urls =
        p.last_successful_run_job_url.size() + p.last_failed_run_job_url.size() + p.last_canceled_run_job_url.size();
    n += lines_per_plugin * (128 + 6 * labels) + (prom.job_url_label ? 6 * urls + 64 : 0);
    n += 2048 + 6 * (labels + urls);
  }
  return n;
}

// The exact bytes of a one-host fleet's v2 JSON and Prometheus answers, counted, not kept.
inline std::size_t answer_bytes(fleet_host& h, const prometheus_options& prom) {
  fleet one;
  one.hosts.resize(1);
  std::swap(one.hosts[0], h);
  std::size_t n = 0;
  format_fleet_json_v2(one, counting_iterator{&n});
  format_fleet_prometheus(one, counting_iterator{&n}, prom);
  std::swap(one.hosts[0], h);
  return n;
}

}  // namespace detail

/// The output bound of docs/reliability.md: skips (output_too_large) each host whose v2 JSON
/// and Prometheus text would together take more than opt.output_factor x its key and
/// value bytes + opt.output_per_host, so that no payload within the reader's limits (long
/// names of invalid UTF-8 repeated on every series, thousands of empty plugins) makes an
/// answer much larger than what was read. The hosts kept have their lines in the answers
/// `wanted` rendered (render_fleet_hosts): a host whose strings' lengths already bound its
/// answers below the limit is rendered straight away, any other is counted first and
/// rendered only when within it.
inline void bound_output(fleet& f, const fleet_read_options& opt, const prometheus_options& prom = {},
                         const fleet_lines& wanted = {}) {
  std::size_t used = 0;
  std::string scratch;
  for (std::size_t i = 0; i < f.hosts.size(); ++i) {
    fleet_host& h = f.hosts[i];
    // A cache rendered for these options was checked when its payload was first read.
    if (!detail::host_rendered_for(h, prom)) {
      const std::size_t allowed = opt.output_factor * (h.value_bytes + h.key.size()) + opt.output_per_host;
      if (detail::answer_bytes_bound(h, prom) > allowed) {
        if (const std::size_t n = detail::answer_bytes(h, prom); n > allowed) {
          f.value_bytes -= std::min(f.value_bytes, std::uint64_t{h.value_bytes});
          detail::note_skip(f, h.key, skip_reason::output_too_large,
                            "answers of " + std::to_string(n) + " bytes from " + std::to_string(h.value_bytes));
          continue;
        }
      }
    }
    if (!detail::host_lines_for(h, prom, wanted)) detail::render_host(h, prom, wanted, scratch);
    if (used != i) std::swap(f.hosts[used], f.hosts[i]);
    ++used;
  }
  f.hosts.resize(used);
}

}  // namespace anklet::metrics
