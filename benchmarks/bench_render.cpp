// Rendering throughput: our Prometheus renderer against peers in the same run: memcpy of
// the same bytes (the floor), an iostream renderer of the identical text (what a
// straightforward C++ exporter does) and, where Debian's prometheus-cpp-dev is installed,
// prometheus-cpp's Collect + Serialize of the same series. Goal at 1000 plugins: at least 5x the
// iostream renderer and within 4x of memcpy. The Anklet text and JSON renderers are
// measured too, for the record.
#include <benchmark/benchmark.h>

#include <cstring>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#if ANKLET_BENCH_PROMETHEUS_CPP
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>
#endif

#include "anklet/metrics/core/catalogue.hpp"
#include "anklet/metrics/render/anklet_text.hpp"
#include "anklet/metrics/render/json.hpp"
#include "anklet/metrics/render/openmetrics.hpp"
#include "anklet/metrics/render/prometheus.hpp"

namespace am = anklet::metrics;

namespace {

// A fleet-sized snapshot: mostly handlers with realistic names, URLs and counters.
am::metrics_snapshot make_snapshot(std::int64_t plugins) {
  am::metrics_snapshot m;
  m.last_update = am::time_point{std::chrono::seconds{1'700'000'000}};
  m.total_running_vms = 3;
  m.total_successful_runs_since_start = 12345;
  m.host = {8, 2, 25.5, 17179869184, 8589934592, 8589934592, 50, 500000000000, 250000000000, 250000000000, 50};
  for (std::int64_t i = 0; i < plugins; ++i) {
    am::plugin_metrics p;
    p.kind = i % 10 == 9 ? am::plugin_kind::receiver : am::plugin_kind::handler;
    p.name = "anklet-handler-" + std::to_string(i);
    p.plugin_name = p.is_handler() ? "github" : "github_receiver";
    p.owner_name = "veertuinc";
    p.repo_name = i % 2 ? "anklet" : "";
    p.status = am::all_statuses[static_cast<std::size_t>(i) % am::all_statuses.size()];
    p.status_since = am::time_point{std::chrono::seconds{1'700'000'000 + i}};
    // As a store's snapshot carries it: the identity's label set, made when it changed.
    p.label_text.assign(p.name, p.plugin_name, p.owner_name, p.repo_name);
    if (p.is_handler()) {
      p.last_successful_run = p.status_since;
      p.last_successful_run_job_url = "https://github.com/veertuinc/anklet/actions/runs/" + std::to_string(9000000 + i);
      p.total_ran_vms = static_cast<std::uint64_t>(i) * 3;
      p.total_successful_runs_since_start = static_cast<std::uint64_t>(i) * 2;
      p.total_failed_runs_since_start = static_cast<std::uint64_t>(i);
    }
    m.plugins.push_back(std::move(p));
  }
  return m;
}

// The same with the histograms a store gives its handlers (default buckets, a few runs each).
am::metrics_snapshot with_histograms(am::metrics_snapshot m) {
  m.job_duration_buckets.assign(am::default_job_duration_buckets.begin(), am::default_job_duration_buckets.end());
  m.pull_duration_buckets.assign(am::default_pull_duration_buckets.begin(), am::default_pull_duration_buckets.end());
  double seconds = 7;
  for (auto& p : m.plugins) {
    if (!p.is_handler()) continue;
    for (auto& h : p.job_durations) h.reset(m.job_duration_buckets.size());
    p.pull_durations.reset(m.pull_duration_buckets.size());
    for (int run = 0; run < 5; ++run, seconds = seconds * 1.7 > 30000 ? 7 : seconds * 1.7) {
      p.job_durations[static_cast<std::size_t>(run % 3)].observe(m.job_duration_buckets, seconds);
      p.pull_durations.observe(m.pull_duration_buckets, seconds / 10);
    }
  }
  return m;
}

// ---- the iostream peer: same text, written the way a plain C++ exporter would ----

struct family_header {
  std::string help;
  std::string type;
};

// HELP and TYPE lines are fixed text; the peer takes them from our output so that only the
// sample-writing code is compared.
std::map<std::string, family_header> headers_of(const std::string& text) {
  std::map<std::string, family_header> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("# HELP ", 0) == 0) {
      const auto sp = line.find(' ', 7);
      out[line.substr(7, sp - 7)].help = line.substr(sp + 1);
    } else if (line.rfind("# TYPE ", 0) == 0) {
      const auto sp = line.find(' ', 7);
      out[line.substr(7, sp - 7)].type = line.substr(sp + 1);
    }
  }
  return out;
}

void stream_escaped(std::ostream& os, const std::string& v) {
  for (const char c : v) {
    if (c == '\\') os << "\\\\";
    else if (c == '"') os << "\\\"";
    else if (c == '\n') os << "\\n";
    else os << c;
  }
}

void stream_labels(std::ostream& os, const am::plugin_metrics& p) {
  os << "name=\"";
  stream_escaped(os, p.name);
  os << "\",plugin=\"";
  stream_escaped(os, p.plugin_name);
  os << "\",owner=\"";
  stream_escaped(os, p.owner_name);
  os << '"';
  if (!p.repo_name.empty()) {
    os << ",repo=\"";
    stream_escaped(os, p.repo_name);
    os << '"';
  }
}

std::int64_t unix_seconds(am::time_point t) {
  return am::is_never(t) ? 0 : t.unix_seconds();
}

std::string iostream_render(const am::metrics_snapshot& m, const std::map<std::string, family_header>& headers) {
  std::ostringstream os;
  const auto header = [&](const std::string& name) {
    const auto& h = headers.at(name);
    os << "# HELP " << name << ' ' << h.help << '\n' << "# TYPE " << name << ' ' << h.type << '\n';
  };
  const auto scalar = [&](const std::string& name, auto v) {
    header(name);
    os << name << ' ' << v << '\n';
  };
  const bool solo = m.solo_receiver();
  if (!solo) {
    scalar("total_running_vms", m.total_running_vms);
    scalar("total_successful_runs_since_start", m.total_successful_runs_since_start);
    scalar("total_failed_runs_since_start", m.total_failed_runs_since_start);
    scalar("total_canceled_runs_since_start", m.total_canceled_runs_since_start);
  }
  header("plugin_status");
  for (const auto& p : m.plugins) {
    for (const auto s : am::all_statuses) {
      os << "plugin_status{";
      stream_labels(os, p);
      os << ",status=\"" << am::to_string(s) << "\"} " << (s == p.status ? 1 : 0) << '\n';
    }
  }
  // The default exposition has no job_url label (a label per job is a series per job).
  const auto family = [&](const std::string& name, bool handlers_only, auto value) {
    header(name);
    for (const auto& p : m.plugins) {
      if (handlers_only && !p.is_handler()) continue;
      os << name << '{';
      stream_labels(os, p);
      os << "} " << value(p) << '\n';
    }
  };
  family("plugin_status_since", false, [](auto& p) { return unix_seconds(p.status_since); });
  family("plugin_last_successful_run", true, [](auto& p) { return unix_seconds(p.last_successful_run); });
  family("plugin_last_failed_run", true, [](auto& p) { return unix_seconds(p.last_failed_run); });
  family("plugin_last_canceled_run", true, [](auto& p) { return unix_seconds(p.last_canceled_run); });
  if (!solo) {
    family("plugin_total_ran_vms", true, [](auto& p) { return p.total_ran_vms; });
    family("plugin_total_successful_runs_since_start", true, [](auto& p) { return p.total_successful_runs_since_start; });
    family("plugin_total_failed_runs_since_start", true, [](auto& p) { return p.total_failed_runs_since_start; });
    family("plugin_total_canceled_runs_since_start", true, [](auto& p) { return p.total_canceled_runs_since_start; });
  }
  for (const auto& f : am::catalogue::host_fields) {
    if (f.count != nullptr) scalar(std::string(f.meta.name), m.host.*f.count);
    else scalar(std::string(f.meta.name), m.host.*f.share);
  }
  return std::move(os).str();
}

// ---- benchmarks ----

// Our text (0.0.4 or OpenMetrics, with or without histograms) rendered into a reused
// fmt::memory_buffer, as a responder reuses one per connection; and its peer, memcpy of
// the same body.
template <bool OpenMetrics, bool Histograms>
void text_ours(benchmark::State& state) {
  const auto m = Histograms ? with_histograms(make_snapshot(state.range(0))) : make_snapshot(state.range(0));
  fmt::memory_buffer buf;
  for (auto _ : state) {
    buf.clear();
    if constexpr (OpenMetrics) am::format_openmetrics(m, std::back_inserter(buf));
    else am::format_prometheus(m, std::back_inserter(buf));
    benchmark::DoNotOptimize(buf.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * buf.size()));
  state.counters["body_bytes"] = static_cast<double>(buf.size());
}

template <bool OpenMetrics, bool Histograms>
void text_memcpy(benchmark::State& state) {
  const auto m = Histograms ? with_histograms(make_snapshot(state.range(0))) : make_snapshot(state.range(0));
  const std::string text = OpenMetrics ? am::to_openmetrics(m) : am::to_prometheus(m);
  std::vector<char> dst(text.size());
  for (auto _ : state) {
    std::memcpy(dst.data(), text.data(), text.size());
    benchmark::DoNotOptimize(dst.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * text.size()));
}

void prometheus_iostream(benchmark::State& state) {
  const auto m = make_snapshot(state.range(0));
  const std::string ours = am::to_prometheus(m);
  const auto headers = headers_of(ours);
  if (iostream_render(m, headers) != ours) {
    state.SkipWithError("the iostream peer does not produce the same text; the comparison would be unfair");
    return;
  }
  std::size_t bytes = 0;
  for (auto _ : state) {
    const auto text = iostream_render(m, headers);
    bytes = text.size();
    benchmark::DoNotOptimize(text.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes));
}

#if ANKLET_BENCH_PROMETHEUS_CPP
// prometheus-cpp (Debian's prometheus-cpp-dev): a registry holding the same families, series
// and values as our text; what a scrape costs it is Collect() and Serialize(). Its values are
// set once, outside the loop, so only the scrape is compared with our render of a snapshot.
class prometheus_cpp_peer {
 public:
  explicit prometheus_cpp_peer(const am::metrics_snapshot& m) : registry_(std::make_shared<prometheus::Registry>()) {
    const bool solo = m.solo_receiver();
    const auto gauge = [&](std::string_view name, std::string_view help) -> prometheus::Family<prometheus::Gauge>& {
      return prometheus::BuildGauge().Name(std::string(name)).Help(std::string(help)).Register(*registry_);
    };
    const auto counter = [&](std::string_view name, std::string_view help) -> prometheus::Family<prometheus::Counter>& {
      return prometheus::BuildCounter().Name(std::string(name)).Help(std::string(help)).Register(*registry_);
    };
    if (!solo) {
      for (const auto& t : am::catalogue::process_totals<am::metrics_snapshot>) {
        const auto v = static_cast<double>(m.*t.value);
        if (t.meta.type == am::catalogue::family_type::counter) counter(t.meta.name, t.meta.help).Add({}).Increment(v);
        else gauge(t.meta.name, t.meta.help).Add({}).Set(v);
      }
    }
    const auto labels = [](const am::plugin_metrics& p) {
      std::map<std::string, std::string> l{{"name", p.name}, {"plugin", p.plugin_name}, {"owner", p.owner_name}};
      if (!p.repo_name.empty()) l["repo"] = p.repo_name;
      return l;
    };
    const auto& families = am::catalogue::plugin_families<am::plugin_metrics>;
    auto& status = gauge(families[0].meta.name, families[0].meta.help);
    for (const auto& p : m.plugins) {
      for (const auto s : am::all_statuses) {
        auto l = labels(p);
        l["status"] = std::string(am::to_string(s));
        status.Add(l).Set(s == p.status ? 1 : 0);
      }
    }
    for (std::size_t k = 1; k < families.size(); ++k) {
      const auto& f = families[k];
      if (f.run_total && solo) continue;
      if (f.meta.type == am::catalogue::family_type::counter) {
        auto& fam = counter(f.meta.name, f.meta.help);
        for (const auto& p : m.plugins) {
          if (f.handlers_only && !p.is_handler()) continue;
          fam.Add(labels(p)).Increment(static_cast<double>(p.*f.count));
        }
      } else {
        auto& fam = gauge(f.meta.name, f.meta.help);
        for (const auto& p : m.plugins) {
          if (f.handlers_only && !p.is_handler()) continue;
          fam.Add(labels(p)).Set(static_cast<double>(unix_seconds(p.*f.time)));
        }
      }
    }
    for (const auto& f : am::catalogue::host_fields) {
      gauge(f.meta.name, f.meta.help).Add({}).Set(f.count != nullptr ? static_cast<double>(m.host.*f.count) : m.host.*f.share);
    }
  }
  [[nodiscard]] std::string scrape() const { return prometheus::TextSerializer().Serialize(registry_->Collect()); }

 private:
  std::shared_ptr<prometheus::Registry> registry_;
};

void prometheus_cpp(benchmark::State& state) {
  const auto m = make_snapshot(state.range(0));
  const prometheus_cpp_peer peer(m);
  // The same samples: one per line of ours that is not a comment.
  const auto samples = [](const std::string& text) {
    std::size_t n = 0;
    for (std::size_t pos = 0; pos < text.size();) {
      const auto nl = text.find('\n', pos);
      if (text[pos] != '#') ++n;
      pos = nl == std::string::npos ? text.size() : nl + 1;
    }
    return n;
  };
  if (samples(peer.scrape()) != samples(am::to_prometheus(m))) {
    state.SkipWithError("prometheus-cpp holds other series than ours; the comparison would be unfair");
    return;
  }
  std::size_t bytes = 0;
  for (auto _ : state) {
    const auto text = peer.scrape();
    bytes = text.size();
    benchmark::DoNotOptimize(text.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes));
}
#endif

void anklet_text_ours(benchmark::State& state) {
  const auto m = make_snapshot(state.range(0));
  fmt::memory_buffer buf;
  for (auto _ : state) {
    buf.clear();
    am::format_anklet_text(m, std::back_inserter(buf), {am::time_zone::utc});
    benchmark::DoNotOptimize(buf.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * buf.size()));
}

void json_ours(benchmark::State& state) {
  const auto m = make_snapshot(state.range(0));
  fmt::memory_buffer buf;
  for (auto _ : state) {
    buf.clear();
    am::format_json(m, std::back_inserter(buf), {am::time_zone::utc});
    benchmark::DoNotOptimize(buf.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * buf.size()));
}

}  // namespace

BENCHMARK_TEMPLATE(text_ours, false, false)->Name("prometheus_ours")->Arg(2)->Arg(100)->Arg(1000)->Arg(10000);
BENCHMARK_TEMPLATE(text_memcpy, false, false)->Name("prometheus_memcpy")->Arg(2)->Arg(100)->Arg(1000)->Arg(10000);
BENCHMARK(prometheus_iostream)->Arg(2)->Arg(100)->Arg(1000)->Arg(10000);
#if ANKLET_BENCH_PROMETHEUS_CPP
BENCHMARK(prometheus_cpp)->Arg(2)->Arg(100)->Arg(1000)->Arg(10000);
#endif
BENCHMARK_TEMPLATE(text_ours, true, false)->Name("openmetrics_ours")->Arg(1000);
BENCHMARK_TEMPLATE(text_memcpy, true, false)->Name("openmetrics_memcpy")->Arg(1000);
BENCHMARK_TEMPLATE(text_ours, false, true)->Name("histograms_ours")->Arg(1000);
BENCHMARK_TEMPLATE(text_memcpy, false, true)->Name("histograms_memcpy")->Arg(1000);
BENCHMARK(anklet_text_ours)->Arg(2)->Arg(1000);
BENCHMARK(json_ours)->Arg(2)->Arg(1000);

BENCHMARK_MAIN();
