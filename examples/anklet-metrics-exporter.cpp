// anklet-metrics-exporter: serves a store over HTTP the way Go Anklet's /metrics/v1 does.
// Plugins come from the command line (they stay idle) or from --demo, which moves a few
// plugins through Anklet's status flow and counts their runs so that every metric moves.
//
// With --redis it also exports to Redis as Go Anklet does (SPEC 7): the first write at start,
// then every --interval, under anklet/metrics/{owner}/{name} of the first plugin unless
// --key-owner/--key-name say otherwise; the key is deleted when the program stops. The
// writer's own figures are served in the scrape (a collector), and --unhealthy-after makes
// /healthcheck answer 503 while its writes keep failing.
//
// Signals are handled here, not in the library: SIGINT and SIGTERM are blocked in every
// thread and taken synchronously by main with sigwait, then the server is stopped.
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "anklet/metrics/host/platform.hpp"
#include "anklet/metrics/http/metrics_routes.hpp"
#include "anklet/metrics/redis/writer.hpp"
#include "anklet/metrics/redis/writer_metrics.hpp"
#include "anklet/metrics/store.hpp"
#include "cli.hpp"
#include "redis_flags.hpp"

namespace am = anklet::metrics;
namespace cli = anklet_examples;

namespace {

constexpr std::string_view program = "anklet-metrics-exporter";

constexpr std::string_view usage =
    "usage: anklet-metrics-exporter [options]\n"
    "Serves Anklet-compatible metrics on /metrics/v1?format=prometheus|openmetrics|json|anklet.\n"
    "\n"
    "  --listen ADDR:PORT                 address to serve on (default 127.0.0.1:8080; port 0 = any\n"
    "                                     free port; IPv6 as [::1]:8080; :8080 = all interfaces)\n"
    "  --handler NAME:PLUGIN:OWNER[:REPO] register a handler plugin (repeatable)\n"
    "  --receiver NAME:PLUGIN:OWNER[:REPO] register a receiver plugin (repeatable)\n"
    "  --demo                             add demo plugins that move through the status flow\n"
    "  --host-refresh SECONDS             refresh host metrics at most this often (default 1;\n"
    "                                     0 = on every scrape)\n"
    "  --redis URL                        also export to Redis: redis[s]://[user[:password]@]host[:port][/db]\n"
    "                                     or unix:///path[?db=N]; the key is deleted at exit\n"
    "  --interval SECONDS                 time between Redis writes (default 10)\n"
    "  --key-owner OWNER                  owner part of the Redis key (default: the first plugin's)\n"
    "  --key-name NAME                    name part of the Redis key (default: the first plugin's)\n"
    "  --job-url-label                    add Anklet's job_url label to the plugin_last_*_run series of\n"
    "                                     format=prometheus (off: a label per job makes a series per job)\n"
    "  --no-openmetrics                   answer format=prometheus with text 0.0.4 even to scrapers that\n"
    "                                     ask for OpenMetrics (keeps counter series without _total)\n"
    "  --unhealthy-after N                with --redis: /healthcheck answers 503 once N Redis writes in a\n"
    "                                     row failed (default 0 = never)\n";
// After the Redis flags of redis_flags.hpp.
constexpr std::string_view usage_end =
    "  --help                             show this help\n";
constexpr std::size_t help_column = 37;
constexpr std::string_view usage_tail = "\nThe first line on stdout is the URL served. SIGINT or SIGTERM stop it (exit code 0).\n";

struct config {
  std::string address = "127.0.0.1";
  std::uint16_t port = 8080;
  std::vector<std::pair<am::plugin_kind, am::plugin_info>> plugins;
  bool demo = false;
  std::chrono::milliseconds host_refresh{1000};
  std::optional<am::redis::connection_target> redis;
  cli::redis_flags redis_flags;
  std::chrono::milliseconds interval{10000};
  bool interval_given = false;
  std::optional<std::string> key_owner;
  std::optional<std::string> key_name;
  bool job_url_label = false;
  bool gzip = true;
  bool openmetrics = true;
  std::uint64_t unhealthy_after = 0;
};

am::plugin_info parse_plugin(std::string_view text, std::string_view flag) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  for (;;) {
    const auto colon = text.find(':', start);
    parts.emplace_back(text.substr(start, colon == std::string_view::npos ? std::string_view::npos : colon - start));
    if (colon == std::string_view::npos) break;
    start = colon + 1;
  }
  if (parts.size() < 3 || parts.size() > 4 || parts[0].empty() || parts[1].empty()) {
    throw cli::usage_error{std::string(flag) + ": expected NAME:PLUGIN:OWNER[:REPO], got '" + std::string(text) + "'"};
  }
  return {parts[0], parts[1], parts[2], parts.size() == 4 ? parts[3] : std::string{}};
}

