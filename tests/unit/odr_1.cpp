// Linked with odr_2.cpp: every header in two translation units must not clash.
#include "anklet/metrics.hpp"
#include "anklet/metrics/testing.hpp"  // not in the umbrella: it is for tests

int odr_second();

int main() { return odr_second() == 0 ? 0 : 1; }
