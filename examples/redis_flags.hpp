// The Redis settings both programs share: --redis, --redis-cluster and the TLS flags, and
// Anklet's own environment variables (ANKLET_GLOBAL_DATABASE_*), flags winning over the
// environment, so a C++ host is configured like its Go neighbours. TLS is there when the
// program is built with it (ANKLET_METRICS_TLS, Meson option tls). The bodies are in
// cli.cpp.
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

namespace anklet_examples {

namespace redis = anklet::metrics::redis;

/// The flag lines of --help, aligned at `column`.
std::string redis_flags_help(std::size_t column);

/// What --help says about the environment, after the list of flags.
inline constexpr std::string_view redis_env_help =
    "Without --redis, Anklet's settings are read from the environment:\n"
    "ANKLET_GLOBAL_DATABASE_URL (host, or a redis:// or rediss:// URL), _PORT, _USER, _PASSWORD,\n"
    "_DATABASE, _CLUSTER_MODE, _TLS_ENABLED and _TLS_INSECURE (true/false). Flags win.\n";

class redis_flags {
 public:
  using getenv_function = std::function<const char*(const char*)>;

  /// Takes the current flag when it is a Redis one; false otherwise.
  bool parse(arguments& args);

  /// Fills in from the environment what no flag gave, then checks the whole.
  void finish(const getenv_function& getenv = [](const char* n) { return std::getenv(n); });

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
  std::optional<redis::connection_target> target_;
  bool from_flag_ = false;
  bool cluster_ = false;
  bool insecure_ = false;
  std::string ca_file_, ca_dir_, cert_, key_;
  std::string tls_flag_;  // the last TLS flag given, for the error without TLS
  std::shared_ptr<const redis::stream_layer_factory> tls_;
};

}  // namespace anklet_examples
