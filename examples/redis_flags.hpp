// The Redis settings both programs share: --redis, --redis-cluster and the TLS flags, and
// Anklet's own environment variables (ANKLET_GLOBAL_DATABASE_*), flags winning over the
// environment, so a C++ host is configured like its Go neighbours. TLS is there when the
// program is built with it (ANKLET_METRICS_TLS, Meson option tls).
#pragma once

#include <cstdlib>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "anklet/metrics/redis/client.hpp"
#include "anklet/metrics/redis/url.hpp"
#include "cli.hpp"

#if ANKLET_METRICS_TLS
#include "anklet/metrics/redis/tls.hpp"
#endif

namespace anklet_examples {

namespace redis = anklet::metrics::redis;

/// The flag lines of --help, aligned at `column`.
inline std::string redis_flags_help(std::size_t column) {
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

/// What --help says about the environment, after the list of flags.
inline constexpr std::string_view redis_env_help =
    "Without --redis, Anklet's settings are read from the environment:\n"
    "ANKLET_GLOBAL_DATABASE_URL (host, or a redis:// or rediss:// URL), _PORT, _USER, _PASSWORD,\n"
    "_DATABASE, _CLUSTER_MODE, _TLS_ENABLED and _TLS_INSECURE (true/false). Flags win.\n";

class redis_flags {
 public:
  using getenv_function = std::function<const char*(const char*)>;

  /// Takes the current flag when it is a Redis one; false otherwise.
  bool parse(arguments& args) {
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

  /// Fills in from the environment what no flag gave, then checks the whole.
  void finish(const getenv_function& getenv = [](const char* n) { return std::getenv(n); }) {
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

  /// The Redis target, when a flag or the environment named one.
  [[nodiscard]] const std::optional<redis::connection_target>& target() const { return target_; }
  [[nodiscard]] bool cluster() const { return cluster_; }
  [[nodiscard]] bool given() const { return target_.has_value(); }
  /// A flag that needs a Redis target was given (for "needs --redis" checks).
  [[nodiscard]] bool needs_target() const { return cluster_ || !tls_flag_.empty(); }

  /// Client options for `t` (the target, or a default one), with TLS when finish() made it.
  [[nodiscard]] redis::client_options client_options(redis::connection_target t) const {
    redis::client_options o;
    o.target = std::move(t);
    o.tls = tls_;
    return o;
  }

 private:
  template <class Env>
  static redis::connection_target from_environment(const std::string& url, const Env& env) {
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

  static bool boolean(std::string_view name, std::string_view v) {
    if (v == "true" || v == "1" || v == "TRUE" || v == "True" || v == "yes") return true;
    if (v == "false" || v == "0" || v == "FALSE" || v == "False" || v == "no") return false;
    throw usage_error{std::string(name) + ": expected true or false, got '" + std::string(v) + "'"};
  }

  std::optional<redis::connection_target> target_;
  bool from_flag_ = false;
  bool cluster_ = false;
  bool insecure_ = false;
  std::string ca_file_, ca_dir_, cert_, key_;
  std::string tls_flag_;  // the last TLS flag given, for the error without TLS
  std::shared_ptr<const redis::stream_layer_factory> tls_;
};

}  // namespace anklet_examples
