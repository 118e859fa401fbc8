// anklet::metrics descriptor helpers of the HTTP server: an owning descriptor, the count of
// descriptors open in the process and what RLIMIT_NOFILE leaves, so that a server can bound
// its connections by what the process can really open (docs/reliability.md).
#pragma once

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>

namespace anklet::metrics::detail {

/// Closes its descriptor when destroyed; movable, not copyable.
class unique_fd {
 public:
  unique_fd() noexcept = default;
  explicit unique_fd(int fd) noexcept : fd_(fd) {}
  unique_fd(unique_fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  unique_fd& operator=(unique_fd&& o) noexcept {
    if (this != &o) reset(std::exchange(o.fd_, -1));
    return *this;
  }
  unique_fd(const unique_fd&) = delete;
  unique_fd& operator=(const unique_fd&) = delete;
  ~unique_fd() { reset(); }
  void reset(int fd = -1) noexcept {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }
  [[nodiscard]] int get() const noexcept { return fd_; }
  [[nodiscard]] int release() noexcept { return std::exchange(fd_, -1); }
  [[nodiscard]] explicit operator bool() const noexcept { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

// What RLIMIT_NOFILE leaves the servers sharing a listener. Each loop gets an equal share
// for its connections, so that a full one can always make room among its own (a global
// count would leave a loop with no connections of its own nothing to evict).
struct connection_budget {
  std::size_t capacity = SIZE_MAX;     // descriptors for servers and connections together
  std::atomic<std::size_t> loops{0};   // servers running on the listener
  [[nodiscard]] std::size_t share(std::size_t own_descriptors) const noexcept {
    const std::size_t n = std::max<std::size_t>(1, loops.load(std::memory_order_relaxed));
    if (capacity == SIZE_MAX) return SIZE_MAX;
    const std::size_t fixed = n * own_descriptors;
    return capacity > fixed ? std::max<std::size_t>(1, (capacity - fixed) / n) : 1;
  }
};

// Descriptors open in this process now; 0 when they cannot be listed.
inline std::size_t open_descriptor_count() noexcept {
#if defined(__linux__)
  DIR* dir = ::opendir("/proc/self/fd");
#else
  DIR* dir = ::opendir("/dev/fd");
#endif
  if (dir == nullptr) return 0;
  std::size_t n = 0;
  while (const dirent* e = ::readdir(dir)) {
    if (e->d_name[0] != '.') ++n;
  }
  ::closedir(dir);
  return n > 0 ? n - 1 : 0;  // less the listing's own descriptor
}

// What the soft RLIMIT_NOFILE leaves after the descriptors open now and `reserved`.
inline std::size_t descriptor_capacity(std::size_t reserved) noexcept {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return SIZE_MAX;
  const auto limit = static_cast<std::uint64_t>(rl.rlim_cur);
  const std::uint64_t used = std::uint64_t{open_descriptor_count()} + reserved;
  if (limit <= used) return 0;
  return static_cast<std::size_t>(std::min<std::uint64_t>(limit - used, SIZE_MAX));
}

// The numeric address of a bound socket, e.g. "127.0.0.1" or "::"; empty if unknown.
inline std::string sockaddr_to_string(const sockaddr_storage& ss) {
  std::array<char, INET6_ADDRSTRLEN> buf{};
  if (ss.ss_family == AF_INET6) {
    const auto& a = reinterpret_cast<const sockaddr_in6&>(ss);
    if (::inet_ntop(AF_INET6, &a.sin6_addr, buf.data(), static_cast<socklen_t>(buf.size())) != nullptr) return buf.data();
  } else if (ss.ss_family == AF_INET) {
    const auto& a = reinterpret_cast<const sockaddr_in&>(ss);
    if (::inet_ntop(AF_INET, &a.sin_addr, buf.data(), static_cast<socklen_t>(buf.size())) != nullptr) return buf.data();
  }
  return {};
}

}  // namespace anklet::metrics::detail
