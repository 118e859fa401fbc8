// The testing kit's OpenMetrics reader (testing/openmetrics_reader.hpp): what it accepts,
// and each rule it enforces, by line.
#include <memory>
#include <string>
#include <string_view>

#include <doctest/doctest.h>

#include "anklet/metrics/testing.hpp"
#include "reader_rejections.hpp"

using namespace anklet::metrics::testing;

namespace {

void check_rejected(std::string_view text, std::size_t line, std::string_view what) {
  reader_tests::check_rejected(read_openmetrics, text, line, what);
}

}  // namespace

TEST_CASE("OpenMetrics: the specification's examples are read") {
  const std::string_view text =
      "# TYPE acme_http_router_request_seconds summary\n"
      "# UNIT acme_http_router_request_seconds seconds\n"
      "# HELP acme_http_router_request_seconds Latency though all of ACME's HTTP request router.\n"
      "acme_http_router_request_seconds_sum{path=\"/api/v1\",method=\"GET\"} 9036.32\n"
      "acme_http_router_request_seconds_count{path=\"/api/v1\",method=\"GET\"} 807283.0\n"
      "acme_http_router_request_seconds_created{path=\"/api/v1\",method=\"GET\"} 1605281325.0\n"
      "# TYPE process_cpu_seconds counter\n"
      "# UNIT process_cpu_seconds seconds\n"
      "# HELP process_cpu_seconds Total user and system CPU time spent in seconds.\n"
      "process_cpu_seconds_total 4.20072246e+06\n"
      "# TYPE foo histogram\n"
      "foo_bucket{le=\"0.01\"} 0\n"
      "foo_bucket{le=\"0.1\"} 8 # {} 0.054\n"
      "foo_bucket{le=\"1\"} 11 # {trace_id=\"KOO5S4vxi0o\"} 0.67\n"
      "foo_bucket{le=\"10\"} 17 # {trace_id=\"oHg5SJYRHA0\"} 9.8 1520879607.789\n"
      "foo_bucket{le=\"+Inf\"} 17\n"
      "foo_count 17\n"
      "foo_sum 324789.3\n"
      "# TYPE enabled stateset\n"
      "enabled{entity=\"controller\",enabled=\"a\"} 1\n"
      "enabled{entity=\"controller\",enabled=\"b\"} 0\n"
      "# TYPE build info\n"
      "build_info{version=\"1.0\"} 1\n"
      "untyped_one{a=\"x\\\"\\\\\\n\"} NaN 1.5\n"
      "# EOF";
  const exposition e = parse_openmetrics(text);
  REQUIRE(e.families.size() == 6);
  CHECK(e.families[0].type == metric_type::summary);
  CHECK(e.families[0].unit == "seconds");
  CHECK(e.families[1].name == "process_cpu_seconds");
  CHECK(e.families[1].samples[0].name == "process_cpu_seconds_total");
  const auto& bucket = e.families[2].samples[3];
  REQUIRE(bucket.exemplar);
  CHECK(*bucket.exemplar->label_value("trace_id") == "oHg5SJYRHA0");
  CHECK(bucket.exemplar->value == 9.8);
  CHECK(bucket.exemplar->timestamp_seconds == 1520879607.789);
  CHECK(e.families[3].type == metric_type::stateset);
  CHECK(e.families[4].type == metric_type::info);
  CHECK(e.families[5].type == metric_type::untyped);
  CHECK_FALSE(e.families[5].has_type_line);
  CHECK(e.families[5].samples[0].labels[0].value == "x\"\\\n");
  CHECK(e.families[5].samples[0].timestamp_seconds == 1.5);
  CHECK(find(e, "foo_count") == 17);
}

TEST_CASE("OpenMetrics: the text as a whole") {
  check_rejected("a 1\n", 2, "missing # EOF");
  check_rejected("a 1\n# EOF\n\n", 3, "after # EOF");
  check_rejected("a 1\n# EOF\nb 1\n", 3, "after # EOF");
  check_rejected("a 1\r\n# EOF\n", 1, "carriage return");
  check_rejected("a{x=\"\xff\"} 1\n# EOF\n", 1, "UTF-8");
  check_rejected("a 1\n\n# EOF\n", 2, "empty line");
  check_rejected("a 1", 1, "newline");
  check_rejected("# a comment\n# EOF\n", 1, "# HELP, # TYPE, # UNIT or # EOF");
  check_rejected("#  TYPE a gauge\n# EOF\n", 1, "# HELP, # TYPE, # UNIT or # EOF");
  CHECK(parse_openmetrics("# EOF").families.empty());
  CHECK(parse_openmetrics("# EOF\n").families.empty());
}

