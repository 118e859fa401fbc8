// Redis export and fleet aggregation, each against its peer in the same run, over a
// redis-server this program starts on a free loopback port (stopped by PID at exit).
//
//  - export: one `SET key json EX 604800` of a 2-plugin payload, our client against hiredis
//    (goal: at most 1.1x hiredis);
//  - fleet read of 10,000 host keys of about 2 KB: ours (SCAN COUNT 10000, pipelined MGET)
//    against Go Anklet's method (SCAN COUNT 10, then one GET per key; run with our client)
//    and against hiredis doing SCAN + pipelined MGET (goals: >= 20x faster than Go's
//    method, within 1.5x of hiredis);
//  - the full aggregation pass (read, parse every payload, render Prometheus), with its
//    parts as counters (goal: under 100 ms);
//  - the same fleet read from a 3-master Redis Cluster against one node (goal: within 1.3x),
//    and one SET round trip over TLS against plain TCP on the same server (recorded), both
//    interleaved; the cluster and the TLS server are started only when these run.
// Run: build/benchmarks/bench_redis, or benchmarks/ratios.py with the rules in
// docs/performance-redis.md.
#include <benchmark/benchmark.h>
#include <hiredis/hiredis.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <iterator>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "../tests/support/redis_cluster.hpp"
#include "../tests/support/redis_test_server.hpp"
#include "fleet_fixture.hpp"
#include "anklet/metrics/fleet/aggregator.hpp"
#include "anklet/metrics/redis/client.hpp"
#include "anklet/metrics/redis/cluster.hpp"
#include "anklet/metrics/render/json.hpp"
#if ANKLET_METRICS_TLS
#include "anklet/metrics/redis/tls.hpp"
#endif
#include "anklet/metrics/redis/writer.hpp"
#include "anklet/metrics/store.hpp"

namespace am = anklet::metrics;

namespace {

constexpr std::size_t fleet_size = 10000;
constexpr std::size_t hiredis_mget_batch = 1000;

anklet_test::redis_server* g_server = nullptr;
std::string g_export_payload;

using bench_fleet::host_snapshot;

// Fills Redis with the fleet: 2-plugin payloads padded through their job URLs to ~2 KB.
void populate() {
  auto c = am::redis::client::from_url(g_server->url()).value();
  const std::size_t url_len = bench_fleet::padding_for_2kb();
  g_export_payload = am::to_json(host_snapshot(0, url_len));
  am::redis::pipeline p;
  for (std::size_t i = 0; i < fleet_size; ++i) {
    const auto snap = host_snapshot(i, url_len);
    p.add("SET", am::redis::metrics_key(snap), am::to_json(snap), "EX", 604800);
    if (p.size() == 1000) {
      if (!c.execute(p)) throw std::runtime_error("populate failed");
      p.clear();
    }
  }
  if (!p.empty() && !c.execute(p)) throw std::runtime_error("populate failed");
  std::fprintf(stderr, "fleet: %zu keys, payload %zu bytes\n", fleet_size, g_export_payload.size());
}

am::redis::client our_client() { return am::redis::client::from_url(g_server->url()).value(); }

struct hiredis_deleter {
  void operator()(redisContext* c) const noexcept { redisFree(c); }
};
using hiredis_ptr = std::unique_ptr<redisContext, hiredis_deleter>;

hiredis_ptr hiredis_client() {
  hiredis_ptr c(redisConnect("127.0.0.1", g_server->port()));
  if (!c || c->err) throw std::runtime_error("hiredis connect failed");
  return c;
}

struct reply_deleter {
  void operator()(redisReply* r) const noexcept { freeReplyObject(r); }
};
using reply_ptr = std::unique_ptr<redisReply, reply_deleter>;

// ---- one export -----------------------------------------------------------------------

void export_set_ours(benchmark::State& state) {
  auto c = our_client();
  for (auto _ : state) {
    auto r = c.set("bench/export", g_export_payload, std::chrono::seconds(604800));
    if (!r) state.SkipWithError(r.error().to_string().c_str());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * g_export_payload.size()));
}

void export_set_hiredis(benchmark::State& state) {
  auto c = hiredis_client();
  for (auto _ : state) {
    reply_ptr r(static_cast<redisReply*>(redisCommand(c.get(), "SET %s %b EX %d", "bench/export",
                                                      g_export_payload.data(), g_export_payload.size(), 604800)));
    if (!r || r->type != REDIS_REPLY_STATUS) state.SkipWithError("hiredis SET failed");
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * g_export_payload.size()));
}

