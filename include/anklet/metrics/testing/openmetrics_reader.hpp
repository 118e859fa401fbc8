// anklet::metrics testing kit, the OpenMetrics reader: strict (OpenMetrics 1.0.0 text, its
// ABNF and the rules of its metric types) and bounded, like the 0.0.4 reader of
// exposition_reader.hpp, whose limits, errors and parsed form it shares (reader_common.hpp). Fuzzed
// (tests/fuzz/fuzz_openmetrics_reader.cpp); standard library only.
//
// Checked besides the grammar: UTF-8 throughout, no carriage return, `# EOF` last; one
// TYPE, HELP and UNIT at most per family, before its samples, a unit the name ends in;
// families unique and together, each metric's samples together; sample names the type
// allows (`_total` and `_created` for counters, `_bucket`, `_count`, `_sum`, `_created`
// for histograms...); counters and histogram counts neither negative nor NaN, bucket
// counts whole and cumulative with `le` ascending up to `+Inf`, `_count` equal to the
// `+Inf` bucket; stateset values 0 or 1; exemplars only on counter totals and buckets,
// within 128 code points of labels and inside their bucket; no duplicate series.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "anklet/metrics/detail/text.hpp"
#include "anklet/metrics/testing/exposition.hpp"
#include "anklet/metrics/testing/reader_common.hpp"

namespace anklet::metrics::testing {

namespace detail {

// Reads one OpenMetrics exposition.
class openmetrics_reader : public line_reader {
 public:
  using line_reader::line_reader;

  bool read(std::string_view text) {
    out_.families.clear();
    if (text.size() > limits_.max_input_bytes) return fail_input_too_large(text.size());
    if (const auto bad = first_invalid_utf8(text); bad != std::string_view::npos) return fail_offset(text, bad, "not UTF-8");
    if (const auto cr = text.find('\r'); cr != std::string_view::npos) return fail_offset(text, cr, "carriage return");
    std::size_t start = 0;
    for (std::size_t line_no = 1; start < text.size(); ++line_no) {
      line_ = line_no;
      const std::size_t nl = text.find('\n', start);
      line_text_ = text.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start);
      if (line_text_.size() > limits_.max_line_bytes) return fail_line_too_long();
      if (eof_) return fail_at(0, "text after # EOF");
      if (nl == std::string_view::npos && line_text_ != "# EOF") return fail_at(line_text_.size(), "the last line does not end with a newline");
      if (!read_line()) return false;
      start = nl == std::string_view::npos ? text.size() : nl + 1;
    }
    if (!eof_) return fail(line_ + 1, 1, "missing # EOF at the end");
    return close_metric();
  }


 private:
  enum class part : std::uint8_t { value, total, created, bucket, count, sum, gcount, gsum, info };

  bool fail_offset(std::string_view text, std::size_t offset, std::string message) {
    std::size_t line = 1;
    std::size_t line_start = 0;
    for (std::size_t i = 0; i < offset; ++i) {
      if (text[i] == '\n') {
        ++line;
        line_start = i + 1;
      }
    }
    return fail(line, offset - line_start + 1, std::move(message));
  }

  bool expect(char c, std::string_view what) {
    if (peek() != c) return fail_at(pos_, "expected " + std::string(what));
    ++pos_;
    return true;
  }
  std::string_view until_space() noexcept {
    const std::size_t begin = pos_;
    while (!at_end() && line_text_[pos_] != ' ') ++pos_;
    return line_text_.substr(begin, pos_ - begin);
  }

  bool read_line() {
    pos_ = 0;
    if (line_text_.empty()) return fail_at(0, "empty line");
    if (line_text_[0] != '#') return read_sample();
    if (line_text_ == "# EOF") {
      eof_ = true;
      return true;
    }
    for (const std::string_view kw : {std::string_view("# HELP "), std::string_view("# TYPE "), std::string_view("# UNIT ")}) {
      if (line_text_.substr(0, kw.size()) == kw) {
        pos_ = kw.size();
        return read_descriptor(kw[2]);
      }
    }
    return fail_at(0, "a line starting with # must be # HELP, # TYPE, # UNIT or # EOF");
  }

