// Test-only HTTP client over a blocking loopback socket, with receive timeouts so that a
// broken server fails a test instead of hanging it.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace test_http {

struct response {
  int status = 0;
  std::string reason;
  std::multimap<std::string, std::string> headers;  // lower-case names
  std::string body;

  [[nodiscard]] std::string header(const std::string& name) const {
    const auto it = headers.find(name);
    return it == headers.end() ? std::string{} : it->second;
  }
};

inline std::string lower(std::string s) {
  for (auto& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return s;
}

class client {
 public:
  explicit client(std::uint16_t port, const char* address = "127.0.0.1", int family = AF_INET) {
    fd_ = ::socket(family, SOCK_STREAM, 0);
    if (fd_ < 0) throw std::runtime_error("socket failed");
    timeval tv{5, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    int rc = -1;
    if (family == AF_INET6) {
      sockaddr_in6 a{};
      a.sin6_family = AF_INET6;
      a.sin6_port = htons(port);
      ::inet_pton(AF_INET6, address, &a.sin6_addr);
      rc = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    } else {
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_port = htons(port);
      ::inet_pton(AF_INET, address, &a.sin_addr);
      rc = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    }
    if (rc != 0) {
      ::close(fd_);
      throw std::runtime_error("connect failed");
    }
  }
  client(const client&) = delete;
  client& operator=(const client&) = delete;
  client(client&& o) noexcept : fd_(o.fd_), buf_(std::move(o.buf_)) { o.fd_ = -1; }
  ~client() {
    if (fd_ >= 0) ::close(fd_);
  }

  [[nodiscard]] int fd() const noexcept { return fd_; }

  /// How long one read may wait (5 s unless set), e.g. longer under sanitizers.
  void set_receive_timeout(std::chrono::milliseconds t) const {
    timeval tv{static_cast<time_t>(t.count() / 1000), static_cast<suseconds_t>(t.count() % 1000 * 1000)};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }

  void send(std::string_view data) const {
    while (!data.empty()) {
      const auto n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EINTR) continue;
        throw std::runtime_error("send failed");
      }
      data.remove_prefix(static_cast<std::size_t>(n));
    }
  }

  /// Reads one response; `head_only` for answers to HEAD (no body despite Content-Length).
  /// Returns nothing when the server closed (or timed out) before a full response.
  std::optional<response> read_response(bool head_only = false) {
    std::size_t end = 0;
    while ((end = buf_.find("\r\n\r\n")) == std::string::npos) {
      if (!fill()) return std::nullopt;
    }
    response r;
    const std::string head = buf_.substr(0, end);
    buf_.erase(0, end + 4);
    std::size_t pos = head.find("\r\n");
    const std::string status_line = head.substr(0, pos);
    r.status = std::stoi(status_line.substr(9, 3));
    r.reason = status_line.size() > 13 ? status_line.substr(13) : std::string{};
    while (pos != std::string::npos && pos < head.size()) {
      const auto next = head.find("\r\n", pos + 2);
      const auto line = head.substr(pos + 2, next == std::string::npos ? std::string::npos : next - pos - 2);
      const auto colon = line.find(':');
      if (colon != std::string::npos) {
        auto value = line.substr(colon + 1);
        while (!value.empty() && value.front() == ' ') value.erase(0, 1);
        r.headers.emplace(lower(line.substr(0, colon)), value);
      }
      pos = next;
    }
    if (head_only) return r;
    const auto length = static_cast<std::size_t>(std::stoull(r.header("content-length")));
    while (buf_.size() < length) {
      if (!fill()) return std::nullopt;
    }
    r.body = buf_.substr(0, length);
    buf_.erase(0, length);
    return r;
  }

  /// True when the server closed the connection (EOF or reset) within the receive timeout.
  bool closed_by_server() {
    char c = 0;
    const auto n = ::recv(fd_, &c, 1, 0);
    if (n == 0) return true;
    if (n < 0 && (errno == ECONNRESET || errno == EPIPE)) return true;
    if (n > 0) buf_.push_back(c);
    return false;
  }

 private:
  bool fill() {
    char chunk[65536];
    for (;;) {
      const auto n = ::recv(fd_, chunk, sizeof chunk, 0);
      if (n > 0) {
        buf_.append(chunk, static_cast<std::size_t>(n));
        return true;
      }
      if (n < 0 && errno == EINTR) continue;
      return false;
    }
  }

  int fd_ = -1;
  std::string buf_;
};

/// One request on a fresh connection.
inline std::optional<response> get(std::uint16_t port, std::string_view target, std::string_view extra_headers = {},
                                   std::string_view method = "GET") {
  client c(port);
  std::string req(method);
  req += ' ';
  req += target;
  req += " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  req += extra_headers;
  req += "Connection: close\r\n\r\n";
  c.send(req);
  return c.read_response(method == "HEAD");
}

}  // namespace test_http
