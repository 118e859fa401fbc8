// anklet::metrics text sinks: where the writers put their text. A sink is anything that
// appends chars (char_sink); text_sink wraps any output iterator, with one bulk append per
// write for a back_insert_iterator of a char container; buffer_sink writes straight into a
// resizable container's storage; write_through picks the fastest for an iterator.
// Standard headers only; nothing allocates except the target container as it grows.
#pragma once

#include <algorithm>
#include <concepts>
#include <cstddef>
#include <cstring>
#include <iterator>
#include <string_view>
#include <type_traits>
#include <utility>

namespace anklet::metrics {

namespace detail {

// Reaches the container behind a back_insert_iterator (its `container` member is
// protected, so a derived class is the portable way in). Deduction also accepts classes
// derived from back_insert_iterator, such as fmt 9's fmt::appender.
template <class C>
C* back_insert_container(std::back_insert_iterator<C>* it) noexcept {
  struct access : std::back_insert_iterator<C> {
    static C* get(std::back_insert_iterator<C>& i) noexcept { return i.*(&access::container); }
  };
  return access::get(*it);
}

template <class C>
concept appendable_char_container = requires(C& c, const char* p) { c.append(p, p); } ||
                                    requires(C& c, const char* p) { c.insert(c.end(), p, p); };

template <class C>
void bulk_append(C& c, const char* first, const char* last) {
  // std::string's (pointer, count) append is its direct path; its iterator-pair append
  // goes through replace(), where GCC 12 at -O3 reports false -Wrestrict overlaps.
  if constexpr (requires(std::size_t n) { c.append(first, n); }) {
    c.append(first, static_cast<std::size_t>(last - first));
  } else if constexpr (requires { c.append(first, last); }) {
    c.append(first, last);
  } else {
    c.insert(c.end(), first, last);
  }
}

template <class Out>
concept has_bulk_container = requires(Out& o) {
  { detail::back_insert_container(&o) };
} && appendable_char_container<std::remove_pointer_t<decltype(detail::back_insert_container(std::declval<Out*>()))>>;

}  // namespace detail

/// What the writers below accept: something that appends chars. text_sink and
/// buffer_sink model it; so can a user's own type.
template <class S>
concept char_sink = requires(S& s, std::string_view sv, const char* p, char c) {
  s.write(sv);
  s.write(p, p);
  s.put(c);
};

/// An append-only text sink over an output iterator. When the iterator is a
/// back_insert_iterator of a contiguous char container (std::string, std::vector<char>,
/// fmt::memory_buffer, ...) every write is one bulk append to that container; any other
/// iterator is written through char by char. The container is always consistent: what
/// was written is in it at once. No virtual calls, no allocation of its own.
template <class Out>
class text_sink {
 public:
  explicit text_sink(Out out) : out_(std::move(out)) {}

  void write(std::string_view s) { out_ = std::copy(s.begin(), s.end(), std::move(out_)); }
  void write(const char* first, const char* last) { out_ = std::copy(first, last, std::move(out_)); }
  void put(char c) {
    *out_ = c;
    ++out_;
  }
  /// The iterator past everything written.
  [[nodiscard]] Out out() && { return std::move(out_); }

 private:
  Out out_;
};

template <class Out>
  requires detail::has_bulk_container<Out>
class text_sink<Out> {
 public:
  explicit text_sink(Out out) : out_(std::move(out)), c_(detail::back_insert_container(&out_)) {}

  void write(std::string_view s) { detail::bulk_append(*c_, s.data(), s.data() + s.size()); }
  void write(const char* first, const char* last) { detail::bulk_append(*c_, first, last); }
  void put(char c) { c_->push_back(c); }
  [[nodiscard]] Out out() && { return std::move(out_); }

