// Compiled mode's implementation file (docs/compiled-mode.md). Build every file of the
// program with ANKLET_METRICS_COMPILED defined and include this header first in exactly
// one .cpp; that file then holds the HTTP event loop, the Redis writer, the standard
// servers, the collectors' writer, the URL parser and (with ANKLET_METRICS_TLS) the TLS
// layer, compiled once. The Meson dependency `anklet-metrics-compiled` does both.
//
// An include guard rather than #pragma once: the Meson target compiles a copy of this
// header as its one source file, where a compiler warns about #pragma once.
#ifndef ANKLET_METRICS_IMPLEMENTATION_HPP
#define ANKLET_METRICS_IMPLEMENTATION_HPP

// After another anklet header, compiled mode has already hidden the bodies this file is
// for (header-only builds have them inline anyway, so there it changes nothing).
#if defined(ANKLET_METRICS_DEFINE_BODIES) && !ANKLET_METRICS_DEFINE_BODIES
#error "anklet/metrics/implementation.hpp must be included before any other anklet header of its file"
#endif
#if !defined(ANKLET_METRICS_IMPLEMENTATION)
#define ANKLET_METRICS_IMPLEMENTATION 1
#endif

#include "anklet/metrics.hpp"
// The optional parts, when the program is built with them: their bodies are here too.
#if ANKLET_METRICS_TLS
#include "anklet/metrics/redis/tls.hpp"
#endif

#endif  // ANKLET_METRICS_IMPLEMENTATION_HPP
