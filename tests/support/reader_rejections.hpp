// What the tests of the testing kit's readers share: a text one of them must reject, and
// where and why it does.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include <doctest/doctest.h>

#include "anklet/metrics/testing/exposition.hpp"
#include "anklet/metrics/testing/exposition_reader.hpp"
#include "anklet/metrics/testing/openmetrics_reader.hpp"

namespace reader_tests {

namespace amt = anklet::metrics::testing;

// `read` is read_exposition or read_openmetrics (or their signature).
using reader = bool (*)(std::string_view, amt::exposition&, const amt::exposition_limits&, amt::exposition_error*);

// The rejection of `text`, which must be one with a reason.
inline amt::exposition_error rejection(reader read, std::string_view text, const amt::exposition_limits& limits = {}) {
  amt::exposition e;
  amt::exposition_error error;
  const bool ok = read(text, e, limits, &error);
  INFO("text: ", text);
  CHECK_FALSE(ok);
  CHECK_FALSE(error.message.empty());
  return error;
}

// Rejected at `line` with a message containing `what`.
inline void check_rejected(reader read, std::string_view text, std::size_t line, std::string_view what) {
  const auto error = rejection(read, text);
  INFO("text: ", text, "\nerror: ", error.to_string());
  CHECK(error.line == line);
  CHECK(error.message.find(what) != std::string::npos);
}

}  // namespace reader_tests