void export_interleaved(benchmark::State& state) {
  auto ours = our_client();
  auto theirs = hiredis_client();
  double t_ours = 0, t_hiredis = 0;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    if (!ours.set("bench/export", g_export_payload, std::chrono::seconds(604800))) return state.SkipWithError("SET");
    const auto t1 = std::chrono::steady_clock::now();
    reply_ptr r(static_cast<redisReply*>(redisCommand(theirs.get(), "SET %s %b EX %d", "bench/export",
                                                      g_export_payload.data(), g_export_payload.size(), 604800)));
    const auto t2 = std::chrono::steady_clock::now();
    if (!r || r->type != REDIS_REPLY_STATUS) return state.SkipWithError("hiredis SET failed");
    t_ours += std::chrono::duration<double, std::micro>(t1 - t0).count();
    t_hiredis += std::chrono::duration<double, std::micro>(t2 - t1).count();
  }
  const auto n = static_cast<double>(state.iterations());
  state.counters["ours_us"] = t_ours / n;
  state.counters["hiredis_us"] = t_hiredis / n;
  state.counters["ratio"] = t_ours / t_hiredis;
}

// The writer's whole export: snapshot to JSON, then the same SET.
void export_writer_with_json(benchmark::State& state) {
  am::redis::writer_options o;
  o.client.target = am::redis::parse_url(g_server->url()).value();
  o.key = "bench/export";
  am::redis::writer w(o);
  const auto snap = host_snapshot(0, 400);
  for (auto _ : state) {
    if (!w.write(snap)) state.SkipWithError("writer failed");
  }
}

// ---- fleet read -----------------------------------------------------------------------

// What read_fleet does without parsing: SCAN with a large COUNT, then pipelined MGET.
bool read_ours(am::redis::client& c) {
  const am::fleet_read_options opt;
  {
    std::vector<std::string> keys;
    std::uint64_t cursor = 0;
    do {
      auto page = c.scan(cursor, opt.match, opt.scan_count);
      if (!page) return false;
      cursor = page->cursor;
      for (auto& k : page->keys) keys.push_back(std::move(k));
    } while (cursor != 0);
    am::redis::pipeline p;
    for (std::size_t i = 0; i < keys.size(); i += opt.mget_batch) {
      const auto last = std::min(keys.size(), i + opt.mget_batch);
      p.add("MGET", std::vector<std::string_view>(keys.begin() + static_cast<std::ptrdiff_t>(i),
                                                  keys.begin() + static_cast<std::ptrdiff_t>(last)));
    }
    std::size_t values = 0;
    std::size_t bytes = 0;
    auto r = c.execute(p, [&](std::size_t, am::redis::reply&& rep) {
      for (const auto& e : rep.elements) {
        ++values;
        bytes += e.str.size();
      }
    });
    benchmark::DoNotOptimize(bytes);
    return r && values == fleet_size;
  }
}

void fleet_read_ours(benchmark::State& state) {
  auto c = our_client();
  for (auto _ : state) {
    if (!read_ours(c)) return state.SkipWithError("ours: incomplete read");
  }
  state.counters["keys"] = static_cast<double>(fleet_size);
}

// Go Anklet's aggregator: SCAN COUNT 10, then one GET per key, with our client.
void fleet_read_go_method(benchmark::State& state) {
  auto c = our_client();
  for (auto _ : state) {
    std::size_t values = 0;
    std::size_t bytes = 0;
    std::uint64_t cursor = 0;
    do {
      auto page = c.scan(cursor, "anklet/metrics/*", 10);
      if (!page) return state.SkipWithError(page.error().to_string().c_str());
      cursor = page->cursor;
      for (const auto& k : page->keys) {
        auto v = c.get(k);
        if (!v || !v->has_value()) return state.SkipWithError("GET failed");
        ++values;
        bytes += (*v)->size();
      }
    } while (cursor != 0);
    if (values != fleet_size) return state.SkipWithError("go method: incomplete read");
    benchmark::DoNotOptimize(bytes);
  }
  state.counters["keys"] = static_cast<double>(fleet_size);
}

