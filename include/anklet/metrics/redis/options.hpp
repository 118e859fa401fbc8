// anklet::metrics::redis client options: the target, timeouts, reconnect backoff and reply
// limits of a client, and the stream_layer through which TLS (redis/tls.hpp) plugs in
// without this header or the client including a TLS library.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>

#include "anklet/metrics/redis/error.hpp"
#include "anklet/metrics/redis/resp.hpp"
#include "anklet/metrics/redis/url.hpp"

namespace anklet::metrics::redis {

/// A layer over a connected non-blocking socket, such as TLS (redis/tls.hpp). One per connection.
class stream_layer {
 public:
  stream_layer() = default;
  stream_layer(const stream_layer&) = delete;
  stream_layer& operator=(const stream_layer&) = delete;
  virtual ~stream_layer() = default;
  /// Sets the layer up on `fd` before `deadline` (e.g. the TLS handshake).
  virtual result<void> start(int fd, std::chrono::steady_clock::time_point deadline) = 0;
  /// As send(2)/recv(2) on a non-blocking socket: bytes moved, 0 for an orderly close
  /// (read), -1 with errno set, EAGAIN when the socket must become readable or writable.
  virtual long write(const char* data, std::size_t n) = 0;
  virtual long read(char* data, std::size_t n) = 0;
};

/// Makes the stream_layer of each connection to a target.
class stream_layer_factory {
 public:
  stream_layer_factory() = default;
  stream_layer_factory(const stream_layer_factory&) = delete;
  stream_layer_factory& operator=(const stream_layer_factory&) = delete;
  virtual ~stream_layer_factory() = default;
  virtual result<std::unique_ptr<stream_layer>> make(const connection_target& target) const = 0;
};

/// Connection, timeouts, reconnect backoff and reply limits.
struct client_options {
  connection_target target;
  std::chrono::milliseconds connect_timeout{2000};
  std::chrono::milliseconds write_timeout{2000};
  std::chrono::milliseconds read_timeout{2000};
  /// Delay before the first reconnect after a failure; each further consecutive failure
  /// multiplies it by backoff_multiplier, up to backoff_max (redis/backoff.hpp).
  std::chrono::milliseconds backoff_initial{100};
  std::chrono::milliseconds backoff_max{10000};
  double backoff_multiplier = 2.0;
  /// Up to this fraction of each delay is removed at random, so that many hosts that lost
  /// the same Redis do not come back in lockstep. 0 disables jitter.
  double backoff_jitter = 0.5;
  reply_limits limits;
  /// Bytes asked of the kernel per read.
  std::size_t read_chunk = std::size_t{64} << 10;
  /// TLS for targets with tls set (rediss://): redis::tls_layer(...) of redis/tls.hpp.
  std::shared_ptr<const stream_layer_factory> tls;
};

}  // namespace anklet::metrics::redis