TEST_CASE("OpenMetrics: metadata") {
  check_rejected("# TYPE a gauge\n# TYPE a gauge\n# EOF\n", 2, "second TYPE");
  check_rejected("# HELP a x\n# HELP a y\n# EOF\n", 2, "second HELP");
  check_rejected("# TYPE a untyped\n# EOF\n", 1, "unknown type");
  check_rejected("# TYPE a_seconds gauge\n# UNIT a_seconds bytes\n# EOF\n", 2, "not a suffix");
  check_rejected("# TYPE aseconds gauge\n# UNIT aseconds seconds\n# EOF\n", 2, "not a suffix");
  check_rejected("# TYPE a_x stateset\n# UNIT a_x x\n# EOF\n", 2, "no unit");
  check_rejected("# HELP a bad \\t escape\n# EOF\n", 1, "invalid escape");
  check_rejected("# TYPE a gauge\na 1\n# HELP a late\n# EOF\n", 3, "after its samples");
  check_rejected("# TYPE a gauge\n# TYPE b gauge\n# HELP a x\n# EOF\n", 3, "together");
  check_rejected("# TYPE a gauge extra\n# EOF\n", 1, "unknown type");
  check_rejected("# TYPE a  gauge\n# EOF\n", 1, "unknown type");
  const auto e = parse_openmetrics("# HELP a with \\\"quotes\\\" and \\n\n# TYPE a gauge\n# UNIT a \n# EOF\n");
  CHECK(e.families[0].help == "with \"quotes\" and \n");
  CHECK(e.families[0].unit == "");
}

TEST_CASE("OpenMetrics: sample lines") {
  check_rejected("a  1\n# EOF\n", 1, "invalid number");
  check_rejected("a 1 \n# EOF\n", 1, "unexpected text");
  check_rejected("a{x=\"1\",} 1\n# EOF\n", 1, "label name");
  check_rejected("a{x = \"1\"} 1\n# EOF\n", 1, "'='");
  check_rejected("a{x=\"1\",x=\"2\"} 1\n# EOF\n", 1, "duplicate label");
  check_rejected("a{__x=\"1\"} 1\n# EOF\n", 1, "reserved");
  check_rejected("a{x=\"\\a\"} 1\n# EOF\n", 1, "invalid escape");
  check_rejected("a{x=\"1} 1\n# EOF\n", 1, "unterminated");
  check_rejected("a 1 abc\n# EOF\n", 1, "invalid timestamp");
  check_rejected("a 1\na 2\n# EOF\n", 2, "duplicate series");
  check_rejected("a{x=\"1\"} 1\nb 1\na{x=\"2\"} 1\n# EOF\n", 3, "after another family");
  check_rejected("# TYPE a gauge\na{x=\"1\"} 1 # {t=\"1\"} 1\n# EOF\n", 2, "exemplars go on");
  CHECK(parse_openmetrics("a{} 1 -2.5e3\n# EOF\n").families[0].samples[0].timestamp_seconds == -2500);
}

TEST_CASE("OpenMetrics: counters") {
  check_rejected("# TYPE a counter\na 1\n# EOF\n", 2, "does not fit");
  check_rejected("# TYPE a counter\na_total -1\n# EOF\n", 2, "negative");
  check_rejected("# TYPE a counter\na_total NaN\n# EOF\n", 2, "NaN");
  check_rejected("# TYPE a counter\na_created 1\n# EOF\n", 2, "without its _total");
  check_rejected("# TYPE a counter\na_total{x=\"1\"} 1\na_total{x=\"2\"} 1\na_created{x=\"1\"} 1\n# EOF\n", 4,
                 "together");
  check_rejected("# TYPE a counter\na_total 1\n# TYPE b gauge\nb 1\na_total 2\n# EOF\n", 5, "another family");
  // Exemplars: at most 128 code points of label names and values together.
  const std::string at_limit(121, 'u');
  CHECK(parse_openmetrics("# TYPE a counter\na_total 1 # {job_url=\"" + at_limit + "\"} 1\n# EOF\n")
            .families[0]
            .samples[0]
            .exemplar);
  check_rejected("# TYPE a counter\na_total 1 # {job_url=\"" + at_limit + "u\"} 1\n# EOF\n", 2, "128 code points");
  std::string multibyte;
  for (int i = 0; i < 121; ++i) multibyte += "\xE2\x82\xAC";  // 121 code points, 363 bytes
  CHECK(read_openmetrics("# TYPE a counter\na_total 1 # {job_url=\"" + multibyte + "\"} 1\n# EOF\n",
                         *std::make_unique<exposition>()));
  check_rejected("# TYPE a counter\na_total 1 # {x=\"1\"}\n# EOF\n", 2, "space before the exemplar");
  check_rejected("# TYPE a counter\na_total 1 # {x=\"1\"} 1 2 3\n# EOF\n", 2, "after the exemplar");
}

