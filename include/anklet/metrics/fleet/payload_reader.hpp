// anklet::metrics payload reader: the JSON that Go Anklet and this library store in Redis
// (docs/metrics.md), read back for the fleet aggregator.
//
// The bytes come from Redis and are untrusted: the reader is a single forward pass with
// explicit limits (size, plugins, string length, nesting of ignored values), no recursion
// beyond a fixed depth, and no allocation beyond what the input's own bytes justify.
// Unknown keys are skipped, so newer payloads still read. Unknown status strings are kept.
#pragma once

#include <charconv>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "anklet/metrics/core/catalogue.hpp"
#include "anklet/metrics/core/model.hpp"
#include "anklet/metrics/core/result.hpp"
#include "anklet/metrics/core/time.hpp"
#include "anklet/metrics/detail/decimal.hpp"
#include "anklet/metrics/detail/text.hpp"
#include "anklet/metrics/render/time.hpp"

namespace anklet::metrics {

/// One plugin as read from a payload. The status stays a string: the aggregator must show
/// statuses it does not know.
struct reported_plugin {
  bool handler = false;  ///< true when the payload carried any handler-only field
  std::string name;
  std::string plugin_name;
  std::string repo_name;
  std::string owner_name;
  std::string status;
  zoned_time status_since;
  std::string last_successful_run_job_url;
  std::string last_failed_run_job_url;
  std::string last_canceled_run_job_url;
  zoned_time last_successful_run;
  zoned_time last_failed_run;
  zoned_time last_canceled_run;
  std::uint64_t total_ran_vms = 0;
  std::uint64_t total_successful_runs_since_start = 0;
  std::uint64_t total_failed_runs_since_start = 0;
  std::uint64_t total_canceled_runs_since_start = 0;
  friend bool operator==(const reported_plugin&, const reported_plugin&) = default;
};

/// One host's payload: what one Anklet process exported.
struct host_report {
  zoned_time last_update;
  std::uint64_t total_running_vms = 0;
  std::uint64_t total_successful_runs_since_start = 0;
  std::uint64_t total_failed_runs_since_start = 0;
  std::uint64_t total_canceled_runs_since_start = 0;
  host_metrics host;
  std::vector<reported_plugin> plugins;
  friend bool operator==(const host_report&, const host_report&) = default;
};

/// Bounds on what one payload may hold; anything beyond is a parse error, not a truncation.
struct payload_limits {
  std::size_t max_bytes = 4u << 20;        ///< one payload
  std::size_t max_plugins = 4096;          ///< per payload
  std::size_t max_string_bytes = 64u << 10;  ///< one decoded string
  std::size_t max_depth = 16;              ///< nesting of values the reader skips
};


namespace detail {

// A forward-only JSON reader over one buffer; the first error sticks.
class json_cursor {
 public:
  json_cursor(std::string_view text, const payload_limits& limits) noexcept
      : begin_(text.data()), p_(text.data()), end_(text.data() + text.size()), limits_(limits) {}

  [[nodiscard]] bool failed() const noexcept { return !error_.empty(); }
  // errc::limit when a payload_limits bound was hit, errc::parse when the bytes are not a
  // payload; the offset is where reading stopped.
  [[nodiscard]] metrics::error error() const {
    return {limit_ ? errc::limit : errc::parse, error_, static_cast<std::size_t>(p_ - begin_)};
  }
  bool fail(const char* message) {
    if (error_.empty()) error_ = message;
    return false;
  }
  bool fail_limit(const char* message) {
    if (error_.empty()) limit_ = true;
    return fail(message);
  }

