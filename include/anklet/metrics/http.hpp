// anklet::metrics HTTP: the request parser, responses and auth, the server over a router and
// the exporter's metrics routes (/metrics/v1 in Prometheus, JSON and Go Anklet's text). The
// fleet aggregator's routes are in "anklet/metrics/fleet/routes.hpp". See docs/http.md.
#pragma once

#include "anklet/metrics/http/accept.hpp"
#include "anklet/metrics/http/auth.hpp"
#include "anklet/metrics/http/metrics_routes.hpp"
#include "anklet/metrics/http/options.hpp"
#include "anklet/metrics/http/request_parser.hpp"
#include "anklet/metrics/http/response.hpp"
#include "anklet/metrics/http/router.hpp"
#include "anklet/metrics/http/scrape_counts.hpp"
#include "anklet/metrics/http/server.hpp"
