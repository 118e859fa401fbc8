// anklet::metrics::redis commands: the RESP2 encoding of commands (arrays of bulk strings,
// binary-safe) and the pipeline that batches them into one write.
#pragma once

#include <charconv>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <ranges>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>

namespace anklet::metrics::redis {

namespace detail {

template <class T>
concept resp_string_arg = std::convertible_to<const T&, std::string_view>;

template <class T>
concept resp_integer_arg = std::integral<T> && !std::same_as<T, bool> && !std::same_as<T, char>;

template <class T>
concept resp_range_arg = !resp_string_arg<T> && std::ranges::input_range<const T> &&
                         resp_string_arg<std::ranges::range_value_t<const T>>;

inline void append_decimal(std::string& out, std::uint64_t v) {
  char tmp[24];
  auto r = std::to_chars(tmp, tmp + sizeof tmp, v);
  out.append(tmp, r.ptr);
}

inline void append_bulk(std::string& out, std::string_view s) {
  out += '$';
  append_decimal(out, s.size());
  out += "\r\n";
  out.append(s);
  out += "\r\n";
}

template <class T>
std::size_t arg_count(const T& a) {
  if constexpr (resp_range_arg<T>) {
    std::size_t n = 0;
    for (auto it = std::ranges::begin(a); it != std::ranges::end(a); ++it) ++n;
    return n;
  } else {
    return 1;
  }
}

template <class T>
void append_arg(std::string& out, const T& a) {
  if constexpr (resp_string_arg<T>) {
    append_bulk(out, std::string_view(a));
  } else if constexpr (resp_integer_arg<T>) {
    char tmp[24];
    auto r = std::to_chars(tmp, tmp + sizeof tmp, a);
    append_bulk(out, std::string_view(tmp, static_cast<std::size_t>(r.ptr - tmp)));
  } else {
    static_assert(resp_range_arg<T>, "a command argument must be a string, an integer or a range of strings");
    for (const auto& s : a) append_bulk(out, std::string_view(s));
  }
}

}  // namespace detail

/// A command argument: a string (binary-safe), an integer, or a range of strings that
/// expands to one argument per element (e.g. the keys of MGET).
template <class T>
concept command_arg = detail::resp_string_arg<T> || detail::resp_integer_arg<T> || detail::resp_range_arg<T>;

/// Appends one command, encoded as a RESP array of bulk strings, to `out`.
template <command_arg... Args>
void append_command(std::string& out, const Args&... args) {
  std::size_t n = (std::size_t{0} + ... + detail::arg_count(args));
  out += '*';
  detail::append_decimal(out, n);
  out += "\r\n";
  (detail::append_arg(out, args), ...);
}

/// Appends one command given as a list of arguments.
inline void append_command_argv(std::string& out, std::span<const std::string_view> argv) {
  out += '*';
  detail::append_decimal(out, argv.size());
  out += "\r\n";
  for (auto a : argv) detail::append_bulk(out, a);
}

/// One command, encoded.
template <command_arg... Args>
[[nodiscard]] std::string encode_command(const Args&... args) {
  std::string out;
  append_command(out, args...);
  return out;
}

/// Many commands sent in one write; their replies are read in one go by client::execute.
class pipeline {
 public:
  /// Appends a command; arguments as for append_command (strings, integers, ranges of strings).
  template <command_arg... Args>
  pipeline& add(const Args&... args) {
    append_command(buf_, args...);
    ++count_;
    return *this;
  }
  [[nodiscard]] std::size_t size() const noexcept { return count_; }
  [[nodiscard]] bool empty() const noexcept { return count_ == 0; }
  [[nodiscard]] std::string_view encoded() const noexcept { return buf_; }
  void clear() noexcept {
    buf_.clear();
    count_ = 0;
  }

 private:
  std::string buf_;
  std::size_t count_ = 0;
};

}  // namespace anklet::metrics::redis