TEST_CASE("OpenMetrics: histograms") {
  const std::string head = "# TYPE h histogram\n";
  check_rejected(head + "h_bucket{le=\"1\"} 1\n# EOF\n", 2, "+Inf");
  check_rejected(head + "h_bucket{le=\"2\"} 1\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 1\n# EOF\n", 3, "go up");
  check_rejected(head + "h_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\n# EOF\n", 3, "cumulative");
  check_rejected(head + "h_bucket{le=\"+Inf\"} 1.5\n# EOF\n", 2, "whole");
  check_rejected(head + "h_bucket{le=\"x\"} 1\n# EOF\n", 2, "le is not a number");
  check_rejected(head + "h_bucket 1\n# EOF\n", 2, "needs an le");
  check_rejected(head + "h_count{le=\"1\"} 1\n# EOF\n", 2, "only buckets");
  check_rejected(head + "h_bucket{le=\"+Inf\"} 2\nh_count 3\n# EOF\n", 3, "_count differs");
  check_rejected(head + "h_bucket{le=\"1\"} 1 # {} 2\nh_bucket{le=\"+Inf\"} 1\n# EOF\n", 2, "outside its bucket");
  check_rejected(head + "h_bucket{le=\"1\"} 1\nh_bucket{le=\"2\"} 1 # {} 1\nh_bucket{le=\"+Inf\"} 1\n# EOF\n", 3,
                 "outside its bucket");
  check_rejected(head + "h_bucket{a=\"1\",le=\"+Inf\"} 1\nh_bucket{a=\"2\",le=\"+Inf\"} 1\nh_sum{a=\"1\"} 1\n# EOF\n",
                 4, "together");
  const auto e = parse_openmetrics(head + "h_bucket{a=\"1\",le=\"1.0\"} 0\nh_bucket{a=\"1\",le=\"+Inf\"} 2\n"
                                          "h_sum{a=\"1\"} 7.5\nh_count{a=\"1\"} 2\n"
                                          "h_bucket{a=\"2\",le=\"+Inf\"} 0\n# EOF\n");
  CHECK(e.families[0].samples.size() == 5);
}

TEST_CASE("OpenMetrics: statesets and info") {
  check_rejected("# TYPE s stateset\ns{x=\"a\"} 1\n# EOF\n", 2, "label named 's'");
  check_rejected("# TYPE s stateset\ns{s=\"a\"} 2\n# EOF\n", 2, "0 or 1");
  check_rejected("# TYPE i info\ni_info 2\n# EOF\n", 2, "info value");
  check_rejected("# TYPE i info\ni 1\n# EOF\n", 2, "does not fit");
}

TEST_CASE("OpenMetrics: limits") {
  exposition_limits small;
  small.max_samples = 2;
  exposition e;
  exposition_error error;
  CHECK_FALSE(read_openmetrics("a 1\nb 1\nc 1\n# EOF\n", e, small, &error));
  CHECK(error.message.find("more than 2 samples") != std::string::npos);
  small = {};
  small.max_input_bytes = 8;
  CHECK_FALSE(read_openmetrics("a 1\nb 1\n# EOF\n", e, small, &error));
  small = {};
  small.max_line_bytes = 4;
  CHECK_FALSE(read_openmetrics("abcde 1\n# EOF\n", e, small, &error));
  CHECK(error.message.find("longer than the limit") != std::string::npos);
}
