#include "anklet/metrics/testing.hpp"

#include <chrono>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <doctest/doctest.h>

#include "exposition_roundtrip.hpp"
#include "reader_rejections.hpp"

using namespace anklet::metrics;
using namespace anklet::metrics::testing;
using namespace std::chrono_literals;

namespace {

exposition_error rejection(std::string_view text, const exposition_limits& limits = {}) {
  return reader_tests::rejection(read_exposition, text, limits);
}

void check_rejected(std::string_view text, std::size_t line, std::string_view what) {
  reader_tests::check_rejected(read_exposition, text, line, what);
}

}  // namespace

TEST_CASE("the reader parses families, samples, metadata, escapes and UTF-8") {
  const std::string_view text =
      "# HELP plugin_status Status as a state set.\\nSecond line with a \\\\ backslash.\n"
      "# TYPE plugin_status gauge\n"
      "plugin_status{name=\"R\\\"1\\\\\",plugin=\"github\",status=\"idle\"} 1\n"
      "plugin_status{name=\"R\\\"1\\\\\",plugin=\"github\",status=\"paused\"} 0 1700000000123\n"
      "\n"
      "# just a comment\n"
      "  # TYPE weird_counter counter\n"
      "weird_counter { a = \"x\" , b=\"line\\none\" , } 2.5e3\n"
      "untyped_metric 7\n"
      "utf8{v=\"h\xC3\xA9llo \xE2\x82\xAC \xF0\x9F\x9A\x80 \xE6\x97\xA5\xE6\x9C\xAC\"} -0.125\n"
      "specials{k=\"nan\"} NaN\n"
      "specials{k=\"pinf\"} +Inf\n"
      "specials{k=\"ninf\"} -Inf\n"
      "specials{k=\"exp\"} 1E-3\n"
      "specials{k=\"ts\"} 3 -5\n"
      "empty_labels{} 1\n"
      "unicode_value{v=\"}{,=\\\"\"}\t4\n";
  const exposition e = parse_exposition(text);
  REQUIRE(e.families.size() == 7);

  const metric_family& status = e.families[0];
  CHECK(status.name == "plugin_status");
  REQUIRE(status.help);
  CHECK(*status.help == "Status as a state set.\nSecond line with a \\ backslash.");
  CHECK(status.type == metric_type::gauge);
  CHECK(status.has_type_line);
  REQUIRE(status.samples.size() == 2);
  CHECK(status.samples[0].labels ==
        std::vector<label>{{"name", "R\"1\\"}, {"plugin", "github"}, {"status", "idle"}});
  CHECK(status.samples[0].value == 1);
  CHECK_FALSE(status.samples[0].timestamp_ms);
  CHECK(status.samples[0].line == 3);
  CHECK(status.samples[1].timestamp_ms == 1700000000123);

  const metric_family* weird = e.family("weird_counter");
  REQUIRE(weird != nullptr);
  CHECK(weird->type == metric_type::counter);
  CHECK_FALSE(weird->help);
  CHECK(weird->samples.at(0).labels == std::vector<label>{{"a", "x"}, {"b", "line\none"}});
  CHECK(weird->samples.at(0).value == 2500);

  CHECK(e.family("untyped_metric")->type == metric_type::untyped);
  CHECK_FALSE(e.family("untyped_metric")->has_type_line);
  CHECK(*e.family("utf8")->samples.at(0).label_value("v") ==
        "h\xC3\xA9llo \xE2\x82\xAC \xF0\x9F\x9A\x80 \xE6\x97\xA5\xE6\x9C\xAC");
  CHECK(find(e, "utf8") == -0.125);

  CHECK(std::isnan(*find(e, "specials", {{"k", "nan"}})));
  CHECK(*find(e, "specials", {{"k", "pinf"}}) == HUGE_VAL);
  CHECK(*find(e, "specials", {{"k", "ninf"}}) == -HUGE_VAL);
  CHECK(*find(e, "specials", {{"k", "exp"}}) == doctest::Approx(0.001));
  CHECK(find_sample(e, "specials", {{"k", "ts"}})->timestamp_ms == -5);
  CHECK(find_sample(e, "empty_labels")->labels.empty());
  CHECK(*find_sample(e, "unicode_value")->label_value("v") == "}{,=\"");
  CHECK(e.sample_count() == 12);
}