 private:
  Out out_;
  std::remove_pointer_t<decltype(detail::back_insert_container(std::declval<Out*>()))>* c_;
};

namespace detail {

// Kept out of line so that compilers do not check it against the small source buffers
// of the inlined callers (the path is only taken for longer sources).
[[gnu::noinline]] inline void copy_long(char* dst, const char* src, std::size_t n) noexcept { std::memcpy(dst, src, n); }

// GCC's object-size warnings cannot see that each branch below only runs for sources at
// least as long as it reads, when this is inlined next to a small stack buffer.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wstringop-overread"
#pragma GCC diagnostic ignored "-Warray-bounds"
#endif
// Most pieces of a metrics line are a few bytes long, where a call to memcpy costs more
// than the copy: up to 128 bytes are moved with fixed-size (inlined) overlapping copies.
[[gnu::always_inline]] inline void copy_short(char* dst, const char* src, std::size_t n) noexcept {
  if (n >= 8) {
    if (n <= 16) {
      std::memcpy(dst, src, 8);
      std::memcpy(dst + n - 8, src + n - 8, 8);
    } else if (n <= 32) {
      std::memcpy(dst, src, 16);
      std::memcpy(dst + n - 16, src + n - 16, 16);
    } else if (n <= 64) {
      std::memcpy(dst, src, 32);
      std::memcpy(dst + n - 32, src + n - 32, 32);
    } else if (n <= 128) {  // a plugin's label set, copied onto each of its lines
      std::memcpy(dst, src, 64);
      std::memcpy(dst + n - 64, src + n - 64, 64);
    } else {
      copy_long(dst, src, n);
    }
  } else if (n >= 4) {
    std::memcpy(dst, src, 4);
    std::memcpy(dst + n - 4, src + n - 4, 4);
  } else if (n != 0) {
    dst[0] = src[0];
    dst[n / 2] = src[n / 2];
    dst[n - 1] = src[n - 1];
  }
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

}  // namespace detail

/// A char container that buffer_sink can write into: resizable, with contiguous data()
/// (std::string, std::vector<char>, fmt::memory_buffer).
template <class C>
concept resizable_char_buffer = requires(C& c, std::size_t n) {
  c.resize(n);
  { c.data() } -> std::same_as<char*>;
  { c.size() } -> std::convertible_to<std::size_t>;
};

/// The fastest sink: appends to a resizable char container by writing straight into its
/// storage, growing it geometrically ahead of the writes. While the sink lives the
/// container may hold spare bytes past the written text; finish() (or the destructor)
/// trims it, so read the container only after either. Also exception safe: the container
/// ends with exactly the pieces written before a throw.
template <resizable_char_buffer C>
class buffer_sink {
 public:
  explicit buffer_sink(C& c) : c_(c) {
    const std::size_t used = c_.size();
    std::size_t room = used + initial_headroom;
    if constexpr (requires { c.capacity(); }) room = std::max<std::size_t>(room, c.capacity());  // reserved space
    c_.resize(room);
    cur_ = c_.data() + used;
    end_ = c_.data() + c_.size();
  }
  buffer_sink(const buffer_sink&) = delete;
  buffer_sink& operator=(const buffer_sink&) = delete;
  ~buffer_sink() { finish(); }

  [[gnu::always_inline]] void write(std::string_view s) { write(s.data(), s.data() + s.size()); }
  [[gnu::always_inline]] void write(const char* first, const char* last) {
    const auto n = static_cast<std::size_t>(last - first);
    if (n > static_cast<std::size_t>(end_ - cur_)) grow(n);
    detail::copy_short(cur_, first, n);
    cur_ += n;
  }
  [[gnu::always_inline]] void put(char ch) {
    if (cur_ == end_) grow(1);
    *cur_++ = ch;
  }
  /// Room for `n` bytes written straight into the container: write at most `n` bytes
  /// from the returned pointer, then call commit() with the end of what was written.
  [[gnu::always_inline]] char* claim(std::size_t n) {
    if (n > static_cast<std::size_t>(end_ - cur_)) grow(n);
    return cur_;
  }
  [[gnu::always_inline]] void commit(char* end) noexcept { cur_ = end; }
  /// Bytes in the container that hold text (what it had before plus what was written).
  [[nodiscard]] std::size_t size() const noexcept { return written(); }
  /// Trims the container to what was written. Writing again afterwards is allowed.
  void finish() {
    const std::size_t used = written();
    c_.resize(used);
    cur_ = c_.data() + used;
    end_ = cur_;
  }

