#include "anklet/metrics/host/source.hpp"
#if defined(__linux__)  // the Linux source's tests; the macOS arithmetic is in test_host_macos.cpp
#include "anklet/metrics/host/linux.hpp"
#endif
#include "anklet/metrics/host/platform.hpp"

#include <sys/statvfs.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>

#include <doctest/doctest.h>

#include "anklet/metrics/http/metrics_routes.hpp"
#include "anklet/metrics/store.hpp"
#include "host_fixture.hpp"

using namespace anklet::metrics;
namespace fs = std::filesystem;

#if defined(__linux__)
namespace {

// A fake root directory (proc/, sys/) removed at the end of the test.
class fake_root {
 public:
  fake_root() {
    std::string templ = (fs::temp_directory_path() / "anklet-host-XXXXXX").string();
    if (::mkdtemp(templ.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = templ;
  }
  fake_root(const fake_root&) = delete;
  fake_root& operator=(const fake_root&) = delete;
  ~fake_root() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  void write(const std::string& rel, const std::string& content) const {
    const auto p = path_ / rel;
    fs::create_directories(p.parent_path());
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out << content;
  }
  void remove(const std::string& rel) const { fs::remove(path_ / rel); }
  [[nodiscard]] std::string str() const { return path_.string(); }
  [[nodiscard]] linux_host_options options() const {
    linux_host_options o;
    o.root = str();
    o.disk_path = str();
    return o;
  }

 private:
  fs::path path_;
};

const std::string meminfo_ok =
    "MemTotal:        1000 kB\n"
    "MemFree:          100 kB\n"
    "MemAvailable:     250 kB\n"
    "Buffers:           10 kB\n"
    "HugePages_Total:    0\n";

void write_topology(const fake_root& r, const char* file, std::initializer_list<const char*> lists) {
  int cpu = 0;
  for (const char* l : lists) {
    r.write("sys/devices/system/cpu/cpu" + std::to_string(cpu++) + "/topology/" + file, std::string(l) + "\n");
  }
}

std::uint64_t meminfo_field(const std::string& key) {
  std::ifstream in("/proc/meminfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key + ":", 0) == 0) {
      std::istringstream fields(line.substr(key.size() + 1));
      std::uint64_t kb = 0;
      fields >> kb;
      return kb * 1024;
    }
  }
  throw std::runtime_error("no " + key + " in /proc/meminfo");
}

std::size_t logical_cpus() { return static_cast<std::size_t>(::sysconf(_SC_NPROCESSORS_ONLN)); }

}  // namespace
#endif

// ---- host_sample and the generic helpers ---------------------------------------------

TEST_CASE("a failed part is zeroed and reported, the others keep their values") {
  host_metrics v;
  v.cpu_count = 4;
  v.cpu_used_count = 2;
  v.cpu_usage_percentage = 50;
  v.memory_total_bytes = 100;
  v.disk_total_bytes = 7;
  host_sample s{v, {}};
  CHECK(s.ok());
  CHECK(s.error_summary().empty());
  s.fail(host_part::cpu, "no /proc/stat");
  CHECK_FALSE(s.ok());
  CHECK(s.failed(host_part::cpu));
  CHECK_FALSE(s.failed(host_part::memory));
  CHECK(s.values.cpu_count == 0);
  CHECK(s.values.cpu_used_count == 0);
  CHECK(s.values.cpu_usage_percentage == 0);
  CHECK(s.values.memory_total_bytes == 100);
  CHECK(s.values.disk_total_bytes == 7);
  s.fail(host_part::disk, "");
  CHECK(s.failed(host_part::disk));
  CHECK(s.values.disk_total_bytes == 0);
  CHECK(s.error_summary() == "cpu: no /proc/stat; disk: failed");
}

TEST_CASE("refresh_host_metrics puts a fixed source's values into the store") {
  basic_store<null_lock, manual_clock> store;
  const host_metrics v = anklet_test::sample_host();
  fixed_host_source source{v};
  const auto before = store.generation();
  const auto s = refresh_host_metrics(store, source);
  CHECK(s.ok());
  CHECK(store.snapshot().host == v);
  CHECK(store.generation() != before);

  host_sample failing{v, {}};
  failing.fail(host_part::memory, "meminfo unreadable");
  source.set(failing);
  const auto s2 = refresh_host_metrics(store, source);
  CHECK(s2.error(host_part::memory) == "meminfo unreadable");
  // The failed part keeps its last good values (never published as real zeros).
  CHECK(store.snapshot().host == v);

  host_metrics w = v;
  w.cpu_usage_percentage = 75;
  w.cpu_used_count = 6;
  w.memory_total_bytes = 1;  // ignored below: the memory part still fails
  host_sample partly{w, {}};
  partly.fail(host_part::memory, "still unreadable");
  source.set(partly);
  CHECK(refresh_host_metrics(store, source).failed(host_part::memory));
  const auto h = store.snapshot().host;
  CHECK(h.cpu_usage_percentage == 75);  // the parts that were read are current
  CHECK(h.cpu_used_count == 6);
  CHECK(h.memory_total_bytes == v.memory_total_bytes);
  CHECK(h.memory_usage_percentage == v.memory_usage_percentage);
}

TEST_CASE("a part that never succeeded stays at zero, and its failure is in the sample") {
  basic_store<null_lock, manual_clock> store;
  host_metrics v;
  v.cpu_count = 4;
  v.disk_total_bytes = 100;
  host_sample failing{v, {}};
  failing.fail(host_part::disk, "statvfs(/x): No such file or directory");
  fixed_host_source source{failing};
  const auto s = refresh_host_metrics(store, source);
  CHECK(s.error_summary() == "disk: statvfs(/x): No such file or directory");
  CHECK(store.snapshot().host.cpu_count == 4);
  CHECK(store.snapshot().host.disk_total_bytes == 0);
}

TEST_CASE("no_host_source stores zeros without an error") {
  basic_store<null_lock, manual_clock> store;
  host_metrics v;
  v.cpu_count = 3;
  store.set_host_metrics(v);
  no_host_source none;
  const auto s = refresh_host_metrics(store, none);
  CHECK(s.ok());
  CHECK(store.snapshot().host == host_metrics{});
}

namespace {
struct throwing_source {
  host_sample sample() { throw std::runtime_error("boom"); }
};
}  // namespace

TEST_CASE("a source that throws despite its promise fails every part instead") {
  basic_store<null_lock, manual_clock> store;
  host_metrics v;
  v.cpu_count = 3;
  store.set_host_metrics(v);
  throwing_source bad;
  const auto s = refresh_host_metrics(store, bad);
  for (const auto p : all_host_parts) CHECK(s.error(p) == "host source threw: boom");
  CHECK(store.snapshot().host == v);  // what was there stays
}

TEST_CASE("the source concept rejects what has no sample()") {
  struct nothing {};
  struct wrong_type {
    int sample() { return 0; }
  };
  static_assert(!host_metrics_source<nothing>);
  static_assert(!host_metrics_source<wrong_type>);
  static_assert(host_metrics_source<const fixed_host_source>);
#if defined(__linux__)
  static_assert(host_metrics_source<linux_host_source>);
  static_assert(std::is_same_v<platform_host_source, linux_host_source>);
#endif
}

#if defined(__linux__)
// ---- the Linux source on this machine ------------------------------------------------

TEST_CASE("linux source agrees with /proc/meminfo and statvfs on this machine") {
  linux_host_source src;
  struct statvfs disk_before {};
  REQUIRE(::statvfs("/", &disk_before) == 0);
  const auto avail_before = meminfo_field("MemAvailable");
  const auto s = src.sample();
  const auto avail_after = meminfo_field("MemAvailable");
  struct statvfs disk_after {};
  REQUIRE(::statvfs("/", &disk_after) == 0);
  INFO(s.error_summary());
  REQUIRE(s.ok());

  const auto& v = s.values;
  CHECK(v.memory_total_bytes == meminfo_field("MemTotal"));
  // MemAvailable moves while we read; allow 64 MiB beyond what we saw either side.
  constexpr std::uint64_t slack = std::uint64_t{64} << 20;
  CHECK(v.memory_available_bytes + slack >= std::min(avail_before, avail_after));
  CHECK(v.memory_available_bytes <= std::max(avail_before, avail_after) + slack);
  CHECK(v.memory_used_bytes == v.memory_total_bytes - v.memory_available_bytes);
  CHECK(v.memory_usage_percentage ==
        doctest::Approx(static_cast<double>(v.memory_used_bytes) / static_cast<double>(v.memory_total_bytes) * 100));

  // Other processes write to the disk while we sample: the used bytes must lie between
  // the readings taken just before and just after.
  const auto used = [](const struct statvfs& st) { return (std::uint64_t{st.f_blocks} - st.f_bfree) * st.f_frsize; };
  CHECK(v.disk_total_bytes == std::uint64_t{disk_after.f_blocks} * disk_after.f_frsize);
  CHECK(v.disk_used_bytes >= std::min(used(disk_before), used(disk_after)));
  CHECK(v.disk_used_bytes <= std::max(used(disk_before), used(disk_after)));
  CHECK(v.disk_total_bytes >= v.disk_used_bytes);
  CHECK(v.disk_usage_percentage >= 0);
  CHECK(v.disk_usage_percentage <= 100);
  CHECK(v.disk_usage_percentage ==
        doctest::Approx(static_cast<double>(v.disk_used_bytes) /
                        static_cast<double>(v.disk_used_bytes + v.disk_available_bytes) * 100));
}

TEST_CASE("linux source counts physical cores like lscpu does") {
  linux_host_source src;
  const auto s = src.sample();
  REQUIRE_FALSE(s.failed(host_part::cpu));
  const auto cores = s.values.cpu_count;
  CHECK(cores >= 1);
  CHECK(cores <= logical_cpus());
  CHECK(cores <= std::thread::hardware_concurrency());

  // An independent count: distinct (core, socket) pairs as lscpu reports them.
  if (FILE* p = ::popen("lscpu -p=CORE,SOCKET 2>/dev/null", "r")) {
    std::set<std::string> pairs;
    char line[256];
    while (std::fgets(line, sizeof line, p) != nullptr) {
      if (line[0] != '#' && line[0] != '\n') pairs.insert(line);
    }
    const int rc = ::pclose(p);
    if (rc == 0 && !pairs.empty()) {
      CHECK(cores == pairs.size());
    } else {
      MESSAGE("lscpu not available; compared with the logical count only");
    }
  }
}

TEST_CASE("linux source cpu usage stays within 0..100 and used count follows it") {
  linux_host_source src;
  for (int i = 0; i < 3; ++i) {
    const auto s = src.sample();
    REQUIRE_FALSE(s.failed(host_part::cpu));
    const auto& v = s.values;
    CHECK(v.cpu_usage_percentage >= 0);
    CHECK(v.cpu_usage_percentage <= 100);
    CHECK(v.cpu_used_count ==
          static_cast<std::uint64_t>(static_cast<double>(v.cpu_count) * v.cpu_usage_percentage / 100));
    CHECK(v.cpu_used_count <= v.cpu_count);
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
  }
}

// ---- the Linux source on crafted files -----------------------------------------------

TEST_CASE("fake root: exact figures from crafted files") {
  fake_root r;
  r.write("proc/stat",
          "cpu  100 0 50 800 50 0 0 0 7 0\n"
          "cpu0 50 0 25 400 25 0 0 0 0 0\n"
          "intr 12345 0 0\n");
  r.write("proc/meminfo", meminfo_ok);
  write_topology(r, "core_cpus_list", {"0-1", "0-1", "2-3", "2-3"});
  linux_host_source src{r.options()};

  // First sample: since boot. total = 100+50+800+50 = 1000, busy = 1000-800-50 = 150.
  auto s = src.sample();
  INFO(s.error_summary());
  REQUIRE(s.ok());
  CHECK(s.values.cpu_count == 2);
  CHECK(s.values.cpu_usage_percentage == doctest::Approx(15.0));
  CHECK(s.values.cpu_used_count == 0);
  CHECK(s.values.memory_total_bytes == 1024000);
  CHECK(s.values.memory_available_bytes == 256000);
  CHECK(s.values.memory_used_bytes == 768000);
  CHECK(s.values.memory_usage_percentage == doctest::Approx(75.0));

  struct statvfs st {};
  REQUIRE(::statvfs(r.str().c_str(), &st) == 0);
  CHECK(s.values.disk_total_bytes == std::uint64_t{st.f_blocks} * st.f_frsize);

  // Second: +300 busy (user, steal) and +100 idle: 75 % of 400 ticks. Guest is not counted again.
  r.write("proc/stat", "cpu  350 0 50 900 50 0 0 50 500 0\n");
  s = src.sample();
  CHECK(s.values.cpu_usage_percentage == doctest::Approx(75.0));
  CHECK(s.values.cpu_used_count == 1);

  // No tick since: the previous figure stands rather than a made-up 0.
  s = src.sample();
  CHECK(s.values.cpu_usage_percentage == doctest::Approx(75.0));

  // Counters went backwards (a reset): compared with zero. total 100, busy 40.
  r.write("proc/stat", "cpu  40 0 0 60 0 0 0 0\n");
  s = src.sample();
  CHECK(s.values.cpu_usage_percentage == doctest::Approx(40.0));

  // All busy: 100 %, every core used.
  r.write("proc/stat", "cpu  240 0 0 60 0 0 0 0\n");
  s = src.sample();
  CHECK(s.values.cpu_usage_percentage == doctest::Approx(100.0));
  CHECK(s.values.cpu_used_count == 2);
}

TEST_CASE("fake root: old kernels with four cpu fields and thread_siblings_list") {
  fake_root r;
  r.write("proc/stat", "cpu 30 10 10 50\n");
  r.write("proc/meminfo", meminfo_ok);
  write_topology(r, "thread_siblings_list", {"0,4", "1,5", "2,6", "3,7", "0,4", "1,5", "2,6", "3,7"});
  linux_host_source src{r.options()};
  const auto s = src.sample();
  REQUIRE(s.ok());
  CHECK(s.values.cpu_count == 4);
  CHECK(s.values.cpu_usage_percentage == doctest::Approx(50.0));
  CHECK(s.values.cpu_used_count == 2);
}

TEST_CASE("fake root: core count from /proc/cpuinfo when sysfs has none") {
  fake_root r;
  r.write("proc/stat", "cpu 1 0 1 2 0 0 0 0\n");
  r.write("proc/meminfo", meminfo_ok);
  // Two sockets, two cores each, two threads per core; one garbage entry that names no ids.
  std::string cpuinfo;
  int processor = 0;
  for (int socket = 0; socket < 2; ++socket) {
    for (int core = 0; core < 2; ++core) {
      for (int thread = 0; thread < 2; ++thread) {
        cpuinfo += "processor\t: " + std::to_string(processor++) + "\nvendor_id\t: Fake\nphysical id\t: " +
                   std::to_string(socket) + "\ncore id\t\t: " + std::to_string(core) + "\n\n";
      }
    }
  }
  cpuinfo += "processor\t: 99\ncore id\t\t: x\nflags\t\t: a:b:c\n";
  r.write("proc/cpuinfo", cpuinfo);
  // A sysfs directory whose lists are unreadable garbage counts for nothing.
  write_topology(r, "core_cpus_list", {"not a list"});
  linux_host_source src{r.options()};
  const auto s = src.sample();
  REQUIRE(s.ok());
  CHECK(s.values.cpu_count == 4);
}

TEST_CASE("fake root: logical count when neither sysfs nor cpuinfo know the cores") {
  fake_root r;
  r.write("proc/stat", "cpu 1 0 1 2 0 0 0 0\n");
  r.write("proc/meminfo", meminfo_ok);
  r.write("proc/cpuinfo", "processor\t: 0\nBogoMIPS\t: 50.00\n\nprocessor\t: 1\n");
  linux_host_source src{r.options()};
  const auto s = src.sample();
  REQUIRE(s.ok());
  CHECK(s.values.cpu_count == logical_cpus());
}

TEST_CASE("fake root: a missing or malformed /proc/stat fails the cpu part only") {
  fake_root r;
  r.write("proc/meminfo", meminfo_ok);
  write_topology(r, "core_cpus_list", {"0"});
  linux_host_source src{r.options()};

  SUBCASE("missing") {
    const auto s = src.sample();
    CHECK(s.failed(host_part::cpu));
    CHECK(s.error(host_part::cpu).find("proc/stat") != std::string::npos);
    CHECK(s.error(host_part::cpu).find("No such file") != std::string::npos);
  }
  SUBCASE("malformed") {
    const char* bad[] = {
        "",                                     // empty
        "cpu0 1 2 3 4 5\n",                     // no aggregate line first
        "intr 1 2\ncpu 1 2 3 4\n",              // aggregate not first
        "cpu 1 2 3\n",                          // too few fields
        "cpu 1 2 x 4 5 6 7 8\n",                // not a number
        "cpu 1 2 -3 4 5 6 7 8\n",               // negative
        "cpu 1 2 3 99999999999999999999999 5\n",  // too long for 64 bits
        "cpu 18446744073709551615 1 0 0\n",     // sum overflows
        "cpu\n",
    };
    for (const char* text : bad) {
      CAPTURE(text);
      r.write("proc/stat", text);
      const auto s = src.sample();
      CHECK(s.failed(host_part::cpu));
      CHECK(s.values.cpu_count == 0);
      CHECK(s.values.cpu_usage_percentage == 0);
      CHECK_FALSE(s.failed(host_part::memory));
      CHECK_FALSE(s.failed(host_part::disk));
      CHECK(s.values.memory_total_bytes == 1024000);
    }
  }
  SUBCASE("first line longer than the limit") {
    r.write("proc/stat", "cpu " + std::string(10000, '1'));
    const auto s = src.sample();
    CHECK(s.failed(host_part::cpu));
    CHECK(s.error(host_part::cpu).find("longer than 4096") != std::string::npos);
  }
  SUBCASE("a long rest after a good first line is fine") {
    r.write("proc/stat", "cpu 1 0 1 2 0 0 0 0\nintr " + std::string(100000, '1') + "\n");
    const auto s = src.sample();
    CHECK(s.ok());
    CHECK(s.values.cpu_usage_percentage == doctest::Approx(50.0));
  }
}

TEST_CASE("fake root: a missing or malformed /proc/meminfo fails the memory part only") {
  fake_root r;
  r.write("proc/stat", "cpu 1 0 1 2 0 0 0 0\n");
  write_topology(r, "core_cpus_list", {"0"});
  linux_host_source src{r.options()};

  SUBCASE("missing") {
    const auto s = src.sample();
    CHECK(s.failed(host_part::memory));
    CHECK(s.error(host_part::memory).find("meminfo") != std::string::npos);
    CHECK_FALSE(s.failed(host_part::cpu));
    CHECK(s.values.cpu_count == 1);
  }
  SUBCASE("malformed") {
    const std::pair<const char*, const char*> bad[] = {
        {"MemTotal: 1000 kB\n", "MemAvailable missing"},
        {"MemAvailable: 1000 kB\n", "MemTotal missing"},
        {"", "MemTotal missing"},
        {"MemTotal: 1000 kB\nMemAvailable: 2000 kB\n", "exceeds"},
        {"MemTotal: lots kB\nMemAvailable: 1 kB\n", "malformed MemTotal"},
        {"MemTotal: 1000 MB\nMemAvailable: 1 kB\n", "unknown unit"},
        {"MemTotal: 1000 kB extra\nMemAvailable: 1 kB\n", "malformed MemTotal"},
        {"MemTotal: 18446744073709551615 kB\nMemAvailable: 1 kB\n", "overflows"},
    };
    for (const auto& entry : bad) {
      const char* text = entry.first;
      const char* why = entry.second;
      CAPTURE(text);
      r.write("proc/meminfo", text);
      const auto s = src.sample();
      CHECK(s.failed(host_part::memory));
      CHECK(s.error(host_part::memory).find(why) != std::string::npos);
      CHECK(s.values.memory_total_bytes == 0);
      CHECK(s.values.memory_available_bytes == 0);
      CHECK(s.values.memory_used_bytes == 0);
      CHECK(s.values.memory_usage_percentage == 0);
      CHECK_FALSE(s.failed(host_part::cpu));
    }
  }
  SUBCASE("values without a unit are bytes, order does not matter, a zero total gives 0 %") {
    r.write("proc/meminfo", "MemAvailable:\t 4096\nMemTotal:\t 8192\n");
    auto s = src.sample();
    REQUIRE(s.ok());
    CHECK(s.values.memory_total_bytes == 8192);
    CHECK(s.values.memory_used_bytes == 4096);
    CHECK(s.values.memory_usage_percentage == doctest::Approx(50.0));
    r.write("proc/meminfo", "MemTotal: 0 kB\nMemAvailable: 0 kB\n");
    s = src.sample();
    REQUIRE(s.ok());
    CHECK(s.values.memory_usage_percentage == 0);
  }
  SUBCASE("larger than the read limit") {
    linux_host_options o = r.options();
    o.max_file_bytes = 64;
    linux_host_source small{o};
    r.write("proc/meminfo", meminfo_ok + std::string(100, '\n'));
    const auto s = small.sample();
    CHECK(s.failed(host_part::memory));
    CHECK(s.error(host_part::memory).find("longer than 64") != std::string::npos);
  }
}

TEST_CASE("fake root: a /proc that cannot be read keeps the last good figures in the store") {
  fake_root r;
  r.write("proc/stat", "cpu  100 0 50 800 50 0 0 0 0 0\n");
  r.write("proc/meminfo", meminfo_ok);
  write_topology(r, "core_cpus_list", {"0-1", "0-1"});
  linux_host_source src{r.options()};
  store st;
  http::host_refresher<store, linux_host_source> refresh(st, src);
  REQUIRE(refresh());
  CHECK(refresh.last_error().empty());
  const auto good = st.snapshot().host;
  REQUIRE(good.memory_total_bytes == 1024000);
  REQUIRE(good.cpu_count == 1);

  // What EMFILE does to a scrape: /proc cannot be opened at all.
  r.remove("proc/stat");
  r.remove("proc/meminfo");
  REQUIRE(refresh());
  CHECK(refresh.last_error().find("cpu: ") == 0);
  CHECK(refresh.last_error().find("; memory: ") != std::string::npos);
  host_metrics kept = st.snapshot().host;
  detail::copy_host_part(kept, good, host_part::disk);  // the disk was read again: it moves
  CHECK(kept == good);

  r.write("proc/stat", "cpu  200 0 50 800 50 0 0 0 0 0\n");
  r.write("proc/meminfo", "MemTotal: 2000 kB\nMemAvailable: 1000 kB\n");
  REQUIRE(refresh());
  CHECK(refresh.last_error().empty());
  CHECK(st.snapshot().host.memory_total_bytes == 2048000);
  CHECK(st.snapshot().host.cpu_usage_percentage == doctest::Approx(100.0));
}

TEST_CASE("fake root: a disk path that does not exist fails the disk part only") {
  fake_root r;
  r.write("proc/stat", "cpu 1 0 1 2 0 0 0 0\n");
  r.write("proc/meminfo", meminfo_ok);
  linux_host_options o = r.options();
  o.disk_path = r.str() + "/no/such/dir";
  linux_host_source src{o};
  const auto s = src.sample();
  CHECK(s.failed(host_part::disk));
  CHECK(s.error(host_part::disk).find("statvfs(" + o.disk_path + ")") == 0);
  CHECK(s.values.disk_total_bytes == 0);
  CHECK(s.values.disk_usage_percentage == 0);
  CHECK_FALSE(s.failed(host_part::cpu));
  CHECK_FALSE(s.failed(host_part::memory));
}

TEST_CASE("fake root: nothing there at all gives zeros and three errors") {
  linux_host_options o;
  o.root = "/nonexistent-anklet-root";
  o.disk_path = "/nonexistent-anklet-root";
  linux_host_source src{o};
  const auto s = src.sample();
  for (const auto p : all_host_parts) CHECK(s.failed(p));
  CHECK(s.values == host_metrics{});
}

TEST_CASE("concurrent samples are safe") {
  linux_host_source src;
  std::thread a([&] {
    for (int i = 0; i < 20; ++i) static_cast<void>(src.sample());
  });
  std::thread b([&] {
    for (int i = 0; i < 20; ++i) static_cast<void>(src.sample());
  });
  a.join();
  b.join();
  const auto s = src.sample();
  CHECK(s.values.cpu_usage_percentage >= 0);
  CHECK(s.values.cpu_usage_percentage <= 100);
}

TEST_CASE("usage_between clamps and handles resets") {
  using detail::linux_host::cpu_times;
  using detail::linux_host::usage_between;
  CHECK(usage_between({0, 0}, {200, 50}, 0) == doctest::Approx(25.0));
  CHECK(usage_between({200, 50}, {200, 50}, 33.0) == doctest::Approx(33.0));
  CHECK(usage_between({200, 50}, {100, 10}, 0) == doctest::Approx(10.0));
  CHECK(usage_between({0, 0}, {0, 0}, 0) == 0);
}
#endif  // __linux__
