// Test helper: one full set of host figures (a 16 GiB, 8-CPU machine with a 500 GB disk),
// shared by the tests that need realistic host values and compare them after a round trip.
#pragma once

#include "anklet/metrics/core/model.hpp"

namespace anklet_test {

inline anklet::metrics::host_metrics sample_host() {
  anklet::metrics::host_metrics h;
  h.cpu_count = 8;
  h.cpu_used_count = 2;
  h.cpu_usage_percentage = 25.5;
  h.memory_total_bytes = 17179869184;
  h.memory_used_bytes = 8589934592;
  h.memory_available_bytes = 8589934592;
  h.memory_usage_percentage = 50;
  h.disk_total_bytes = 500000000000;
  h.disk_used_bytes = 250000000000;
  h.disk_available_bytes = 250000000000;
  h.disk_usage_percentage = 50;
  return h;
}

}  // namespace anklet_test