 private:
  static constexpr std::size_t initial_headroom = 4096;

  std::size_t written() const noexcept { return static_cast<std::size_t>(cur_ - c_.data()); }

  [[gnu::noinline]] void grow(std::size_t n) {
    const std::size_t used = written();
    const std::size_t size = c_.size();
    c_.resize(std::max(used + n, size + size / 2 + initial_headroom));
    cur_ = c_.data() + used;
    end_ = c_.data() + c_.size();
  }

  C& c_;
  char* cur_;
  char* end_;
};

namespace detail {
template <class Out>
struct resizable_target : std::false_type {};
template <resizable_char_buffer C>
struct resizable_target<std::back_insert_iterator<C>> : std::true_type {
  using container = C;
};
}  // namespace detail

/// Runs `body(sink)` with the fastest sink for `out` (a buffer_sink for a
/// back_insert_iterator of a resizable char container, else a text_sink) and returns
/// the iterator past the written text. The renderers are built on it.
template <class Out, class Body>
Out write_through(Out out, Body&& body) {
  if constexpr (detail::resizable_target<Out>::value) {
    auto& c = *detail::back_insert_container(&out);
    {
      buffer_sink<typename detail::resizable_target<Out>::container> s(c);
      body(s);
    }
    return out;
  } else {
    text_sink<Out> s(std::move(out));
    body(s);
    return std::move(s).out();
  }
}

namespace detail {

// Runs `fill(char*) -> char*` on room for `max` chars: straight in the sink's storage
// when it offers that (no copy, and no stall from re-reading bytes just stored), else on
// a stack buffer that is then written.
template <std::size_t max, char_sink Sink, class Fill>
void write_formatted(Sink& s, Fill&& fill) {
  if constexpr (requires { s.claim(std::size_t{}); }) {
    s.commit(fill(s.claim(max)));
  } else {
    char buf[max];
    s.write(buf, fill(static_cast<char*>(buf)));
  }
}

// A sink over room already claimed from a buffer_sink: writes without a capacity check.
// Only write_bounded makes one, with room for everything its caller writes.
class claimed_text {
 public:
  explicit claimed_text(char* p) noexcept : p_(p) {}
  [[gnu::always_inline]] void write(std::string_view s) noexcept { write(s.data(), s.data() + s.size()); }
  [[gnu::always_inline]] void write(const char* first, const char* last) noexcept {
    const auto n = static_cast<std::size_t>(last - first);
    copy_short(p_, first, n);
    p_ += n;
  }
  [[gnu::always_inline]] void put(char c) noexcept { *p_++ = c; }
  // write_formatted's protocol: the room was claimed with the whole piece.
  [[gnu::always_inline]] char* claim(std::size_t) noexcept { return p_; }
  [[gnu::always_inline]] void commit(char* end) noexcept { p_ = end; }
  [[nodiscard]] char* end() const noexcept { return p_; }

 private:
  char* p_;
};

// Runs `write(sink)` for a piece of at most `most` bytes, counting write_formatted's `max`
// for each number rather than its digits. On a buffer_sink it writes straight into room
// claimed once, one capacity check for a whole metrics line instead of one per piece (the
// per-plugin loops' cost); on any other sink, as it is.
template <char_sink Sink, class Write>
[[gnu::always_inline]] inline void write_bounded(Sink& s, std::size_t most, Write&& write) {
  if constexpr (requires { s.claim(most); }) {
    claimed_text room(s.claim(most));
    write(room);
    s.commit(room.end());
  } else {
    write(s);
  }
}

}  // namespace detail

}  // namespace anklet::metrics
