// Shared by tests/unit/test_testing.cpp and tests/fuzz/fuzz_exposition_roundtrip.cpp: renders
// a snapshot with format_prometheus, reads it back with the testing kit's reader and
// checks that every plugin's labels come back exactly as the store held them (after the
// renderer's one allowed change: bytes that are not UTF-8 become U+FFFD).
#pragma once

#include <cstdint>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include "anklet/metrics/render/prometheus.hpp"
#include "anklet/metrics/testing.hpp"

namespace roundtrip {

namespace am = anklet::metrics;
namespace amt = anklet::metrics::testing;

// An independent reference for the renderer's UTF-8 repair: decode each sequence to a
// code point and keep it only if it is the shortest form, not a surrogate and at most
// U+10FFFF; otherwise emit U+FFFD for the lead byte and go on with the next byte.
inline std::string repaired_utf8(std::string_view in) {
  std::string out;
  std::size_t i = 0;
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(in[k]); };
  while (i < in.size()) {
    const unsigned char b = byte(i);
    std::size_t len = 0;
    std::uint32_t cp = 0;
    std::uint32_t min = 0;
    if (b < 0x80) {
      out.push_back(static_cast<char>(b));
      ++i;
      continue;
    }
    if ((b & 0xE0) == 0xC0) {
      len = 2, cp = b & 0x1Fu, min = 0x80;
    } else if ((b & 0xF0) == 0xE0) {
      len = 3, cp = b & 0x0Fu, min = 0x800;
    } else if ((b & 0xF8) == 0xF0) {
      len = 4, cp = b & 0x07u, min = 0x10000;
    }
    bool ok = len != 0 && i + len <= in.size();
    for (std::size_t k = 1; ok && k < len; ++k) {
      ok = (byte(i + k) & 0xC0) == 0x80;
      cp = (cp << 6) | (byte(i + k) & 0x3Fu);
    }
    ok = ok && cp >= min && cp <= 0x10FFFF && (cp < 0xD800 || cp > 0xDFFF);
    if (ok) {
      out.append(in.substr(i, len));
      i += len;
    } else {
      out += "\xEF\xBF\xBD";
      ++i;
    }
  }
  return out;
}

inline std::vector<amt::label> plugin_labels(const am::plugin_metrics& p) {
  std::vector<amt::label> l{{"name", repaired_utf8(p.name)},
                            {"plugin", repaired_utf8(p.plugin_name)},
                            {"owner", repaired_utf8(p.owner_name)}};
  if (!p.repo_name.empty()) l.push_back({"repo", repaired_utf8(p.repo_name)});
  return l;
}

inline std::string show(const std::vector<amt::label>& labels) {
  amt::sample s;
  s.name = "labels";
  s.labels = labels;
  return amt::to_string(s);
}

// Empty when `text` reads back to exactly `snap`'s labels and values; else what differs.
inline std::string check_text(const am::metrics_snapshot& snap, std::string_view text,
                              const am::prometheus_options& options = {}) {
  amt::exposition e;
  amt::exposition_error error;
  if (!amt::read_exposition(text, e, {}, &error)) return "the reader rejected the renderer's output: " + error.to_string();

  const auto expect_family = [&](std::string_view family, const std::vector<std::vector<amt::label>>& labels,
                                 const std::vector<double>& values) -> std::string {
    const amt::metric_family* f = e.family(family);
    if (labels.empty()) return f == nullptr ? "" : std::string(family) + " present without plugins";
    if (f == nullptr) return std::string(family) + " missing";
    if (f->samples.size() != labels.size()) {
      return std::string(family) + ": " + std::to_string(f->samples.size()) + " samples, expected " +
             std::to_string(labels.size());
    }
    for (std::size_t i = 0; i < labels.size(); ++i) {
      if (f->samples[i].labels != labels[i]) {
        return std::string(family) + " sample " + std::to_string(i) + ": read " + amt::to_string(f->samples[i]) +
               ", expected " + show(labels[i]);
      }
      if (f->samples[i].value != values[i]) {
        return std::string(family) + " sample " + std::to_string(i) + ": value " + amt::to_string(f->samples[i]) +
               ", expected " + std::to_string(values[i]);
      }
    }
    return "";
  };

  std::vector<std::vector<amt::label>> status_labels, since_labels, run_labels[3], handler_labels;
  std::vector<double> status_values, since_values, run_values[3], total_values[4];
  for (const auto& p : snap.plugins) {
    const auto base = plugin_labels(p);
    for (const auto st : am::all_statuses) {
      auto l = base;
      l.push_back({"status", std::string(am::to_string(st))});
      status_labels.push_back(std::move(l));
      status_values.push_back(st == p.status ? 1 : 0);
    }
    since_labels.push_back(base);
    since_values.push_back(static_cast<double>(am::to_unix_seconds(p.status_since)));
    if (!p.is_handler()) continue;
    const std::string* urls[3] = {&p.last_successful_run_job_url, &p.last_failed_run_job_url,
                                  &p.last_canceled_run_job_url};
    const am::time_point times[3] = {p.last_successful_run, p.last_failed_run, p.last_canceled_run};
    for (int k = 0; k < 3; ++k) {
      auto l = base;
      if (options.job_url_label) l.push_back({"job_url", repaired_utf8(*urls[k])});
      run_labels[k].push_back(std::move(l));
      run_values[k].push_back(static_cast<double>(am::to_unix_seconds(times[k])));
    }
    handler_labels.push_back(base);
    total_values[0].push_back(static_cast<double>(p.total_ran_vms));
    total_values[1].push_back(static_cast<double>(p.total_successful_runs_since_start));
    total_values[2].push_back(static_cast<double>(p.total_failed_runs_since_start));
    total_values[3].push_back(static_cast<double>(p.total_canceled_runs_since_start));
  }
  std::string problem = expect_family("plugin_status", status_labels, status_values);
  if (problem.empty()) problem = expect_family("plugin_status_since", since_labels, since_values);
  const char* run_families[3] = {"plugin_last_successful_run", "plugin_last_failed_run", "plugin_last_canceled_run"};
  for (int k = 0; k < 3 && problem.empty(); ++k) problem = expect_family(run_families[k], run_labels[k], run_values[k]);
  const char* total_families[4] = {"plugin_total_ran_vms", "plugin_total_successful_runs_since_start",
                                   "plugin_total_failed_runs_since_start", "plugin_total_canceled_runs_since_start"};
  for (int k = 0; k < 4 && problem.empty(); ++k) {
    problem = expect_family(total_families[k], snap.solo_receiver() ? decltype(handler_labels){} : handler_labels,
                            total_values[k]);
  }
  return problem;
}

// Renders through format_prometheus (the iterator API), without and with the job_url
// label, and checks both results.
inline std::string check(const am::metrics_snapshot& snap) {
  for (const bool job_url_label : {false, true}) {
    const am::prometheus_options options{.job_url_label = job_url_label};
    std::string text;
    am::format_prometheus(snap, std::back_inserter(text), options);
    if (std::string problem = check_text(snap, text, options); !problem.empty()) {
      return (job_url_label ? "with job_url labels: " : "") + problem;
    }
  }
  return {};
}

}  // namespace roundtrip