  bool read_descriptor(char kind) {
    std::string_view name;
    const std::size_t name_pos = pos_;
    if (!metric_name(name, "a metric name") || !expect(' ', "a space after the metric name")) return false;
    metric_family* f = nullptr;
    if (!family_for_descriptor(name, name_pos, f)) return false;
    const std::string_view rest = line_text_.substr(pos_);
    if (kind == 'H') {
      if (f->help) return fail_at(0, "second HELP for '" + std::string(name) + "'");
      std::string help;
      if (!unescape(rest, pos_, help)) return false;
      f->help = std::move(help);
    } else if (kind == 'U') {
      if (f->unit) return fail_at(0, "second UNIT for '" + std::string(name) + "'");
      for (std::size_t i = 0; i < rest.size(); ++i) {
        if (!is_metric_name_char(rest[i], false)) return fail_at(pos_ + i, "invalid character in a unit");
      }
      const bool suffix = rest.empty() || (name.size() > rest.size() + 1 && name.substr(name.size() - rest.size()) == rest &&
                                           name[name.size() - rest.size() - 1] == '_');
      if (!suffix) return fail_at(pos_, "unit '" + std::string(rest) + "' is not a suffix of '" + std::string(name) + "'");
      f->unit = std::string(rest);
    } else {
      if (f->has_type_line) return fail_at(0, "second TYPE for '" + std::string(name) + "'");
      static constexpr std::pair<std::string_view, metric_type> types[] = {
          {"counter", metric_type::counter},     {"gauge", metric_type::gauge},
          {"histogram", metric_type::histogram}, {"gaugehistogram", metric_type::gaugehistogram},
          {"stateset", metric_type::stateset},   {"info", metric_type::info},
          {"summary", metric_type::summary},     {"unknown", metric_type::untyped}};
      bool known = false;
      for (const auto& [spelling, type] : types) {
        if (rest == spelling) {
          f->type = type;
          known = true;
        }
      }
      if (!known) return fail_at(pos_, "unknown type '" + std::string(rest) + "'");
      f->has_type_line = true;
    }
    if (f->unit && !f->unit->empty() && (f->type == metric_type::stateset || f->type == metric_type::info)) {
      return fail_at(0, "a stateset or info family has no unit");
    }
    return true;
  }

  // Descriptors of a family come before its samples, and a family's lines together.
  bool family_for_descriptor(std::string_view name, std::size_t name_pos, metric_family*& f) {
    if (const auto it = index_.find(std::string(name)); it != index_.end()) {
      if (it->second != current_ || !out_.families[it->second].samples.empty()) {
        return fail_at(name_pos, "metadata for '" + std::string(name) +
                                     "' after its samples or another family (a family's lines must be together, first its metadata)");
      }
      f = &out_.families[it->second];
      return true;
    }
    if (!close_metric()) return false;
    f = &new_family(name);
    return true;
  }

  metric_family& new_family(std::string_view name) {
    current_ = out_.families.size();
    index_.emplace(std::string(name), current_);
    auto& f = out_.families.emplace_back();
    f.name = name;
    closed_.clear();
    return f;
  }

  // HELP text or label value: `\\`, `\n` and `\"` only.
  bool unescape(std::string_view in, std::size_t offset, std::string& out) {
    out.clear();
    for (std::size_t i = 0; i < in.size(); ++i) {
      if (in[i] != '\\') {
        out.push_back(in[i]);
        continue;
      }
      const char e = i + 1 < in.size() ? in[i + 1] : '\0';
      if (e != '\\' && e != 'n' && e != '"') return fail_at(offset + i, "invalid escape (only \\\\, \\n and \\\")");
      out.push_back(e == 'n' ? '\n' : e);
      ++i;
    }
    return true;
  }

