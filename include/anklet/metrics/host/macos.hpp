// anklet::metrics macOS host source: the 11 host_* figures from sysctl, the Mach host
// statistics and statfs, with the rules of gopsutil that Go Anklet uses on its Macs
// (docs/metrics.md, docs/macos.md).
//
// Two halves. The arithmetic (detail::macos_host::figures) is a pure function of the raw
// counters and compiles everywhere, so that it is tested on any machine with recorded
// readings. The system calls (macos_host_source) compile only on Apple platforms.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

#include "anklet/metrics/core/result.hpp"
#include "anklet/metrics/host/rules.hpp"
#include "anklet/metrics/host/source.hpp"

#if defined(__APPLE__)
#include <mach/mach.h>
#include <mach/mach_error.h>
#include <mach/vm_page_size.h>
#include <sys/mount.h>
#include <sys/param.h>
#include <sys/sysctl.h>

#include <cerrno>
#include <mutex>
#include <system_error>
#include <utility>
#endif

namespace anklet::metrics {

namespace detail::macos_host {

/// One reading of what macOS answered, before any arithmetic. A call that failed leaves
/// its error text, and its numbers are then ignored.
struct counters {
  /// sysctl hw.physicalcpu and hw.logicalcpu; 0 when unknown.
  std::uint64_t physical_cpus = 0;
  std::uint64_t logical_cpus = 0;
  /// host_statistics(HOST_CPU_LOAD_INFO): ticks in CPU_STATE_USER, _SYSTEM, _IDLE and _NICE,
  /// summed over all CPUs. 32-bit counters that wrap.
  std::array<std::uint32_t, 4> cpu_ticks{};
  std::string cpu_error;
  /// sysctl hw.memsize; host_statistics64(HOST_VM_INFO64) free_count and inactive_count, in
  /// pages of page_size bytes.
  std::uint64_t memsize = 0;
  std::uint64_t page_size = 0;
  std::uint64_t free_pages = 0;
  std::uint64_t inactive_pages = 0;
  std::string memory_error;
  /// statfs: f_blocks, f_bfree, f_bavail and f_bsize.
  std::uint64_t disk_blocks = 0;
  std::uint64_t disk_free_blocks = 0;
  std::uint64_t disk_available_blocks = 0;
  std::uint64_t disk_block_size = 0;
  std::string disk_error;
};

/// What one sample leaves for the next: the CPU ticks and the usage computed from them.
struct cpu_history {
  std::array<std::uint32_t, 4> ticks{};
  double usage = 0;
};

inline constexpr std::size_t idle_state = 2;  // CPU_STATE_IDLE; the others are busy time

/// The busy share of the ticks since `before`, 0..100 (`previous_usage` when none passed).
/// Each counter's delta is taken modulo 2^32, so a counter that wrapped since the previous
/// sample still gives its true delta: summed over many CPUs at 100 ticks a second, the
/// idle counter wraps within days of uptime.
inline double usage_between(const std::array<std::uint32_t, 4>& before, const std::array<std::uint32_t, 4>& now,
                            double previous_usage) noexcept {
  std::uint64_t total = 0;
  std::uint64_t busy = 0;
  for (std::size_t i = 0; i < now.size(); ++i) {
    const std::uint32_t delta = now[i] - before[i];  // unsigned: wraps like the counter
    total += delta;
    if (i != idle_state) busy += delta;
  }
  return host_rules::busy_share(busy, total, previous_usage);
}

/// The host figures from one reading. `history` holds the previous CPU ticks (all zero
/// before the first sample, which then covers the time since boot) and is updated when
/// the CPU part succeeds. A failing call fails its part only (host_sample::fail).
inline host_sample figures(const counters& c, cpu_history& history) {
  host_sample s;

  if (!c.cpu_error.empty()) {
    s.fail(host_part::cpu, c.cpu_error);
  } else {
    const double usage = usage_between(history.ticks, c.cpu_ticks, history.usage);
    history.ticks = c.cpu_ticks;
    history.usage = usage;
    const std::uint64_t cores = c.physical_cpus != 0 ? c.physical_cpus : c.logical_cpus;
    if (cores == 0) {
      s.fail(host_part::cpu, "the number of CPUs is unknown (sysctl hw.physicalcpu and hw.logicalcpu failed)");
    } else {
      host_rules::set_cpu(s.values, cores, usage);
    }
  }

  if (!c.memory_error.empty()) {
    s.fail(host_part::memory, c.memory_error);
  } else {
    std::uint64_t available_pages = 0;
    std::uint64_t available = 0;
    if (c.page_size == 0) {
      s.fail(host_part::memory, "the page size is unknown");
    } else if (__builtin_add_overflow(c.free_pages, c.inactive_pages, &available_pages) ||
               !host_rules::mul_bytes(available_pages, c.page_size, available)) {
      s.fail(host_part::memory, "free + inactive pages overflow 64 bits");
    } else if (!host_rules::set_memory(s.values, c.memsize, available)) {
      s.fail(host_part::memory, "free + inactive pages exceed hw.memsize");
    }
  }

  if (!c.disk_error.empty()) {
    s.fail(host_part::disk, c.disk_error);
  } else if (!host_rules::set_disk(s.values, c.disk_blocks, c.disk_free_blocks, c.disk_available_blocks,
                                   c.disk_block_size)) {
    s.fail(host_part::disk, "statfs returned inconsistent block counts");
  }
  return s;
}

}  // namespace detail::macos_host

#if defined(__APPLE__)

/// What macos_host_source reports on.
struct macos_host_options {
  /// The file system whose usage is reported (statfs on this path).
  std::string disk_path = "/";
};

namespace detail::macos_host {

inline std::string errno_text(int e) { return std::system_category().message(e); }

inline std::string kern_text(const char* call, kern_return_t kr) {
  return std::string(call) + ": " + ::mach_error_string(kr) + " (" + std::to_string(kr) + ")";
}

// One fixed-size sysctl value; errc::system when the call fails or answers another size.
template <class T>
result<T> sysctl_value(const char* name) {
  T v{};
  std::size_t len = sizeof v;
  if (::sysctlbyname(name, &v, &len, nullptr, 0) != 0) {
    return error{errc::system, std::string("sysctl ") + name + ": " + errno_text(errno)};
  }
  if (len != sizeof v) return error{errc::system, std::string("sysctl ") + name + ": answered " + std::to_string(len) + " bytes"};
  return v;
}

inline void read_cpu(mach_port_t host, counters& c) {
  // An unknown count falls back to the other; only both unknown is an error.
  if (const auto n = sysctl_value<std::int32_t>("hw.physicalcpu"); n && *n > 0) c.physical_cpus = static_cast<std::uint64_t>(*n);
  if (const auto n = sysctl_value<std::int32_t>("hw.logicalcpu"); n && *n > 0) c.logical_cpus = static_cast<std::uint64_t>(*n);
  host_cpu_load_info_data_t load{};
  mach_msg_type_number_t count = HOST_CPU_LOAD_INFO_COUNT;
  const kern_return_t kr = ::host_statistics(host, HOST_CPU_LOAD_INFO, reinterpret_cast<host_info_t>(&load), &count);
  if (kr != KERN_SUCCESS) {
    c.cpu_error = kern_text("host_statistics(HOST_CPU_LOAD_INFO)", kr);
    return;
  }
  c.cpu_ticks = {load.cpu_ticks[CPU_STATE_USER], load.cpu_ticks[CPU_STATE_SYSTEM], load.cpu_ticks[CPU_STATE_IDLE],
                 load.cpu_ticks[CPU_STATE_NICE]};
}

inline void read_memory(mach_port_t host, counters& c) {
  const auto memsize = sysctl_value<std::uint64_t>("hw.memsize");
  if (!memsize) {
    c.memory_error = memsize.error().message;
    return;
  }
  c.memsize = *memsize;
  vm_statistics64_data_t vm{};
  mach_msg_type_number_t count = HOST_VM_INFO64_COUNT;
  const kern_return_t kr = ::host_statistics64(host, HOST_VM_INFO64, reinterpret_cast<host_info64_t>(&vm), &count);
  if (kr != KERN_SUCCESS) {
    c.memory_error = kern_text("host_statistics64(HOST_VM_INFO64)", kr);
    return;
  }
  c.free_pages = vm.free_count;
  c.inactive_pages = vm.inactive_count;
  // The unit of the VM counters (gopsutil multiplies by getpagesize(), the same number in
  // a native process).
  c.page_size = ::vm_kernel_page_size;
}

inline void read_disk(const std::string& path, counters& c) {
  struct statfs st {};
  int rc = 0;
  // statfs on network file systems can be interrupted; a few retries are enough.
  for (int attempt = 0; attempt < 5; ++attempt) {
    rc = ::statfs(path.c_str(), &st);
    if (rc == 0 || errno != EINTR) break;
  }
  if (rc != 0) {
    c.disk_error = "statfs(" + path + "): " + errno_text(errno);
    return;
  }
  c.disk_blocks = st.f_blocks;
  c.disk_free_blocks = st.f_bfree;
  c.disk_available_blocks = st.f_bavail;
  c.disk_block_size = st.f_bsize;
}

inline counters read_counters(const std::string& disk_path) {
  counters c;
  const mach_port_t host = ::mach_host_self();
  read_cpu(host, c);
  read_memory(host, c);
  // mach_host_self() hands out a send right each call; give it back or the task leaks it.
  ::mach_port_deallocate(::mach_task_self(), host);
  read_disk(disk_path, c);
  return c;
}

}  // namespace detail::macos_host

/// The host figures of a Mac, as gopsutil v4 computes them:
/// - cpu_count: sysctl hw.physicalcpu (hw.logicalcpu where that is unknown);
/// - cpu_usage_percentage: busy share (all but idle) of the HOST_CPU_LOAD_INFO ticks since
///   this source's previous sample (the first sample covers the time since boot);
/// - cpu_used_count: integer part of cpu_count * usage / 100;
/// - memory: total = sysctl hw.memsize, available = (free + inactive pages) * page size
///   from HOST_VM_INFO64, and used is their difference;
/// - disk: statfs(disk_path), used = (blocks - bfree) * bsize, usage = used / (used + bavail).
/// A part that cannot be read fails on its own (host_sample::fail). sample() is
/// thread-safe; the source is neither copyable nor movable because it keeps the previous
/// CPU ticks behind a mutex.
class macos_host_source {
 public:
  macos_host_source() = default;
  explicit macos_host_source(macos_host_options options) : options_(std::move(options)) {}
  macos_host_source(const macos_host_source&) = delete;
  macos_host_source& operator=(const macos_host_source&) = delete;

  [[nodiscard]] const macos_host_options& options() const noexcept { return options_; }

  /// Reads all three parts now. Never throws except std::bad_alloc.
  [[nodiscard]] host_sample sample() {
    // Held from the reading to the update of the history, so that concurrent samples
    // compare readings in the order they were taken.
    std::lock_guard lock(mutex_);
    return detail::macos_host::figures(detail::macos_host::read_counters(options_.disk_path), history_);
  }

 private:
  macos_host_options options_;
  std::mutex mutex_;
  detail::macos_host::cpu_history history_;
};

static_assert(host_metrics_source<macos_host_source>);

#endif  // __APPLE__

}  // namespace anklet::metrics
