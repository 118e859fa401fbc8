// The fleet the benchmarks aggregate: hosts of two handlers each, every run counted and
// its job URL padded with varying digits so that a host's payload is about 2 KB, as Go
// Anklet's with long repository names are. Shared by bench_redis (read from Redis), bench_gzip (compressed)
// and fleet_fill (Redis filled for benchmarks/http_bench.sh).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "anklet/metrics/core/model.hpp"
// Before store.hpp: refresh_host_metrics(Store& store, ...) shadows the alias under -Wshadow.
#include "anklet/metrics/host/source.hpp"
#include "anklet/metrics/render/json.hpp"
#include "anklet/metrics/store.hpp"

namespace bench_fleet {

namespace am = anklet::metrics;

// `n` digits that differ from host to host, as run and job numbers do (a run of one digit
// would make the fleet compress far better than a real one).
inline std::string digits(std::size_t host, std::size_t n) {
  std::string out(n, '0');
  std::uint64_t x = 0x9E3779B97F4A7C15ULL * (host + 1);
  for (auto& c : out) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    c = static_cast<char>('0' + (x >> 60) % 10);
  }
  return out;
}

/// Host `i` of the fleet, its job URLs `url_len` characters longer than the bare ones.
inline am::metrics_snapshot host_snapshot(std::size_t i, std::size_t url_len) {
  am::store_st st;
  const std::string n = std::to_string(i);
  auto h1 = st.add_handler({"host-" + n + "-handler-1", "github", "veertuinc", "anklet"});
  auto h2 = st.add_handler({"host-" + n + "-handler-2", "github", "veertuinc", ""});
  const std::string url = "https://github.com/veertuinc/anklet/actions/runs/" + digits(i, url_len);
  h1.finish_run(am::run_outcome::successful, url + "1");
  h1.finish_run(am::run_outcome::failed, url + "2");
  h1.finish_run(am::run_outcome::canceled, url + "3");
  h2.finish_run(am::run_outcome::successful, url + "4");
  h2.finish_run(am::run_outcome::failed, url + "5");
  h2.finish_run(am::run_outcome::canceled, url + "6");
  h1.set_status(am::plugin_status::in_progress);
  am::host_metrics hm;
  hm.cpu_count = 12;
  hm.cpu_used_count = 3;
  hm.cpu_usage_percentage = 27.4378179763971;
  hm.memory_total_bytes = 38654705664;
  hm.memory_used_bytes = 29228433408;
  hm.memory_available_bytes = 9426272256;
  hm.memory_usage_percentage = 75.6141662597656;
  hm.disk_total_bytes = 994662584320;
  hm.disk_used_bytes = 623747604480;
  hm.disk_available_bytes = 370914979840;
  hm.disk_usage_percentage = 62.7094669401307;
  st.set_host_metrics(hm);
  return st.snapshot();
}

/// The URL padding that makes a host's payload about 2 KB.
inline std::size_t padding_for_2kb() {
  std::size_t url_len = 0;
  while (am::to_json(host_snapshot(0, url_len)).size() < 2048) url_len += 8;
  return url_len;
}

}  // namespace bench_fleet
