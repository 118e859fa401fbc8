// anklet::metrics::redis RESP2: the reply type and an incremental bounded reply parser; the
// encoder for commands comes along from redis/command.hpp.
//
// The parser treats the server as untrusted: a broken or hostile peer must not make us
// allocate without bound, recurse without end, or read past what it sent. It is fed bytes
// in any chunking and asked for the next reply, which is incomplete, complete or an error;
// errors are sticky until reset(). Nested arrays are built with an explicit stack. Every
// declared size is checked against reply_limits before any arithmetic or allocation, and
// storage grows only with bytes actually received.
//
// Thread safety: none; one parser per connection.
#pragma once

#include <algorithm>
#include <charconv>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <limits>
#include <ranges>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "anklet/metrics/detail/text.hpp"
#include "anklet/metrics/redis/command.hpp"
#include "anklet/metrics/redis/error.hpp"

namespace anklet::metrics::redis {

/// RESP2 reply kinds. Both null forms ($-1 and *-1) are `nil`.
enum class reply_type : std::uint8_t { nil, simple_string, error, integer, bulk_string, array };

/// One RESP2 reply. `str` holds simple strings, errors and bulk strings (binary-safe);
/// `integer` holds integers; `elements` holds arrays. Nesting is bounded by the parser's
/// max_depth, which also bounds the recursion of this type's destructor.
struct reply {
  reply_type type = reply_type::nil;
  std::int64_t integer = 0;
  std::string str;
  std::vector<reply> elements;
  /// A bulk string read and thrown away (reply_limits::discard_bulk_over or
  /// discard_over_budget): `str` is empty and `integer` holds its length.
  bool discarded = false;

  [[nodiscard]] bool is_nil() const noexcept { return type == reply_type::nil; }
  [[nodiscard]] bool is_error() const noexcept { return type == reply_type::error; }
  [[nodiscard]] bool is_array() const noexcept { return type == reply_type::array; }
  [[nodiscard]] bool is_string() const noexcept {
    return type == reply_type::bulk_string || type == reply_type::simple_string;
  }
};

/// A short name of a reply type, for error messages.
[[nodiscard]] constexpr std::string_view to_string(reply_type t) noexcept {
  switch (t) {
    case reply_type::nil: return "nil";
    case reply_type::simple_string: return "simple string";
    case reply_type::error: return "error";
    case reply_type::integer: return "integer";
    case reply_type::bulk_string: return "bulk string";
    case reply_type::array: return "array";
  }
  return "unknown";
}

/// Bounds on what one reply may make us hold. The defaults are far below Redis's own 512 MB
/// bulk limit yet leave room for an aggregator reading 10,000 multi-kilobyte values at once.
struct reply_limits {
  /// Longest bulk string accepted.
  std::size_t max_bulk_length = std::size_t{64} << 20;
  /// Most elements in one array.
  std::size_t max_array_length = std::size_t{1} << 20;
  /// Deepest nesting of arrays (a top-level array is depth 1).
  std::size_t max_depth = 16;
  /// Memory budget of one reply: wire bytes plus sizeof(reply) per element, so that many
  /// tiny elements are charged for what they really cost.
  std::size_t max_reply_bytes = std::size_t{256} << 20;
  /// Longest header or simple-string/error/integer line, without its CRLF.
  std::size_t max_line_length = std::size_t{64} << 10;
  /// When not 0, a bulk string inside an array that is longer than this is read and thrown
  /// away as it arrives (whatever max_bulk_length says) and left as an empty element with
  /// `discarded` set, so that one oversized value of an MGET does not fail the others.
  std::size_t discard_bulk_over = 0;
  /// A bulk string inside an array that would take the reply past max_reply_bytes is
  /// discarded the same way, rather than failing the whole reply.
  bool discard_over_budget = false;
};

/// Incremental RESP2 reply parser; see the file comment.
class reply_parser {
 public:
  enum class status : std::uint8_t { incomplete, complete, error };

