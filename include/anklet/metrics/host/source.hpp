// anklet::metrics host metrics: where the 11 host_* figures come from, behind a concept so
// that the Linux reader (host/linux.hpp), the macOS reader and test fakes are
// interchangeable. Sampling may read files; do it with no store lock held, then hand the
// values to the store (refresh_host_metrics does exactly that).
//
// This header needs only the standard library: no {fmt}, no streams, no system headers.
#pragma once

#include <array>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <string>
#include <string_view>
#include <utility>

#include "anklet/metrics/core/catalogue.hpp"
#include "anklet/metrics/core/model.hpp"

namespace anklet::metrics {

/// The independent parts of a host sample; each can fail on its own.
enum class host_part : std::uint8_t { cpu, memory, disk };

/// Every part, in declaration order.
inline constexpr std::array<host_part, 3> all_host_parts{host_part::cpu, host_part::memory, host_part::disk};

/// The part's name as it appears in error summaries.
[[nodiscard]] constexpr std::string_view to_string(host_part p) noexcept {
  switch (p) {
    case host_part::cpu: return "cpu";
    case host_part::memory: return "memory";
    case host_part::disk: return "disk";
  }
  return "unknown";
}

namespace detail {
// A host figure belongs to the part its catalogue name says (host_cpu_*, host_memory_*,
// host_disk_*), so a new field in the catalogue needs no line here.
constexpr std::string_view host_part_prefix(host_part p) noexcept {
  switch (p) {
    case host_part::cpu: return "host_cpu_";
    case host_part::memory: return "host_memory_";
    case host_part::disk: return "host_disk_";
  }
  return "host_";
}
consteval bool every_host_field_has_a_part() {
  for (const auto& f : catalogue::host_fields) {
    bool found = false;
    for (const auto p : all_host_parts) found = found || f.meta.name.starts_with(host_part_prefix(p));
    if (!found) return false;
  }
  return true;
}
static_assert(every_host_field_has_a_part(), "a catalogue host field whose name names no host part");

// Copies the fields of part `p` only.
constexpr void copy_host_part(host_metrics& to, const host_metrics& from, host_part p) noexcept {
  for (const auto& f : catalogue::host_fields) {
    if (!f.meta.name.starts_with(host_part_prefix(p))) continue;
    if (f.count != nullptr) to.*f.count = from.*f.count;
    else to.*f.share = from.*f.share;
  }
}
}  // namespace detail

/// One reading of the host figures. A part that failed has all of its fields at zero and
/// a non-empty message saying why; the other parts are still valid. Zeros here are not
/// figures: refresh_host_metrics keeps a failed part's last good values in the store.
struct host_sample {
  host_metrics values;
  /// Indexed by host_part; empty means that part succeeded.
  std::array<std::string, all_host_parts.size()> errors;

  /// True when no part failed.
  [[nodiscard]] bool ok() const noexcept {
    for (const auto& e : errors) {
      if (!e.empty()) return false;
    }
    return true;
  }
  [[nodiscard]] bool failed(host_part p) const noexcept { return !errors[index(p)].empty(); }
  /// Why `p` failed, or an empty string.
  [[nodiscard]] const std::string& error(host_part p) const noexcept { return errors[index(p)]; }

  /// Marks `p` as failed: zeroes its fields and records `why` (an empty `why` still counts
  /// as a failure, so that a source cannot fail silently).
  void fail(host_part p, std::string why) {
    zero(p);
    errors[index(p)] = why.empty() ? std::string("failed") : std::move(why);
  }

  /// "cpu: ...; disk: ..." for logging, or an empty string when ok().
  [[nodiscard]] std::string error_summary() const {
    std::string out;
    for (const auto p : all_host_parts) {
      if (!failed(p)) continue;
      if (!out.empty()) out += "; ";
      out += to_string(p);
      out += ": ";
      out += error(p);
    }
    return out;
  }

  friend bool operator==(const host_sample&, const host_sample&) = default;

 private:
  static constexpr std::size_t index(host_part p) noexcept { return static_cast<std::size_t>(p); }
  void zero(host_part p) noexcept { detail::copy_host_part(values, host_metrics{}, p); }
};

/// Something that can read the host figures. sample() is called on a non-const source
/// (it may keep state, such as the previous CPU counters) and must not throw: failures
/// belong in the returned host_sample. Whether concurrent sample() calls are allowed is
/// the source's to document; the ones in this library allow them.
template <class S>
concept host_metrics_source = requires(S& s) {
  { s.sample() } -> std::same_as<host_sample>;
};

/// Something that accepts host figures, such as basic_store.
template <class S>
concept host_metrics_target = requires(S& s, const host_metrics& h) { s.set_host_metrics(h); };

/// A source that always answers the values it was given: for tests, and for tools that
/// compute host figures themselves. Thread-safe for sample(); set() must not race with it.
class fixed_host_source {
 public:
  fixed_host_source() = default;
  explicit fixed_host_source(host_metrics values) : sample_{values, {}} {}
  explicit fixed_host_source(host_sample sample) : sample_(std::move(sample)) {}

  [[nodiscard]] host_sample sample() const { return sample_; }
  void set(host_metrics values) { sample_ = host_sample{values, {}}; }
  void set(host_sample sample) { sample_ = std::move(sample); }

 private:
  host_sample sample_;
};

/// A source that reports nothing: all zeros and no error, for hosts whose figures are
/// meaningless or unwanted.
struct no_host_source {
  [[nodiscard]] host_sample sample() const noexcept { return {}; }
};

static_assert(host_metrics_source<fixed_host_source>);
static_assert(host_metrics_source<no_host_source>);

namespace detail {
// A source broke its no-throw promise: treat every part as failed rather than letting the
// exception escape into a scrape or an export loop.
template <host_metrics_source Source>
host_sample sample_guarded(Source& source) {
  std::string why;
  try {
    return source.sample();
  } catch (const std::exception& e) {
    why = std::string("host source threw: ") + e.what();
  } catch (...) {
    why = "host source threw a non-standard exception";
  }
  host_sample out;
  for (const auto p : all_host_parts) out.fail(p, why);
  return out;
}
}  // namespace detail

/// Samples `source` (no store lock is held meanwhile), stores the parts that were read
/// and returns the whole sample so that the caller can report its errors. A part that
/// failed keeps its last good values in the store (zeros before the first good sample),
/// so a failure is never published as real zeros; it is visible in the returned sample
/// only. That needs a store with update_host_metrics (basic_store has it); other targets
/// get set_host_metrics with the sample as it is. A source that throws anyway is
/// reported as every part failing; only std::bad_alloc and the store's own exceptions
/// escape.
template <host_metrics_target Store, host_metrics_source Source>
host_sample refresh_host_metrics(Store& target, Source& source) {
  // (Not named `store`: that is a type of this namespace, which -Wshadow reports.)
  host_sample s = detail::sample_guarded(source);
  if constexpr (requires { target.update_host_metrics([](host_metrics&) {}); }) {
    target.update_host_metrics([&s](host_metrics& kept) {
      for (const auto p : all_host_parts) {
        if (!s.failed(p)) detail::copy_host_part(kept, s.values, p);
      }
    });
  } else {
    target.set_host_metrics(s.values);
  }
  return s;
}

}  // namespace anklet::metrics
