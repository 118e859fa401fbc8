// Must NOT compile: an exporter over a type without publish(const metrics_snapshot&).
// With -DANKLET_COMPILE_FAIL_CONTROL the same program uses a real transport and must
// compile, which proves that the failure comes from the concept and not from a typo here.
#include "anklet/metrics/store.hpp"
#include "anklet/metrics/transport.hpp"

namespace {
struct sends_instead_of_publishing {
  void send(const anklet::metrics::metrics_snapshot&) {}
};
}  // namespace

int main() {
  anklet::metrics::store_st store;
  anklet::metrics::no_host_source host;
#ifdef ANKLET_COMPILE_FAIL_CONTROL
  anklet::metrics::memory_transport sink;
#else
  sends_instead_of_publishing sink;
#endif
  anklet::metrics::exporter ex{store, host, sink};
  return ex.publish().ok() ? 0 : 1;
}