  explicit reply_parser(reply_limits limits = {}) : limits_(limits) {}
  // A partial reply holds pointers into itself, so copies are refused and moves re-point them.
  reply_parser(const reply_parser&) = delete;
  reply_parser& operator=(const reply_parser&) = delete;
  reply_parser(reply_parser&& o) noexcept { *this = std::move(o); }
  reply_parser& operator=(reply_parser&& o) noexcept {
    if (this == &o) return *this;
    limits_ = o.limits_;
    buf_ = std::move(o.buf_);
    rpos_ = std::exchange(o.rpos_, 0);
    wpos_ = std::exchange(o.wpos_, 0);
    scan_from_ = std::exchange(o.scan_from_, 0);
    root_ = std::move(o.root_);
    stack_ = std::move(o.stack_);
    if (!stack_.empty() && stack_.front().array == &o.root_) stack_.front().array = &root_;
    bulk_target_ = std::exchange(o.bulk_target_, nullptr);
    if (bulk_target_ == &o.root_) bulk_target_ = &root_;
    bulk_remaining_ = std::exchange(o.bulk_remaining_, 0);
    bulk_crlf_pending_ = std::exchange(o.bulk_crlf_pending_, false);
    bulk_discard_ = std::exchange(o.bulk_discard_, false);
    pending_array_ = std::exchange(o.pending_array_, false);
    started_ = std::exchange(o.started_, false);
    used_ = std::exchange(o.used_, 0);
    failed_ = std::exchange(o.failed_, false);
    error_ = std::move(o.error_);
    o.root_ = reply{};
    o.stack_.clear();
    return *this;
  }
  ~reply_parser() = default;

  /// Appends received bytes.
  void feed(const char* data, std::size_t n) {
    if (n == 0) return;
    std::memcpy(prepare(n).data(), data, n);
    commit(n);
  }
  void feed(std::string_view bytes) { feed(bytes.data(), bytes.size()); }

  /// A writable area of at least n bytes at the end of the buffer, so a socket can read
  /// straight into it; follow with commit(bytes_written). The area is valid until the next
  /// call on the parser.
  [[nodiscard]] std::span<char> prepare(std::size_t n) {
    if (rpos_ == wpos_) {
      rpos_ = wpos_ = scan_from_ = 0;
      // One huge feed must not pin its memory for the connection's life.
      if (buf_.size() > (std::size_t{1} << 20) && n <= (std::size_t{1} << 20)) {
        buf_.clear();
        buf_.shrink_to_fit();
      }
    }
    if (buf_.size() - wpos_ < n) {
      if (rpos_ > 0) {  // compact: unread bytes move to the front
        std::memmove(buf_.data(), buf_.data() + rpos_, wpos_ - rpos_);
        wpos_ -= rpos_;
        scan_from_ -= std::min(scan_from_, rpos_);
        rpos_ = 0;
      }
      if (buf_.size() - wpos_ < n) buf_.resize(wpos_ + n);
    }
    return {buf_.data() + wpos_, buf_.size() - wpos_};
  }
  /// Marks n bytes of the area from prepare() as received.
  void commit(std::size_t n) { wpos_ += std::min(n, buf_.size() - wpos_); }

  /// Tries to complete the next reply from the bytes fed so far. On `complete` the reply is
  /// moved into `out`; on `error` see last_error(), which stays until reset().
  status next(reply& out) {
    if (failed_) return status::error;
    for (;;) {
      if (bulk_remaining_ > 0 || bulk_crlf_pending_) {
        if (!continue_bulk()) return failed_ ? status::error : status::incomplete;
        if (finish_value()) return take(out);
        continue;
      }
      std::string_view line;
      switch (read_line(line)) {
        case line_result::incomplete: return status::incomplete;
        case line_result::failed: return status::error;
        case line_result::ok: break;
      }
      if (!start_value(line)) return status::error;
      if (bulk_remaining_ > 0 || bulk_crlf_pending_) continue;
      if (pending_array_) {
        pending_array_ = false;
        continue;
      }
      if (finish_value()) return take(out);
    }
  }

  [[nodiscard]] bool failed() const noexcept { return failed_; }
  /// The sticky error; meaningful only when failed().
  [[nodiscard]] const redis::error& last_error() const noexcept { return error_; }
  /// True while part of a reply has been parsed or buffered but not completed.
  [[nodiscard]] bool mid_reply() const noexcept {
    return started_ || rpos_ != wpos_;
  }
  /// Bytes received but not yet consumed.
  [[nodiscard]] std::size_t buffered() const noexcept { return wpos_ - rpos_; }
  /// Bytes the buffer currently holds allocated (for tests of memory bounds).
  [[nodiscard]] std::size_t buffer_capacity() const noexcept { return buf_.capacity(); }
  [[nodiscard]] const reply_limits& limits() const noexcept { return limits_; }
  /// New limits for the replies that follow; call between replies (not mid_reply()).
  void set_limits(const reply_limits& l) noexcept { limits_ = l; }

  /// Forgets everything: buffered bytes, a partial reply and a sticky error.
  void reset() {
    clear_partial();
    buf_.clear();
    buf_.shrink_to_fit();
    rpos_ = wpos_ = scan_from_ = 0;
    failed_ = false;
    error_ = {};
  }

 private:
  struct frame {
    reply* array;
    std::size_t remaining;
  };
  enum class line_result : std::uint8_t { ok, incomplete, failed };

