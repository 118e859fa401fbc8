// anklet::metrics testing kit, the store: a store for a tool's single-threaded unit tests
// whose clock moves only when the test says so.
#pragma once

#include "anklet/metrics/core/clock.hpp"
#include "anklet/metrics/core/lock_policy.hpp"
#include "anklet/metrics/store.hpp"

namespace anklet::metrics::testing {

/// A store for single-threaded tests: no locking, and a manual_clock that starts at the
/// Unix epoch and moves only through `store.clock().set(...)` / `advance(...)`.
using test_store = basic_store<null_lock, manual_clock>;

}  // namespace anklet::metrics::testing
