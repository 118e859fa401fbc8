// The switch between header-only (the default) and the opt-in compiled mode
// (docs/compiled-mode.md).
//
// Header-only: every function body is in the headers, `inline`. Compiled mode: every file of
// the program is built with ANKLET_METRICS_COMPILED defined, and exactly one of them includes
// "anklet/metrics/implementation.hpp" (or links the Meson target that does). The bodies of
// the I/O machinery that does not depend on the store's template parameters (the HTTP event
// loop, the Redis writer, the URL parser, the TLS layer) are then compiled in that one file
// only, and the standard servers, writer and collectors' writer are instantiated there, so
// files that set up an exporter compile their own code and declarations only.
#pragma once

// Set when the header-only bodies are compiled in this file: always, except in compiled
// mode outside the implementation file.
#if defined(ANKLET_METRICS_COMPILED) && !defined(ANKLET_METRICS_IMPLEMENTATION)
#define ANKLET_METRICS_DEFINE_BODIES 0
#else
#define ANKLET_METRICS_DEFINE_BODIES 1
#endif

// `inline` on those bodies in header-only mode; nothing in the implementation file, which
// holds their one definition.
#if defined(ANKLET_METRICS_IMPLEMENTATION)
#define ANKLET_METRICS_INLINE
#else
#define ANKLET_METRICS_INLINE inline
#endif

// Before the instances of the servers and the writer for the standard store and the
// platform's host source, in the headers that define those templates: `extern template` in
// compiled mode, which leaves their code to the implementation file, and `template` there.
#if defined(ANKLET_METRICS_IMPLEMENTATION)
#define ANKLET_METRICS_STANDARD_INSTANCE template
#elif defined(ANKLET_METRICS_COMPILED)
#define ANKLET_METRICS_STANDARD_INSTANCE extern template
#endif