// Returns nothing when --help was given.
std::optional<config> parse_args(int argc, char** argv) {
  config c;
  cli::arguments args(argc, argv);
  while (args.next()) {
    const auto flag = args.flag();
    if (flag == "--help" || flag == "-h") {
      args.expect_no_value();
      return std::nullopt;
    } else if (flag == "--listen") {
      auto listen = cli::parse_listen(args.value());
      c.address = std::move(listen.address);
      c.port = listen.port;
    } else if (flag == "--handler") {
      c.plugins.emplace_back(am::plugin_kind::handler, parse_plugin(args.value(), flag));
    } else if (flag == "--receiver") {
      c.plugins.emplace_back(am::plugin_kind::receiver, parse_plugin(args.value(), flag));
    } else if (flag == "--demo") {
      args.expect_no_value();
      c.demo = true;
    } else if (flag == "--job-url-label") {
      args.expect_no_value();
      c.job_url_label = true;
    } else if (flag == "--no-gzip") {
      args.expect_no_value();
      c.gzip = false;
    } else if (flag == "--no-openmetrics") {
      args.expect_no_value();
      c.openmetrics = false;
    } else if (flag == "--unhealthy-after") {
      c.unhealthy_after = cli::parse_count(args.value(), flag);
    } else if (flag == "--host-refresh") {
      c.host_refresh = cli::parse_seconds(args.value(), flag);
    } else if (c.redis_flags.parse(args)) {
    } else if (flag == "--interval") {
      c.interval = cli::parse_seconds(args.value(), flag);
      c.interval_given = true;
      if (c.interval.count() <= 0) throw cli::usage_error{"--interval: must be more than 0 seconds"};
    } else if (flag == "--key-owner") {
      c.key_owner = std::string(args.value());
    } else if (flag == "--key-name") {
      c.key_name = std::string(args.value());
      if (c.key_name->empty()) throw cli::usage_error{"--key-name: must not be empty"};
    } else {
      args.unknown();
    }
  }
  c.redis_flags.finish();
  c.redis = c.redis_flags.target();
  if (!c.redis && (c.key_owner || c.key_name || c.interval_given || c.unhealthy_after > 0 ||
                   c.redis_flags.needs_target())) {
    throw cli::usage_error{
        "--interval, --key-owner, --key-name, --unhealthy-after, --redis-cluster and the TLS flags need --redis"};
  }
  if (c.redis && !c.key_name && c.plugins.empty() && !c.demo) {
    throw cli::usage_error{"--redis needs a plugin (--handler, --receiver or --demo) or --key-name to name the key"};
  }
  return c;
}

// Moves demo plugins through Anklet's flows, one step per tick, until stopped:
//   handler 1: idle -> paused -> idle -> in_progress -> idle (a run each cycle)
//   handler 2: paused -> pulling -> running -> in_progress -> idle (VM pulled, run counted)
//   receiver:  idle -> in_progress -> idle (queueing events)
class demo {
 public:
  explicit demo(am::store& s)
      : h1_(s.add_handler({"demo-handler-1", "github", "anklet-demo", "demo-repo"})),
        h2_(s.add_handler({"demo-handler-2", "github", "anklet-demo", ""})),
        r_(s.add_receiver({"demo-receiver", "github_receiver", "anklet-demo", ""})),
        thread_([this] { run(); }) {}
  demo(const demo&) = delete;
  demo& operator=(const demo&) = delete;
  ~demo() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    thread_.join();
  }

 private:
  void run() {
    using am::plugin_status;
    std::uint64_t tick = 0;
    std::uint64_t run_number = 0;
    std::unique_lock lock(mutex_);
    while (!wake_.wait_for(lock, std::chrono::milliseconds(250), [this] { return stopping_; })) {
      const auto url = [&] {
        return "https://github.com/anklet-demo/demo-repo/actions/runs/" + std::to_string(run_number);
      };
      switch (tick % 5) {
        case 0:
          h1_.set_status(plugin_status::paused);
          h2_.set_status(plugin_status::paused);
          r_.set_status(plugin_status::in_progress);
          break;
        case 1:
          h1_.set_status(plugin_status::idle);
          h2_.set_status(plugin_status::pulling);
          r_.set_status(plugin_status::idle);
          break;
        case 2:
          h1_.set_status(plugin_status::in_progress);
          h1_.increment_running_vms();
          h2_.set_status(plugin_status::running);
          h2_.increment_running_vms();
          break;
        case 3:
          h2_.set_status(plugin_status::in_progress);
          r_.set_status(plugin_status::in_progress);
          break;
        case 4: {
          ++run_number;
          h1_.finish_run(am::run_outcome::successful, url());
          h1_.decrement_running_vms();
          h1_.set_status(plugin_status::idle);
          const auto outcome = run_number % 3 == 0 ? am::run_outcome::canceled
                               : run_number % 2 == 0 ? am::run_outcome::failed
                                                     : am::run_outcome::successful;
          h2_.finish_run(outcome, url());
          h2_.decrement_running_vms();
          h2_.set_status(plugin_status::idle);
          r_.set_status(plugin_status::idle);
          break;
        }
        default: break;
      }
      ++tick;
    }
  }

  am::store::handler_handle h1_;
  am::store::handler_handle h2_;
  am::store::receiver_handle r_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;  // last: starts once everything above exists
};

