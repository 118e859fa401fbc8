// Strict JSON for the aggregator's answers: valid UTF-8 (nlohmann rejects the rest) and no
// object holding a key twice. Shared by test_aggregator.cpp and the answers fuzz target.
#pragma once

#include <nlohmann/json.hpp>

#include <set>
#include <string>
#include <vector>

namespace anklet_test {

inline bool strict_json_without_duplicates(const std::string& text) {
  std::vector<std::set<std::string>> open;
  bool duplicate = false;
  auto cb = [&](int, nlohmann::json::parse_event_t ev, nlohmann::json& j) {
    using ev_t = nlohmann::json::parse_event_t;
    if (ev == ev_t::object_start) open.emplace_back();
    else if (ev == ev_t::object_end) open.pop_back();
    else if (ev == ev_t::key && !open.back().insert(j.get<std::string>()).second) duplicate = true;
    return true;
  };
  const auto parsed = nlohmann::json::parse(text, cb, false);
  return !parsed.is_discarded() && !duplicate;
}

}  // namespace anklet_test
