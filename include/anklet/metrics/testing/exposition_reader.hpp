// anklet::metrics testing kit, the exposition reader: strict (Prometheus text format 0.0.4)
// and bounded, so it can also judge output it did not produce. It is fuzzed and reports
// every rejection with a line and column, and needs only the standard library.
#pragma once

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "anklet/metrics/detail/text.hpp"
#include "anklet/metrics/testing/exposition.hpp"
#include "anklet/metrics/testing/reader_common.hpp"

namespace anklet::metrics::testing {

namespace detail {

// Reads one exposition.
class exposition_reader : public line_reader {
 public:
  using line_reader::line_reader;

  bool read(std::string_view text) {
    out_.families.clear();
    if (text.size() > limits_.max_input_bytes) return fail_input_too_large(text.size());
    std::size_t start = 0;
    std::size_t line_no = 0;
    while (start < text.size()) {
      ++line_no;
      const std::size_t nl = text.find('\n', start);
      if (nl == std::string_view::npos) {
        line_ = line_no;
        line_text_ = text.substr(start);
        if (line_text_.size() > limits_.max_line_bytes) return fail_line_too_long();
        return fail_at(line_text_.size(), "the last line does not end with a newline");
      }
      line_ = line_no;
      line_text_ = text.substr(start, nl - start);
      if (line_text_.size() > limits_.max_line_bytes) return fail_line_too_long();
      if (!read_line()) return false;
      start = nl + 1;
    }
    return true;
  }


 private:
  void skip_blanks() noexcept {
    while (pos_ < line_text_.size() && is_blank(line_text_[pos_])) ++pos_;
  }

  // A run of non-blank bytes.
  std::string_view token() noexcept {
    const std::size_t begin = pos_;
    while (!at_end() && !is_blank(line_text_[pos_])) ++pos_;
    return line_text_.substr(begin, pos_ - begin);
  }

  bool read_line() {
    pos_ = 0;
    skip_blanks();
    if (at_end()) return true;  // blank lines are allowed anywhere
    if (peek() == '#') return read_comment();
    return read_sample();
  }

  bool read_comment() {
    ++pos_;  // '#'
    skip_blanks();
    const std::size_t keyword_pos = pos_;
    const std::string_view keyword = token();
    const bool help = keyword == "HELP";
    if (!help && keyword != "TYPE") return true;  // any other comment is ignored
    if (!at_end() && !is_blank(peek())) return fail_at(pos_, "expected a blank after " + std::string(keyword));
    skip_blanks();
    std::string_view name;
    if (!metric_name(name, "a metric name after " + std::string(keyword))) return false;
    if (!at_end() && !is_blank(peek())) return fail_at(pos_, "invalid character in metric name");
    const std::size_t name_pos = pos_ - name.size();
    metric_family* f = nullptr;
    if (!family_for_metadata(name, name_pos, f)) return false;
    skip_blanks();
    if (help) {
      if (f->help) return fail_at(keyword_pos, "second HELP line for '" + std::string(name) + "'");
      std::string doc;
      if (!unescape_help(doc)) return false;
      f->help = std::move(doc);
      return true;
    }
    if (f->has_type_line) return fail_at(keyword_pos, "second TYPE line for '" + std::string(name) + "'");
    const std::size_t type_pos = pos_;
    const std::string_view type = token();
    skip_blanks();
    if (!at_end()) return fail_at(pos_, "unexpected text after the type");
    if (type == "counter") {
      f->type = metric_type::counter;
    } else if (type == "gauge") {
      f->type = metric_type::gauge;
    } else if (type == "histogram") {
      f->type = metric_type::histogram;
    } else if (type == "summary") {
      f->type = metric_type::summary;
    } else if (type == "untyped") {
      f->type = metric_type::untyped;
    } else {
      return fail_at(type_pos, type.empty() ? std::string("missing type")
                                            : "unknown type '" + std::string(type) +
                                                  "' (expected counter, gauge, histogram, summary or untyped)");
    }
    f->has_type_line = true;
    return true;
  }

  // HELP and TYPE must come before the family's samples, and a family's lines together.
  bool family_for_metadata(std::string_view name, std::size_t name_pos, metric_family*& f) {
    const auto it = index_.find(std::string(name));
    if (it == index_.end()) {
      f = &new_family(name);
      return true;
    }
    f = &out_.families[it->second];
    if (it->second != current_) {
      return fail_at(name_pos, "metadata for '" + std::string(name) + "' after another family (its lines must be together)");
    }
    if (!f->samples.empty()) {
      return fail_at(name_pos, "metadata for '" + std::string(name) + "' after its samples (line " +
                                   std::to_string(f->samples.front().line) + ")");
    }
    return true;
  }