TEST_CASE("the reader accepts the other spellings Go's ParseFloat accepts") {
  const exposition e = parse_exposition(
      "a{k=\"1\"} inf\na{k=\"2\"} -Infinity\na{k=\"3\"} nan\na{k=\"4\"} .5\na{k=\"5\"} 5.\na{k=\"6\"} +12\n"
      "a{k=\"7\"} 1.7976931348623157e308\n");
  CHECK(*find(e, "a", {{"k", "1"}}) == HUGE_VAL);
  CHECK(*find(e, "a", {{"k", "2"}}) == -HUGE_VAL);
  CHECK(std::isnan(*find(e, "a", {{"k", "3"}})));
  CHECK(*find(e, "a", {{"k", "4"}}) == 0.5);
  CHECK(*find(e, "a", {{"k", "5"}}) == 5);
  CHECK(*find(e, "a", {{"k", "6"}}) == 12);
  CHECK(*find(e, "a", {{"k", "7"}}) == 1.7976931348623157e308);
}

TEST_CASE("histogram and summary samples join their family") {
  const exposition e = parse_exposition(
      "# TYPE rpc histogram\n"
      "rpc_bucket{le=\"0.1\"} 1\nrpc_bucket{le=\"+Inf\"} 2\nrpc_sum 0.3\nrpc_count 2\n"
      "# TYPE lat summary\n"
      "lat{quantile=\"0.5\"} 1\nlat_sum 4\nlat_count 3\n");
  REQUIRE(e.families.size() == 2);
  CHECK(e.families[0].samples.size() == 4);
  CHECK(e.families[1].samples.size() == 3);
  CHECK(find(e, "rpc_count") == 2);
  // A summary has no buckets: the name starts a family of its own, after lat's lines.
  CHECK(parse_exposition("# TYPE lat summary\nlat_bucket 1\n").families.size() == 2);
}

TEST_CASE("the reader rejects malformed text, naming the line") {
  check_rejected("a 1", 1, "newline");
  check_rejected("a 1\nb 2", 2, "newline");
  check_rejected("a\n", 1, "missing sample value");
  check_rejected("a 1\n1a 2\n", 2, "metric name");
  check_rejected("a 1\na-b 2\n", 2, "metric name");
  check_rejected("a x\n", 1, "invalid sample value");
  check_rejected("a 0x10\n", 1, "invalid sample value");
  check_rejected("a 1e\n", 1, "invalid sample value");
  check_rejected("a +NaN\n", 1, "invalid sample value");
  check_rejected("a 1e999\n", 1, "invalid sample value");
  check_rejected("a 1 2 3\n", 1, "after the timestamp");
  check_rejected("a 1 1.5\n", 1, "timestamp");
  check_rejected("a 1 +5\n", 1, "timestamp");
  check_rejected("a 1 99999999999999999999\n", 1, "timestamp");
  check_rejected("\n\na{b=c} 1\n", 3, "'\"'");
  check_rejected("a{b=\"c} 1\n", 1, "unterminated label value");
  check_rejected("a{b=\"c\\\"} 1\n", 1, "unterminated");
  check_rejected("a{b=\"c\" 1\n", 1, "',' or '}'");
  check_rejected("a{b=\"c\",\n", 1, "unterminated label set");
  check_rejected("a{b=\"\\t\"} 1\n", 1, "invalid escape");
  check_rejected("a{b=\"\xFF\"} 1\n", 1, "UTF-8");
  check_rejected("a{b=\"\xC0\xAF\"} 1\n", 1, "UTF-8");         // overlong '/'
  check_rejected("a{b=\"\xED\xA0\x80\"} 1\n", 1, "UTF-8");     // surrogate
  check_rejected("a{b=\"\xF4\x90\x80\x80\"} 1\n", 1, "UTF-8"); // above U+10FFFF
  check_rejected("a{b=\"\xE2\x82\"} 1\n", 1, "UTF-8");         // truncated
  check_rejected("a{1b=\"c\"} 1\n", 1, "label name");
  check_rejected("a{b:c=\"c\"} 1\n", 1, "'='");
  check_rejected("a{b=\"1\",b=\"2\"} 1\n", 1, "duplicate label");
  check_rejected("a{__name__=\"x\"} 1\n", 1, "reserved");
  check_rejected("a{b=\"1\"} 1\na{b=\"1\"} 2\n", 2, "duplicate series");
  check_rejected("a{x=\"1\",y=\"2\"} 1\na{y=\"2\",x=\"1\"} 2\n", 2, "duplicate series");
  check_rejected("a 1\nb 1\na 2\n", 3, "together");
  check_rejected("# TYPE a gauge\n# TYPE a counter\na 1\n", 2, "second TYPE");
  check_rejected("# HELP a x\n# HELP a y\n", 2, "second HELP");
  check_rejected("a 1\n# TYPE a gauge\n", 2, "after its samples");
  check_rejected("a 1\n# HELP a late\n", 2, "after its samples");
  check_rejected("# TYPE a gauge\n# TYPE b gauge\n# HELP a x\n", 3, "after another family");
  check_rejected("# TYPE a gauges\n", 1, "unknown type");
  check_rejected("# TYPE a\n", 1, "missing type");
  check_rejected("# TYPE a gauge extra\n", 1, "unexpected text");
  check_rejected("# TYPE\n", 1, "metric name");
  check_rejected("# HELP a bad \\t escape\n", 1, "invalid escape");
  check_rejected("# HELP a trailing \\\n", 1, "backslash");
  check_rejected("# HELP a \xFF\n", 1, "UTF-8");
  check_rejected("a{b=\"c\"}} 1\n", 1, "invalid sample value");
  check_rejected("a 1\r\n", 1, "invalid sample value");
}

