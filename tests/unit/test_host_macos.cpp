// The macOS host arithmetic on readings shaped like a Mac's (32-bit tick counters, 16 KiB
// pages, an APFS volume with 4 KiB blocks), run on every platform; on a Mac, also the
// real source against the sysctl and statfs answers of that machine.
#include "anklet/metrics/host/macos.hpp"

#include <array>
#include <cstdint>
#include <string>

#include <doctest/doctest.h>

#include "anklet/metrics/host/platform.hpp"
#include "anklet/metrics/store.hpp"

#if defined(__APPLE__)
#include <sys/mount.h>

#include <algorithm>
#include <cstdio>
#include <type_traits>
#endif

using namespace anklet::metrics;
using detail::macos_host::counters;
using detail::macos_host::cpu_history;
using detail::macos_host::figures;

namespace {

// A 16 GiB, 8-core Apple-silicon machine, some hours after boot.
counters mac_reading() {
  counters c;
  c.physical_cpus = 8;
  c.logical_cpus = 8;
  c.cpu_ticks = {1'000'000, 500'000, 8'000'000, 500'000};  // user, system, idle, nice
  c.memsize = 17'179'869'184;
  c.page_size = 16'384;
  c.free_pages = 50'000;
  c.inactive_pages = 250'000;
  c.disk_blocks = 121'008'576;
  c.disk_free_blocks = 60'000'000;
  c.disk_available_blocks = 59'000'000;
  c.disk_block_size = 4'096;
  return c;
}

}  // namespace

