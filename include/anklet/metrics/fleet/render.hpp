// anklet::metrics fleet renderers: a fleet as Go's aggregator answers it.
// /metrics/v1?format=json is an object keyed by plugin name, /metrics/v2?format=json an
// array, and format=prometheus valid exposition 0.0.4 text; bound_output() leaves out a
// host whose answers would be out of proportion to what was read (docs/reliability.md).
// The families and fields follow the catalogue (core/catalogue.hpp).
#pragma once

#include <algorithm>
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

template <char_sink Sink, class Select, class Value>
void write_fleet_family(Sink& s, exposition_format fmt, const std::vector<labelled_entry>& entries,
                        const catalogue::family& meta, Select select, Value value) {
  bool any = false;
  const std::string_view suffix = sample_suffix(fmt, meta.name, meta.type);
  for (const auto& e : entries) {
    if (!select(e)) continue;
    if (!any) {
      write_family_header(s, fmt, meta);
      any = true;
    }
    s.write(meta.name);
    s.write(suffix);
    s.put('{');
    value(s, e);
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

}  // namespace detail

/// format=prometheus on both versions, in Prometheus text 0.0.4 or OpenMetrics (`fmt`;
/// without the closing `# EOF`, which comes after the aggregator's per-request families).
/// Per plugin (one per name and owner): plugin_status as a state set,
/// plugin_status_since and, for handlers, the three plugin_last_*_run in Unix seconds
/// (with a job_url label only when `options` ask for it: a label that changes per job
/// makes a series per job), and the four plugin_total_* counters (in OpenMetrics the run
/// counters with the latest run's exemplar), all labelled name, plugin, owner and (when
/// set) repo; then the 11 host_* values and last_update (Unix seconds) labelled name and
/// owner; then the aggregator's own families (anklet_metrics_aggregator_*).
template <char_sink Sink>
void write_fleet_exposition(Sink& s, const fleet& f, exposition_format fmt, const prometheus_options& options = {}) {
  using detail::write_fleet_family;
  const std::vector<detail::labelled_entry> entries = detail::with_labels(detail::unique_by_name_owner(f));
  const auto every = [](const detail::labelled_entry&) { return true; };
  const auto handlers = [](const detail::labelled_entry& l) { return !detail::reported_receiver(*l.e.plugin); };

  const auto& families = catalogue::plugin_families<reported_plugin>;
  if (!entries.empty()) {
    write_family_header(s, fmt, families[0].meta);
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
  const auto plugin_count = [fmt, &options](const catalogue::plugin_family<reported_plugin>& fam) {
    const bool exemplars = fmt == exposition_format::openmetrics && options.exemplars && fam.exemplar_url != nullptr;
    return [&fam, exemplars](auto& sink, const detail::labelled_entry& l) {
      const reported_plugin& p = *l.e.plugin;
      sink.write(l.plugin_labels);
      sink.write("} ");
      write_uint(sink, p.*fam.count);
      if (exemplars && p.*fam.count != 0) write_exemplar(sink, "job_url", p.*fam.exemplar_url, (p.*fam.exemplar_time).instant);
    };
  };
  for (std::size_t k = 1; k < families.size(); ++k) {
    const auto& fam = families[k];
    const auto write = [&](auto select) {
      if (fam.job_url != nullptr) {
        write_fleet_family(s, fmt, entries, fam.meta, select, run_time(fam.time, fam.job_url));
      } else if (fam.time != nullptr) {
        write_fleet_family(s, fmt, entries, fam.meta, select, plugin_time(fam.time));
      } else {
        write_fleet_family(s, fmt, entries, fam.meta, select, plugin_count(fam));
      }
    };
    if (fam.handlers_only) write(handlers);
    else write(every);
  }

  const auto host_value = [](auto member) {
    return [member](auto& sink, const detail::labelled_entry& l) {
      sink.write(l.host_labels);
      sink.write("} ");
      const auto v = l.e.host->report.host.*member;
      if constexpr (std::is_floating_point_v<decltype(v)>) write_prometheus_double(sink, v);
      else write_uint(sink, v);
    };
  };
  for (const auto& hf : catalogue::host_fields) {
    if (hf.count != nullptr) {
      write_fleet_family(s, fmt, entries, hf.meta, every, host_value(hf.count));
    } else {
      write_fleet_family(s, fmt, entries, hf.meta, every, host_value(hf.share));
    }
  }
  write_fleet_family(s, fmt, entries, catalogue::fleet_last_update, every,
                     [](auto& sink, const detail::labelled_entry& l) {
                       sink.write(l.host_labels);
                       const fleet_entry& e = l.e;
                       sink.write("} ");
                       write_int(sink, to_unix_seconds(e.host->report.last_update.instant));
                     });
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

}  // namespace anklet::metrics