  bool fail(errc code, std::string message) {
    failed_ = true;
    error_ = {code, std::move(message)};
    clear_partial();
    buf_.clear();
    buf_.shrink_to_fit();
    rpos_ = wpos_ = scan_from_ = 0;
    return false;
  }

  void clear_partial() {
    root_ = reply{};
    stack_.clear();
    stack_.shrink_to_fit();
    bulk_target_ = nullptr;
    bulk_remaining_ = 0;
    bulk_crlf_pending_ = false;
    bulk_discard_ = false;
    pending_array_ = false;
    started_ = false;
    used_ = 0;
  }

  // Adds to this reply's budget; refuses before the sum can overflow.
  bool charge(std::size_t n) {
    if (n > limits_.max_reply_bytes || used_ > limits_.max_reply_bytes - n) {
      return fail(errc::limit, "reply larger than max_reply_bytes (" + std::to_string(limits_.max_reply_bytes) + ")");
    }
    used_ += n;
    return true;
  }

  line_result read_line(std::string_view& line) {
    const char* base = buf_.data();
    std::size_t from = std::max(scan_from_, rpos_);
    const void* cr = from < wpos_ ? std::memchr(base + from, '\r', wpos_ - from) : nullptr;
    if (cr == nullptr) {
      scan_from_ = wpos_;
      if (wpos_ - rpos_ > limits_.max_line_length + 1) {
        fail(errc::limit, "line longer than max_line_length (" + std::to_string(limits_.max_line_length) + ")");
        return line_result::failed;
      }
      return line_result::incomplete;
    }
    auto cr_pos = static_cast<std::size_t>(static_cast<const char*>(cr) - base);
    if (cr_pos - rpos_ > limits_.max_line_length + 1) {
      fail(errc::limit, "line longer than max_line_length (" + std::to_string(limits_.max_line_length) + ")");
      return line_result::failed;
    }
    if (cr_pos + 1 >= wpos_) {  // the LF may still come
      scan_from_ = cr_pos;
      return line_result::incomplete;
    }
    if (base[cr_pos + 1] != '\n') {
      fail(errc::protocol, "CR not followed by LF in a reply line");
      return line_result::failed;
    }
    line = std::string_view(base + rpos_, cr_pos - rpos_);
    if (line.find('\n') != std::string_view::npos) {
      fail(errc::protocol, "LF without CR in a reply line");
      return line_result::failed;
    }
    rpos_ = cr_pos + 2;
    scan_from_ = rpos_;
    if (!charge(line.size() + 2)) return line_result::failed;
    return line_result::ok;
  }

  // Strict decimal: optional '-', 1..19 digits, no '+', no spaces, no overflow.
  static bool parse_int(std::string_view s, std::int64_t& out) noexcept {
    bool neg = !s.empty() && s.front() == '-';
    if (neg) s.remove_prefix(1);
    if (s.empty() || s.size() > 19) return false;
    const std::uint64_t limit = neg ? std::uint64_t{1} << 63 : (std::uint64_t{1} << 63) - 1;
    std::uint64_t v = 0;
    if (!metrics::detail::parse_unsigned(s, limit, v)) return false;
    if (neg) {
      out = v == (std::uint64_t{1} << 63) ? std::numeric_limits<std::int64_t>::min() : -static_cast<std::int64_t>(v);
    } else {
      out = static_cast<std::int64_t>(v);
    }
    return true;
  }

