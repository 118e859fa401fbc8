// anklet-metrics-aggregator: Go Anklet's metrics aggregator. Reads every host's metrics
// from Redis (anklet/metrics/*, written by Go Anklet or by this library's Redis writer) and
// serves the fleet on /metrics/v1 (JSON object keyed by plugin name) and /metrics/v2 (JSON
// array), each also as format=prometheus.
//
// Signals are handled here, not in the library: SIGINT and SIGTERM are blocked in every
// thread and taken synchronously by main with sigwait, then the server is stopped.
#include <pthread.h>
#include <signal.h>

#include <charconv>
#include <chrono>
#include <cstdio>
#include <exception>
#include <optional>
#include <string>
#include <string_view>

#include "anklet/metrics/aggregator.hpp"
#include "anklet/metrics/aggregator_server.hpp"
#include "anklet/metrics/redis/url.hpp"

namespace am = anklet::metrics;

namespace {

constexpr std::string_view program = "anklet-metrics-aggregator";

constexpr std::string_view usage =
    "usage: anklet-metrics-aggregator [options]\n"
    "Serves the metrics of every Anklet host found in Redis (keys anklet/metrics/*) on\n"
    "/metrics/v1 and /metrics/v2, each with ?format=json or ?format=prometheus.\n"
    "\n"
    "  --listen ADDR:PORT   address to serve on (default 127.0.0.1:8081; port 0 = any free\n"
    "                       port; IPv6 as [::1]:8081; :8081 = all interfaces)\n"
    "  --redis URL          redis://[user[:password]@]host[:port][/db] or unix:///path[?db=N]\n"
    "                       (default redis://127.0.0.1:6379)\n"
    "  --refresh SECONDS    reuse one Redis read for this long (default 0 = read on every request)\n"
    "  --help               show this help\n"
    "\n"
    "The first line on stdout is the URL served. SIGINT or SIGTERM stop it (exit code 0).\n";

struct config {
  std::string address = "127.0.0.1";
  std::uint16_t port = 8081;
  am::redis::connection_target redis;
  std::chrono::milliseconds refresh{0};
};

struct usage_error {
  std::string message;
};

std::uint16_t parse_port(std::string_view text, std::string_view flag) {
  unsigned value = 0;
  const auto* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc{} || ptr != end || value > 65535) {
    throw usage_error{std::string(flag) + ": invalid port '" + std::string(text) + "'"};
  }
  return static_cast<std::uint16_t>(value);
}

void parse_listen(std::string_view text, config& c) {
  std::string_view host;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      throw usage_error{"--listen: expected [IPV6]:PORT, got '" + std::string(text) + "'"};
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) throw usage_error{"--listen: expected ADDR:PORT, got '" + std::string(text) + "'"};
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) {
      throw usage_error{"--listen: write IPv6 addresses in brackets, e.g. [::1]:8081"};
    }
  }
  c.address = std::string(host);  // empty = every interface
  c.port = parse_port(port, "--listen");
}

std::chrono::milliseconds parse_seconds(std::string_view text, std::string_view flag) {
  double seconds = 0;
  const auto* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, seconds);
  if (text.empty() || ec != std::errc{} || ptr != end || !(seconds >= 0) || seconds > 86400.0 * 365) {
    throw usage_error{std::string(flag) + ": expected a number of seconds >= 0, got '" + std::string(text) + "'"};
  }
  return std::chrono::milliseconds(static_cast<std::int64_t>(seconds * 1000.0 + 0.5));
}

// Returns nothing when --help was given.
std::optional<config> parse_args(int argc, char** argv) {
  config c;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    std::optional<std::string_view> inline_value;
    if (const auto eq = arg.find('='); arg.rfind("--", 0) == 0 && eq != std::string_view::npos) {
      inline_value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
    }
    const auto value = [&]() -> std::string_view {
      if (inline_value) return *inline_value;
      if (i + 1 >= argc) throw usage_error{std::string(arg) + " needs a value"};
      return argv[++i];
    };
    if (arg == "--help" || arg == "-h") {
      if (inline_value) throw usage_error{std::string(arg) + " takes no value"};
      return std::nullopt;
    } else if (arg == "--listen") {
      parse_listen(value(), c);
    } else if (arg == "--redis") {
      auto t = am::redis::parse_url(value());
      if (!t) throw usage_error{"--redis: " + t.error().message};
      c.redis = std::move(t.value());
    } else if (arg == "--refresh") {
      c.refresh = parse_seconds(value(), arg);
    } else {
      throw usage_error{"unknown argument '" + std::string(arg) + "' (see --help)"};
    }
  }
  return c;
}

void print_error(std::string_view message) {
  std::fprintf(stderr, "%.*s: %.*s\n", static_cast<int>(program.size()), program.data(),
               static_cast<int>(message.size()), message.data());
}

}  // namespace

int main(int argc, char** argv) {
  std::optional<config> cfg;
  try {
    cfg = parse_args(argc, argv);
  } catch (const usage_error& e) {
    print_error(e.message);
    return 2;
  }
  if (!cfg) {
    std::fwrite(usage.data(), 1, usage.size(), stdout);
    return 0;
  }

  // Block the stop signals before any thread starts, so that every thread inherits the
  // mask and only sigwait below ever sees them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);  // stdout may be a pipe that its reader closed

  try {
    am::aggregator_options options;
    options.client.target = cfg->redis;
    options.refresh = cfg->refresh;
    am::aggregator agg(options);

    am::http::server_options http;
    http.address = cfg->address;
    http.port = cfg->port;
    http.on_error = [](std::string_view what) { print_error(what); };
    am::aggregator_server server(agg, http);
    server.start();

    const auto& bound = server.bound_address();
    const bool v6 = bound.find(':') != std::string::npos;
    std::printf("listening on http://%s%s%s:%u/metrics/v1?format=json\n", v6 ? "[" : "", bound.c_str(),
                v6 ? "]" : "", static_cast<unsigned>(server.port()));
    std::fflush(stdout);

    int sig = 0;
    while (sigwait(&stop_signals, &sig) != 0) {
    }
    server.stop();
    return 0;
  } catch (const std::exception& e) {
    print_error(e.what());
    return 1;
  }
}
