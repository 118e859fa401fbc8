// Reading Redis payloads back: Go Anklet's and ours, and hostile ones.
#include "anklet/metrics/fleet/payload_reader.hpp"
#include "anklet/metrics/render/common.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace anklet::metrics;
using namespace std::chrono_literals;

namespace {

// What Go Anklet writes: it re-marshals through map[string]any, so keys come sorted and
// numbers are float64; times carry the host's offset and nanoseconds.
constexpr std::string_view go_payload = R"({"host_cpu_count":8,"host_cpu_usage_percentage":12.371134020618557,"host_cpu_used_count":0,"host_disk_available_bytes":250000000000,"host_disk_total_bytes":500000000000,"host_disk_usage_percentage":50,"host_disk_used_bytes":250000000000,"host_memory_available_bytes":8589934592,"host_memory_total_bytes":17179869184,"host_memory_usage_percentage":50,"host_memory_used_bytes":8589934592,"last_update":"2024-06-01T12:34:56.123456789-05:00","plugins":[{"LastCanceledRun":"0001-01-01T00:00:00Z","LastCanceledRunJobUrl":"","LastFailedRun":"2024-06-01T11:00:00.5-05:00","LastFailedRunJobUrl":"https://github.com/o/r/actions/runs/2?a=1\u0026b=2","LastSuccessfulRun":"2024-06-01T10:00:00-05:00","LastSuccessfulRunJobUrl":"https://github.com/o/r/actions/runs/1","Name":"RUNNER1","OwnerName":"veertuinc","PluginName":"github","RepoName":"anklet","Status":"in_progress","StatusSince":"2024-06-01T12:00:00.000000001-05:00","TotalCanceledRunsSinceStart":0,"TotalFailedRunsSinceStart":1,"TotalRanVMs":3,"TotalSuccessfulRunsSinceStart":2},{"Name":"RECEIVER1","OwnerName":"veertuinc","PluginName":"github_receiver","RepoName":"","Status":"hibernating","StatusSince":"2024-06-01T17:00:00Z"}],"total_canceled_runs_since_start":0,"total_failed_runs_since_start":1,"total_running_vms":1e+00,"total_successful_runs_since_start":2})";

time_point utc(int y, unsigned m, unsigned d, int hh, int mm, int ss) {
  return time_point{std::chrono::sys_days{std::chrono::year{y} / std::chrono::month{m} / std::chrono::day{d}} +
                    std::chrono::hours{hh} + std::chrono::minutes{mm} + std::chrono::seconds{ss}};
}

bool rejects(std::string_view json, std::string_view expected_message, const payload_limits& limits = {}) {
  host_report r;
  const auto read = read_payload(json, r, limits);
  if (read) return false;
  INFO("input: " << std::string(json.substr(0, 80)) << " error: " << read.error().to_string());
  CHECK(read.error().message.find(expected_message) != std::string::npos);
  CHECK(read.error().has_offset());
  CHECK(read.error().offset <= json.size());
  return true;
}

}  // namespace

TEST_CASE("a Go Anklet payload reads completely") {
  host_report r;
  const auto read = read_payload(go_payload, r);
  REQUIRE_MESSAGE(read, (read ? "" : read.error().to_string()));
  CHECK(r.last_update.instant == utc(2024, 6, 1, 17, 34, 56) + 123456789ns);
  CHECK(r.last_update.offset_seconds == -5 * 3600);
  CHECK(r.total_running_vms == 1);
  CHECK(r.total_successful_runs_since_start == 2);
  CHECK(r.host.cpu_count == 8);
  CHECK(r.host.cpu_usage_percentage == doctest::Approx(12.371134020618557));
  CHECK(r.host.memory_total_bytes == 17179869184u);
  CHECK(r.host.disk_usage_percentage == 50.0);
  REQUIRE(r.plugins.size() == 2);

  const auto& h = r.plugins[0];
  CHECK(h.handler);
  CHECK(h.name == "RUNNER1");
  CHECK(h.plugin_name == "github");
  CHECK(h.repo_name == "anklet");
  CHECK(h.owner_name == "veertuinc");
  CHECK(h.status == "in_progress");
  CHECK(h.status_since.instant == utc(2024, 6, 1, 17, 0, 0) + 1ns);
  CHECK(h.last_failed_run.instant == utc(2024, 6, 1, 16, 0, 0) + 500ms);
  CHECK(h.last_failed_run_job_url == "https://github.com/o/r/actions/runs/2?a=1&b=2");
  CHECK(is_never(h.last_canceled_run.instant));
  CHECK(h.last_canceled_run.offset_seconds == 0);
  CHECK(h.total_ran_vms == 3);
  CHECK(h.total_failed_runs_since_start == 1);

  const auto& rc = r.plugins[1];
  CHECK_FALSE(rc.handler);
  CHECK(rc.status == "hibernating");  // unknown statuses survive as strings
  CHECK(rc.status_since.instant == utc(2024, 6, 1, 17, 0, 0));
}

