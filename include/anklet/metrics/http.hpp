// anklet::metrics HTTP: the request parser, the responder and the exporter's metrics routes
// (/metrics/v1 in Prometheus, JSON and Go Anklet's text). See docs/http.md.
#pragma once

#include "anklet/metrics/http/metrics_routes.hpp"
#include "anklet/metrics/http/request_parser.hpp"
#include "anklet/metrics/http/server.hpp"
