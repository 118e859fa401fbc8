// anklet::metrics rendering toolkit: what the Prometheus, Anklet-text and JSON renderers
// share, and what the fleet renderers reuse, one job a header:
//   sink.hpp        char_sink, text_sink over any output iterator, buffer_sink, write_through
//   numbers.hpp     integers and doubles as Prometheus and Go's encoding/json spell them
//   time.hpp        Unix seconds, RFC 3339 written as Go prints it and read back
//   escape.hpp      label values, JSON strings, U+FFFD for invalid UTF-8
//   exposition.hpp  # HELP / # TYPE lines and the plugin_status state set
//
// Everything here is locale-independent: numbers go through {fmt} without the `L`
// specifier, never through iostreams or printf. Nothing allocates on the heap except a
// sink's own container as it grows and the writers' label-set storage.
#pragma once

#include "anklet/metrics/render/escape.hpp"
#include "anklet/metrics/render/exposition.hpp"
#include "anklet/metrics/render/numbers.hpp"
#include "anklet/metrics/render/sink.hpp"
#include "anklet/metrics/render/time.hpp"