void print_error(std::string_view message) { cli::print_error(program, message); }

}  // namespace

int main(int argc, char** argv) {
  std::optional<config> cfg;
  try {
    cfg = parse_args(argc, argv);
  } catch (const cli::usage_error& e) {
    print_error(e.message);
    return 2;
  }
  if (!cfg) {
    const std::string help = std::string(usage) + cli::no_gzip_help(help_column) + cli::redis_flags_help(help_column) +
                             std::string(usage_end) + "\n" +
                             std::string(cli::redis_env_help) + std::string(usage_tail);
    std::fwrite(help.data(), 1, help.size(), stdout);
    return 0;
  }

  const cli::stop_signals stop;  // before any thread starts, so that every thread inherits the mask

  try {
    am::store metrics;
    for (auto& [kind, info] : cfg->plugins) {
      if (!metrics.add_plugin(kind, info)) print_error("plugin '" + info.name + "' given twice; keeping the first");
    }
    am::platform_host_source host;
    std::string last_host_error;
    // The refresher's copies share one rate limit, so the servers below refresh the
    // host figures once per interval between them; it also serializes on_sample.
    am::http::host_refresher refresh(
        metrics, host,
        [&last_host_error](const am::host_sample& s) {
          // Report a failing source once per distinct problem, not once per scrape.
          auto summary = s.error_summary();
          if (summary != last_host_error && !summary.empty()) print_error("host metrics: " + summary);
          last_host_error = std::move(summary);
        },
        cfg->host_refresh);

    // The Redis writer first: its figures are a collector of the servers below, and it
    // outlives them. The key: the first plugin's owner and name unless given.
    std::optional<am::redis::writer> redis;
    std::optional<demo> demo_plugins;
    if (cfg->demo) demo_plugins.emplace(metrics);
    if (cfg->redis) {
      const auto snap = metrics.snapshot();
      const auto* first = snap.plugins.empty() ? nullptr : &snap.plugins.front();
      am::redis::writer_options wo;
      wo.client = cfg->redis_flags.client_options(*cfg->redis);
      wo.cluster = cfg->redis_flags.cluster();
      wo.interval = cfg->interval;
      wo.key = am::redis::metrics_key(cfg->key_owner ? *cfg->key_owner : first ? first->owner_name : "",
                                      cfg->key_name ? *cfg->key_name : first->name);
      redis.emplace(wo);
      redis->set_log([](am::redis::log_level level, std::string_view line) {
        if (level != am::redis::log_level::debug) print_error(line);
      });
    }

    // One server (one event loop) per core, up to 4, sharing one listening socket: a
    // single scraper uses one of them, but many clients and large bodies get every core,
    // as nginx's workers do. Copies of one options object share the scrape counts.
    const unsigned loops = std::clamp(std::thread::hardware_concurrency(), 1U, 4U);
    am::http::server_options options;
    options.address = cfg->address;
    options.port = cfg->port;
    if (loops > 1) options.accept_batch = 1;
    options.host_refresh_interval = std::chrono::milliseconds(0);  // the refresher limits the rate
    options.log = [](am::log_level, std::string_view what) { print_error(what); };
    options.gzip = cli::program_gzip(cfg->gzip);
    options.negotiate_openmetrics = cfg->openmetrics;
    if (redis) {
      options.collectors.emplace_back(std::make_shared<am::redis::writer_metrics>(*redis));
      if (cfg->unhealthy_after > 0) options.health = am::redis::unhealthy_after(*redis, cfg->unhealthy_after);
    }
    using server_type = am::http::server_with_host<am::store, am::platform_host_source>;
    std::vector<std::unique_ptr<server_type>> servers;
    for (unsigned i = 0; i < loops; ++i) {
      servers.push_back(std::make_unique<server_type>(metrics, options, am::http::standard_renderer{.zone = am::time_zone::local, .prometheus = {.job_url_label = cfg->job_url_label}}, refresh));
      if (i == 0) {
        servers.back()->start();
      } else {
        servers.back()->start_sharing(*servers.front());
      }
    }
    if (redis) redis->start(metrics, host);

    cli::print_listening(servers.front()->bound_address(), servers.front()->port(), "/metrics/v1?format=prometheus");
    stop.wait();
    for (auto& server : servers) server->stop();
    if (redis) {
      redis->stop();
      static_cast<void>(redis->cleanup());  // a failure is logged by the writer, not fatal
    }
    demo_plugins.reset();
    return 0;
  } catch (const std::exception& e) {
    print_error(e.what());
    return 1;
  }
}
