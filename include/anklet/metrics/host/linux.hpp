// anklet::metrics Linux host source: the 11 host_* figures from /proc, /sys and statvfs,
// with the rules of gopsutil that Go Anklet uses (docs/metrics.md).
//
// Files are read with POSIX open/read/close and parsed with explicit size limits: a
// missing or malformed file makes its part fail (zeros plus a message), never a crash or
// an exception. Other platforms get their own *_host_source beside this one; code that
// wants "whatever this platform has" should take any host_metrics_source.
#pragma once

#if !defined(__linux__)
#error "anklet/metrics/host/linux.hpp reads /proc and /sys; it is for Linux only"
#endif

#include <dirent.h>
#include <fcntl.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "anklet/metrics/core/result.hpp"
#include "anklet/metrics/detail/text.hpp"
#include "anklet/metrics/host/rules.hpp"
#include "anklet/metrics/host/source.hpp"

namespace anklet::metrics {

/// Where linux_host_source reads from and how much it is willing to read.
struct linux_host_options {
  /// The directory holding proc/ and sys/; tests point it at a tree of fake files.
  std::string root = "/";
  /// The file system whose usage is reported (statvfs on this path).
  std::string disk_path = "/";
  /// Largest file read whole (/proc/meminfo, /proc/cpuinfo on hosts with many CPUs).
  std::size_t max_file_bytes = std::size_t{4} << 20;
  /// Largest first line of /proc/stat (the aggregate "cpu" line is under 200 bytes).
  std::size_t max_stat_line_bytes = 4096;
  /// Most entries of sys/devices/system/cpu looked at when counting cores.
  std::size_t max_cpu_entries = 65536;
};

namespace detail::linux_host {

/// CPU time in clock ticks: everything, and everything but idle and iowait.
struct cpu_times {
  std::uint64_t total = 0;
  std::uint64_t busy = 0;
  friend bool operator==(const cpu_times&, const cpu_times&) = default;
};

struct meminfo {
  std::uint64_t total_bytes = 0;
  std::uint64_t available_bytes = 0;
};

inline std::string errno_text(int e) { return std::system_category().message(e); }

inline std::string join(const std::string& root, std::string_view rel) {
  std::string out = root.empty() ? std::string("/") : root;
  if (out.back() != '/') out += '/';
  out += rel;
  return out;
}

/// What read_file found: the bytes read, and whether the file went on past the limit.
struct file_text {
  std::string text;
  bool truncated = false;
};

// Reads at most `limit` bytes of `path`; callers decide whether a prefix is enough.
// errc::system when the file cannot be opened or read.
inline result<file_text> read_file(const std::string& path, std::size_t limit) {
  file_text f;
  std::string& out = f.text;
  int fd = -1;
  do {
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return error{errc::system, "cannot open " + path + ": " + errno_text(errno)};
  constexpr std::size_t chunk = 4096;
  for (;;) {
    // One byte past the limit tells a file of exactly `limit` bytes from a longer one.
    const std::size_t want = std::min(chunk, limit + 1 - out.size());
    const std::size_t old = out.size();
    out.resize(old + want);
    const ssize_t n = ::read(fd, out.data() + old, want);
    if (n < 0) {
      out.resize(old);
      if (errno == EINTR || errno == EAGAIN) continue;
      error e{errc::system, "cannot read " + path + ": " + errno_text(errno)};
      ::close(fd);
      return e;
    }
    out.resize(old + static_cast<std::size_t>(n));
    if (n == 0) break;
    if (out.size() > limit) {
      out.resize(limit);
      f.truncated = true;
      break;
    }
  }
  ::close(fd);
  return f;
}

// A decimal unsigned number, at most 20 digits, no sign, no overflow.
inline bool parse_u64(std::string_view s, std::uint64_t& out) noexcept {
  return s.size() <= 20 && metrics::detail::parse_unsigned(s, ~std::uint64_t{0}, out);
}

constexpr bool is_blank(char c) noexcept { return c == ' ' || c == '\t'; }

inline std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (is_blank(s.front()) || s.front() == '\n' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (is_blank(s.back()) || s.back() == '\n' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// The next blank-separated token of `s`, consumed from it.
inline std::string_view next_token(std::string_view& s) noexcept {
  while (!s.empty() && is_blank(s.front())) s.remove_prefix(1);
  std::size_t n = 0;
  while (n < s.size() && !is_blank(s[n])) ++n;
  const auto tok = s.substr(0, n);
  s.remove_prefix(n);
  return tok;
}

/// Parses the aggregate line of /proc/stat: "cpu  user nice system idle iowait irq
/// softirq steal guest guest_nice". Old kernels print fewer fields (at least four);
/// guest and guest_nice are already inside user and nice, so they are not added.
/// errc::parse with the offset in the text where it was found.
inline result<cpu_times> parse_proc_stat(std::string_view text) {
  const auto at = [text](std::string_view part) { return static_cast<std::size_t>(part.data() - text.data()); };
  const auto eol = text.find('\n');
  std::string_view line = text.substr(0, eol);
  if (next_token(line) != "cpu") return error{errc::parse, "first line does not start with the aggregate \"cpu\" entry", 0};
  std::uint64_t fields[8] = {};
  std::size_t count = 0;
  for (auto tok = next_token(line); !tok.empty(); tok = next_token(line)) {
    std::uint64_t v = 0;
    if (!parse_u64(tok, v)) return error{errc::parse, "malformed number in the \"cpu\" line", at(tok)};
    if (count < 8) fields[count] = v;
    ++count;
  }
  if (count < 4) {
    return error{errc::parse, "the \"cpu\" line has " + std::to_string(count) + " fields, expected at least 4", at(line)};
  }
  cpu_times out;
  std::uint64_t total = 0;
  for (const auto f : fields) {
    if (__builtin_add_overflow(total, f, &total)) return error{errc::parse, "CPU time counters overflow", 0};
  }
  out.total = total;
  out.busy = total - fields[3] - fields[4];  // idle and iowait are part of total
  return out;
}

/// Busy share between two readings, 0..100. `previous_usage` is answered when no clock
/// tick passed (two samples within one tick), so quick successive scrapes stay stable.
/// Counters that went backwards (a reset) are compared with zero instead.
inline double usage_between(cpu_times before, cpu_times now, double previous_usage) noexcept {
  if (now.total < before.total || now.busy < before.busy) before = cpu_times{};
  return host_rules::busy_share(now.busy - before.busy, now.total - before.total, previous_usage);
}

/// Reads MemTotal and MemAvailable ("Key:   12345 kB" lines) from /proc/meminfo text;
/// errc::parse with the offset of the offending line (none for a missing key).
inline result<meminfo> parse_meminfo(std::string_view text) {
  const std::string_view all = text;
  meminfo out;
  bool have_total = false;
  bool have_available = false;
  while (!text.empty()) {
    const auto eol = text.find('\n');
    std::string_view line = text.substr(0, eol);
    const auto line_at = static_cast<std::size_t>(line.data() - all.data());
    text.remove_prefix(eol == std::string_view::npos ? text.size() : eol + 1);
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    const auto key = line.substr(0, colon);
    const bool is_total = key == "MemTotal";
    const bool is_available = key == "MemAvailable";
    if (!is_total && !is_available) continue;
    std::string_view rest = line.substr(colon + 1);
    const auto number = next_token(rest);
    const auto unit = next_token(rest);
    std::uint64_t v = 0;
    if (!parse_u64(number, v) || !next_token(rest).empty()) {
      return error{errc::parse, "malformed " + std::string(key) + " line", line_at};
    }
    if (unit == "kB") {
      if (__builtin_mul_overflow(v, std::uint64_t{1024}, &v)) return error{errc::parse, std::string(key) + " overflows", line_at};
    } else if (!unit.empty()) {
      return error{errc::parse, "unknown unit in the " + std::string(key) + " line", line_at};
    }
    (is_total ? out.total_bytes : out.available_bytes) = v;
    (is_total ? have_total : have_available) = true;
  }
  if (!have_total || !have_available) return error{errc::parse, std::string(have_total ? "MemAvailable" : "MemTotal") + " missing"};
  if (out.available_bytes > out.total_bytes) return error{errc::parse, "MemAvailable exceeds MemTotal"};
  return out;
}

/// Physical cores from /proc/cpuinfo text: distinct (physical id, core id) pairs. Zero
/// when the file names none (some architectures print neither).
inline std::size_t count_cores_cpuinfo(std::string_view text) {
  std::vector<std::pair<std::uint64_t, std::uint64_t>> cores;
  std::uint64_t physical = 0;
  std::uint64_t core = 0;
  bool have_physical = false;
  bool have_core = false;
  const auto end_section = [&] {
    if (have_physical && have_core) cores.emplace_back(physical, core);
    have_physical = have_core = false;
  };
  while (!text.empty()) {
    const auto eol = text.find('\n');
    const auto line = text.substr(0, eol);
    text.remove_prefix(eol == std::string_view::npos ? text.size() : eol + 1);
    if (trim(line).empty()) {
      end_section();
      continue;
    }
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    const auto key = trim(line.substr(0, colon));
    const auto value = trim(line.substr(colon + 1));
    if (key == "physical id") have_physical = parse_u64(value, physical);
    if (key == "core id") have_core = parse_u64(value, core);
  }
  end_section();
  std::sort(cores.begin(), cores.end());
  return static_cast<std::size_t>(std::unique(cores.begin(), cores.end()) - cores.begin());
}

/// A sysfs CPU list ("0-3,8-11"): digits, commas and dashes only.
inline bool valid_cpu_list(std::string_view s) noexcept {
  if (s.empty()) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || c == ',' || c == '-'; });
}

inline bool is_cpu_dir_name(std::string_view name) noexcept {
  if (name.size() < 4 || name.substr(0, 3) != "cpu") return false;
  return std::all_of(name.begin() + 3, name.end(), [](char c) { return c >= '0' && c <= '9'; });
}

/// Physical cores from sysfs: distinct sibling lists of sys/devices/system/cpu/cpuN, from
/// topology/core_cpus_list or, on kernels before 5.7, topology/thread_siblings_list. Zero
/// when sysfs has none.
inline std::size_t count_cores_sysfs(const linux_host_options& o) {
  const auto base = join(o.root, "sys/devices/system/cpu");
  DIR* dir = ::opendir(base.c_str());
  if (dir == nullptr) return 0;
  std::vector<std::string> names;
  std::size_t seen = 0;
  while (const dirent* e = ::readdir(dir)) {
    if (++seen > o.max_cpu_entries) break;
    if (is_cpu_dir_name(e->d_name)) names.emplace_back(e->d_name);
  }
  ::closedir(dir);

  std::vector<std::string> lists;
  for (const auto& name : names) {
    for (const char* file : {"/topology/core_cpus_list", "/topology/thread_siblings_list"}) {
      const auto content = read_file(base + "/" + name + file, 4096);
      if (!content || content->truncated) continue;
      const auto list = trim(content->text);
      if (!valid_cpu_list(list)) continue;
      lists.emplace_back(list);
      break;
    }
  }
  std::sort(lists.begin(), lists.end());
  return static_cast<std::size_t>(std::unique(lists.begin(), lists.end()) - lists.begin());
}

/// Online logical CPUs of the running system (ignores options.root), 0 if unknown.
inline std::size_t logical_cpu_count() noexcept {
  const long n = ::sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? static_cast<std::size_t>(n) : 0;
}

/// gopsutil's cpu.Counts(false), with the logical count where physical cores are unknown.
inline std::size_t physical_cpu_count(const linux_host_options& o) {
  if (const auto n = count_cores_sysfs(o); n > 0) return n;
  if (const auto f = read_file(join(o.root, "proc/cpuinfo"), o.max_file_bytes); f && !f->truncated) {
    if (const auto n = count_cores_cpuinfo(f->text); n > 0) return n;
  }
  return logical_cpu_count();
}

}  // namespace detail::linux_host

/// The host figures of a Linux machine:
/// - cpu_count: physical cores (sysfs topology, else /proc/cpuinfo, else the logical count);
/// - cpu_usage_percentage: busy share of all CPU time since this source's previous sample
///   (/proc/stat; the first sample covers the time since boot);
/// - cpu_used_count: integer part of cpu_count * usage / 100;
/// - memory: /proc/meminfo MemTotal and MemAvailable, used = total - available;
/// - disk: statvfs(disk_path), used = (blocks - bfree) * frsize, usage = used / (used + bavail).
/// A part that cannot be read fails on its own (host_sample::fail). sample() is
/// thread-safe; the source is neither copyable nor movable because it keeps the previous
/// CPU counters behind a mutex.
class linux_host_source {
 public:
  linux_host_source() = default;
  explicit linux_host_source(linux_host_options options) : options_(std::move(options)) {}
  linux_host_source(const linux_host_source&) = delete;
  linux_host_source& operator=(const linux_host_source&) = delete;

