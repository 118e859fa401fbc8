// libFuzzer target: properties of the aggregator's answers over structured hostile fleets.
// The input bytes choose hosts and plugins whose names, owners and statuses come from a
// small alphabet of troublesome pieces (invalid UTF-8 that renders the same, escapes,
// quotes, newlines, lone surrogates, unknown statuses), so that collisions are found at
// once rather than by chance. Every answer must hold: Prometheus text the strict reader
// of the testing kit accepts (no repeated series), exactly one plugin_status at 1 per
// plugin, and strict JSON (valid UTF-8) without an object that has a key twice; answers put
// together from each host's rendered lines are the bytes written anew.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <iterator>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "anklet/metrics/fleet/aggregator.hpp"
#include "anklet/metrics/testing.hpp"
#include "../support/strict_json.hpp"

namespace {

namespace am = anklet::metrics;

// Pieces of names, as they appear inside a JSON string of a payload.
constexpr std::string_view pieces[] = {
    "x",       "\xff",    "\xfe",       "\xc0\xaf", "\xed\xa0\x80", "\xef\xbf\xbd", "\\ufffd", "\\ud800",
    "\\\"",    "\\\\",    "\\n",        "\\u0000",  "a",            "\xe2\x82\xac", "\\u2028", "_receiver",
    "\xf4\x90", "\\t",    "name",       "\xe2\x82"};
constexpr std::string_view statuses[] = {"idle", "running", "in_progress", "hibernating", "\xff", "x\xfe", "", "\\\""};

class input {
 public:
  input(const std::uint8_t* d, std::size_t n) : d_(d), n_(n) {}
  std::uint8_t byte() { return i_ < n_ ? d_[i_++] : 0; }
  bool more() const { return i_ < n_; }
  std::string name() {
    std::string s;
    const int parts = byte() % 4;
    for (int k = 0; k < parts; ++k) s += pieces[byte() % std::size(pieces)];
    return s;
  }

 private:
  const std::uint8_t* d_;
  std::size_t n_;
  std::size_t i_ = 0;
};

void check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  input in(data, size);
  am::fleet_read_options opt;
  opt.limits.max_plugins = 8;
  am::fleet f;
  const int hosts = 1 + in.byte() % 6;
  for (int h = 0; h < hosts && in.more(); ++h) {
    std::string payload = R"({"last_update":"2025-01-0)" + std::to_string(1 + in.byte() % 9) + R"(T00:00:00Z","plugins":[)";
    const int plugins = in.byte() % 5;
    for (int p = 0; p < plugins; ++p) {
      if (p) payload += ',';
      payload += R"({"Name":")" + in.name() + R"(","OwnerName":")" + in.name() + R"(","PluginName":")" + in.name() +
                 R"(","RepoName":")" + in.name() + R"(","Status":")" +
                 std::string(statuses[in.byte() % std::size(statuses)]) + R"("})";
    }
    payload += "]}";
    static_cast<void>(am::add_host(f, "anklet/metrics/" + std::to_string(h), payload, opt));
  }
  am::bound_output(f, opt);

  std::string out;
  am::format_fleet_prometheus(f, std::back_inserter(out));
  am::testing::exposition e;
  check(am::testing::read_exposition(out, e));
  // One status at 1 per plugin: group the state set by every label but `status`.
  std::map<std::string, int> current;
  for (const auto& fam : e.families) {
    if (fam.name != "plugin_status") continue;
    for (const auto& s : fam.samples) {
      std::string id;
      for (const auto& l : s.labels) {
        if (l.name != "status") id += l.name + '\0' + l.value + '\0';
      }
      current[id] += s.value == 1 ? 1 : 0;
    }
  }
  for (const auto& [id, n] : current) check(n == 1);

  out.clear();
  am::format_fleet_json_v1(f, std::back_inserter(out));
  check(anklet_test::strict_json_without_duplicates(out));
  out.clear();
  am::format_fleet_json_v2(f, std::back_inserter(out));
  check(anklet_test::strict_json_without_duplicates(out));

  // bound_output rendered each host's lines, which the answers above were put together
  // from: written anew from the reports, every answer must be the same bytes.
  am::fleet plain = f;
  for (auto& h : plain.hosts) h.cache.reset();
  for (int answer = 0; answer < 4; ++answer) {
    std::string cached, anew;
    const auto render = [answer](const am::fleet& fl, std::string& to) {
      if (answer == 0) am::format_fleet_prometheus(fl, std::back_inserter(to));
      else if (answer == 1) am::format_fleet_openmetrics(fl, std::back_inserter(to));
      else if (answer == 2) am::format_fleet_json_v1(fl, std::back_inserter(to));
      else am::format_fleet_json_v2(fl, std::back_inserter(to));
    };
    render(f, cached);
    render(plain, anew);
    check(cached == anew);
  }
  return 0;
}
