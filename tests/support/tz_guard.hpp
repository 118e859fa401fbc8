// Test helper: TZ set for one scope (a test case) and the previous value restored after it.
#pragma once

#include <cstdlib>
#include <ctime>
#include <optional>
#include <string>

namespace anklet_test {

// Sets TZ for one test and restores the previous value (and tzset) afterwards.
class tz_guard {
 public:
  explicit tz_guard(const char* tz) {
    if (const char* old = std::getenv("TZ")) old_ = old;
    ::setenv("TZ", tz, 1);
    ::tzset();
  }
  ~tz_guard() {
    if (old_) {
      ::setenv("TZ", old_->c_str(), 1);
    } else {
      ::unsetenv("TZ");
    }
    ::tzset();
  }
  tz_guard(const tz_guard&) = delete;
  tz_guard& operator=(const tz_guard&) = delete;

 private:
  std::optional<std::string> old_;
};

}  // namespace anklet_test
