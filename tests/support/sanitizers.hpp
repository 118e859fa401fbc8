// How much slower this test binary runs than a plain build: latency bounds that are promises
// of the library (a scrape within 100 ms during an attack, stop() within 100 ms) hold in
// plain builds; sanitizer builds check the same shape with a wider bound.
#pragma once

namespace anklet_test {

#if defined(__SANITIZE_THREAD__)
#define ANKLET_TEST_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define ANKLET_TEST_TSAN 1
#endif
#endif

#if defined(__SANITIZE_ADDRESS__)
#define ANKLET_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ANKLET_TEST_ASAN 1
#endif
#endif

#if defined(ANKLET_TEST_TSAN)
inline constexpr int sanitizer_slowdown = 5;
#elif defined(ANKLET_TEST_ASAN)
inline constexpr int sanitizer_slowdown = 3;
#else
inline constexpr int sanitizer_slowdown = 1;
#endif

}  // namespace anklet_test
