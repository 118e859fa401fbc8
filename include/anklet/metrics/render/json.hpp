// anklet::metrics JSON renderer: the metrics payload Go Anklet stores in Redis (its
// MetricsData marshalled by encoding/json), with Go's field names, key order, string
// escaping, number spelling and time form, so that Go's aggregator and ours read it alike. The output is
// valid JSON for any input bytes: invalid UTF-8 becomes U+FFFD as Go does.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <string>
#include <string_view>

#include "anklet/metrics/core/catalogue.hpp"
#include "anklet/metrics/core/model.hpp"
#include "anklet/metrics/render/escape.hpp"
#include "anklet/metrics/render/numbers.hpp"
#include "anklet/metrics/render/sink.hpp"
#include "anklet/metrics/render/time.hpp"

namespace anklet::metrics {

/// The Content-Type of format_json's output.
inline constexpr std::string_view json_content_type = "application/json";

/// Options of the JSON renderer.
struct json_options {
  /// Go marshals times with the zone they carry, local for time.Now(); `utc` makes
  /// output host-independent. Both read back to the same instants.
  time_zone zone = time_zone::local;
};

namespace detail {

// Each `key` argument below is the literal text before the value, punctuation
// included (`,"Status":`), so that a field costs one copy for its key. Keys are ours
// and need no escaping.
template <char_sink Sink>
void write_json_field(Sink& s, std::string_view key, std::uint64_t v) {
  s.write(key);
  write_uint(s, v);
}

template <char_sink Sink>
void write_json_field(Sink& s, std::string_view key, double v) {
  s.write(key);
  write_json_double(s, v);
}

template <char_sink Sink>
void write_json_field(Sink& s, std::string_view key, std::string_view v) {
  s.write(key);
  write_json_string(s, v);
}

// `sep` then `"key":`; catalogue keys need no escaping.
template <char_sink Sink>
void write_json_key(Sink& s, char sep, std::string_view key) {
  s.put(sep);
  s.put('"');
  s.write(key);
  s.write("\":");
}

// A time needs no escaping: only digits, '-', ':', '.', 'T', 'Z' and '+'.
template <char_sink Sink>
void write_json_time(Sink& s, std::string_view key, time_point t, time_zone zone) {
  s.write(key);
  s.put('"');
  write_rfc3339_nano(s, t, zone);
  s.put('"');
}

// Go Anklet writes its payload as json.Marshal of a map (it adds last_update to the
// unmarshalled struct), so every object's keys come in byte order. We write the same order,
// which makes our payload and Go's identical byte for byte.
template <char_sink Sink>
void write_json_plugin(Sink& s, const plugin_metrics& p, time_zone zone) {
  // Receivers too carry the handler fields (at their zero values): Anklet registers every
  // plugin as a full Plugin, and Go's aggregator asserts the type of each of the 16 fields,
  // so one missing field fails its answer for the whole fleet.
  write_json_time(s, R"({"LastCanceledRun":)", p.last_canceled_run, zone);
  write_json_field(s, R"(,"LastCanceledRunJobUrl":)", std::string_view(p.last_canceled_run_job_url));
  write_json_time(s, R"(,"LastFailedRun":)", p.last_failed_run, zone);
  write_json_field(s, R"(,"LastFailedRunJobUrl":)", std::string_view(p.last_failed_run_job_url));
  write_json_time(s, R"(,"LastSuccessfulRun":)", p.last_successful_run, zone);
  write_json_field(s, R"(,"LastSuccessfulRunJobUrl":)", std::string_view(p.last_successful_run_job_url));
  write_json_field(s, R"(,"Name":)", std::string_view(p.name));
  write_json_field(s, R"(,"OwnerName":)", std::string_view(p.owner_name));
  write_json_field(s, R"(,"PluginName":)", std::string_view(p.plugin_name));
  write_json_field(s, R"(,"RepoName":)", std::string_view(p.repo_name));
  write_json_field(s, R"(,"Status":)", to_string(p.status));
  write_json_time(s, R"(,"StatusSince":)", p.status_since, zone);
  write_json_field(s, R"(,"TotalCanceledRunsSinceStart":)", p.total_canceled_runs_since_start);
  write_json_field(s, R"(,"TotalFailedRunsSinceStart":)", p.total_failed_runs_since_start);
  write_json_field(s, R"(,"TotalRanVMs":)", p.total_ran_vms);
  write_json_field(s, R"(,"TotalSuccessfulRunsSinceStart":)", p.total_successful_runs_since_start);
  s.put('}');
}

}  // namespace detail

/// Writes the snapshot as Anklet's JSON payload (compact, no trailing newline) to a sink,
/// byte for byte as Go Anklet writes it: keys in byte order (the 11 host_* values,
/// last_update, `plugins` in registration order, the four totals), Go's string escaping,
/// float spelling and time form. Every plugin, receivers included, has all 16 of Go's
/// fields: Name, PluginName, RepoName, OwnerName, Status, StatusSince, the three job URLs,
/// the three last-run times and the four counters. Two differences, both read alike by
/// Go: no plugins is `[]` where Go writes null, and integers above 2^53 are exact where
/// Go rounds them through a float64.
template <char_sink Sink>
void write_json(Sink& s, const metrics_snapshot& m, const json_options& options = {}) {
  // Keys in byte order: the host figures, last_update, plugins, the totals.
  constexpr auto host_order = catalogue::payload_key_order(catalogue::host_fields);
  char sep = '{';
  for (const std::size_t i : host_order) {
    const auto& f = catalogue::host_fields[i];
    detail::write_json_key(s, sep, f.meta.payload_key);
    if (f.count != nullptr) write_uint(s, m.host.*f.count);
    else write_json_double(s, m.host.*f.share);
    sep = ',';
  }
  detail::write_json_time(s, R"(,"last_update":)", m.last_update, options.zone);
  s.write(R"(,"plugins":[)");
  bool first = true;
  for (const auto& p : m.plugins) {
    if (!first) s.put(',');
    first = false;
    detail::write_json_plugin(s, p, options.zone);
  }
  s.put(']');
  constexpr auto& totals = catalogue::process_totals<metrics_snapshot>;
  constexpr auto totals_order = catalogue::payload_key_order(totals);
  for (const std::size_t i : totals_order) {
    detail::write_json_key(s, ',', totals[i].meta.payload_key);
    write_uint(s, m.*totals[i].value);
  }
  s.put('}');
}

/// The same, written to the output iterator `out`; returns the iterator past the end.
template <std::output_iterator<char> Out>
Out format_json(const metrics_snapshot& m, Out out, const json_options& options = {}) {
  return write_through(std::move(out), [&](auto& s) { write_json(s, m, options); });
}

/// The JSON payload in a new string.
[[nodiscard]] inline std::string to_json(const metrics_snapshot& m, const json_options& options = {}) {
  std::string out;
  out.reserve(512 + m.plugins.size() * 768);
  format_json(m, std::back_inserter(out), options);
  return out;
}

}  // namespace anklet::metrics