// hiredis: SCAN COUNT 10000, then MGET batches appended and read as one pipeline.
bool read_hiredis(redisContext* c) {
  {
    std::vector<std::string> keys;
    std::string cursor = "0";
    do {
      reply_ptr r(static_cast<redisReply*>(
          redisCommand(c, "SCAN %s MATCH %s COUNT %d", cursor.c_str(), "anklet/metrics/*", 10000)));
      if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2) return false;
      cursor.assign(r->element[0]->str, r->element[0]->len);
      const redisReply* arr = r->element[1];
      for (std::size_t i = 0; i < arr->elements; ++i) keys.emplace_back(arr->element[i]->str, arr->element[i]->len);
    } while (cursor != "0");
    std::vector<const char*> argv;
    std::vector<std::size_t> argl;
    std::size_t batches = 0;
    for (std::size_t i = 0; i < keys.size(); i += hiredis_mget_batch) {
      const auto last = std::min(keys.size(), i + hiredis_mget_batch);
      argv.assign(1, "MGET");
      argl.assign(1, 4);
      for (std::size_t k = i; k < last; ++k) {
        argv.push_back(keys[k].data());
        argl.push_back(keys[k].size());
      }
      redisAppendCommandArgv(c, static_cast<int>(argv.size()), argv.data(), argl.data());
      ++batches;
    }
    std::size_t values = 0;
    std::size_t bytes = 0;
    for (std::size_t b = 0; b < batches; ++b) {
      void* raw = nullptr;
      if (redisGetReply(c, &raw) != REDIS_OK) return false;
      reply_ptr r(static_cast<redisReply*>(raw));
      for (std::size_t i = 0; i < r->elements; ++i) {
        ++values;
        bytes += r->element[i]->len;
      }
    }
    benchmark::DoNotOptimize(bytes);
    return values == fleet_size;
  }
}

void fleet_read_hiredis(benchmark::State& state) {
  auto c = hiredis_client();
  for (auto _ : state) {
    if (!read_hiredis(c.get())) return state.SkipWithError("hiredis: incomplete read");
  }
  state.counters["keys"] = static_cast<double>(fleet_size);
}

// On a shared machine the load changes from one benchmark to the next; alternating the
// peers inside one loop gives both the same conditions. Counters: mean ms each, and ratio.
void fleet_read_interleaved(benchmark::State& state) {
  auto ours = our_client();
  auto theirs = hiredis_client();
  double t_ours = 0, t_hiredis = 0;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    if (!read_ours(ours)) return state.SkipWithError("ours: incomplete read");
    const auto t1 = std::chrono::steady_clock::now();
    if (!read_hiredis(theirs.get())) return state.SkipWithError("hiredis: incomplete read");
    const auto t2 = std::chrono::steady_clock::now();
    t_ours += std::chrono::duration<double, std::milli>(t1 - t0).count();
    t_hiredis += std::chrono::duration<double, std::milli>(t2 - t1).count();
  }
  const auto n = static_cast<double>(state.iterations());
  state.counters["ours_ms"] = t_ours / n;
  state.counters["hiredis_ms"] = t_hiredis / n;
  state.counters["ratio"] = t_ours / t_hiredis;
}

// ---- the full pass ---------------------------------------------------------------------

void full_pass_prometheus(benchmark::State& state) {
  auto c = our_client();
  am::fleet f;
  std::string body;
  double scan = 0, fetch = 0, parse = 0, render = 0;
  for (auto _ : state) {
    if (auto r = am::read_fleet(c, f); !r) return state.SkipWithError(r.error().to_string().c_str());
    const auto t0 = std::chrono::steady_clock::now();
    body.clear();
    am::format_fleet_prometheus(f, std::back_inserter(body));
    const auto t1 = std::chrono::steady_clock::now();
    if (f.hosts.size() != fleet_size) return state.SkipWithError("full pass: hosts missing");
    scan += std::chrono::duration<double, std::milli>(f.scan_time).count();
    fetch += std::chrono::duration<double, std::milli>(f.fetch_time - f.parse_time).count();
    parse += std::chrono::duration<double, std::milli>(f.parse_time).count();
    render += std::chrono::duration<double, std::milli>(t1 - t0).count();
  }
  const auto n = static_cast<double>(state.iterations());
  state.counters["scan_ms"] = scan / n;
  state.counters["mget_ms"] = fetch / n;
  state.counters["parse_ms"] = parse / n;
  state.counters["render_ms"] = render / n;
  state.counters["body_MB"] = static_cast<double>(body.size()) / 1e6;
}