  metric_family& new_family(std::string_view name) {
    current_ = out_.families.size();
    index_.emplace(std::string(name), current_);
    auto& f = out_.families.emplace_back();
    f.name = name;
    return f;
  }

  bool unescape_help(std::string& doc) {
    const std::size_t begin = pos_;
    const std::string_view rest = line_text_.substr(pos_);
    if (const auto bad = first_invalid_utf8(rest); bad != std::string_view::npos) {
      return fail_at(begin + bad, "HELP text is not valid UTF-8");
    }
    doc.reserve(rest.size());
    for (std::size_t i = 0; i < rest.size(); ++i) {
      if (rest[i] != '\\') {
        doc.push_back(rest[i]);
        continue;
      }
      if (i + 1 == rest.size()) return fail_at(begin + i, "backslash at the end of a HELP text");
      const char e = rest[++i];
      if (e == '\\') {
        doc.push_back('\\');
      } else if (e == 'n') {
        doc.push_back('\n');
      } else {
        return fail_at(begin + i - 1, "invalid escape in a HELP text (only \\\\ and \\n)");
      }
    }
    pos_ = line_text_.size();
    return true;
  }

  // The family a sample named `name` belongs to: its own, or for a histogram or summary
  // the one its suffix extends.
  bool family_for_sample(std::string_view name, std::size_t name_pos, metric_family*& f) {
    std::size_t found = npos;
    if (const auto it = index_.find(std::string(name)); it != index_.end()) {
      found = it->second;
    } else {
      for (const std::string_view suffix : {std::string_view("_bucket"), std::string_view("_sum"), std::string_view("_count")}) {
        if (name.size() <= suffix.size() || name.substr(name.size() - suffix.size()) != suffix) continue;
        const auto base = index_.find(std::string(name.substr(0, name.size() - suffix.size())));
        if (base == index_.end()) continue;
        const auto t = out_.families[base->second].type;
        if (t == metric_type::histogram || (t == metric_type::summary && suffix != "_bucket")) found = base->second;
      }
    }
    if (found == npos) {
      f = &new_family(name);
      return true;
    }
    if (found != current_) {
      const auto& other = out_.families[found];
      return fail_at(name_pos, "sample of '" + other.name + "' after another family (samples of a family must be together)");
    }
    f = &out_.families[found];
    return true;
  }

  bool read_sample() {
    const std::size_t name_pos = pos_;
    std::string_view name;
    if (!metric_name(name, "a metric name")) return false;
    if (!at_end() && !is_blank(peek()) && peek() != '{') return fail_at(pos_, "invalid character in metric name");
    sample s;
    s.name = name;
    s.line = line_;
    skip_blanks();
    if (peek() == '{' && !read_labels(s)) return false;
    skip_blanks();
    if (at_end()) return fail_at(pos_, "missing sample value");
    const std::size_t value_pos = pos_;
    if (!parse_value(token(), s.value)) return fail_at(value_pos, "invalid sample value");
    skip_blanks();
    if (!at_end()) {
      const std::size_t ts_pos = pos_;
      std::int64_t ts = 0;
      if (!parse_timestamp(token(), ts)) return fail_at(ts_pos, "invalid timestamp (integer milliseconds expected)");
      s.timestamp_ms = ts;
      skip_blanks();
      if (!at_end()) return fail_at(pos_, "unexpected text after the timestamp");
    }
    if (sample_count_ == limits_.max_samples) {
      return fail_at(name_pos, "more than " + std::to_string(limits_.max_samples) + " samples");
    }
    metric_family* f = nullptr;
    if (!family_for_sample(name, name_pos, f)) return false;
    if (!record_series(s, name_pos)) return false;
    ++sample_count_;
    f->samples.push_back(std::move(s));
    return true;
  }