  void skip_ws() noexcept {
    while (p_ < end_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t')) ++p_;
  }
  bool peek(char c) noexcept {
    skip_ws();
    return p_ < end_ && *p_ == c;
  }
  bool consume(char c) noexcept {
    if (!peek(c)) return false;
    ++p_;
    return true;
  }
  bool expect(char c, const char* message) { return consume(c) || fail(message); }
  bool at_end() noexcept {
    skip_ws();
    return p_ == end_;
  }
  bool consume_literal(std::string_view word) noexcept {
    skip_ws();
    if (static_cast<std::size_t>(end_ - p_) < word.size() || std::memcmp(p_, word.data(), word.size()) != 0) return false;
    p_ += word.size();
    return true;
  }

  // Where the bytes of a string that need no decoding end: at a quote, a backslash or a
  // control character. Eight at a time while no word holds one (URLs make most of a payload).
  static const char* plain_run_end(const char* p, const char* end) noexcept {
    const auto* word = reinterpret_cast<const unsigned char*>(p);
    for (const auto* last = reinterpret_cast<const unsigned char*>(end); last - word >= 8; word += 8) {
      const std::uint64_t w = load8(word);
      if ((has_byte(w, '"') | has_byte(w, '\\') | has_control(w)) != 0) break;
    }
    p = reinterpret_cast<const char*>(word);
    while (p < end && *p != '"' && *p != '\\' && static_cast<unsigned char>(*p) >= 0x20) ++p;
    return p;
  }

  // Reads a JSON string into `out`, decoding escapes (surrogate pairs into UTF-8).
  bool string(std::string& out) {
    out.clear();
    if (!consume('"')) return fail("expected a string");
    while (true) {
      const char* run = p_;
      p_ = plain_run_end(p_, end_);
      if (static_cast<std::size_t>(p_ - run) + out.size() > limits_.max_string_bytes) return fail_limit("string too long");
      out.append(run, p_);
      if (p_ == end_) return fail("unterminated string");
      if (*p_ == '"') {
        ++p_;
        return true;
      }
      if (*p_ != '\\') return fail("control character in string");
      if (++p_ == end_) return fail("unterminated escape");
      const char e = *p_++;
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          std::uint32_t cp;
          if (!hex4(cp)) return fail("bad \\u escape");
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            std::uint32_t low;
            if (end_ - p_ >= 6 && p_[0] == '\\' && p_[1] == 'u') {
              p_ += 2;
              if (!hex4(low)) return fail("bad \\u escape");
              if (low >= 0xDC00 && low <= 0xDFFF) {
                cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
              } else {
                append_utf8(out, 0xFFFD);
                cp = low;  // an unpaired high surrogate followed by another escape
              }
            } else {
              cp = 0xFFFD;
            }
          } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            cp = 0xFFFD;
          }
          if (cp >= 0xD800 && cp <= 0xDFFF) cp = 0xFFFD;
          append_utf8(out, cp);
          break;
        }
        default: return fail("unknown escape");
      }
      if (out.size() > limits_.max_string_bytes) return fail_limit("string too long");
    }
  }

  // Reads a JSON number as a non-negative integer: integral doubles (Go may print 1e+06)
  // are accepted, fractions are truncated, negatives and non-numbers are errors.
  bool unsigned_number(std::uint64_t& out) {
    double d;
    const char* start;
    if (!number_span(start)) return false;
    std::uint64_t v = 0;
    const auto [ptr, ec] = std::from_chars(start, p_, v);
    if (ec == std::errc{} && ptr == p_) {
      out = v;
      return true;
    }
    if (!to_double(start, d)) return false;
    if (!(d >= 0) || d >= 18446744073709551616.0) return fail("number out of range for a counter");
    out = static_cast<std::uint64_t>(d);
    return true;
  }

  bool double_number(double& out) {
    const char* start;
    return number_span(start) && to_double(start, out);
  }

  // Skips any value, refusing nesting deeper than the limit.
  bool skip_value(std::size_t depth = 0) {
    if (depth > limits_.max_depth) return fail_limit("nesting too deep");
    skip_ws();
    if (p_ == end_) return fail("unexpected end");
    switch (*p_) {
      case '"': {
        std::string scratch;
        return string(scratch);
      }
      case '{': {
        ++p_;
        if (consume('}')) return true;
        do {
          std::string key;
          if (!string(key) || !expect(':', "expected ':'") || !skip_value(depth + 1)) return false;
        } while (consume(','));
        return expect('}', "expected '}'");
      }
      case '[': {
        ++p_;
        if (consume(']')) return true;
        do {
          if (!skip_value(depth + 1)) return false;
        } while (consume(','));
        return expect(']', "expected ']'");
      }
      case 't': return consume_literal("true") || fail("bad literal");
      case 'f': return consume_literal("false") || fail("bad literal");
      case 'n': return consume_literal("null") || fail("bad literal");
      default: {
        double d;
        return double_number(d);
      }
    }
  }

 private:
  bool hex4(std::uint32_t& out) noexcept {
    if (end_ - p_ < 4) return false;
    out = 0;
    for (int i = 0; i < 4; ++i) {
      const int v = hex_value(*p_++);
      if (v < 0) return false;
      out = out << 4 | static_cast<std::uint32_t>(v);
    }
    return true;
  }

  static void append_utf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  // Validates JSON number syntax and leaves p_ after it.
  bool number_span(const char*& start) {
    skip_ws();
    start = p_;
    const char* q = p_;
    if (q < end_ && *q == '-') ++q;
    if (q == end_ || *q < '0' || *q > '9') return fail("expected a number");
    if (*q == '0') {
      ++q;
    } else {
      while (q < end_ && *q >= '0' && *q <= '9') ++q;
    }
    if (q < end_ && *q == '.') {
      ++q;
      if (q == end_ || *q < '0' || *q > '9') return fail("bad number");
      while (q < end_ && *q >= '0' && *q <= '9') ++q;
    }
    if (q < end_ && (*q == 'e' || *q == 'E')) {
      ++q;
      if (q < end_ && (*q == '+' || *q == '-')) ++q;
      if (q == end_ || *q < '0' || *q > '9') return fail("bad number");
      while (q < end_ && *q >= '0' && *q <= '9') ++q;
    }
    if (q - start > 64) return fail("number too long");
    p_ = q;
    return true;
  }

  bool to_double(const char* start, double& out) {
    // number_span checked the JSON grammar, a subset of the plain decimals.
    if (!plain_decimal_to_double(std::string_view(start, static_cast<std::size_t>(p_ - start)), out)) {
      return fail("number out of range");
    }
    return true;
  }

  const char* begin_;
  const char* p_;
  const char* end_;
  const payload_limits& limits_;
  std::string error_;
  bool limit_ = false;
};

