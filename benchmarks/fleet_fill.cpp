// Fills a Redis with the benchmark fleet (benchmarks/fleet_fixture.hpp): N host keys of
// about 2 KB under anklet/metrics/, as Go Anklet hosts write them, for
// benchmarks/http_bench.sh's aggregator rows.
// Usage: fleet_fill REDIS_URL HOSTS
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

#include "anklet/metrics/redis/client.hpp"
#include "anklet/metrics/redis/keys.hpp"
#include "anklet/metrics/render/json.hpp"
#include "fleet_fixture.hpp"

namespace am = anklet::metrics;

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: fleet_fill REDIS_URL HOSTS\n");
    return 2;
  }
  try {
    auto c = am::redis::client::from_url(argv[1]);
    if (!c) throw std::runtime_error(c.error().to_string());
    const auto hosts = std::strtoul(argv[2], nullptr, 10);
    const auto url_len = bench_fleet::padding_for_2kb();
    am::redis::pipeline p;
    for (std::size_t i = 0; i < hosts; ++i) {
      const auto snap = bench_fleet::host_snapshot(i, url_len);
      p.add("SET", am::redis::metrics_key(snap), am::to_json(snap), "EX", 604800);
      if (p.size() == 1000 || i + 1 == hosts) {
        if (auto r = c.value().execute(p); !r) throw std::runtime_error(r.error().to_string());
        p.clear();
      }
    }
    std::printf("%lu hosts written\n", hosts);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fleet_fill: %s\n", e.what());
    return 1;
  }
}