// The payload reader alone over the fleet's payloads, from memory.
void parse_fleet_payloads(benchmark::State& state) {
  auto c = our_client();
  auto keys = c.scan_all("anklet/metrics/*", 10000).value();
  std::vector<std::string> payloads;
  for (std::size_t i = 0; i < keys.size(); i += 1000) {
    std::vector<std::string_view> batch(keys.begin() + static_cast<std::ptrdiff_t>(i),
                                        keys.begin() + static_cast<std::ptrdiff_t>(std::min(keys.size(), i + 1000)));
    auto values = c.mget(batch);
    if (!values) return state.SkipWithError(values.error().to_string().c_str());
    std::vector<std::optional<std::string>>& got = *values;
    for (auto& v : got) {
      if (v) payloads.push_back(std::move(*v));
    }
  }
  std::size_t bytes = 0;
  for (const auto& p : payloads) bytes += p.size();
  am::host_report r;
  for (auto _ : state) {
    for (const auto& p : payloads) {
      if (!am::read_payload(p, r)) return state.SkipWithError("parse failed");
    }
    benchmark::DoNotOptimize(r);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes));
}

// The same payloads through nlohmann::json (DOM parse only, no extraction into a report):
// the alternative the issue names for reading payloads.
void parse_fleet_payloads_nlohmann(benchmark::State& state) {
  auto c = our_client();
  auto keys = c.scan_all("anklet/metrics/*", 10000).value();
  std::vector<std::string> payloads;
  for (std::size_t i = 0; i < keys.size(); i += 1000) {
    std::vector<std::string_view> batch(keys.begin() + static_cast<std::ptrdiff_t>(i),
                                        keys.begin() + static_cast<std::ptrdiff_t>(std::min(keys.size(), i + 1000)));
    auto values = c.mget(batch);
    if (!values) return state.SkipWithError(values.error().to_string().c_str());
    std::vector<std::optional<std::string>>& got = *values;
    for (auto& v : got) {
      if (v) payloads.push_back(std::move(*v));
    }
  }
  std::size_t bytes = 0;
  for (const auto& p : payloads) bytes += p.size();
  for (auto _ : state) {
    for (const auto& p : payloads) {
      auto doc = nlohmann::json::parse(p, nullptr, false);
      if (doc.is_discarded()) return state.SkipWithError("parse failed");
      benchmark::DoNotOptimize(doc);
    }
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes));
}

// Rendering alone, from a fleet read once.
void render_prometheus_only(benchmark::State& state) {
  auto c = our_client();
  am::fleet f;
  if (auto r = am::read_fleet(c, f); !r) return state.SkipWithError(r.error().to_string().c_str());
  std::string body;
  for (auto _ : state) {
    body.clear();
    am::format_fleet_prometheus(f, std::back_inserter(body));
    benchmark::DoNotOptimize(body.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * body.size()));
}

void full_pass_json_v2(benchmark::State& state) {
  auto c = our_client();
  am::fleet f;
  std::string body;
  for (auto _ : state) {
    if (auto r = am::read_fleet(c, f); !r) return state.SkipWithError(r.error().to_string().c_str());
    body.clear();
    am::format_fleet_json_v2(f, std::back_inserter(body));
  }
  state.counters["body_MB"] = static_cast<double>(body.size()) / 1e6;
}