  [[nodiscard]] const linux_host_options& options() const noexcept { return options_; }

  /// Reads all three parts now. Never throws except std::bad_alloc.
  [[nodiscard]] host_sample sample() {
    host_sample s;
    sample_cpu(s);
    sample_memory(s);
    sample_disk(s);
    return s;
  }

 private:
  void sample_cpu(host_sample& s) {
    namespace d = detail::linux_host;
    const auto path = d::join(options_.root, "proc/stat");
    // Held from the read to the update of previous_, so that concurrent samples compare
    // readings in the order they were taken (an out-of-order pair would look like a reset).
    std::unique_lock lock(mutex_);
    const auto file = d::read_file(path, options_.max_stat_line_bytes);
    if (!file) {
      s.fail(host_part::cpu, file.error().message);
      return;
    }
    if (file->truncated && file->text.find('\n') == std::string::npos) {
      s.fail(host_part::cpu, "first line of " + path + " is longer than " +
                                 std::to_string(options_.max_stat_line_bytes) + " bytes");
      return;
    }
    const auto now = d::parse_proc_stat(file->text);
    if (!now) {
      s.fail(host_part::cpu, path + ": " + now.error().message);
      return;
    }
    const double usage = d::usage_between(previous_, *now, previous_usage_);
    previous_ = *now;
    previous_usage_ = usage;
    lock.unlock();
    const auto cores = d::physical_cpu_count(options_);
    if (cores == 0) {
      s.fail(host_part::cpu, "the number of CPUs is unknown");
      return;
    }
    detail::host_rules::set_cpu(s.values, cores, usage);
  }