TEST_CASE("reading reuses the report and resets what a payload leaves out") {
  host_report r;
  REQUIRE(read_payload(go_payload, r));
  REQUIRE(read_payload(R"({"plugins":null,"host_cpu_count":2})", r));
  CHECK(r.plugins.empty());
  CHECK(r.host.cpu_count == 2);
  CHECK(r.host.memory_total_bytes == 0);
  CHECK(is_never(r.last_update.instant));
  // A payload without the key, after one with plugins: none of the earlier plugins remain.
  REQUIRE(read_payload(go_payload, r));
  REQUIRE(read_payload(R"({"host_cpu_count":2})", r));
  CHECK(r.plugins.empty());
  // Plugins are reused in place: each reads as into a fresh report, nothing carried over.
  REQUIRE(read_payload(go_payload, r));
  const std::string swapped = R"({"plugins":[{"Name":"RECEIVER1","PluginName":"github_receiver"},)"
                              R"({"Name":"R2","TotalRanVMs":7,"LastFailedRun":"2024-06-01T11:00:00Z"},{"Name":"R3"}]})";
  REQUIRE(read_payload(swapped, r));
  host_report fresh;
  REQUIRE(read_payload(swapped, fresh));
  CHECK(r == fresh);
  CHECK(r.plugins.size() == 3);
  CHECK(!r.plugins[0].handler);
  CHECK(r.plugins[0].status.empty());
  CHECK(is_never(r.plugins[0].status_since.instant));
  CHECK(r.plugins[1].handler);
  CHECK(r.plugins[1].last_successful_run_job_url.empty());
}

TEST_CASE("escapes decode to UTF-8; unknown keys and nested values are skipped") {
  host_report r;
  const auto read = read_payload(R"( { "future" : {"a":[1,2,{"b":null}],"c":true} ,
      "plugins" : [ {"Name":"Z\u00fcrich \ud83d\ude80 \"q\" \\ \/ \n\t","Extra":[false]} ] } )", r);
  REQUIRE_MESSAGE(read, (read ? "" : read.error().to_string()));
  REQUIRE(r.plugins.size() == 1);
  CHECK(r.plugins[0].name == "Z\xc3\xbcrich \xf0\x9f\x9a\x80 \"q\" \\ / \n\t");
  CHECK_FALSE(r.plugins[0].handler);
  // A lone surrogate becomes U+FFFD rather than invalid UTF-8.
  REQUIRE(read_payload(R"({"plugins":[{"Name":"a\ud800b"}]})", r));
  CHECK(r.plugins[0].name == "a\xef\xbf\xbd" "b");
}