TEST_CASE("errors carry the column of the offence") {
  const auto e = rejection("ok 1\nbad{b=\"c\" x} 1\n");
  CHECK(e.line == 2);
  CHECK(e.column == 11);
  CHECK(e.to_string() == "line 2, column 11: expected ',' or '}' after a label value");
  try {
    (void)parse_exposition("ok 1\nbad\n");
    FAIL("parse_exposition accepted invalid text");
  } catch (const exposition_parse_error& ex) {
    CHECK(ex.error().line == 2);
    CHECK(std::string(ex.what()).find("line 2") != std::string::npos);
  }
}

TEST_CASE("the reader's limits reject oversized input instead of truncating it") {
  exposition_limits limits;
  limits.max_input_bytes = 8;
  CHECK(rejection("a 1\nb 2\nc 3\n", limits).message.find("exceeds") != std::string::npos);

  limits = {};
  limits.max_line_bytes = 10;
  exposition e;
  CHECK(read_exposition("abcdef 1\n", e, limits));
  const auto long_line = rejection("a 1\nabcdefghij 1\n", limits);
  CHECK(long_line.line == 2);
  CHECK(long_line.message.find("longer than") != std::string::npos);
  CHECK(rejection("a 1\nabcdefghijk", limits).message.find("longer than") != std::string::npos);

  limits = {};
  limits.max_labels = 2;
  CHECK(read_exposition("a{x=\"1\",y=\"2\"} 1\n", e, limits));
  const auto many = rejection("a{x=\"1\",y=\"2\",z=\"3\"} 1\n", limits);
  CHECK(many.message.find("more than 2 labels") != std::string::npos);
  CHECK(many.column == 15);

  limits = {};
  limits.max_samples = 3;
  CHECK(read_exposition("a 1\nb 1\nc 1\n", e, limits));
  CHECK(rejection("a 1\nb 1\nc 1\nd 1\n", limits).line == 4);
}

TEST_CASE("an empty text is an empty exposition, and reading replaces earlier content") {
  exposition e = parse_exposition("a 1\n");
  CHECK(read_exposition("", e));
  CHECK(e.families.empty());
  CHECK(read_exposition("\n  \n# only a comment\n", e));
  CHECK(e.families.empty());
}

