// anklet::metrics::redis writer metrics: what the Redis writer has done, as families of the
// scrape (docs/metrics.md, "Self-metrics"), and a /healthcheck verdict on it. Both are
// opt-in pieces a program plugs into its metrics server's options:
//
// Example:
//   #include "anklet/metrics/http/metrics_routes.hpp"
//   namespace am = anklet::metrics;
//   am::redis::writer_options wo;
//   wo.key = am::redis::metrics_key("veertuinc", "RUNNER1");
//   am::redis::writer w(wo);
//   am::http::server_options options;
//   options.collectors.emplace_back(std::make_shared<am::redis::writer_metrics>(w));
//   options.health = am::redis::unhealthy_after(w, 3);  // 503 after 3 failed writes in a row
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "anklet/metrics/core/catalogue.hpp"
#include "anklet/metrics/detail/compiled.hpp"
#include "anklet/metrics/redis/writer.hpp"
#include "anklet/metrics/render/collector.hpp"
#include "anklet/metrics/render/time.hpp"

namespace anklet::metrics::redis {

/// A collector of a writer's figures: anklet_metrics_redis_writes_total{result="ok|failed"},
/// anklet_metrics_redis_last_success_timestamp_seconds (0 = never) and
/// anklet_metrics_redis_consecutive_failures. Refers to the writer, which must outlive the
/// servers using it. Its generation moves with every write.
class writer_metrics {
 public:
  explicit writer_metrics(const writer& w) noexcept : writer_(&w) {}

  [[nodiscard]] std::uint64_t generation() const {
    const auto h = writer_->health();
    return h.writes_ok + h.writes_failed;
  }

  void collect(family_writer& w) const {
    const auto h = writer_->health();
    w.family(catalogue::self_redis_writes);
    w.sample({{"result", "ok"}}, h.writes_ok);
    w.sample({{"result", "failed"}}, h.writes_failed);
    w.family(catalogue::self_redis_last_success);
    if (is_never(h.last_success)) {
      w.sample({}, 0);
    } else {
      w.sample({}, static_cast<double>(h.last_success.unix_seconds()) + h.last_success.subsecond_nanoseconds() / 1e9);
    }
    w.family(catalogue::self_redis_failures);
    w.sample({}, h.consecutive_failures);
  }

 private:
  const writer* writer_;
};

static_assert(collector<writer_metrics>);

/// A server_options::health check: unhealthy once `failures` (at least 1) writes in a
/// row have failed, naming the last error. Refers to the writer, which must outlive it.
[[nodiscard]] std::function<std::string()> unhealthy_after(const writer& w, std::uint64_t failures);

#if ANKLET_METRICS_DEFINE_BODIES
ANKLET_METRICS_INLINE std::function<std::string()> unhealthy_after(const writer& w, std::uint64_t failures) {
  return [&w, failures]() -> std::string {
    const auto h = w.health();
    if (failures == 0 || h.consecutive_failures < failures) return {};
    return "Redis export failed " + std::to_string(h.consecutive_failures) + " times in a row" +
           (h.last_error ? ": " + h.last_error->to_string() : std::string());
  };
}
#endif  // ANKLET_METRICS_DEFINE_BODIES

}  // namespace anklet::metrics::redis