struct payload_parser {
  json_cursor& in;
  const payload_limits& limits;
  std::string key;
  std::string scratch;

  bool time_value(zoned_time& out) {
    if (in.consume_literal("null")) {
      out = {};
      return true;
    }
    if (!in.string(scratch)) return false;
    return parse_rfc3339(scratch, out) || in.fail("malformed RFC 3339 time");
  }
  bool string_value(std::string& out) {
    if (in.consume_literal("null")) {
      out.clear();
      return true;
    }
    return in.string(out);
  }
  bool counter_value(std::uint64_t& out) {
    if (in.consume_literal("null")) {
      out = 0;
      return true;
    }
    return in.unsigned_number(out);
  }
  bool double_value(double& out) {
    if (in.consume_literal("null")) {
      out = 0;
      return true;
    }
    return in.double_number(out);
  }

  bool plugin(reported_plugin& p) {
    if (!in.expect('{', "a plugin must be an object")) return false;
    if (in.consume('}')) return true;
    do {
      if (!in.string(key) || !in.expect(':', "expected ':'")) return false;
      const std::string_view k = key;  // compared by length first, without strlen
      bool ok;
      if (k == "Name") ok = string_value(p.name);
      else if (k == "PluginName") ok = string_value(p.plugin_name);
      else if (k == "RepoName") ok = string_value(p.repo_name);
      else if (k == "OwnerName") ok = string_value(p.owner_name);
      else if (k == "Status") ok = string_value(p.status);
      else if (k == "StatusSince") ok = time_value(p.status_since);
      else {
        bool handler_field = true;
        if (k == "LastSuccessfulRunJobUrl") ok = string_value(p.last_successful_run_job_url);
        else if (k == "LastFailedRunJobUrl") ok = string_value(p.last_failed_run_job_url);
        else if (k == "LastCanceledRunJobUrl") ok = string_value(p.last_canceled_run_job_url);
        else if (k == "LastSuccessfulRun") ok = time_value(p.last_successful_run);
        else if (k == "LastFailedRun") ok = time_value(p.last_failed_run);
        else if (k == "LastCanceledRun") ok = time_value(p.last_canceled_run);
        else if (k == "TotalRanVMs") ok = counter_value(p.total_ran_vms);
        else if (k == "TotalSuccessfulRunsSinceStart") ok = counter_value(p.total_successful_runs_since_start);
        else if (k == "TotalFailedRunsSinceStart") ok = counter_value(p.total_failed_runs_since_start);
        else if (k == "TotalCanceledRunsSinceStart") ok = counter_value(p.total_canceled_runs_since_start);
        else {
          handler_field = false;
          ok = in.skip_value(1);
        }
        p.handler = p.handler || handler_field;
      }
      if (!ok) return false;
    } while (in.consume(','));
    return in.expect('}', "expected '}' after a plugin");
  }