TEST_CASE("lookups match on the labels they name and refuse ambiguity") {
  const exposition e = parse_exposition(
      "plugin_status{name=\"A\",plugin=\"github\",owner=\"o\",status=\"idle\"} 0\n"
      "plugin_status{name=\"A\",plugin=\"github\",owner=\"o\",status=\"running\"} 1\n"
      "plugin_status{name=\"B\",plugin=\"github\",owner=\"o\",status=\"idle\"} 1\n"
      "plugin_status{name=\"B\",plugin=\"github\",owner=\"o\",status=\"running\"} 0\n");
  CHECK(find(e, "plugin_status", {{"name", "A"}, {"status", "running"}}) == 1);
  CHECK(find(e, "plugin_status", {{"name", "B"}, {"status", "running"}}) == 0);
  CHECK_FALSE(find(e, "plugin_status", {{"name", "C"}, {"status", "idle"}}));
  CHECK_FALSE(find(e, "plugin_status", {{"name", "A"}, {"nolabel", ""}}));
  CHECK_FALSE(find(e, "other", {}));
  CHECK_THROWS_AS((void)find(e, "plugin_status", {{"name", "A"}}), std::invalid_argument);
  CHECK(find_all(e, "plugin_status", std::vector<label_matcher>{{"plugin", "github"}}).size() == 4);

  const std::vector<sample> samples = e.all_samples();
  CHECK(find(samples, "plugin_status", {{"name", "B"}, {"status", "idle"}}) == 1);
  CHECK(find_sample(samples, "plugin_status", {{"name", "B"}, {"status", "idle"}})->line == 3);

  CHECK(current_status(e, "A") == "running");
  CHECK(current_status(e, "B") == "idle");
  CHECK_FALSE(current_status(e, "C"));
  CHECK_THROWS_AS((void)current_status(parse_exposition("plugin_status{name=\"A\",status=\"idle\"} 0\n"), "A"),
                  std::invalid_argument);
  CHECK_THROWS_AS((void)current_status(parse_exposition("plugin_status{name=\"A\",status=\"idle\"} 1\n"
                                                        "plugin_status{name=\"A\",status=\"paused\"} 1\n"),
                                       "A"),
                  std::invalid_argument);
}

TEST_CASE("to_string writes a sample back in exposition syntax") {
  const exposition e = parse_exposition("m{a=\"x\\\"y\\\\z\\nw\",b=\"\"} -Inf 12\n");
  CHECK(to_string(e.families.at(0).samples.at(0)) == "m{a=\"x\\\"y\\\\z\\nw\",b=\"\"} -Inf 12");
  CHECK(to_string(parse_exposition("m 0.1\n").families.at(0).samples.at(0)) == "m 0.1");
}

TEST_CASE("scrape reads a test_store the way Prometheus would") {
  test_store store;
  store.clock().set(time_point{1700000000s});
  auto runner = store.add_handler({.name = "RUNNER1", .plugin_name = "github", .owner_name = "veertuinc", .repo_name = "anklet"});
  store.add_receiver({.name = "RECV", .plugin_name = "github_receiver", .owner_name = "veertuinc", .repo_name = ""});
  store.clock().advance(30s);
  runner.set_status(plugin_status::in_progress);
  runner.increment_running_vms();
  runner.finish_run(run_outcome::failed, "https://ci.example/run/\"7\"");

  const exposition e = scrape(store);
  CHECK(find(e, "total_running_vms") == 1);
  CHECK(find(e, "total_failed_runs_since_start") == 1);
  CHECK(find(e, "plugin_status", {{"name", "RUNNER1"}, {"status", "in_progress"}}) == 1);
  CHECK(current_status(e, "RECV") == "idle");
  CHECK(find(e, "plugin_status_since", {{"name", "RUNNER1"}}) == 1700000030);
  CHECK(find(e, "plugin_last_failed_run", {{"name", "RUNNER1"}}) == 1700000030);
  CHECK(find(e, "plugin_last_successful_run", {{"name", "RUNNER1"}}) == 0);
  CHECK(find(e, "plugin_total_failed_runs_since_start", {{"name", "RUNNER1"}, {"repo", "anklet"}}) == 1);
  CHECK_FALSE(find(e, "plugin_total_ran_vms", {{"name", "RECV"}}));
  CHECK(e.family("plugin_total_ran_vms")->type == metric_type::counter);
  CHECK(e.family("host_cpu_count")->type == metric_type::gauge);

  // The host figures come from a source, as in the exporter.
  fixed_host_source host(host_metrics{.cpu_count = 8, .cpu_used_count = 2, .cpu_usage_percentage = 25.5});
  refresh_host_metrics(store, host);
  const exposition after = scrape(store);
  CHECK(find(after, "host_cpu_count") == 8);
  CHECK(find(after, "host_cpu_usage_percentage") == 25.5);
}