// The aggregator's pass as its background reader makes it: read_fleet (with the last read as
// `earlier`), bound_output (which renders each new payload's lines), then the Prometheus
// answer; interleaved with hiredis' SCAN + pipelined MGET. First argument 1: the fleet did
// not change since the last read (the steady state: hosts write every 10 s); 0: every
// payload is new (no earlier read, only the storage of the pass before), the worst case.
// Second argument 0: each host's lines in every answer are rendered (an aggregator scraped
// in every format); 1: only its Prometheus text lines (one scraped by Prometheus in text
// 0.0.4 only).
void aggregator_pass_interleaved(benchmark::State& state) {
  const bool unchanged = state.range(0) != 0;
  const am::fleet_lines wanted = state.range(1) != 0 ? am::fleet_lines{false, {true, false}} : am::fleet_lines{};
  auto ours = our_client();
  auto theirs = hiredis_client();
  const am::fleet_read_options opt;
  am::fleet last;
  am::fleet next;
  fmt::memory_buffer body;  // as the background reader renders: a reused buffer, never zero-filled
  // One pass before the timed ones: the background reader reads into the storage of a read
  // before and renders into the buffer of an answer before.
  am::fleet& first = unchanged ? last : next;
  if (!am::read_fleet(ours, first, opt)) return state.SkipWithError("first read");
  am::bound_output(first, opt, {}, wanted);
  am::format_fleet_prometheus(first, std::back_inserter(body));
  double t_ours = 0, t_hiredis = 0, parse = 0;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    if (auto r = am::read_fleet(ours, next, opt, {}, unchanged ? &last : nullptr); !r) {
      return state.SkipWithError(r.error().to_string().c_str());
    }
    am::bound_output(next, opt, {}, wanted);
    body.clear();
    am::format_fleet_prometheus(next, std::back_inserter(body));
    const auto t1 = std::chrono::steady_clock::now();
    if (!read_hiredis(theirs.get())) return state.SkipWithError("hiredis: incomplete read");
    const auto t2 = std::chrono::steady_clock::now();
    if (next.hosts.size() != fleet_size) return state.SkipWithError("pass: hosts missing");
    if (unchanged) std::swap(last, next);
    t_ours += std::chrono::duration<double, std::milli>(t1 - t0).count();
    t_hiredis += std::chrono::duration<double, std::milli>(t2 - t1).count();
    parse += std::chrono::duration<double, std::milli>(next.parse_time).count();
  }
  const auto n = static_cast<double>(state.iterations());
  state.counters["ours_ms"] = t_ours / n;
  state.counters["hiredis_ms"] = t_hiredis / n;
  state.counters["ratio"] = t_ours / t_hiredis;
  state.counters["parse_ms"] = parse / n;
  state.counters["body_MB"] = static_cast<double>(body.size()) / 1e6;
}

// ---- cluster and TLS --------------------------------------------------------------------

am::redis::client_options cluster_seed_options(const anklet_test::redis_cluster& cl) {
  am::redis::client_options o;
  o.target.port = static_cast<std::uint16_t>(cl.seed_port());
  return o;
}

// A 3-master cluster (no replicas: reads never touch them) holding the same fleet.
anklet_test::redis_cluster& fleet_cluster() {
  static anklet_test::redis_cluster cl = [] {
    anklet_test::redis_cluster c(3, 0);
    auto single = our_client();
    am::redis::cluster_client cc(am::redis::cluster_options{cluster_seed_options(c), {}, 5, {}});
    auto keys = single.scan_all("anklet/metrics/*");
    if (!keys || keys->size() != fleet_size) throw std::runtime_error("fleet missing");
    for (const auto& k : *keys) {
      auto v = single.get(k);
      if (!v || !v->has_value() || !cc.set(k, **v, std::chrono::seconds(604800))) throw std::runtime_error("copy failed");
    }
    return c;
  }();
  return cl;
}

void fleet_read_cluster_vs_single(benchmark::State& state) {
  auto& cl = fleet_cluster();
  auto single = our_client();
  am::redis::cluster_client cc(am::redis::cluster_options{cluster_seed_options(cl), {}, 5, {}});
  am::fleet fs;
  am::fleet fc;
  double t_single = 0, t_cluster = 0;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    if (!am::read_fleet(single, fs) || fs.hosts.size() != fleet_size) return state.SkipWithError("single read");
    const auto t1 = std::chrono::steady_clock::now();
    if (!am::read_fleet(cc, fc) || fc.hosts.size() != fleet_size) return state.SkipWithError("cluster read");
    const auto t2 = std::chrono::steady_clock::now();
    t_single += std::chrono::duration<double, std::milli>(t1 - t0).count();
    t_cluster += std::chrono::duration<double, std::milli>(t2 - t1).count();
  }
  const auto n = static_cast<double>(state.iterations());
  state.counters["single_ms"] = t_single / n;
  state.counters["cluster_ms"] = t_cluster / n;
  state.counters["ratio"] = t_cluster / t_single;
  state.counters["masters"] = static_cast<double>(cc.slots().masters().size());
}