  // Creates the node the line describes, in its parent or as the root.
  bool start_value(std::string_view line) {
    if (line.empty()) return fail(errc::protocol, "empty reply line");
    if (!charge(sizeof(reply))) return false;
    reply* node = nullptr;
    if (stack_.empty()) {
      root_ = reply{};
      node = &root_;
    } else {
      node = &stack_.back().array->elements.emplace_back();
    }
    started_ = true;
    const char kind = line.front();
    std::string_view body = line.substr(1);
    switch (kind) {
      case '+':
        node->type = reply_type::simple_string;
        node->str.assign(body);
        return true;
      case '-':
        node->type = reply_type::error;
        node->str.assign(body);
        return true;
      case ':':
        node->type = reply_type::integer;
        if (!parse_int(body, node->integer)) return fail(errc::protocol, "invalid integer reply");
        return true;
      case '$': {
        std::int64_t len = 0;
        if (!parse_int(body, len)) return fail(errc::protocol, "invalid bulk string length");
        if (len == -1) return true;  // nil
        if (len < 0) return fail(errc::protocol, "negative bulk string length " + std::to_string(len));
        const auto ulen = static_cast<std::uint64_t>(len);
        const bool nested = !stack_.empty();
        const bool too_long = limits_.discard_bulk_over > 0 && ulen > limits_.discard_bulk_over;
        const bool over_budget = limits_.discard_over_budget &&
                                 !(ulen < limits_.max_reply_bytes && used_ + 2 <= limits_.max_reply_bytes - ulen);
        if (nested && (too_long || over_budget)) {
          // Streamed through the buffer and dropped: costs time, not memory.
          node->type = reply_type::bulk_string;
          node->discarded = true;
          node->integer = len;
          bulk_target_ = node;
          bulk_remaining_ = static_cast<std::size_t>(std::min<std::uint64_t>(ulen, std::numeric_limits<std::size_t>::max()));
          bulk_crlf_pending_ = true;
          bulk_discard_ = true;
          return true;
        }
        if (ulen > limits_.max_bulk_length) {
          return fail(errc::limit, "bulk string of " + std::to_string(len) + " bytes exceeds max_bulk_length (" +
                                       std::to_string(limits_.max_bulk_length) + ")");
        }
        const auto n = static_cast<std::size_t>(len);
        if (!charge(n) || !charge(2)) return false;
        node->type = reply_type::bulk_string;
        // Reserve only what has arrived: a declared size alone justifies nothing.
        node->str.reserve(std::min(n, wpos_ - rpos_));
        bulk_target_ = node;
        bulk_remaining_ = n;
        bulk_crlf_pending_ = true;
        return true;
      }
      case '*': {
        std::int64_t count = 0;
        if (!parse_int(body, count)) return fail(errc::protocol, "invalid array length");
        if (count == -1) return true;  // nil
        if (count < 0) return fail(errc::protocol, "negative array length " + std::to_string(count));
        if (static_cast<std::uint64_t>(count) > limits_.max_array_length) {
          return fail(errc::limit, "array of " + std::to_string(count) + " elements exceeds max_array_length (" +
                                       std::to_string(limits_.max_array_length) + ")");
        }
        node->type = reply_type::array;
        if (count == 0) return true;
        if (stack_.size() >= limits_.max_depth) {
          return fail(errc::limit, "arrays nested deeper than max_depth (" + std::to_string(limits_.max_depth) + ")");
        }
        const auto n = static_cast<std::size_t>(count);
        // The smallest element ("+\r\n") is 3 bytes: reserve no more than buffered bytes can fill.
        node->elements.reserve(std::min(n, (wpos_ - rpos_) / 3));
        stack_.push_back({node, n});
        pending_array_ = true;
        return true;
      }
      default: {
        static constexpr char hex[] = "0123456789abcdef";
        const auto b = static_cast<unsigned char>(kind);
        return fail(errc::protocol, std::string("unknown reply type byte 0x") + hex[b >> 4] + hex[b & 15]);
      }
    }
  }

  // Copies available bulk bytes; true once the bulk and its CRLF are complete.
  bool continue_bulk() {
    const std::size_t take = std::min(bulk_remaining_, wpos_ - rpos_);
    if (!bulk_discard_) bulk_target_->str.append(buf_.data() + rpos_, take);
    rpos_ += take;
    bulk_remaining_ -= take;
    if (bulk_remaining_ > 0) return false;
    if (wpos_ - rpos_ < 2) return false;
    if (buf_[rpos_] != '\r' || buf_[rpos_ + 1] != '\n') return fail(errc::protocol, "bulk string not terminated by CRLF");
    rpos_ += 2;
    scan_from_ = rpos_;
    bulk_crlf_pending_ = false;
    bulk_discard_ = false;
    bulk_target_ = nullptr;
    return true;
  }

  // A value just completed: pop every array it completes. True when the root is done.
  bool finish_value() {
    while (!stack_.empty()) {
      if (--stack_.back().remaining > 0) return false;
      stack_.pop_back();
    }
    return true;
  }

  status take(reply& out) {
    out = std::move(root_);
    root_ = reply{};
    started_ = false;
    used_ = 0;
    return status::complete;
  }

  reply_limits limits_;
  std::vector<char> buf_;
  std::size_t rpos_ = 0;
  std::size_t wpos_ = 0;
  std::size_t scan_from_ = 0;  // bytes before this were already searched for CR
  reply root_;
  std::vector<frame> stack_;
  reply* bulk_target_ = nullptr;
  std::size_t bulk_remaining_ = 0;
  bool bulk_crlf_pending_ = false;
  bool bulk_discard_ = false;
  bool pending_array_ = false;
  bool started_ = false;
  std::size_t used_ = 0;
  bool failed_ = false;
  redis::error error_;
};

}  // namespace anklet::metrics::redis
