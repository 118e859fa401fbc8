// anklet-metrics-aggregator: Go Anklet's metrics aggregator. Reads every host's metrics
// from Redis (anklet/metrics/*, written by Go Anklet or by this library's Redis writer) and
// serves the fleet on /metrics/v1 (JSON object keyed by plugin name) and /metrics/v2 (JSON
// array), each also as format=prometheus.
//
// Signals are handled here, not in the library: SIGINT and SIGTERM are blocked in every
// thread and taken synchronously by main with sigwait, then the server is stopped.
#include <chrono>
#include <cstdio>
#include <exception>
#include <optional>
#include <string>
#include <string_view>

#include "anklet/metrics/fleet/aggregator.hpp"
#include "anklet/metrics/fleet/routes.hpp"
#include "anklet/metrics/redis/url.hpp"
#include "cli.hpp"
#include "redis_flags.hpp"

namespace am = anklet::metrics;
namespace cli = anklet_examples;

namespace {

constexpr std::string_view program = "anklet-metrics-aggregator";

constexpr std::string_view usage =
    "usage: anklet-metrics-aggregator [options]\n"
    "Serves the metrics of every Anklet host found in Redis (keys anklet/metrics/*) on\n"
    "/metrics/v1 and /metrics/v2, each with ?format=json or ?format=prometheus.\n"
    "\n"
    "  --listen ADDR:PORT   address to serve on (default 127.0.0.1:8081; port 0 = any free\n"
    "                       port; IPv6 as [::1]:8081; :8081 = all interfaces)\n"
    "  --redis URL          redis[s]://[user[:password]@]host[:port][/db] or unix:///path[?db=N]\n"
    "                       (default redis://127.0.0.1:6379)\n"
    "  --refresh SECONDS    pause between two reads of Redis, which run in the background\n"
    "                       (default 0 = 0.1 s); every answer comes from the last complete read\n"
    "  --max-age SECONDS    leave out hosts whose last_update is older (default 0 = keep all)\n"
    "  --job-url-label      add Anklet's job_url label to the plugin_last_*_run series of\n"
    "                       format=prometheus (off: a label per job makes a series per job)\n"
    "  --no-openmetrics     answer format=prometheus with text 0.0.4 even to scrapers that ask\n"
    "                       for OpenMetrics (keeps counter series without _total)\n"
    "  --unhealthy-after N  /healthcheck answers 503 once N reads of Redis in a row failed\n"
    "                       (default 0 = never; answers still come from the last good read)\n";
// After the Redis flags of redis_flags.hpp.
constexpr std::string_view usage_end =
    "  --help               show this help\n";
constexpr std::size_t help_column = 23;
constexpr std::string_view usage_tail = "\nThe first line on stdout is the URL served. SIGINT or SIGTERM stop it (exit code 0).\n";

struct config {
  std::string address = "127.0.0.1";
  std::uint16_t port = 8081;
  am::redis::connection_target redis;
  cli::redis_flags redis_flags;
  std::chrono::milliseconds refresh{0};
  std::chrono::milliseconds max_age{0};
  bool job_url_label = false;
  bool gzip = true;
  bool openmetrics = true;
  std::uint64_t unhealthy_after = 0;
};

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
    } else if (c.redis_flags.parse(args)) {
    } else if (flag == "--refresh") {
      c.refresh = cli::parse_seconds(args.value(), flag);
    } else if (flag == "--max-age") {
      c.max_age = cli::parse_seconds(args.value(), flag);
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
    } else {
      args.unknown();
    }
  }
  c.redis_flags.finish();
  if (c.redis_flags.target()) c.redis = *c.redis_flags.target();
  return c;
}

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
    am::aggregator_options options;
    options.client = cfg->redis_flags.client_options(cfg->redis);
    options.cluster = cfg->redis_flags.cluster();
    options.refresh = cfg->refresh;
    options.read.max_age = std::chrono::ceil<std::chrono::seconds>(cfg->max_age);
    options.log = [](am::log_level, std::string_view line) { print_error(line); };
    options.prometheus.job_url_label = cfg->job_url_label;
    options.gzip = cli::program_gzip(cfg->gzip);
    options.negotiate_openmetrics = cfg->openmetrics;
    options.unhealthy_after_failed_reads = cfg->unhealthy_after;
    am::aggregator agg(options);

    am::http::server_options http;
    http.address = cfg->address;
    http.port = cfg->port;
    http.log = [](am::log_level, std::string_view what) { print_error(what); };
    am::aggregator_server server(agg, http);
    agg.start();  // reads Redis in the background; stopped by its destructor
    server.start();

    cli::print_listening(server.bound_address(), server.port(), "/metrics/v1?format=json");
    stop.wait();
    server.stop();
    agg.stop();
    return 0;
  } catch (const std::exception& e) {
    print_error(e.what());
    return 1;
  }
}
