// libFuzzer target: plugin names, owners, repos and job URLs taken from the input (any
// bytes: quotes, backslashes, newlines, braces, invalid UTF-8) are rendered by
// format_prometheus and read back by the testing kit's exposition reader. Aborts when the
// reader rejects the output or any label value differs from what the store held (with
// invalid UTF-8 replaced by U+FFFD, as the renderer promises).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <fuzzer/FuzzedDataProvider.h>

#include "../support/exposition_roundtrip.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace am = anklet::metrics;
  FuzzedDataProvider in(data, size);
  am::testing::test_store store;
  store.clock().set(am::time_point{std::chrono::seconds{in.ConsumeIntegral<std::uint32_t>()}});
  const int count = in.ConsumeIntegralInRange(1, 6);
  for (int i = 0; i < count && in.remaining_bytes() > 0; ++i) {
    const bool handler = in.ConsumeBool();
    const auto status = am::all_statuses[in.ConsumeIntegralInRange<std::size_t>(0, am::all_statuses.size() - 1)];
    // The index suffix keeps names unique even when two raw names repair to the same text.
    am::plugin_info info{in.ConsumeRandomLengthString(64) + "#" + std::to_string(i), in.ConsumeRandomLengthString(32),
                         in.ConsumeRandomLengthString(32), in.ConsumeRandomLengthString(32)};
    if (!handler) {
      store.add_receiver(std::move(info)).set_status(status);
      continue;
    }
    auto h = store.add_handler(std::move(info));
    h.set_status(status);
    const int runs = in.ConsumeIntegralInRange(0, 3);
    for (int r = 0; r < runs; ++r) {
      store.clock().advance(std::chrono::seconds{in.ConsumeIntegralInRange(0, 1000)});
      h.finish_run(static_cast<am::run_outcome>(in.ConsumeIntegralInRange(0, 2)), in.ConsumeRandomLengthString(128));
    }
  }
  const std::string problem = roundtrip::check(store.snapshot());
  if (!problem.empty()) {
    std::fprintf(stderr, "round trip failed: %s\n", problem.c_str());
    std::abort();
  }
  return 0;
}