  // The part of family `f` that a sample named `name` is, if any.
  static std::optional<part> part_of(const metric_family& f, std::string_view name) {
    if (name.size() < f.name.size() || name.substr(0, f.name.size()) != f.name) return std::nullopt;
    const std::string_view suffix = name.substr(f.name.size());
    const auto is = [&](std::string_view s, part p) -> std::optional<part> {
      return suffix == s ? std::optional<part>(p) : std::nullopt;
    };
    switch (f.type) {
      case metric_type::counter:
        if (auto p = is("_total", part::total)) return p;
        return is("_created", part::created);
      case metric_type::histogram:
        for (const auto& [s, p] : {std::pair{"_bucket", part::bucket}, std::pair{"_count", part::count},
                                   std::pair{"_sum", part::sum}, std::pair{"_created", part::created}}) {
          if (suffix == s) return p;
        }
        return std::nullopt;
      case metric_type::gaugehistogram:
        for (const auto& [s, p] : {std::pair{"_bucket", part::bucket}, std::pair{"_gcount", part::gcount},
                                   std::pair{"_gsum", part::gsum}}) {
          if (suffix == s) return p;
        }
        return std::nullopt;
      case metric_type::summary:
        if (auto p = is("", part::value)) return p;
        for (const auto& [s, p] : {std::pair{"_count", part::count}, std::pair{"_sum", part::sum},
                                   std::pair{"_created", part::created}}) {
          if (suffix == s) return p;
        }
        return std::nullopt;
      case metric_type::info: return is("_info", part::info);
      default: return is("", part::value);
    }
  }

  bool read_sample() {
    sample s;
    s.line = line_;
    std::string_view name;
    const std::size_t name_pos = pos_;
    if (!metric_name(name, "a metric name")) return false;
    s.name = name;
    if (peek() == '{' && !read_labels(s.labels, false)) return false;
    if (!expect(' ', "a space before the value")) return false;
    const std::size_t value_pos = pos_;
    if (!parse_value(until_space(), s.value)) return fail_at(value_pos, "invalid number");
    if (peek() == ' ' && pos_ + 1 < line_text_.size() && line_text_[pos_ + 1] != '#') {
      ++pos_;
      const std::size_t ts_pos = pos_;
      double ts = 0;
      if (!parse_value(until_space(), ts) || !std::isfinite(ts)) return fail_at(ts_pos, "invalid timestamp");
      s.timestamp_seconds = ts;
    }
    if (!at_end()) {
      if (line_text_.substr(pos_, 4) != " # {") return fail_at(pos_, "unexpected text after the sample");
      pos_ += 3;
      exemplar e;
      if (!read_labels(e.labels, true) || !expect(' ', "a space before the exemplar's value")) return false;
      const std::size_t ev_pos = pos_;
      if (!parse_value(until_space(), e.value)) return fail_at(ev_pos, "invalid exemplar value");
      if (peek() == ' ') {
        ++pos_;
        const std::size_t ts_pos = pos_;
        double ts = 0;
        if (!parse_value(until_space(), ts) || !std::isfinite(ts)) return fail_at(ts_pos, "invalid exemplar timestamp");
        e.timestamp_seconds = ts;
      }
      if (!at_end()) return fail_at(pos_, "unexpected text after the exemplar");
      s.exemplar = std::move(e);
    }
    if (sample_count_ == limits_.max_samples) {
      return fail_at(name_pos, "more than " + std::to_string(limits_.max_samples) + " samples");
    }
    metric_family* f = current_ == npos ? nullptr : &out_.families[current_];
    std::optional<part> p = f != nullptr ? part_of(*f, name) : std::nullopt;
    if (!p) {
      if (const auto it = index_.find(std::string(name)); it != index_.end()) {
        return fail_at(name_pos, "sample '" + std::string(name) + "' does not fit its family (type " +
                                     std::string(to_string(out_.families[it->second].type)) +
                                     ") or comes after another family");
      }
      if (!close_metric()) return false;
      f = &new_family(name);
      p = part::value;
    }
    // A sample name belongs to one family, whose lines are together.
    if (const auto [it, fresh] = sample_owner_.try_emplace(std::string(name), current_); !fresh && it->second != current_) {
      return fail_at(name_pos, "sample '" + std::string(name) + "' after another family, or in two families");
    }
    if (!check_sample(*f, *p, s, name_pos)) return false;
    ++sample_count_;
    f->samples.push_back(std::move(s));
    return true;
  }