  bool read_labels(sample& s) {
    ++pos_;  // '{'
    for (;;) {
      skip_blanks();
      if (peek() == '}') {
        ++pos_;
        return true;
      }
      if (at_end()) return fail_at(pos_, "unterminated label set");
      const std::size_t name_pos = pos_;
      while (!at_end() && is_label_name_char(line_text_[pos_], pos_ == name_pos)) ++pos_;
      if (pos_ == name_pos) return fail_at(pos_, "expected a label name");
      const std::string_view label_name = line_text_.substr(name_pos, pos_ - name_pos);
      if (label_name == "__name__") return fail_at(name_pos, "the label name __name__ is reserved");
      for (const auto& l : s.labels) {
        if (l.name == label_name) return fail_at(name_pos, "duplicate label '" + std::string(label_name) + "'");
      }
      if (s.labels.size() == limits_.max_labels) {
        return fail_at(name_pos, "more than " + std::to_string(limits_.max_labels) + " labels");
      }
      skip_blanks();
      if (peek() != '=') return fail_at(pos_, "expected '=' after label name");
      ++pos_;
      skip_blanks();
      if (peek() != '"') return fail_at(pos_, "expected '\"' to open a label value");
      ++pos_;
      std::string value;
      if (!read_label_value(value)) return false;
      s.labels.push_back({std::string(label_name), std::move(value)});
      skip_blanks();
      if (peek() == ',') {
        ++pos_;
      } else if (peek() != '}') {
        return fail_at(pos_, "expected ',' or '}' after a label value");
      }
    }
  }

  // From after the opening quote to after the closing one.
  bool read_label_value(std::string& value) {
    const std::size_t begin = pos_;
    for (;;) {
      if (at_end()) return fail_at(begin - 1, "unterminated label value");
      const char c = line_text_[pos_];
      if (c == '"') break;
      if (c == '\\') {
        if (pos_ + 1 == line_text_.size()) return fail_at(pos_, "unterminated label value");
        const char e = line_text_[pos_ + 1];
        if (e == '\\' || e == '"') {
          value.push_back(e);
        } else if (e == 'n') {
          value.push_back('\n');
        } else {
          return fail_at(pos_, "invalid escape in a label value (only \\\\, \\\" and \\n)");
        }
        pos_ += 2;
        continue;
      }
      if (static_cast<unsigned char>(c) >= 0x80) {
        const std::size_t n =
            metrics::detail::utf8_sequence_length(reinterpret_cast<const unsigned char*>(line_text_.data()) + pos_, line_text_.size() - pos_);
        if (n == 0) return fail_at(pos_, "label value is not valid UTF-8");
        value.append(line_text_.data() + pos_, n);
        pos_ += n;
        continue;
      }
      value.push_back(c);
      ++pos_;
    }
    ++pos_;  // closing quote
    return true;
  }

  // One series (name and label set, in any order) may appear once.
  bool record_series(const sample& s, std::size_t name_pos) {
    std::vector<const label*> sorted;
    sorted.reserve(s.labels.size());
    for (const auto& l : s.labels) sorted.push_back(&l);
    std::sort(sorted.begin(), sorted.end(), [](const label* a, const label* b) { return a->name < b->name; });
    std::string key = s.name;
    for (const auto* l : sorted) {
      // Names hold no NUL and values are escaped here, so the key is unambiguous.
      key.push_back('\0');
      key += l->name;
      key.push_back('\0');
      for (const char c : l->value) {
        if (c == '\0' || c == '\\') key.push_back('\\');
        key.push_back(c);
      }
    }
    if (!series_.insert(std::move(key)).second) return fail_at(name_pos, "duplicate series for '" + s.name + "'");
    return true;
  }

  static constexpr std::size_t npos = static_cast<std::size_t>(-1);

  std::unordered_map<std::string, std::size_t> index_;  // family name -> index in out_.families
  std::unordered_set<std::string> series_;
  std::size_t current_ = npos;  // the family whose lines are being read
  std::size_t sample_count_ = 0;
};

}  // namespace detail

/// Parses `text` as Prometheus text exposition 0.0.4 into `out` (its previous content is
/// replaced). Strict: HELP and TYPE at most once per family and before its samples, a
/// family's lines together, label values quoted with only `\\`, `\"` and `\n` escapes and
/// valid UTF-8, no duplicate label or series, a newline after the last line. Returns
/// false on any violation or exceeded limit, with the reason in `*error` when given; `out`
/// then holds what was read before it.
inline bool read_exposition(std::string_view text, exposition& out, const exposition_limits& limits = {},
                            exposition_error* error = nullptr) {
  return detail::read_with<detail::exposition_reader>(text, out, limits, error);
}

/// The same, throwing exposition_parse_error on invalid text: for tests, where a bad
/// exposition is a failure to report rather than a case to handle.
[[nodiscard]] inline exposition parse_exposition(std::string_view text, const exposition_limits& limits = {}) {
  return detail::parse_with<detail::exposition_reader>(text, limits);
}

}  // namespace anklet::metrics::testing
