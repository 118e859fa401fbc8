// Our half of the Go differential test (go_differential.py): reads the same states as
// tests/go_reference/reference.go, one JSON object per line, and writes what our renderers
// make of each, {"text":"<hex>","payload":"<hex>"}, for the script to compare byte for byte.
#include <bit>
#include <cstdint>
#include <iostream>
#include <string>

#include <nlohmann/json.hpp>

#include "anklet/metrics/render/anklet_text.hpp"
#include "anklet/metrics/render/json.hpp"

namespace am = anklet::metrics;
using nlohmann::json;

namespace {

std::string unhex(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i + 1 < s.size(); i += 2) out.push_back(static_cast<char>(std::stoi(s.substr(i, 2), nullptr, 16)));
  return out;
}

std::string tohex(const std::string& s) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (const char c : s) {
    const auto b = static_cast<unsigned char>(c);
    out.push_back(digits[b >> 4]);
    out.push_back(digits[b & 15]);
  }
  return out;
}

am::time_point instant(const json& j) { return am::time_point::from_unix(j.at(0).get<std::int64_t>(), j.at(1).get<std::int64_t>()); }

double from_bits(const json& j) { return std::bit_cast<double>(j.get<std::uint64_t>()); }

am::metrics_snapshot snapshot(const json& s) {
  am::metrics_snapshot m;
  m.last_update = instant(s.at("last_update"));
  m.total_running_vms = s.at("totals").at(0).get<std::uint64_t>();
  m.total_successful_runs_since_start = s.at("totals").at(1).get<std::uint64_t>();
  m.total_failed_runs_since_start = s.at("totals").at(2).get<std::uint64_t>();
  m.total_canceled_runs_since_start = s.at("totals").at(3).get<std::uint64_t>();
  const json& h = s.at("host");
  m.host.cpu_count = h.at("cpu_count").get<std::uint64_t>();
  m.host.cpu_used_count = h.at("cpu_used_count").get<std::uint64_t>();
  m.host.cpu_usage_percentage = from_bits(h.at("cpu_usage_bits"));
  m.host.memory_total_bytes = h.at("memory_total").get<std::uint64_t>();
  m.host.memory_used_bytes = h.at("memory_used").get<std::uint64_t>();
  m.host.memory_available_bytes = h.at("memory_available").get<std::uint64_t>();
  m.host.memory_usage_percentage = from_bits(h.at("memory_usage_bits"));
  m.host.disk_total_bytes = h.at("disk_total").get<std::uint64_t>();
  m.host.disk_used_bytes = h.at("disk_used").get<std::uint64_t>();
  m.host.disk_available_bytes = h.at("disk_available").get<std::uint64_t>();
  m.host.disk_usage_percentage = from_bits(h.at("disk_usage_bits"));
  for (const json& p : s.at("plugins")) {
    am::plugin_metrics r;
    r.kind = p.at("handler").get<bool>() ? am::plugin_kind::handler : am::plugin_kind::receiver;
    r.name = unhex(p.at("name").get<std::string>());
    r.plugin_name = unhex(p.at("plugin").get<std::string>());
    r.owner_name = unhex(p.at("owner").get<std::string>());
    r.repo_name = unhex(p.at("repo").get<std::string>());
    r.status = am::status_from_string(p.at("status").get<std::string>());
    r.status_since = instant(p.at("since"));
    r.last_successful_run = instant(p.at("ls"));
    r.last_failed_run = instant(p.at("lf"));
    r.last_canceled_run = instant(p.at("lc"));
    r.last_successful_run_job_url = unhex(p.at("ls_url").get<std::string>());
    r.last_failed_run_job_url = unhex(p.at("lf_url").get<std::string>());
    r.last_canceled_run_job_url = unhex(p.at("lc_url").get<std::string>());
    r.total_ran_vms = p.at("ran").get<std::uint64_t>();
    r.total_successful_runs_since_start = p.at("succ").get<std::uint64_t>();
    r.total_failed_runs_since_start = p.at("fail").get<std::uint64_t>();
    r.total_canceled_runs_since_start = p.at("canc").get<std::uint64_t>();
    m.plugins.push_back(std::move(r));
  }
  return m;
}

}  // namespace

int main() {
  std::string line;
  while (std::getline(std::cin, line)) {
    const am::metrics_snapshot m = snapshot(json::parse(line));
    // Local time on both sides: the script runs both programs under the same TZ.
    std::cout << json{{"text", tohex(am::to_anklet_text(m))}, {"payload", tohex(am::to_json(m))}}.dump() << '\n';
  }
  return 0;
}