  bool read_labels(std::vector<label>& labels, bool exemplar_labels) {
    const std::size_t open = pos_;
    ++pos_;  // '{'
    if (peek() == '}') {
      ++pos_;
      return true;
    }
    std::size_t code_points = 0;
    for (;;) {
      const std::size_t name_pos = pos_;
      while (!at_end() && is_label_name_char(line_text_[pos_], pos_ == name_pos)) ++pos_;
      if (pos_ == name_pos) return fail_at(pos_, "expected a label name");
      const std::string_view label_name = line_text_.substr(name_pos, pos_ - name_pos);
      if (label_name.substr(0, 2) == "__") return fail_at(name_pos, "label names starting with __ are reserved");
      for (const auto& l : labels) {
        if (l.name == label_name) return fail_at(name_pos, "duplicate label '" + std::string(label_name) + "'");
      }
      if (labels.size() == limits_.max_labels) return fail_at(name_pos, "more than " + std::to_string(limits_.max_labels) + " labels");
      if (!expect('=', "'=' after a label name") || !expect('"', "'\"' to open a label value")) return false;
      const std::size_t value_pos = pos_;
      while (!at_end() && line_text_[pos_] != '"') pos_ += line_text_[pos_] == '\\' ? std::size_t{2} : std::size_t{1};
      if (at_end()) return fail_at(value_pos - 1, "unterminated label value");
      std::string value;
      if (!unescape(line_text_.substr(value_pos, pos_ - value_pos), value_pos, value)) return false;
      ++pos_;  // closing quote
      code_points += label_name.size() + metrics::detail::utf8_code_points(value);
      labels.push_back({std::string(label_name), std::move(value)});
      if (peek() == '}') {
        ++pos_;
        break;
      }
      if (!expect(',', "',' or '}' after a label value")) return false;
    }
    if (exemplar_labels && code_points > 128) return fail_at(open, "exemplar labels longer than 128 code points");
    return true;
  }

  // The metric (label set less le, quantile or the state label) a sample belongs to.
  static std::string metric_key(const metric_family& f, const sample& s) {
    std::vector<const label*> sorted;
    for (const auto& l : s.labels) {
      const bool point_label = (l.name == "le" && (f.type == metric_type::histogram || f.type == metric_type::gaugehistogram)) ||
                               (l.name == "quantile" && f.type == metric_type::summary) ||
                               (f.type == metric_type::stateset && l.name == f.name);
      if (!point_label) sorted.push_back(&l);
    }
    std::sort(sorted.begin(), sorted.end(), [](const label* a, const label* b) { return a->name < b->name; });
    std::string key;
    for (const auto* l : sorted) {
      key += l->name;
      key.push_back('\0');
      for (const char c : l->value) {
        if (c == '\0' || c == '\\') key.push_back('\\');
        key.push_back(c);
      }
      key.push_back('\0');
    }
    return key;
  }

