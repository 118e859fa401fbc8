// anklet::metrics::http gzip on zlib, for the exporter's and the aggregator's answers
// (docs/http.md, "Compression"). Opt-in: include this header and link zlib (Meson:
// -Dgzip=enabled and the dependency anklet-metrics-gzip; pkg-config anklet-metrics-gzip;
// CMake COMPONENTS gzip); nothing else in the library includes <zlib.h>.
//
// Example:
//   #include "anklet/metrics/http/metrics_routes.hpp"
//   namespace am = anklet::metrics;
//   am::store metrics;
//   am::http::server_options options;
//   options.port = 0;
//   options.gzip = am::http::gzip_compression();  // level 1, bodies of 1 KiB and more
//   am::http::server<> srv{metrics, options};
//   srv.start();  // Accept-Encoding: gzip gets the cached compressed body
#pragma once

#include <zlib.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "anklet/metrics/http/encoding.hpp"

namespace anklet::metrics::http {

/// How bodies are compressed. The defaults were chosen by measurement
/// (benchmarks/bench_gzip.cpp, docs/performance-http.md).
struct gzip_options {
  /// Level 1 makes metrics text about 10x smaller at a few times the cost of rendering it;
  /// higher levels save a few percent more bytes for several times the CPU.
  static constexpr int default_level = 1;
  /// Below about 1 KiB a body fits in one TCP segment either way.
  static constexpr std::size_t default_min_bytes = 1024;

  /// zlib level, 1 (fastest) to 9 (smallest).
  int level = default_level;
  /// Bodies shorter than this are sent uncompressed.
  std::size_t min_bytes = default_min_bytes;
};

/// gzip_compressor on zlib; stateless between calls, so one serves every thread.
class zlib_gzip_compressor final : public gzip_compressor {
 public:
  /// Throws std::invalid_argument for a level outside 1..9.
  explicit zlib_gzip_compressor(gzip_options options = {}) : options_(options) {
    if (options_.level < 1 || options_.level > 9) throw std::invalid_argument("gzip level must be 1 to 9");
  }

  [[nodiscard]] std::size_t min_bytes() const noexcept override { return options_.min_bytes; }

  std::uint32_t compress(std::string_view plain, fmt::memory_buffer& out, bool open) const override {
    z_stream zs{};
    // windowBits 15 + 16: a gzip header and trailer around the deflate data.
    if (deflateInit2(&zs, options_.level, Z_DEFLATED, MAX_WBITS + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
      throw std::runtime_error("zlib: deflateInit2 failed");
    }
    struct end_stream {
      z_stream* s;
      ~end_stream() { deflateEnd(s); }
    } guard{&zs};
    // zlib counts in uInt: large bodies go in slices.
    constexpr std::size_t slice = std::size_t{1} << 30;
    std::size_t used = out.size();
    out.resize(used + deflateBound(&zs, static_cast<uLong>(std::min(plain.size(), slice))) + 64);
    const auto* in = reinterpret_cast<const Bytef*>(plain.data());
    std::size_t left = plain.size();
    for (;;) {
      const std::size_t n = std::min(left, slice);
      zs.next_in = const_cast<Bytef*>(in);  // not written; zlib's API predates const
      zs.avail_in = static_cast<uInt>(n);
      in += n;
      left -= n;
      const int flush = left > 0 ? Z_NO_FLUSH : open ? Z_SYNC_FLUSH : Z_FINISH;
      int rc = Z_OK;
      do {
        if (used == out.size()) out.resize(used + std::max<std::size_t>(used / 2, 4096));
        const std::size_t room = std::min(out.size() - used, slice);
        zs.next_out = reinterpret_cast<Bytef*>(out.data() + used);
        zs.avail_out = static_cast<uInt>(room);
        rc = deflate(&zs, flush);
        used += room - zs.avail_out;
        // With room left, a call that did not end the stream is an error, not a wait.
        if (rc == Z_STREAM_ERROR || (rc == Z_BUF_ERROR && zs.avail_out > 0)) {
          throw std::runtime_error("zlib: deflate failed");
        }
      } while (zs.avail_out == 0 || (flush == Z_FINISH && rc != Z_STREAM_END));
      if (left == 0) break;
    }
    out.resize(used);
    // With the gzip wrapper, zlib keeps the CRC-32 of what it read in `adler`.
    return static_cast<std::uint32_t>(zs.adler);
  }

 private:
  gzip_options options_;
};

/// A shared compressor for server_options::gzip and aggregator_options::gzip.
[[nodiscard]] inline std::shared_ptr<const gzip_compressor> gzip_compression(gzip_options options = {}) {
  return std::make_shared<const zlib_gzip_compressor>(options);
}

}  // namespace anklet::metrics::http
