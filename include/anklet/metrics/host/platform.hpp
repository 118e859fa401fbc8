// anklet::metrics platform_host_source: the host source for the platform being compiled
// for, so that servers and exporters can default to "the real figures" without #ifdefs.
#pragma once

#include "anklet/metrics/host/source.hpp"

#if defined(__linux__)
#include "anklet/metrics/host/linux.hpp"
#elif defined(__APPLE__)
#include "anklet/metrics/host/macos.hpp"
#endif

namespace anklet::metrics {

#if defined(__linux__)
/// Linux: /proc, /sys and statvfs.
using platform_host_source = linux_host_source;
#elif defined(__APPLE__)
/// macOS: sysctl, the Mach host statistics and statfs.
using platform_host_source = macos_host_source;
#else
/// No reader for this platform yet: the host figures stay at zero.
using platform_host_source = no_host_source;
#endif

static_assert(host_metrics_source<platform_host_source>);

}  // namespace anklet::metrics
