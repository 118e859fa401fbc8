// anklet::metrics::http connections: one client's buffers and state, the framing of an
// answer (status line, headers, body) and the non-blocking, vectored send of what is queued.
// Internal to the server; nothing here blocks.
#pragma once

#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "anklet/metrics/detail/descriptors.hpp"
#include "anklet/metrics/detail/socket.hpp"
#include "anklet/metrics/http/request_parser.hpp"
#include "anklet/metrics/http/response.hpp"

namespace anklet::metrics::http::detail {

/// How an answer goes out: HEAD sends no body, and the connection header follows the
/// request's keep-alive and version.
struct framing {
  bool head_only = false;
  bool keep_alive = true;
  int version_minor = 1;
};

struct out_item {
  std::string head;  // status line, headers and any small body
  std::shared_ptr<const shared_body> body;
  std::string tail;  // after a shared body: the part of it that changes per request
  std::size_t sent = 0;
  [[nodiscard]] std::size_t size() const noexcept { return head.size() + (body ? body->bytes.size() : 0) + tail.size(); }
};

template <class Number>
void append_number(std::string& out, Number n) {
  std::array<char, 24> num{};
  out.append(num.data(), static_cast<std::size_t>(std::to_chars(num.data(), num.data() + num.size(), n).ptr - num.data()));
}

// Writes the status line, headers and (unless HEAD) the body of `r` into `item`; a shared
// body is moved over, not copied, and what follows it goes to the item's tail.
inline void frame(out_item& item, response& r, framing f, std::string_view date) {
  auto& h = item.head;
  h += "HTTP/1.1 ";
  append_number(h, r.status);
  h += ' ';
  h += reason_phrase(r.status);
  h += "\r\nDate: ";
  h += date;
  h += "\r\nContent-Type: ";
  h += r.content_type;
  h += "\r\nContent-Length: ";
  append_number(h, r.body_size());
  h += "\r\n";
  if (!r.allow.empty()) {
    h += "Allow: ";
    h += r.allow;
    h += "\r\n";
  }
  if (r.age_seconds) {
    h += "Age: ";
    append_number(h, *r.age_seconds);
    h += "\r\n";
  }
  h += r.headers;
  if (!f.keep_alive) {
    h += "Connection: close\r\n";
  } else if (f.version_minor == 0) {
    h += "Connection: keep-alive\r\n";
  }
  h += "\r\n";
  if (!f.head_only) {
    if (r.shared) {
      item.body = std::move(r.shared);
      item.tail.assign(r.body);
    } else {
      h += r.body;
    }
  }
  r.shared.reset();  // a cache reuses a body only once nobody else holds it
}

/// One client connection of the event loop.
struct connection {
  using clock = std::chrono::steady_clock;
  // Pipelined requests are answered in batches; reading pauses while this much is unsent.
  static constexpr std::size_t output_high_water = 256 * 1024;
  static constexpr std::size_t max_iov = 64;

  metrics::detail::unique_fd fd;
  request_parser parser;
  std::string in;
  std::size_t in_used = 0;
  std::vector<out_item> out;  // items [out_first, out_count) are pending; others keep capacity
  std::size_t out_first = 0;
  std::size_t out_count = 0;
  std::size_t out_bytes = 0;
  clock::time_point deadline;
  bool close_after = false;  // close once the output is sent
  bool lingering = false;    // output sent after an error; draining input until EOF
  bool peer_eof = false;
  bool dead = false;

  connection(metrics::detail::unique_fd f, const request_limits& limits) : fd(std::move(f)), parser(limits) {}
  [[nodiscard]] bool wants_read() const noexcept {
    return !dead && (lingering || (!close_after && !peer_eof && out_bytes < output_high_water));
  }

  /// A cleared item at the end of the queue, reusing an old one's capacity.
  out_item& next_item() {
    if (out_count == out.size()) out.emplace_back();
    auto& item = out[out_count++];
    item.head.clear();
    item.body.reset();
    item.tail.clear();
    item.sent = 0;
    return item;
  }

  /// Sends what it can without blocking; every write that moves bytes pushes the deadline
  /// `write_timeout` ahead.
  void send_pending(std::chrono::milliseconds write_timeout) {
    while (out_bytes > 0) {
      std::array<iovec, max_iov> iov{};
      std::size_t k = 0;
      // An item takes at most three entries: head, shared body, tail.
      for (std::size_t i = out_first; i < out_count && k + 3 <= max_iov; ++i) {
        const auto& item = out[i];
        std::size_t skip = item.sent;
        const auto add = [&](const char* data, std::size_t size) {
          if (skip < size) {
            iov[k++] = {const_cast<char*>(data + skip), size - skip};
            skip = 0;
          } else {
            skip -= size;
          }
        };
        add(item.head.data(), item.head.size());
        if (item.body) add(item.body->bytes.data(), item.body->bytes.size());
        add(item.tail.data(), item.tail.size());
      }
      msghdr msg{};
      msg.msg_iov = iov.data();
      msg.msg_iovlen = static_cast<decltype(msg.msg_iovlen)>(k);  // size_t on Linux, int on macOS
      const ssize_t n = ::sendmsg(fd.get(), &msg, metrics::detail::send_nosignal | MSG_DONTWAIT);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) dead = true;  // EPIPE, ECONNRESET: only this one
        return;
      }
      // Not the loop's `now`: that was taken before the handlers of this round ran, and a
      // slow one would leave the rest of the answer no time at all.
      deadline = clock::now() + write_timeout;
      auto left = static_cast<std::size_t>(n);
      out_bytes -= left;
      while (left > 0) {
        auto& item = out[out_first];
        const auto rest = item.size() - item.sent;
        if (left < rest) {
          item.sent += left;
          break;
        }
        left -= rest;
        item.body.reset();
        ++out_first;
      }
      while (out_first < out_count && out[out_first].size() == out[out_first].sent) {
        out[out_first].body.reset();
        ++out_first;
      }
    }
  }
};

}  // namespace anklet::metrics::http::detail