TEST_CASE("macOS: exact figures from one reading") {
  cpu_history h;
  const auto s = figures(mac_reading(), h);
  INFO(s.error_summary());
  REQUIRE(s.ok());
  const auto& v = s.values;
  // Since boot: busy = user + system + nice = 2,000,000 of 10,000,000 ticks.
  CHECK(v.cpu_count == 8);
  CHECK(v.cpu_usage_percentage == doctest::Approx(20.0));
  CHECK(v.cpu_used_count == 1);
  // available = (50,000 + 250,000) pages of 16 KiB.
  CHECK(v.memory_total_bytes == 17'179'869'184U);
  CHECK(v.memory_available_bytes == 4'915'200'000U);
  CHECK(v.memory_used_bytes == 12'264'669'184U);
  CHECK(v.memory_usage_percentage == doctest::Approx(71.3897705078125));
  // used = (blocks - free) * 4 KiB; usage = used / (used + available).
  CHECK(v.disk_total_bytes == 495'651'127'296U);
  CHECK(v.disk_available_bytes == 241'664'000'000U);
  CHECK(v.disk_used_bytes == 249'891'127'296U);
  CHECK(v.disk_usage_percentage == doctest::Approx(50.8368));
  CHECK(h.ticks == mac_reading().cpu_ticks);
}

TEST_CASE("macOS: cpu usage is the busy share of the tick deltas since the previous sample") {
  cpu_history h;
  auto c = mac_reading();
  static_cast<void>(figures(c, h));
  // +300 user, +100 system, +600 idle: 40 % of 1000 ticks, 3 of 8 cores.
  c.cpu_ticks = {1'000'300, 500'100, 8'000'600, 500'000};
  auto s = figures(c, h);
  CHECK(s.values.cpu_usage_percentage == doctest::Approx(40.0));
  CHECK(s.values.cpu_used_count == 3);
  // Nice time is busy time too.
  c.cpu_ticks = {1'000'300, 500'100, 8'000'700, 500'300};
  s = figures(c, h);
  CHECK(s.values.cpu_usage_percentage == doctest::Approx(75.0));
  // All busy: every core used.
  c.cpu_ticks = {1'000'400, 500'100, 8'000'700, 500'300};
  s = figures(c, h);
  CHECK(s.values.cpu_usage_percentage == doctest::Approx(100.0));
  CHECK(s.values.cpu_used_count == 8);
}

TEST_CASE("macOS: a tick counter that wrapped past 2^32 still gives its true delta") {
  cpu_history h;
  auto c = mac_reading();
  c.cpu_ticks = {4'294'967'200U, 500'000, 4'294'967'000U, 0};
  static_cast<void>(figures(c, h));
  // user: 100 ticks across the wrap; idle: 300 across it; system: +100.
  c.cpu_ticks = {4, 500'100, 4, 0};
  const auto s = figures(c, h);
  CHECK(s.values.cpu_usage_percentage == doctest::Approx(40.0));
  CHECK(s.values.cpu_used_count == 3);
  CHECK(detail::macos_host::usage_between({0xFFFFFFFFU, 0, 0xFFFFFFFFU, 0}, {0, 0, 2, 0}, 0) ==
        doctest::Approx(25.0));
}

TEST_CASE("macOS: no tick since the previous sample keeps the previous usage") {
  cpu_history h;
  auto c = mac_reading();
  static_cast<void>(figures(c, h));
  c.cpu_ticks = {1'000'050, 500'000, 8'000'150, 500'000};
  auto s = figures(c, h);
  REQUIRE(s.values.cpu_usage_percentage == doctest::Approx(25.0));
  s = figures(c, h);  // the same counters again
  CHECK(s.values.cpu_usage_percentage == doctest::Approx(25.0));
  CHECK(s.values.cpu_used_count == 2);
  // All counters zero (a first sample that read nothing new) is 0 %, not a division by zero.
  cpu_history fresh;
  counters zero = mac_reading();
  zero.cpu_ticks = {};
  s = figures(zero, fresh);
  CHECK(s.ok());
  CHECK(s.values.cpu_usage_percentage == 0);
}

TEST_CASE("macOS: a failing call fails its part only, visibly, and leaves the history alone") {
  cpu_history h;
  static_cast<void>(figures(mac_reading(), h));
  const auto before = h.ticks;

  SUBCASE("host_statistics for the cpu") {
    auto c = mac_reading();
    c.cpu_ticks = {1'000'100, 500'000, 8'000'100, 500'000};
    c.cpu_error = "host_statistics(HOST_CPU_LOAD_INFO): (ipc/send) invalid destination port (268435459)";
    const auto s = figures(c, h);
    CHECK(s.error(host_part::cpu) == c.cpu_error);
    CHECK(s.values.cpu_count == 0);
    CHECK(s.values.cpu_usage_percentage == 0);
    CHECK(s.values.cpu_used_count == 0);
    CHECK_FALSE(s.failed(host_part::memory));
    CHECK_FALSE(s.failed(host_part::disk));
    CHECK(h.ticks == before);
    // The next good sample compares with the last good ticks: +100 user, +100 idle.
    c.cpu_error.clear();
    CHECK(figures(c, h).values.cpu_usage_percentage == doctest::Approx(50.0));
  }
  SUBCASE("sysctl or host_statistics64 for the memory") {
    auto c = mac_reading();
    c.memory_error = "sysctl hw.memsize: Operation not permitted";
    const auto s = figures(c, h);
    CHECK(s.error(host_part::memory) == c.memory_error);
    CHECK(s.values.memory_total_bytes == 0);
    CHECK(s.values.memory_available_bytes == 0);
    CHECK(s.values.memory_used_bytes == 0);
    CHECK(s.values.memory_usage_percentage == 0);
    CHECK(s.values.cpu_count == 8);
    CHECK(s.values.disk_total_bytes != 0);
  }
  SUBCASE("statfs for the disk") {
    auto c = mac_reading();
    c.disk_error = "statfs(/Volumes/gone): No such file or directory";
    const auto s = figures(c, h);
    CHECK(s.error_summary() == "disk: statfs(/Volumes/gone): No such file or directory");
    CHECK(s.values.disk_total_bytes == 0);
    CHECK(s.values.disk_usage_percentage == 0);
    CHECK(s.values.memory_total_bytes != 0);
  }
  SUBCASE("everything") {
    auto c = mac_reading();
    // Moved in, not assigned from a literal: GCC 12 at -O3 warns falsely (-Wrestrict) on the latter.
    c.cpu_error = std::string(1, 'a');
    c.memory_error = std::string(1, 'b');
    c.disk_error = std::string(1, 'c');
    const auto s = figures(c, h);
    for (const auto p : all_host_parts) CHECK(s.failed(p));
    CHECK(s.values == host_metrics{});
  }
}

TEST_CASE("macOS: a failing call keeps the part's last good figures in the store") {
  cpu_history h;
  store st;
  fixed_host_source source{figures(mac_reading(), h)};
  REQUIRE(refresh_host_metrics(st, source).ok());
  const auto good = st.snapshot().host;
  REQUIRE(good.memory_total_bytes == 17'179'869'184);

  auto c = mac_reading();
  c.memory_error = "host_statistics64(HOST_VM_INFO64): (os/kern) resource shortage";
  c.disk_error = "statfs(/): Too many open files";
  source.set(figures(c, h));
  const auto s = refresh_host_metrics(st, source);
  CHECK(s.failed(host_part::memory));
  CHECK(s.failed(host_part::disk));
  CHECK(st.snapshot().host == good);  // the CPU part was read again: the same ticks, the same figures
}

TEST_CASE("macOS: the logical count stands in for an unknown physical one") {
  cpu_history h;
  auto c = mac_reading();
  c.physical_cpus = 0;
  c.logical_cpus = 10;
  auto s = figures(c, h);
  CHECK(s.values.cpu_count == 10);
  CHECK(s.values.cpu_used_count == 2);
  c.logical_cpus = 0;
  s = figures(c, h);
  CHECK(s.failed(host_part::cpu));
  CHECK(s.error(host_part::cpu).find("number of CPUs is unknown") != std::string::npos);
  CHECK_FALSE(s.failed(host_part::memory));
}

TEST_CASE("macOS: readings that contradict themselves fail their part") {
  cpu_history h;
  SUBCASE("more free and inactive memory than there is") {
    auto c = mac_reading();
    c.free_pages = 1'000'000;
    c.inactive_pages = 100'000;  // 1.1 M pages of 16 KiB > 16 GiB
    const auto s = figures(c, h);
    CHECK(s.error(host_part::memory) == "free + inactive pages exceed hw.memsize");
    CHECK(s.values.memory_total_bytes == 0);
  }
  SUBCASE("no page size") {
    auto c = mac_reading();
    c.page_size = 0;
    CHECK(figures(c, h).error(host_part::memory) == "the page size is unknown");
  }
  SUBCASE("pages times page size overflow") {
    auto c = mac_reading();
    c.free_pages = std::uint64_t{1} << 62;
    CHECK(figures(c, h).error(host_part::memory) == "free + inactive pages overflow 64 bits");
    c.free_pages = ~std::uint64_t{0};
    CHECK(figures(c, h).error(host_part::memory) == "free + inactive pages overflow 64 bits");
  }
  SUBCASE("more free blocks than blocks") {
    auto c = mac_reading();
    c.disk_free_blocks = c.disk_blocks + 1;
    const auto s = figures(c, h);
    CHECK(s.error(host_part::disk) == "statfs returned inconsistent block counts");
    CHECK(s.values.disk_total_bytes == 0);
    CHECK_FALSE(s.failed(host_part::memory));
  }
  SUBCASE("an empty volume and all memory available give 0 %") {
    auto c = mac_reading();
    c.disk_blocks = c.disk_free_blocks = c.disk_available_blocks = 0;
    c.free_pages = 1'048'576;  // exactly 16 GiB
    c.inactive_pages = 0;
    const auto s = figures(c, h);
    REQUIRE(s.ok());
    CHECK(s.values.disk_usage_percentage == 0);
    CHECK(s.values.memory_used_bytes == 0);
    CHECK(s.values.memory_usage_percentage == 0);
  }
}

#if defined(__APPLE__)
// ---- the macOS source on this Mac (compiled in CI by cross-compiling, run on Macs) ------

namespace {
std::uint64_t sysctl_number(const char* name) {
  const std::string command = std::string("/usr/sbin/sysctl -n ") + name;
  FILE* p = ::popen(command.c_str(), "r");
  REQUIRE(p != nullptr);
  unsigned long long v = 0;
  const int n = std::fscanf(p, "%llu", &v);
  ::pclose(p);
  REQUIRE(n == 1);
  return v;
}
}  // namespace

TEST_CASE("macOS source: platform_host_source is the macOS source") {
  static_assert(std::is_same_v<platform_host_source, macos_host_source>);
  static_assert(host_metrics_source<platform_host_source>);
}

TEST_CASE("macOS source agrees with sysctl and statfs on this Mac") {
  macos_host_source src;
  struct statfs before {};
  REQUIRE(::statfs("/", &before) == 0);
  const auto s = src.sample();
  struct statfs after {};
  REQUIRE(::statfs("/", &after) == 0);
  INFO(s.error_summary());
  REQUIRE(s.ok());
  const auto& v = s.values;
  CHECK(v.cpu_count == sysctl_number("hw.physicalcpu"));
  CHECK(v.cpu_usage_percentage >= 0);
  CHECK(v.cpu_usage_percentage <= 100);
  CHECK(v.memory_total_bytes == sysctl_number("hw.memsize"));
  CHECK(v.memory_available_bytes <= v.memory_total_bytes);
  CHECK(v.memory_used_bytes == v.memory_total_bytes - v.memory_available_bytes);
  const auto used = [](const struct statfs& st) { return (st.f_blocks - st.f_bfree) * st.f_bsize; };
  CHECK(v.disk_total_bytes == after.f_blocks * after.f_bsize);
  CHECK(v.disk_used_bytes >= std::min(used(before), used(after)));
  CHECK(v.disk_used_bytes <= std::max(used(before), used(after)));
}

TEST_CASE("macOS source: a disk path that does not exist fails the disk part only") {
  macos_host_source src{macos_host_options{"/nonexistent-anklet-path"}};
  const auto s = src.sample();
  CHECK(s.error(host_part::disk).find("statfs(/nonexistent-anklet-path)") == 0);
  CHECK_FALSE(s.failed(host_part::cpu));
  CHECK_FALSE(s.failed(host_part::memory));
}
#endif
