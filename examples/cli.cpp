// The bodies of cli.hpp and redis_flags.hpp, compiled once for both programs.
#include "cli.hpp"

#include <pthread.h>
#include <signal.h>

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <utility>

#include "anklet/metrics/detail/decimal.hpp"
#include "anklet/metrics/detail/text.hpp"
#include "redis_flags.hpp"

#if ANKLET_METRICS_GZIP
#include "anklet/metrics/http/gzip.hpp"
#endif
#if ANKLET_METRICS_TLS
#include "anklet/metrics/redis/tls.hpp"
#endif

namespace anklet_examples {

void print_error(std::string_view program, std::string_view message) {
  std::fprintf(stderr, "%.*s: %.*s\n", static_cast<int>(program.size()), program.data(),
               static_cast<int>(message.size()), message.data());
}

bool arguments::next() {
  if (++i_ >= argc_) return false;
  flag_ = argv_[i_];
  inline_value_.reset();
  if (const auto eq = flag_.find('='); flag_.rfind("--", 0) == 0 && eq != std::string_view::npos) {
    inline_value_ = flag_.substr(eq + 1);
    flag_ = flag_.substr(0, eq);
  }
  return true;
}

std::string_view arguments::value() {
  if (inline_value_) return *inline_value_;
  if (i_ + 1 >= argc_) throw usage_error{std::string(flag_) + " needs a value"};
  return argv_[++i_];
}

void arguments::expect_no_value() const {
  if (inline_value_) throw usage_error{std::string(flag_) + " takes no value"};
}

void arguments::unknown() const { throw usage_error{"unknown argument '" + std::string(flag_) + "' (see --help)"}; }

std::uint16_t parse_port(std::string_view text, std::string_view flag) {
  unsigned value = 0;
  const auto* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc{} || ptr != end || value > 65535) {
    throw usage_error{std::string(flag) + ": invalid port '" + std::string(text) + "'"};
  }
  return static_cast<std::uint16_t>(value);
}

listen_address parse_listen(std::string_view text) {
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
      throw usage_error{"--listen: write IPv6 addresses in brackets, e.g. [::1]:" + std::string(port)};
    }
  }
  return {std::string(host), parse_port(port, "--listen")};
}

std::chrono::milliseconds parse_seconds(std::string_view text, std::string_view flag) {
  double seconds = 0;
  namespace d = anklet::metrics::detail;
  if (!d::is_plain_decimal(text) || !d::plain_decimal_to_double(text, seconds) || !(seconds >= 0) ||
      seconds > 86400.0 * 365) {
    throw usage_error{std::string(flag) + ": expected a number of seconds >= 0, got '" + std::string(text) + "'"};
  }
  return std::chrono::milliseconds(static_cast<std::int64_t>(seconds * 1000.0 + 0.5));
}

std::uint64_t parse_count(std::string_view text, std::string_view flag, std::uint64_t max) {
  std::uint64_t value = 0;
  if (!anklet::metrics::detail::parse_unsigned(text, max, value)) {
    throw usage_error{std::string(flag) + ": expected a whole number from 0 to " + std::to_string(max) + ", got '" +
                      std::string(text) + "'"};
  }
  return value;
}

void print_listening(std::string_view bound_address, unsigned port, std::string_view path_and_query) {
  const bool v6 = bound_address.find(':') != std::string_view::npos;
  std::printf("listening on http://%s%.*s%s:%u%.*s\n", v6 ? "[" : "", static_cast<int>(bound_address.size()),
              bound_address.data(), v6 ? "]" : "", port, static_cast<int>(path_and_query.size()),
              path_and_query.data());
  std::fflush(stdout);
}

std::string no_gzip_help(std::size_t column) {
  std::string l = "  --no-gzip";
  l.append(column - l.size(), ' ');
#if ANKLET_METRICS_GZIP
  return l + "send answers uncompressed (default: gzip to clients that accept it)\n";
#else
  return l + "send answers uncompressed (always so: this build has no zlib)\n";
#endif
}

std::shared_ptr<const anklet::metrics::http::gzip_compressor> program_gzip([[maybe_unused]] bool enabled) {
#if ANKLET_METRICS_GZIP
  if (enabled) return anklet::metrics::http::gzip_compression();
#endif
  return nullptr;
}

