// anklet::metrics::redis errors: the library's one error style (core/result.hpp) under the
// names the Redis client has always used.
#pragma once

#include "anklet/metrics/core/result.hpp"

namespace anklet::metrics::redis {

using metrics::bad_result_access;
using metrics::errc;
using metrics::error;
using metrics::result;
using metrics::to_string;

}  // namespace anklet::metrics::redis
