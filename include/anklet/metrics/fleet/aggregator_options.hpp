// anklet::metrics aggregator options: the Redis client, the refresh period and what the
// routes of docs/metrics.md answer, for the aggregator of "anklet/metrics/fleet/aggregator.hpp"
// (failures and bounds: docs/reliability.md; gzip: docs/http.md).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "anklet/metrics/core/log.hpp"
#include "anklet/metrics/fleet/read.hpp"
#include "anklet/metrics/http/encoding.hpp"
#include "anklet/metrics/redis/options.hpp"
#include "anklet/metrics/render/prometheus.hpp"

namespace anklet::metrics {

/// The aggregator: a Redis client, a refresh period and the routes in docs/metrics.md.
struct aggregator_options {
  redis::client_options client;
  /// client.target is a seed of a Redis Cluster, whose every master is read.
  bool cluster = false;
  fleet_read_options read;
  /// How long one read may answer requests; 0 reads Redis for every request. With
  /// start(), the pause between the end of one background read and the next (at least
  /// 100 ms).
  std::chrono::milliseconds refresh{0};
  /// Options of format=prometheus (e.g. Anklet's job_url label, off by default).
  prometheus_options prometheus{};
  /// format=prometheus answers OpenMetrics 1.0.0 to a scraper whose Accept header prefers
  /// it, as Prometheus's does; false keeps the 0.0.4 text for every scraper.
  bool negotiate_openmetrics = true;
  /// /healthcheck answers 503 once this many reads of Redis in a row have failed (the
  /// answers are still served from the last good read); 0 never does.
  std::uint64_t unhealthy_after_failed_reads = 0;
  /// When set (`http::gzip_compression()` of "anklet/metrics/http/gzip.hpp", opt-in), answers
  /// go gzip-compressed to clients that accept it. Each body of a read is compressed once,
  /// in the background once a client asked for it in that coding (docs/http.md).
  std::shared_ptr<const http::gzip_compressor> gzip{};
  /// Where the background reader reports a failed read (error) and the keys it skipped or
  /// a SCAN cut short (warning; at most max_logged_skips lines a minute, then a count);
  /// nothing when empty.
  log_sink log;
  std::size_t max_logged_skips = 20;
};

}  // namespace anklet::metrics