TEST_CASE("the round-trip check catches a label that does not come back") {
  test_store store;
  store.add_handler({.name = "A", .plugin_name = "p", .owner_name = "o", .repo_name = ""});
  const metrics_snapshot snap = store.snapshot();
  CHECK(roundtrip::check(snap).empty());
  std::string text = to_prometheus(snap);
  const auto pos = text.find("name=\"A\"");
  REQUIRE(pos != std::string::npos);
  text[pos + 6] = 'B';  // one plugin_status series now names another plugin
  CHECK_FALSE(roundtrip::check_text(snap, text).empty());
  CHECK_FALSE(roundtrip::check_text(snap, "not an exposition\n").empty());
  CHECK(roundtrip::repaired_utf8("a\xFF" "b\xE2\x82\xAC\xC0\xAF") == "a\xEF\xBF\xBD" "b\xE2\x82\xAC\xEF\xBF\xBD\xEF\xBF\xBD");
}

namespace {

// Strings built from the characters that break naive exposition writers and readers.
std::string hostile_string(std::mt19937& rng, std::size_t max_len) {
  static const std::vector<std::string_view> pieces{
      "\"", "\\", "\n", "}", "{", ",", "=", " ", "\t", "#", "a", "Z", "0", "_", "\\n", "\\\"", "\xC3\xA9",
      "\xE2\x82\xAC", "\xF0\x9F\x9A\x80", "\xE6\x97\xA5", "\xFF", "\xC0", "\xE2\x82", "\xED\xA0\x80", "\r",
      std::string_view("\0", 1), "https://github.com/o/r/actions/runs/1?x=1&y=\"2\""};
  std::uniform_int_distribution<std::size_t> len(0, max_len);
  std::uniform_int_distribution<std::size_t> pick(0, pieces.size() - 1);
  std::string out;
  for (std::size_t n = len(rng); n > 0; --n) out += pieces[pick(rng)];
  return out;
}

}  // namespace

TEST_CASE("arbitrary names, owners, repos and job URLs read back exactly as rendered") {
  std::mt19937 rng(20240115);  // fixed seed: the same cases on every run
  std::size_t plugins_checked = 0;
  for (int round = 0; round < 300; ++round) {
    test_store store;
    store.clock().set(time_point{std::chrono::seconds{1700000000 + round}});
    const int count = 1 + static_cast<int>(rng() % 4);
    for (int i = 0; i < count; ++i) {
      // The index suffix keeps names unique even when repair makes two raw names equal.
      plugin_info info{hostile_string(rng, 6) + "#" + std::to_string(i), hostile_string(rng, 4),
                       hostile_string(rng, 4), rng() % 3 == 0 ? std::string() : hostile_string(rng, 4)};
      if (rng() % 3 == 0) {
        store.add_receiver(std::move(info)).set_status(all_statuses[rng() % all_statuses.size()]);
        continue;
      }
      auto h = store.add_handler(std::move(info));
      h.set_status(all_statuses[rng() % all_statuses.size()]);
      h.increment_running_vms();
      store.clock().advance(std::chrono::seconds{rng() % 100});
      h.finish_run(static_cast<run_outcome>(rng() % 3), hostile_string(rng, 8));
      if (rng() % 2 == 0) h.finish_run(run_outcome::canceled, hostile_string(rng, 8));
    }
    const metrics_snapshot snap = store.snapshot();
    plugins_checked += snap.plugins.size();
    const std::string problem = roundtrip::check(snap);
    INFO("round ", round, ": ", to_prometheus(snap));
    REQUIRE(problem == "");
  }
  CHECK(plugins_checked > 500);
}