stop_signals::stop_signals() {
  sigemptyset(&set_);
  sigaddset(&set_, SIGINT);
  sigaddset(&set_, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set_, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
}

void stop_signals::wait() const {
  int sig = 0;
  while (sigwait(&set_, &sig) != 0) {
  }
}

// The bodies of redis_flags.hpp.

namespace {

bool boolean(std::string_view name, std::string_view v) {
  if (v == "true" || v == "1" || v == "TRUE" || v == "True" || v == "yes") return true;
  if (v == "false" || v == "0" || v == "FALSE" || v == "False" || v == "no") return false;
  throw usage_error{std::string(name) + ": expected true or false, got '" + std::string(v) + "'"};
}

template <class Env>
redis::connection_target from_environment(const std::string& url, const Env& env) {
  redis::connection_target t;
  if (url.find("://") != std::string::npos) {
    auto p = redis::parse_url(url);
    if (!p) throw usage_error{"ANKLET_GLOBAL_DATABASE_URL: " + p.error().message};
    t = std::move(p.value());
  } else {
    // Anklet's global_database_url is a host name; the port comes apart.
    auto p = redis::parse_url("redis://" + url);
    if (!p || p->port != 6379 || p->db != 0 || !p->password.empty() || url.find(':') != std::string::npos) {
      throw usage_error{"ANKLET_GLOBAL_DATABASE_URL: expected a host name or a redis:// URL, got '" + url + "'"};
    }
    t = std::move(p.value());
  }
  if (auto v = env("ANKLET_GLOBAL_DATABASE_PORT")) t.port = parse_port(*v, "ANKLET_GLOBAL_DATABASE_PORT");
  if (auto v = env("ANKLET_GLOBAL_DATABASE_USER")) t.user = *v;
  if (auto v = env("ANKLET_GLOBAL_DATABASE_PASSWORD")) t.password = *v;
  if (auto v = env("ANKLET_GLOBAL_DATABASE_DATABASE")) {
    auto p = redis::parse_url("redis://h/" + *v);
    if (!p) throw usage_error{"ANKLET_GLOBAL_DATABASE_DATABASE: expected a database number, got '" + *v + "'"};
    t.db = p->db;
  }
  if (auto v = env("ANKLET_GLOBAL_DATABASE_TLS_ENABLED")) t.tls = t.tls || boolean("ANKLET_GLOBAL_DATABASE_TLS_ENABLED", *v);
  if (!t.user.empty() && t.password.empty()) throw usage_error{"ANKLET_GLOBAL_DATABASE_USER needs _PASSWORD"};
  return t;
}

}  // namespace

std::string redis_flags_help(std::size_t column) {
  const auto line = [&](std::string_view flag, std::string_view text) {
    std::string l = "  " + std::string(flag);
    l += l.size() + 1 < column ? std::string(column - l.size(), ' ') : std::string("\n") + std::string(column, ' ');
    return l + std::string(text) + "\n";
  };
  return line("--redis-cluster", "the Redis URL names a seed node of a Redis Cluster") +
         line("--redis-ca FILE", "rediss://: trust the CAs in FILE (default: the system's store)") +
         line("--redis-ca-dir DIR", "rediss://: trust the CAs in DIR (hashed names)") +
         line("--redis-cert FILE", "rediss://: client certificate (with --redis-key)") +
         line("--redis-key FILE", "rediss://: client certificate's private key") +
         line("--redis-tls-insecure", "rediss://: do not verify the server's certificate");
}

bool redis_flags::parse(arguments& args) {
  const auto flag = args.flag();
  if (flag == "--redis") {
    auto t = redis::parse_url(args.value());
    if (!t) throw usage_error{"--redis: " + t.error().message};
    target_ = std::move(t.value());
    from_flag_ = true;
  } else if (flag == "--redis-cluster") {
    args.expect_no_value();
    cluster_ = true;
  } else if (flag == "--redis-tls-insecure") {
    args.expect_no_value();
    insecure_ = true;
    tls_flag_ = std::string(flag);
  } else if (flag == "--redis-ca" || flag == "--redis-ca-dir" || flag == "--redis-cert" || flag == "--redis-key") {
    std::string v(args.value());
    if (v.empty()) throw usage_error{std::string(flag) + ": must not be empty"};
    (flag == "--redis-ca" ? ca_file_ : flag == "--redis-ca-dir" ? ca_dir_ : flag == "--redis-cert" ? cert_ : key_) =
        std::move(v);
    tls_flag_ = std::string(flag);
  } else {
    return false;
  }
  return true;
}

void redis_flags::finish(const getenv_function& getenv) {
  const auto env = [&](const char* name) -> std::optional<std::string> {
    const char* v = getenv(name);
    if (v == nullptr || *v == '\0') return std::nullopt;
    return std::string(v);
  };
  if (!from_flag_) {
    if (auto url = env("ANKLET_GLOBAL_DATABASE_URL")) target_ = from_environment(*url, env);
  }
  if (auto v = env("ANKLET_GLOBAL_DATABASE_CLUSTER_MODE"); v && !cluster_) cluster_ = boolean("ANKLET_GLOBAL_DATABASE_CLUSTER_MODE", *v);
  if (auto v = env("ANKLET_GLOBAL_DATABASE_TLS_INSECURE"); v && !insecure_) insecure_ = boolean("ANKLET_GLOBAL_DATABASE_TLS_INSECURE", *v);
  if (cluster_ && target_) {
    if (!target_->unix_path.empty()) throw usage_error{"--redis-cluster: a cluster node is reached over TCP, not unix://"};
    if (target_->db != 0) throw usage_error{"--redis-cluster: Redis Cluster has only database 0"};
  }
  if (cert_.empty() != key_.empty()) throw usage_error{"--redis-cert and --redis-key go together"};
#if ANKLET_METRICS_TLS
  // Made once here, so that a CA or key that cannot be read is a usage error at start.
  if (target_ && target_->tls) {
    redis::tls_settings s;
    s.ca_file = ca_file_;
    s.ca_dir = ca_dir_;
    s.cert_file = cert_;
    s.key_file = key_;
    s.insecure = insecure_;
    auto layer = redis::tls_layer(s);
    if (!layer) throw usage_error{layer.error().message};
    tls_ = layer.value();
  }
#else
  if (!tls_flag_.empty()) throw usage_error{tls_flag_ + ": this program was built without TLS (Meson option tls)"};
  if (target_ && target_->tls) {
    throw usage_error{"rediss:// (TLS): this program was built without TLS (Meson option tls, OpenSSL)"};
  }
#endif
}

}  // namespace anklet_examples