  void sample_memory(host_sample& s) const {
    namespace d = detail::linux_host;
    const auto path = d::join(options_.root, "proc/meminfo");
    const auto file = d::read_file(path, options_.max_file_bytes);
    if (!file) {
      s.fail(host_part::memory, file.error().message);
      return;
    }
    if (file->truncated) {
      s.fail(host_part::memory, path + " is longer than " + std::to_string(options_.max_file_bytes) + " bytes");
      return;
    }
    const auto m = d::parse_meminfo(file->text);
    if (!m) {
      s.fail(host_part::memory, path + ": " + m.error().message);
      return;
    }
    detail::host_rules::set_memory(s.values, m->total_bytes, m->available_bytes);  // parse_meminfo checked the order
  }

  void sample_disk(host_sample& s) const {
    namespace d = detail::linux_host;
    struct statvfs st {};
    int rc = 0;
    // statvfs on network file systems can be interrupted; a few retries are enough.
    for (int attempt = 0; attempt < 5; ++attempt) {
      rc = ::statvfs(options_.disk_path.c_str(), &st);
      if (rc == 0 || errno != EINTR) break;
    }
    if (rc != 0) {
      s.fail(host_part::disk, "statvfs(" + options_.disk_path + "): " + d::errno_text(errno));
      return;
    }
    const std::uint64_t unit = st.f_frsize != 0 ? st.f_frsize : st.f_bsize;
    if (!detail::host_rules::set_disk(s.values, st.f_blocks, st.f_bfree, st.f_bavail, unit)) {
      s.fail(host_part::disk, "statvfs(" + options_.disk_path + ") returned inconsistent block counts");
    }
  }

  linux_host_options options_;
  std::mutex mutex_;
  detail::linux_host::cpu_times previous_;
  double previous_usage_ = 0;
};

static_assert(host_metrics_source<linux_host_source>);

}  // namespace anklet::metrics
