// anklet::metrics escaping: Prometheus label values and JSON strings as Go writes them,
// and the U+FFFD replacement of bytes that are not valid UTF-8 that every format applies.
// Plain ASCII, nearly all the text there is, is scanned eight bytes at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "anklet/metrics/detail/text.hpp"
#include "anklet/metrics/render/sink.hpp"

namespace anklet::metrics {

namespace detail {

inline constexpr std::string_view utf8_replacement = "\xEF\xBF\xBD";  // U+FFFD

// Index of the first byte at or after i that a Prometheus label value must look at:
// non-ASCII, backslash, quote or newline (or a position within 8 bytes of n).
inline std::size_t skip_plain_label_bytes(const unsigned char* p, std::size_t i, std::size_t n) noexcept {
  while (i + 8 <= n) {
    const std::uint64_t w = load8(p + i);
    if (((w & highs) | has_byte(w, '\\') | has_byte(w, '"') | has_byte(w, '\n')) != 0) break;
    i += 8;
  }
  return i;
}

// The same for JSON strings: non-ASCII, control characters, `"`, `\`, `<`, `>`, `&`.
inline std::size_t skip_plain_json_bytes(const unsigned char* p, std::size_t i, std::size_t n) noexcept {
  while (i + 8 <= n) {
    const std::uint64_t w = load8(p + i);
    if (((w & highs) | has_control(w) | has_byte(w, '"') | has_byte(w, '\\') | has_byte(w, '<') | has_byte(w, '>') |
         has_byte(w, '&')) != 0) {
      break;
    }
    i += 8;
  }
  return i;
}

// Replaces each byte of `s` that is not valid UTF-8 with U+FFFD, as the writers below
// print it, so that text can be compared (de-duplicated, sorted) as it will be rendered.
inline void replace_invalid_utf8(std::string& s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const std::size_t n = s.size();
  std::size_t i = 0;
  for (std::size_t len; i < n && (len = utf8_sequence_length(p + i, n - i)) != 0;) i += len;
  if (i == n) return;
  std::string out(s, 0, i);
  while (i < n) {
    const std::size_t len = utf8_sequence_length(p + i, n - i);
    if (len == 0) {
      out += utf8_replacement;
      ++i;
    } else {
      out.append(s, i, len);
      i += len;
    }
  }
  s.swap(out);
}

// At a byte of v that starts a UTF-8 sequence of `len` bytes (0 when it is not valid):
// keeps the sequence in the run, or writes the run so far and U+FFFD for the byte.
// Returns the index past what was taken; `run` is the start of the unwritten bytes.
template <char_sink Sink>
[[gnu::always_inline]] inline std::size_t keep_or_replace_utf8(Sink& s, std::string_view v, std::size_t& run,
                                                               std::size_t i, std::size_t len) {
  if (len != 0) return i + len;
  s.write(v.data() + run, v.data() + i);
  s.write(utf8_replacement);
  run = i + 1;
  return run;
}

}  // namespace detail

/// A label value's inside (no quotes): `\` -> `\\`, `"` -> `\"`, newline -> `\n`; bytes
/// that are not valid UTF-8 become U+FFFD, since Prometheus rejects invalid UTF-8.
template <char_sink Sink>
void write_prometheus_label_value(Sink& s, std::string_view v) {
  const auto* p = reinterpret_cast<const unsigned char*>(v.data());
  const std::size_t n = v.size();
  std::size_t run = 0;  // start of bytes not yet written
  std::size_t i = 0;
  while (i < n) {
    i = detail::skip_plain_label_bytes(p, i, n);
    if (i >= n) break;
    const unsigned char b = p[i];
    if (b >= 0x80) {
      i = detail::keep_or_replace_utf8(s, v, run, i, detail::utf8_sequence_length(p + i, n - i));
      continue;
    }
    if (b == '\\' || b == '"' || b == '\n') {
      s.write(v.data() + run, v.data() + i);
      s.put('\\');
      s.put(b == '\n' ? 'n' : static_cast<char>(b));
      run = ++i;
      continue;
    }
    ++i;
  }
  s.write(v.data() + run, v.data() + n);
}

/// `name="value"` with the value escaped.
template <char_sink Sink>
void write_prometheus_label(Sink& s, std::string_view name, std::string_view value) {
  s.write(name);
  s.write("=\"");
  write_prometheus_label_value(s, value);
  s.put('"');
}

/// A JSON string, quotes included, escaped exactly as Go's encoding/json does by default
/// (Go 1.22 and later, which Anklet requires): `\"` `\\` `\n` `\r` `\t` `\b` `\f`, other
/// control characters as `\u00XX`, `<` `>` `&` as `\u003c` `\u003e` `\u0026`, U+2028 and
/// U+2029 as `\u2028` `\u2029`, and each byte that is not valid UTF-8 as U+FFFD. Go's single
/// Marshal would write that U+FFFD as the escape `\ufffd`; Anklet's payload goes through
/// Marshal, Unmarshal and Marshal again, and its aggregator re-encodes decoded strings, so
/// on the wire it is the character itself, which is what we write.
template <char_sink Sink>
void write_json_string(Sink& s, std::string_view v) {
  static constexpr char hex[] = "0123456789abcdef";
  const auto* p = reinterpret_cast<const unsigned char*>(v.data());
  const std::size_t n = v.size();
  std::size_t run = 0;
  std::size_t i = 0;
  s.put('"');
  while (i < n) {
    i = detail::skip_plain_json_bytes(p, i, n);
    if (i >= n) break;
    const unsigned char b = p[i];
    if (b >= 0x80) {
      const std::size_t len = detail::utf8_sequence_length(p + i, n - i);
      if (len == 3 && b == 0xE2 && p[i + 1] == 0x80 && (p[i + 2] == 0xA8 || p[i + 2] == 0xA9)) {
        s.write(v.data() + run, v.data() + i);
        s.write(p[i + 2] == 0xA8 ? std::string_view("\\u2028") : std::string_view("\\u2029"));
        i += 3;
        run = i;
        continue;
      }
      i = detail::keep_or_replace_utf8(s, v, run, i, len);
      continue;
    }
    if (b >= 0x20 && b != '"' && b != '\\' && b != '<' && b != '>' && b != '&') {
      ++i;
      continue;
    }
    s.write(v.data() + run, v.data() + i);
    switch (b) {
      case '"': s.write("\\\""); break;
      case '\\': s.write("\\\\"); break;
      case '\n': s.write("\\n"); break;
      case '\r': s.write("\\r"); break;
      case '\t': s.write("\\t"); break;
      case '\b': s.write("\\b"); break;
      case '\f': s.write("\\f"); break;
      default: {
        const char esc[6] = {'\\', 'u', '0', '0', hex[b >> 4], hex[b & 0xF]};
        s.write(esc, esc + 6);
      }
    }
    run = ++i;
  }
  s.write(v.data() + run, v.data() + n);
  s.put('"');
}

}  // namespace anklet::metrics
