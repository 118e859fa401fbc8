// libFuzzer target for Redis connection strings: no crash, and an accepted string always
// yields a usable target.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "anklet/metrics/redis/url.hpp"

using namespace anklet::metrics::redis;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view s(reinterpret_cast<const char*>(data), size);
  auto r = parse_url(s);
  if (!r) {
    if (r.error().code != errc::invalid_url || r.error().message.empty()) __builtin_trap();
    return 0;
  }
  const auto& t = r.value();
  if (t.db < 0 || t.db > static_cast<int>(detail::max_db_number)) __builtin_trap();
  if (!t.user.empty() && t.password.empty()) __builtin_trap();
  if (t.unix_path.empty()) {
    if (t.host.empty() || t.port == 0) __builtin_trap();
  } else if (t.unix_path.front() != '/' || t.unix_path.find('\0') != std::string::npos) {
    __builtin_trap();
  }
  return 0;
}
