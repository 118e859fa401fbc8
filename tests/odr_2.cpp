#include "anklet/metrics.hpp"

int odr_second() { return anklet::metrics::to_string(anklet::metrics::plugin_status::idle).size() == 4 ? 0 : 1; }
