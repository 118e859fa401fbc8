// The Accept header reader (http/accept.hpp): media ranges, q-values, and which text format
// a scraper is answered with.
#include "anklet/metrics/http/accept.hpp"

#include <doctest/doctest.h>

#include <string>
#include <string_view>
#include <vector>

using namespace anklet::metrics::http;

namespace {

constexpr std::string_view prometheus_2_42 =
    "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
    "text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

std::vector<media_range> ranges_of(std::string_view accept) {
  std::vector<media_range> out;
  for_each_media_range(accept, [&](const media_range& r) { out.push_back(r); });
  return out;
}

}  // namespace

TEST_CASE("Accept: Prometheus 2.42's header is read range by range") {
  const auto r = ranges_of(prometheus_2_42);
  REQUIRE(r.size() == 4);
  CHECK(r[0].type == "application");
  CHECK(r[0].subtype == "openmetrics-text");
  CHECK(r[0].version == "1.0.0");
  CHECK(r[0].q == 1000);
  CHECK(r[1].version == "0.0.1");
  CHECK(r[1].q == 750);
  CHECK(r[2].type == "text");
  CHECK(r[2].q == 500);
  CHECK(r[3].type == "*");
  CHECK(r[3].subtype == "*");
  CHECK_FALSE(r[3].has_version);
  CHECK(r[3].q == 100);
}

TEST_CASE("Accept: q-values as RFC 9110 spells them, in thousandths") {
  const auto q = [](std::string_view value) {
    const auto r = ranges_of("text/plain;q=" + std::string(value));
    return r.empty() ? -1 : int{r[0].q};
  };
  CHECK(q("1") == 1000);
  CHECK(q("1.") == 1000);
  CHECK(q("1.000") == 1000);
  CHECK(q("0") == 0);
  CHECK(q("0.5") == 500);
  CHECK(q("0.05") == 50);
  CHECK(q("0.001") == 1);
  // Malformed weights make the range unusable: it is skipped.
  CHECK(q("1.001") == -1);
  CHECK(q("0.0001") == -1);
  CHECK(q("2") == -1);
  CHECK(q("-0.5") == -1);
  CHECK(q("") == -1);
  CHECK(q("0,5") == 0);  // "0" then a range "5" without a subtype, skipped
}

TEST_CASE("Accept: spaces, case, quotes, extensions and junk") {
  const auto r = ranges_of(" APPLICATION/OpenMetrics-Text ; Version=\"1.0.0\" ; CHARSET=utf-8 ; Q=0.9 ; ext=\"a,b\" ,"
                           "text/plain;version=\"0\\.0.4\", bogus, /x, x/, ;;, text/plain;q=0.3");
  REQUIRE(r.size() == 3);
  CHECK(r[0].subtype == "OpenMetrics-Text");
  CHECK(r[0].version == "1.0.0");
  CHECK(r[0].q == 900);
  CHECK(r[1].version_escaped);
  CHECK(r[2].q == 300);
  // An unterminated quoted string ends the header.
  CHECK(ranges_of("text/plain;a=\"x, application/openmetrics-text").empty());
}

TEST_CASE("Accept: at most max_media_ranges ranges are read") {
  std::string many;
  for (std::size_t i = 0; i < max_media_ranges + 10; ++i) many += "text/plain;q=0.1,";
  many += "application/openmetrics-text";
  CHECK(ranges_of(many).size() == max_media_ranges);
  CHECK_FALSE(prefers_openmetrics(many));  // the last range was never read
}

TEST_CASE("Accept: which format a scraper gets") {
  CHECK(prefers_openmetrics(prometheus_2_42));
  CHECK(prefers_openmetrics("application/openmetrics-text"));
  CHECK(prefers_openmetrics("application/openmetrics-text; version=0.0.1"));
  CHECK(prefers_openmetrics("application/openmetrics-text, text/plain"));  // a tie, named
  CHECK(prefers_openmetrics("text/plain;q=0.5, application/*;q=0.6"));
  // The 0.0.4 text, as before negotiation existed:
  CHECK_FALSE(prefers_openmetrics(""));
  CHECK_FALSE(prefers_openmetrics("*/*"));
  CHECK_FALSE(prefers_openmetrics("text/plain"));
  CHECK_FALSE(prefers_openmetrics("text/plain;version=0.0.4;q=1,*/*;q=0.1"));
  CHECK_FALSE(prefers_openmetrics("application/openmetrics-text;q=0.4, text/plain;q=0.5"));
  CHECK_FALSE(prefers_openmetrics("application/openmetrics-text;q=0"));
  CHECK_FALSE(prefers_openmetrics("application/openmetrics-text;version=2.0.0"));  // a version we do not write
  CHECK_FALSE(prefers_openmetrics("application/openmetrics-text;version=\"1\\.0.0\""));
  CHECK_FALSE(prefers_openmetrics("application/json"));
  // The most specific range decides: a versioned range overrides the plain one.
  CHECK_FALSE(prefers_openmetrics("application/openmetrics-text;version=1.0.0;q=0, application/openmetrics-text"));
  CHECK(prefers_openmetrics("*/*;q=0.1, application/openmetrics-text;q=0.2"));
  CHECK_FALSE(prefers_openmetrics("application/openmetrics-text;q=0.2, text/*;q=0.3"));
}

TEST_CASE("Accept: several header fields count as one list") {
  accept_weights w;
  w.add("text/plain;q=0.5");
  w.add("application/openmetrics-text;q=0.8");
  CHECK(w.prefers_openmetrics());
  CHECK(w.openmetrics_q() == 800);
  CHECK(w.text_q() == 500);
  accept_weights none;
  CHECK_FALSE(none.prefers_openmetrics());
}