  bool check_sample(const metric_family& f, part p, const sample& s, std::size_t name_pos) {
    const auto bad = [&](const std::string& why) { return fail_at(name_pos, why); };
    const bool counts = p == part::total || p == part::bucket || p == part::count || p == part::gcount ||
                        (p == part::sum && f.type != metric_type::gaugehistogram);
    if (counts && (std::isnan(s.value) || s.value < 0)) return bad("a counter's value is negative or NaN");
    if ((p == part::bucket || p == part::count || p == part::gcount) && s.value != std::floor(s.value)) {
      return bad("bucket and count values must be whole numbers");
    }
    if (f.type == metric_type::stateset) {
      if (s.label_value(f.name) == nullptr) return bad("a stateset sample needs a label named '" + f.name + "'");
      if (s.value != 0 && s.value != 1) return bad("a stateset value is 0 or 1");
    }
    if (p == part::info && s.value != 1) return bad("an info value is 1");
    if (s.exemplar && p != part::total && p != part::bucket) return bad("exemplars go on counter totals and buckets only");
    const std::string* le = s.label_value("le");
    if ((f.type == metric_type::histogram || f.type == metric_type::gaugehistogram) && (le != nullptr) != (p == part::bucket)) {
      return bad(p == part::bucket ? "a bucket needs an le label" : "only buckets have an le label");
    }
    const std::string key = metric_key(f, s);
    if (key != metric_ || current_metric_family_ != current_) {
      if (!close_metric()) return false;
      if (closed_.count(key) != 0) return bad("the samples of one metric must be together");
      metric_ = key;
      current_metric_family_ = current_;
    }
    // One series once: the sample name and all its labels.
    std::string series = s.name;
    series.push_back('\0');
    std::vector<const label*> all;
    for (const auto& l : s.labels) all.push_back(&l);
    std::sort(all.begin(), all.end(), [](const label* a, const label* b) { return a->name < b->name; });
    for (const auto* l : all) series += l->name + '\0' + l->value + '\0';
    if (!series_.insert(std::move(series)).second) return bad("duplicate series for '" + s.name + "'");
    if (p == part::total) point_.total = true;
    if (p == part::count) point_.count = s.value;
    if (p == part::bucket) {
      double bound = 0;
      if (!parse_value(*le, bound) || std::isnan(bound)) return bad("le is not a number");
      if (point_.buckets > 0 && !(bound > point_.last_bound)) return bad("buckets must go up by le");
      if (point_.buckets > 0 && s.value < point_.last_value) return bad("buckets must be cumulative");
      if (s.exemplar && (s.exemplar->value > bound || (point_.buckets > 0 && s.exemplar->value <= point_.last_bound))) {
        return bad("an exemplar outside its bucket");
      }
      ++point_.buckets;
      point_.last_bound = bound;
      point_.last_value = s.value;
    }
    point_.type = f.type;
    point_.line = s.line;
    return true;
  }

  // At the end of a metric: what its type requires of it as a whole.
  bool close_metric() {
    if (current_metric_family_ == npos) return true;
    const point p = point_;
    closed_.insert(metric_);
    point_ = point{};
    metric_.clear();
    current_metric_family_ = npos;
    const auto bad = [&](const std::string& why) { return fail(p.line, 1, why); };
    if (p.type == metric_type::counter && !p.total) return bad("a counter metric without its _total sample");
    if (p.type == metric_type::histogram || p.type == metric_type::gaugehistogram) {
      if (p.buckets == 0 || p.last_bound != std::numeric_limits<double>::infinity()) {
        return bad("a histogram metric without a +Inf bucket");
      }
      if (p.count && *p.count != p.last_value) return bad("_count differs from the +Inf bucket");
    }
    return true;
  }

  struct point {
    metric_type type = metric_type::untyped;
    bool total = false;
    std::optional<double> count;
    std::size_t buckets = 0;
    double last_bound = 0;
    double last_value = 0;
    std::size_t line = 0;
  };

  static constexpr std::size_t npos = static_cast<std::size_t>(-1);

  std::unordered_map<std::string, std::size_t> index_;
  std::unordered_set<std::string> series_;
  std::unordered_map<std::string, std::size_t> sample_owner_;  // sample name -> family
  std::unordered_set<std::string> closed_;  // metrics of the current family already ended
  std::string metric_;
  std::size_t current_metric_family_ = npos;
  point point_;
  std::size_t current_ = npos;
  std::size_t sample_count_ = 0;
  bool eof_ = false;
};

}  // namespace detail

/// Parses `text` as OpenMetrics 1.0.0 into `out` (its previous content is replaced); see
/// the top of this header for what is checked. Returns false on any violation or exceeded
/// limit, with the reason in `*error` when given; `out` then holds what was read before it.
inline bool read_openmetrics(std::string_view text, exposition& out, const exposition_limits& limits = {},
                             exposition_error* error = nullptr) {
  return detail::read_with<detail::openmetrics_reader>(text, out, limits, error);
}

/// The same, throwing exposition_parse_error on invalid text.
[[nodiscard]] inline exposition parse_openmetrics(std::string_view text, const exposition_limits& limits = {}) {
  return detail::parse_with<detail::openmetrics_reader>(text, limits);
}

}  // namespace anklet::metrics::testing
