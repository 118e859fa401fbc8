// anklet::metrics umbrella header: everything the library offers. Files that only update
// metrics should include "anklet/metrics/store.hpp" instead, which is far cheaper to compile.
#pragma once

#include "anklet/metrics/aggregator.hpp"
#include "anklet/metrics/anklet_text.hpp"
#include "anklet/metrics/clock.hpp"
#include "anklet/metrics/host.hpp"
#include "anklet/metrics/host_platform.hpp"
#include "anklet/metrics/json.hpp"
#include "anklet/metrics/lock_policy.hpp"
#include "anklet/metrics/model.hpp"
#include "anklet/metrics/payload_reader.hpp"
#include "anklet/metrics/prometheus.hpp"
#include "anklet/metrics/redis/client.hpp"
#include "anklet/metrics/redis/error.hpp"
#include "anklet/metrics/redis/resp.hpp"
#include "anklet/metrics/redis/url.hpp"
#include "anklet/metrics/redis/writer.hpp"
#include "anklet/metrics/render_common.hpp"
#include "anklet/metrics/status.hpp"
#include "anklet/metrics/store.hpp"
#include "anklet/metrics/time.hpp"
#include "anklet/metrics/transport.hpp"