TEST_CASE("a string's escapes, quotes and control characters are found wherever they fall in an 8-byte word") {
  // Strings are scanned eight bytes at a time: put each kind of byte the scan must stop at
  // at every offset of the first three words, with plain and non-ASCII bytes around it.
  struct special {
    std::string_view json;     // as written in the payload
    std::string_view decoded;  // "" for a byte that is an error
  };
  const special specials[] = {{"\\\"", "\""}, {"\\\\", "\\"}, {"\\n", "\n"}, {"\\u00e9", "\xc3\xa9"},
                              {"\xc3\xa9", "\xc3\xa9"}, {"\x01", ""}, {"\x1f", ""}, {"\t", ""}};
  host_report r;
  for (std::size_t before = 0; before < 24; ++before) {
    for (std::size_t after : {std::size_t{0}, std::size_t{1}, std::size_t{7}, std::size_t{8}, std::size_t{13}}) {
      for (const auto& sp : specials) {
        const std::string head(before, 'a');
        const std::string tail(after, '~');
        const std::string json = R"({"plugins":[{"Name":")" + head + std::string(sp.json) + tail + R"("}]})";
        CAPTURE(json);
        const auto read = read_payload(json, r);
        if (sp.decoded.empty()) {
          REQUIRE_FALSE(read);
          CHECK(read.error().message == "control character in string");
          CHECK(read.error().offset == 21 + before);
        } else {
          REQUIRE(read);
          REQUIRE(r.plugins.size() == 1);
          CHECK(r.plugins[0].name == head + std::string(sp.decoded) + tail);
        }
      }
    }
  }
  // A string that ends where the payload does is unterminated at every length.
  for (std::size_t n = 0; n < 20; ++n) {
    CHECK(rejects(R"({"plugins":[{"Name":")" + std::string(n, 'x'), "unterminated string"));
  }
}

TEST_CASE("RFC 3339 forms") {
  zoned_time t;
  REQUIRE(parse_rfc3339("1970-01-01T00:00:00Z", t));
  CHECK(t.instant == time_point{});
  CHECK_FALSE(is_never(t.instant));  // the epoch is a real time, not "never"
  REQUIRE(parse_rfc3339("0001-01-01T00:00:00Z", t));
  CHECK(is_never(t.instant));
  REQUIRE(parse_rfc3339("0001-01-01T05:30:00+05:30", t));  // Go's IsZero: the instant decides
  CHECK(is_never(t.instant));
  // Every year Go writes survives, with its nanoseconds (a nanosecond sys_time ends at
  // 1677 and 2262).
  REQUIRE(parse_rfc3339("0001-01-01T00:00:00.000000001Z", t));
  CHECK_FALSE(is_never(t.instant));
  CHECK(t.instant == never + 1ns);
  REQUIRE(parse_rfc3339("1600-06-30T12:00:00.5-03:00", t));
  CHECK(t.instant == time_point::from_unix(-11660414400 + 3 * 3600, 500000000));
  CHECK(to_rfc3339_nano(t.instant, time_zone::utc) == "1600-06-30T15:00:00.5Z");
  REQUIRE(parse_rfc3339("9999-12-31T23:59:59.999999999Z", t));
  CHECK(t.instant == time_point::from_unix(253402300799, 999999999));
  REQUIRE(parse_rfc3339("2500-01-01T00:00:00Z", t));
  CHECK(to_unix_seconds(t.instant) == 16725225600);
  REQUIRE(parse_rfc3339("2024-02-29T23:59:59.999999999+14:00", t));
  CHECK(t.offset_seconds == 14 * 3600);
  CHECK(t.instant == utc(2024, 2, 29, 9, 59, 59) + 999999999ns);
  REQUIRE(parse_rfc3339("2024-01-15T10:30:00.1234567891234-00:30", t));
  CHECK(t.instant == utc(2024, 1, 15, 11, 0, 0) + 123456789ns);
  for (const char* bad : {"", "2024-01-15", "2024-01-15T10:30:00", "2024-13-01T00:00:00Z", "2024-01-15T10:30:00.Z",
                          "2024-01-15T10:30:00+0200", "2024-01-15T10:30:00Zjunk", "20x4-01-15T10:30:00Z",
                          "2024-01-15T25:30:00Z"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_rfc3339(bad, t));
  }
}

TEST_CASE("malformed and hostile payloads are rejected with a reason, never truncated") {
  CHECK(rejects("", "must be a JSON object"));
  CHECK(rejects("[]", "object"));
  CHECK(rejects(R"({"plugins":[{"Name":"x"})", "expected ']'"));
  CHECK(rejects(R"({"host_cpu_count":"8"})", "number"));
  CHECK(rejects(R"({"host_cpu_count":-1})", "range"));
  CHECK(rejects(R"({"host_cpu_count":1e400})", "range"));
  CHECK(rejects(R"({"last_update":"yesterday"})", "RFC 3339"));
  CHECK(rejects(R"({"plugins":[{"Name":"a\x"}]})", "escape"));
  CHECK(rejects("{\"plugins\":[{\"Name\":\"a\nb\"}]}", "control"));
  CHECK(rejects(R"({"plugins":{}})", "array"));
  CHECK(rejects(R"({"a":1} {"b":2})", "trailing"));
  CHECK(rejects(R"({"a":tru})", "literal"));
  CHECK(rejects(R"({"a":01})", "expected '}'"));  // a leading zero ends the number
  std::string deep = R"({"x":)" + std::string(100000, '[');
  CHECK(rejects(deep, "deep"));
  payload_limits small;
  small.max_plugins = 2;
  CHECK(rejects(R"({"plugins":[{},{},{}]})", "too many plugins", small));
  small.max_string_bytes = 8;
  CHECK(rejects(R"({"plugins":[{"Name":"123456789"}]})", "too long", small));
  small.max_bytes = 10;
  CHECK(rejects(R"({"plugins":[]}   )", "larger", small));
  // A bound hit is errc::limit (the aggregator counts over_limits), other bytes errc::parse.
  host_report r;
  small = {};
  small.max_plugins = 1;
  const auto over = read_payload(R"({"plugins":[{},{}]})", r, small);
  REQUIRE_FALSE(over);
  CHECK(over.error().code == errc::limit);
  const auto bad = read_payload(R"({"plugins":[{},]})", r);
  REQUIRE_FALSE(bad);
  CHECK(bad.error().code == errc::parse);
  CHECK(bad.error().offset == 15);
}

TEST_CASE("every prefix of a valid payload is rejected, none crashes") {
  host_report r;
  for (std::size_t n = 0; n < go_payload.size(); ++n) {
    CAPTURE(n);
    CHECK_FALSE(read_payload(go_payload.substr(0, n), r));
  }
  CHECK(read_payload(go_payload, r));
}
