// The program every consumer project builds: proves the library is found, compiles and
// runs, whichever way the consumer's build takes it in.
#include <anklet/metrics.hpp>

#include <cstdio>
#include <string>

int main() {
  namespace am = anklet::metrics;
  am::store metrics;
  auto runner = metrics.add_handler({.name = "RUNNER1", .plugin_name = "github", .owner_name = "veertuinc", .repo_name = ""});
  runner.finish_run(am::run_outcome::successful, "https://ci.example/job/1");
  const std::string text = am::to_prometheus(metrics.snapshot());
  const bool ok = text.find("plugin_total_successful_runs_since_start{name=\"RUNNER1\"") != std::string::npos;
  std::printf("%s\n", ok ? "consumer ok" : "consumer FAILED: unexpected exposition");
  return ok ? 0 : 1;
}