  // Fills `out` from its start, reusing the plugins (and their strings' storage) that an
  // earlier read left there; the vector ends at the plugins read.
  bool plugins(std::vector<reported_plugin>& out) {
    std::size_t n = 0;
    const auto done = [&](bool ok) {
      out.resize(n);
      return ok;
    };
    if (in.consume_literal("null")) return done(true);
    if (!in.expect('[', "plugins must be an array")) return done(false);
    if (in.consume(']')) return done(true);
    do {
      if (n == limits.max_plugins) return done(in.fail_limit("too many plugins"));
      if (n == out.size()) out.emplace_back();
      else reset(out[n]);
      if (!plugin(out[n++])) return done(false);
    } while (in.consume(','));
    return done(in.expect(']', "expected ']' after plugins"));
  }

  // Back to a default plugin, keeping the strings' capacity.
  static void reset(reported_plugin& p) {
    for (auto* str : {&p.name, &p.plugin_name, &p.repo_name, &p.owner_name, &p.status, &p.last_successful_run_job_url,
                      &p.last_failed_run_job_url, &p.last_canceled_run_job_url}) {
      str->clear();
    }
    p.handler = false;
    p.status_since = p.last_successful_run = p.last_failed_run = p.last_canceled_run = zoned_time{};
    p.total_ran_vms = p.total_successful_runs_since_start = p.total_failed_runs_since_start =
        p.total_canceled_runs_since_start = 0;
  }

  bool report(host_report& r) {
    bool plugins_read = false;
    if (!in.expect('{', "a payload must be a JSON object")) return false;
    if (!in.consume('}')) {
      do {
        if (!in.string(key) || !in.expect(':', "expected ':'")) return false;
        const std::string_view k = key;
        bool ok;
        auto& h = r.host;
        if (k == "last_update") ok = time_value(r.last_update);
        else if (k == "total_running_vms") ok = counter_value(r.total_running_vms);
        else if (k == "total_successful_runs_since_start") ok = counter_value(r.total_successful_runs_since_start);
        else if (k == "total_failed_runs_since_start") ok = counter_value(r.total_failed_runs_since_start);
        else if (k == "total_canceled_runs_since_start") ok = counter_value(r.total_canceled_runs_since_start);
        else if (const auto* f = catalogue::find_host_field(k)) {
          ok = f->count != nullptr ? counter_value(h.*f->count) : double_value(h.*f->share);
        }
        else if (k == "plugins") ok = plugins_read = plugins(r.plugins);
        else ok = in.skip_value(1);
        if (!ok) return false;
      } while (in.consume(','));
      if (!in.expect('}', "expected '}' at the end of the payload")) return false;
    }
    if (!plugins_read) r.plugins.clear();  // none of an earlier read's may remain
    return in.at_end() || in.fail("trailing bytes after the payload");
  }
};

}  // namespace detail

/// Reads one payload into `out` (reusing its storage). On failure the error is errc::limit
/// when a payload_limits bound was hit and errc::parse when the bytes are not a payload,
/// with the byte offset where reading stopped; `out` is then unspecified but valid.
inline result<void> read_payload(std::string_view json, host_report& out, const payload_limits& limits = {}) {
  auto plugins = std::move(out.plugins);  // keep its plugins' storage across reads
  out = host_report{};
  out.plugins = std::move(plugins);
  if (json.size() > limits.max_bytes) return error{errc::limit, "payload larger than the limit", 0};
  detail::json_cursor cursor(json, limits);
  detail::payload_parser parser{cursor, limits, {}, {}};
  if (parser.report(out)) return {};
  return cursor.error();
}

}  // namespace anklet::metrics