#if ANKLET_METRICS_TLS
// A redis-server with a TLS port besides its plain one, its self-signed certificate made
// with openssl in the server's directory.
struct tls_server {
  int tls_port = anklet_test::free_loopback_port();
  std::string dir = [] {
    char tmpl[] = "/tmp/anklet-bench-tls-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp");
    const std::string d = tmpl;
    const std::string cmd = "openssl req -x509 -newkey rsa:2048 -nodes -keyout '" + d + "/k.pem' -out '" + d +
                            "/c.pem' -days 1 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 2>/dev/null";
    if (std::system(cmd.c_str()) != 0) throw std::runtime_error("openssl failed");
    return d;
  }();
  anklet_test::redis_server server{anklet_test::redis_config{
      {"--tls-port", std::to_string(tls_port), "--tls-cert-file", dir + "/c.pem", "--tls-key-file", dir + "/k.pem",
       "--tls-ca-cert-file", dir + "/c.pem", "--tls-auth-clients", "no"},
      false, false}};
};

void set_tls_vs_plain(benchmark::State& state) {
  static tls_server srv;
  am::redis::client plain = am::redis::client::from_url(srv.server.url()).value();
  am::redis::tls_settings ts;
  ts.ca_file = srv.dir + "/c.pem";
  am::redis::client_options o;
  o.target = am::redis::parse_url("rediss://127.0.0.1:" + std::to_string(srv.tls_port)).value();
  o.tls = am::redis::tls_layer(ts).value();
  am::redis::client tls(o);
  double t_plain = 0, t_tls = 0;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    if (!plain.set("bench/export", g_export_payload, std::chrono::seconds(604800))) return state.SkipWithError("plain");
    const auto t1 = std::chrono::steady_clock::now();
    if (!tls.set("bench/export", g_export_payload, std::chrono::seconds(604800))) return state.SkipWithError("tls");
    const auto t2 = std::chrono::steady_clock::now();
    t_plain += std::chrono::duration<double, std::micro>(t1 - t0).count();
    t_tls += std::chrono::duration<double, std::micro>(t2 - t1).count();
  }
  const auto n = static_cast<double>(state.iterations());
  state.counters["plain_us"] = t_plain / n;
  state.counters["tls_us"] = t_tls / n;
  state.counters["ratio"] = t_tls / t_plain;
}
#endif

}  // namespace

BENCHMARK(export_set_ours)->MinTime(0.5);
BENCHMARK(export_set_hiredis)->MinTime(0.5);
BENCHMARK(export_interleaved)->MinTime(1.0);
BENCHMARK(export_writer_with_json)->MinTime(0.5);
BENCHMARK(fleet_read_ours)->Unit(benchmark::kMillisecond)->MinTime(1.0);
BENCHMARK(fleet_read_hiredis)->Unit(benchmark::kMillisecond)->MinTime(1.0);
BENCHMARK(fleet_read_interleaved)->Unit(benchmark::kMillisecond)->MinTime(2.0);
BENCHMARK(fleet_read_go_method)->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK(full_pass_prometheus)->Unit(benchmark::kMillisecond)->MinTime(1.0);
BENCHMARK(parse_fleet_payloads)->Unit(benchmark::kMillisecond)->MinTime(1.0);
BENCHMARK(parse_fleet_payloads_nlohmann)->Unit(benchmark::kMillisecond)->MinTime(1.0);
BENCHMARK(render_prometheus_only)->Unit(benchmark::kMillisecond)->MinTime(1.0);
BENCHMARK(full_pass_json_v2)->Unit(benchmark::kMillisecond)->MinTime(1.0);
BENCHMARK(aggregator_pass_interleaved)
    ->Args({1, 0})
    ->Args({0, 0})
    ->Args({0, 1})
    ->Unit(benchmark::kMillisecond)
    ->MinTime(3.0);
BENCHMARK(fleet_read_cluster_vs_single)->Unit(benchmark::kMillisecond)->MinTime(3.0);
#if ANKLET_METRICS_TLS
BENCHMARK(set_tls_vs_plain)->MinTime(1.0);
#endif

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  anklet_test::redis_server server;  // stopped by PID when main returns
  g_server = &server;
  populate();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  g_server = nullptr;
  return 0;
}
