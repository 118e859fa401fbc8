#include "anklet/metrics.hpp"
#include "anklet/metrics/testing.hpp"  // not in the umbrella: it is for tests

int odr_second() { return anklet::metrics::to_string(anklet::metrics::plugin_status::idle).size() == 4 ? 0 : 1; }
