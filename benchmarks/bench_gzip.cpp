// gzip's cost and gain on the bodies the programs serve, against rendering the same body
// in the same run (the peer: what a cache miss costs already). For each zlib level the
// time is a ratio to the render, and the counter `ratio` is plain bytes over compressed
// bytes. Bodies: the exporter's format=prometheus with 2 and 1000 plugins as
// benchmarks/http_bench.sh serves them (plugins given with --handler: idle, zero counters),
// and the aggregator's v1 prometheus and v2 json answers for 10,000 hosts of about 2 KB
// each (benchmarks/fleet_fixture.hpp). The level the library uses by default comes from
// these figures (docs/performance-http.md).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <functional>
#include <stdexcept>
#include <iterator>
#include <string>
#include <vector>

#include "anklet/metrics/fleet/read.hpp"
#include "anklet/metrics/fleet/render.hpp"
// Before store.hpp: refresh_host_metrics(Store& store, ...) shadows the alias under -Wshadow.
#include "anklet/metrics/host/source.hpp"
#include "anklet/metrics/http/gzip.hpp"
#include "anklet/metrics/redis/keys.hpp"
#include "anklet/metrics/render/prometheus.hpp"
#include "anklet/metrics/store.hpp"
#include "fleet_fixture.hpp"

namespace am = anklet::metrics;

namespace {

// The exporter of http_bench.sh: N handlers registered from the command line.
am::metrics_snapshot exporter_snapshot(int plugins) {
  am::store_st st;
  for (int i = 1; i <= plugins; ++i) st.add_handler({"bench-handler-" + std::to_string(i), "github", "bench-org", "bench-repo"});
  am::host_metrics hm;
  hm.cpu_count = 2;
  hm.memory_total_bytes = 25275486208;
  st.set_host_metrics(hm);
  return st.snapshot();
}

// The fleet as a read of Redis leaves it: hosts sorted by key, their lines rendered.
am::fleet make_fleet(std::size_t hosts) {
  am::fleet f;
  const auto url_len = bench_fleet::padding_for_2kb();
  for (std::size_t i = 0; i < hosts; ++i) {
    const auto snap = bench_fleet::host_snapshot(i, url_len);
    if (!am::add_host(f, am::redis::metrics_key(snap), am::to_json(snap))) throw std::runtime_error("host left out");
  }
  std::sort(f.hosts.begin(), f.hosts.end(), [](const auto& a, const auto& b) { return a.key < b.key; });
  f.keys_seen = hosts;
  am::bound_output(f, {});
  return f;
}

using render_fn = std::function<void(fmt::memory_buffer&)>;

void render(benchmark::State& state, const render_fn& fn) {
  fmt::memory_buffer out;
  for (auto _ : state) {
    out.clear();
    fn(out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * out.size()));
  state.counters["body_KB"] = static_cast<double>(out.size()) / 1e3;
}

void compress(benchmark::State& state, const render_fn& fn, int level) {
  fmt::memory_buffer plain;
  fn(plain);
  const am::http::zlib_gzip_compressor gzip({.level = level, .min_bytes = 0});
  fmt::memory_buffer out;
  for (auto _ : state) {
    out.clear();
    gzip.compress(std::string_view(plain.data(), plain.size()), out, false);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * plain.size()));
  state.counters["body_KB"] = static_cast<double>(plain.size()) / 1e3;
  state.counters["gzip_KB"] = static_cast<double>(out.size()) / 1e3;
  state.counters["ratio"] = static_cast<double>(plain.size()) / static_cast<double>(out.size());
}

}  // namespace

int main(int argc, char** argv) {
  const auto two = exporter_snapshot(2);
  const auto thousand = exporter_snapshot(1000);
  const auto fleet = make_fleet(10000);
  const std::vector<std::pair<std::string, render_fn>> bodies{
      {"exporter_2", [&](fmt::memory_buffer& out) { am::format_prometheus(two, std::back_inserter(out)); }},
      {"exporter_1000", [&](fmt::memory_buffer& out) { am::format_prometheus(thousand, std::back_inserter(out)); }},
      {"fleet_10000_prometheus",
       [&](fmt::memory_buffer& out) { am::format_fleet_prometheus(fleet, std::back_inserter(out)); }},
      {"fleet_10000_json_v2", [&](fmt::memory_buffer& out) { am::format_fleet_json_v2(fleet, std::back_inserter(out)); }},
  };
  for (const auto& [name, fn] : bodies) {
    const auto* f = &fn;
    benchmark::RegisterBenchmark(("render/" + name).c_str(), [f](benchmark::State& s) { render(s, *f); })
        ->Unit(benchmark::kMicrosecond);
    for (const int level : {1, 3, 6, 9}) {
      benchmark::RegisterBenchmark(("gzip_l" + std::to_string(level) + "/" + name).c_str(),
                                   [f, level](benchmark::State& s) { compress(s, *f, level); })
          ->Unit(benchmark::kMicrosecond);
    }
  }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
