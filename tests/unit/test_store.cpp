// The store rules of SPEC section 2, for every lock policy.
#include "anklet/metrics/store.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <cmath>
#include <string>
#include <thread>
#include <vector>

using namespace anklet::metrics;
using namespace std::chrono_literals;

namespace {

// Not "x" + std::to_string(i): at -O3 g++ 12 inlines operator+(const char*, string&&) into
// basic_string::_M_replace and raises a false -Wrestrict there; append takes another path.
std::string numbered(const char* prefix, int i) { return std::string(prefix).append(std::to_string(i)); }

constexpr time_point t0{std::chrono::seconds{1'700'000'000}};

template <class Lock>
struct fixture {
  basic_store<Lock, manual_clock> s{manual_clock{t0}};
  void tick(std::chrono::nanoseconds d = 1s) { s.clock().advance(d); }
  plugin_metrics get(std::string_view name) const {
    for (auto& p : s.snapshot().plugins)
      if (p.name == name) return p;
    FAIL("plugin not in snapshot: " << std::string(name));
    return {};
  }
};

#define POLICIES shared_mutex_lock, mutex_lock, null_lock

}  // namespace

TEST_CASE_TEMPLATE("registration: once per name, in order, idle since now", Lock, POLICIES) {
  fixture<Lock> f;
  CHECK(f.s.add_plugin(plugin_kind::handler, {"h1", "github", "org", "repo"}));
  f.tick();
  CHECK(f.s.add_plugin(plugin_kind::receiver, {"r1", "github_receiver", "org", ""}));
  f.tick();
  // The same name again, of either kind, is a no-op and not an error.
  CHECK_FALSE(f.s.add_plugin(plugin_kind::handler, {"h1", "other", "other", ""}));
  CHECK_FALSE(f.s.add_plugin(plugin_kind::handler, {"r1", "other", "other", ""}));

  const auto snap = f.s.snapshot();
  REQUIRE(snap.plugins.size() == 2);
  CHECK(snap.plugins[0].name == "h1");
  CHECK(snap.plugins[0].kind == plugin_kind::handler);
  CHECK(snap.plugins[0].plugin_name == "github");
  CHECK(snap.plugins[0].repo_name == "repo");
  CHECK(snap.plugins[0].status == plugin_status::idle);
  CHECK(snap.plugins[0].status_since == t0);
  CHECK(is_never(snap.plugins[0].last_successful_run));
  CHECK(snap.plugins[1].name == "r1");
  CHECK(snap.plugins[1].kind == plugin_kind::receiver);
  CHECK(snap.plugins[1].status_since == t0 + 1s);
  CHECK(f.s.plugin_count() == 2);
  CHECK(f.s.contains("h1"));
  CHECK_FALSE(f.s.contains("nope"));
}

TEST_CASE_TEMPLATE("handles: found again by name, kinds kept apart", Lock, POLICIES) {
  fixture<Lock> f;
  auto h = f.s.add_handler({"h1", "github", "org", ""});
  auto r = f.s.add_receiver({"r1", "github_receiver", "org", ""});
  CHECK(f.s.add_handler({"h1", "ignored", "", ""}) == h);
  CHECK(f.s.handler("h1") == h);
  CHECK(f.s.receiver("r1") == r);
  CHECK_THROWS_AS(f.s.add_receiver({"h1", "", "", ""}), plugin_kind_error);
  CHECK_THROWS_AS((void)f.s.handler("r1"), plugin_kind_error);
  CHECK_THROWS_AS((void)f.s.receiver("h1"), plugin_kind_error);
  try {
    (void)f.s.handler("ghost");
    FAIL("expected unknown_plugin_error");
  } catch (const unknown_plugin_error& e) {
    CHECK(e.name() == "ghost");
    CHECK(std::string(e.what()).find("ghost") != std::string::npos);
  }
  // Handles stay valid while many more plugins are added.
  for (int i = 0; i < 5000; ++i) f.s.add_handler({numbered("x", i), "github", "org", ""});
  h.set_status(plugin_status::running);
  CHECK(f.get("h1").status == plugin_status::running);
}

TEST_CASE_TEMPLATE("set status: only a change moves status_since", Lock, POLICIES) {
  fixture<Lock> f;
  auto h = f.s.add_handler({"h1", "github", "org", ""});
  f.tick(5s);
  const auto g0 = f.s.generation();
  CHECK_FALSE(f.s.set_status("h1", plugin_status::idle));
  CHECK(f.get("h1").status_since == t0);
  CHECK(f.s.generation() == g0);

  CHECK(f.s.set_status("h1", plugin_status::paused));
  CHECK(f.get("h1").status == plugin_status::paused);
  CHECK(f.get("h1").status_since == t0 + 5s);
  CHECK(f.s.generation() != g0);

  f.tick(3s);
  CHECK_FALSE(h.set_status(plugin_status::paused));
  CHECK(f.get("h1").status_since == t0 + 5s);
  CHECK(h.set_status(plugin_status::draining));
  CHECK(f.get("h1").status_since == t0 + 8s);

  CHECK_THROWS_AS(f.s.set_status("ghost", plugin_status::idle), unknown_plugin_error);
}

TEST_CASE_TEMPLATE("update: strings and times overwrite when set, counters only rise", Lock, POLICIES) {
  fixture<Lock> f;
  auto h = f.s.add_handler({"h1", "github", "org", "repo"});
  plugin_update u;
  u.total_ran_vms = 10;
  u.total_successful_runs_since_start = 7;
  u.last_failed_run = t0 - 60s;
  u.last_failed_run_job_url = "https://ci/job/1";
  u.plugin_name = "github2";
  f.s.update_plugin("h1", u);
  auto p = f.get("h1");
  CHECK(p.total_ran_vms == 10);
  CHECK(p.total_successful_runs_since_start == 7);
  CHECK(p.last_failed_run == t0 - 60s);
  CHECK(p.last_failed_run_job_url == "https://ci/job/1");
  CHECK(p.plugin_name == "github2");
  CHECK(p.repo_name == "repo");  // empty string in the update: unchanged
  CHECK(p.owner_name == "org");

  plugin_update lower;
  lower.total_ran_vms = 3;                    // lower: ignored
  lower.total_failed_runs_since_start = 2;    // higher: taken
  lower.last_failed_run = never;              // unset: unchanged
  h.update(lower);
  p = f.get("h1");
  CHECK(p.total_ran_vms == 10);
  CHECK(p.total_failed_runs_since_start == 2);
  CHECK(p.last_failed_run == t0 - 60s);

  f.tick(2s);
  plugin_update st;
  st.status = plugin_status::in_progress;
  h.update(st);
  CHECK(f.get("h1").status == plugin_status::in_progress);
  CHECK(f.get("h1").status_since == t0 + 2s);
  plugin_update since;
  since.status_since = t0 - 1h;
  h.update(since);
  CHECK(f.get("h1").status_since == t0 - 1h);
}

TEST_CASE_TEMPLATE("update: unknown plugin and receiver misuse change nothing", Lock, POLICIES) {
  fixture<Lock> f;
  f.s.add_receiver({"r1", "github_receiver", "org", ""});
  const auto before = f.s.snapshot();
  plugin_update u;
  u.status = plugin_status::paused;
  CHECK_THROWS_AS(f.s.update_plugin("ghost", u), unknown_plugin_error);
  u.total_ran_vms = 4;  // a handler-only field on a receiver
  CHECK_THROWS_AS(f.s.update_plugin("r1", u), plugin_kind_error);
  auto after = f.s.snapshot();
  after.last_update = before.last_update;
  CHECK(after == before);

  plugin_update ok;
  ok.status = plugin_status::paused;
  ok.repo_name = "r";
  f.s.update_plugin("r1", ok);
  CHECK(f.get("r1").status == plugin_status::paused);
  CHECK(f.get("r1").repo_name == "r");
}

TEST_CASE_TEMPLATE("increments: global total and the handler's own, together", Lock, POLICIES) {
  fixture<Lock> f;
  auto a = f.s.add_handler({"a", "github", "org", ""});
  f.s.add_handler({"b", "github", "org", ""});
  f.s.add_receiver({"r", "github_receiver", "org", ""});

  f.s.increment_running_vms("a");
  a.increment_running_vms();
  f.s.increment_running_vms("b");
  f.s.increment_successful_runs("a");
  a.increment_failed_runs();
  f.s.increment_canceled_runs("b");
  f.s.decrement_running_vms();

  auto snap = f.s.snapshot();
  CHECK(snap.total_running_vms == 2);
  CHECK(snap.total_successful_runs_since_start == 1);
  CHECK(snap.total_failed_runs_since_start == 1);
  CHECK(snap.total_canceled_runs_since_start == 1);
  CHECK(f.get("a").total_ran_vms == 2);
  CHECK(f.get("b").total_ran_vms == 1);
  CHECK(f.get("a").total_successful_runs_since_start == 1);
  CHECK(f.get("a").total_failed_runs_since_start == 1);
  CHECK(f.get("b").total_canceled_runs_since_start == 1);

  // Unknown names and receivers: an error, and neither the global nor any plugin moved.
  CHECK_THROWS_AS(f.s.increment_successful_runs("ghost"), unknown_plugin_error);
  CHECK_THROWS_AS(f.s.increment_running_vms("r"), plugin_kind_error);
  CHECK_THROWS_AS(f.s.increment_failed_runs("r"), plugin_kind_error);
  snap = f.s.snapshot();
  CHECK(snap.total_running_vms == 2);
  CHECK(snap.total_successful_runs_since_start == 1);
  CHECK(snap.total_failed_runs_since_start == 1);
}

TEST_CASE_TEMPLATE("decrement of running VMs stops at zero", Lock, POLICIES) {
  fixture<Lock> f;
  auto a = f.s.add_handler({"a", "github", "org", ""});
  a.increment_running_vms();
  a.decrement_running_vms();
  const auto g = f.s.generation();
  f.s.decrement_running_vms();
  a.decrement_running_vms();
  CHECK(f.s.snapshot().total_running_vms == 0);
  CHECK(f.s.generation() == g);
  CHECK(f.get("a").total_ran_vms == 1);  // VMs that ran stay counted
}

TEST_CASE_TEMPLATE("finish_run counts and stamps the outcome", Lock, POLICIES) {
  fixture<Lock> f;
  auto a = f.s.add_handler({"a", "github", "org", ""});
  f.tick(10s);
  a.finish_run(run_outcome::successful, "https://ci/1");
  f.tick(10s);
  a.finish_run(run_outcome::canceled, "https://ci/2");
  const auto p = f.get("a");
  CHECK(p.last_successful_run == t0 + 10s);
  CHECK(p.last_successful_run_job_url == "https://ci/1");
  CHECK(p.last_canceled_run == t0 + 20s);
  CHECK(p.last_canceled_run_job_url == "https://ci/2");
  CHECK(is_never(p.last_failed_run));
  CHECK(p.total_successful_runs_since_start == 1);
  CHECK(p.total_canceled_runs_since_start == 1);
  CHECK(f.s.snapshot().total_canceled_runs_since_start == 1);
}

// The bucket of each observation: buckets are not cumulative in the store.
std::vector<std::uint64_t> bucket_counts(const histogram_counts& h) { return h.buckets; }

TEST_CASE_TEMPLATE("job durations: from in_progress to finish_run, per outcome", Lock, POLICIES) {
  fixture<Lock> f;
  auto a = f.s.add_handler({"a", "github", "org", ""});
  auto r = f.s.add_receiver({"r", "github_receiver", "org", ""});
  const auto snap0 = f.s.snapshot();
  CHECK(snap0.job_duration_buckets ==
        std::vector<double>(default_job_duration_buckets.begin(), default_job_duration_buckets.end()));
  CHECK(snap0.pull_duration_buckets ==
        std::vector<double>(default_pull_duration_buckets.begin(), default_pull_duration_buckets.end()));
  CHECK(snap0.plugins[1].job_durations[0].empty());  // receivers have none
  REQUIRE(snap0.plugins[0].job_durations[0].buckets.size() == default_job_duration_buckets.size() + 1);

  a.set_status(plugin_status::in_progress);
  f.tick(45s);
  a.set_status(plugin_status::in_progress);  // no change: the job keeps its start
  f.tick(30s);
  a.finish_run(run_outcome::successful, "https://ci/1");  // 75 s: the 120 s bucket
  a.set_status(plugin_status::idle);
  f.tick(10s);
  a.finish_run(run_outcome::failed, "https://ci/2");  // no start seen: counted, not observed
  a.set_status(plugin_status::in_progress);
  f.tick(3h);
  a.set_status(plugin_status::idle);  // the job ends at finish_run, not when the status moves on
  f.tick(10s);
  a.finish_run(run_outcome::failed, "https://ci/3");  // 3 h 10 s: the 21600 s bucket
  a.set_status(plugin_status::in_progress);
  f.tick(1s);
  a.set_status(plugin_status::idle);
  a.set_status(plugin_status::in_progress);  // a new job: the one before never finished
  f.tick(7h);
  a.finish_run(run_outcome::canceled, "https://ci/4");  // over every bound: +Inf
  r.set_status(plugin_status::in_progress);

  const auto p = f.get("a");
  const auto& ok = p.job_durations[static_cast<std::size_t>(run_outcome::successful)];
  CHECK(ok.count == 1);
  CHECK(ok.sum == doctest::Approx(75));
  CHECK(ok.buckets[3] == 1);  // bounds 10, 30, 60, 120
  const auto& failed = p.job_durations[static_cast<std::size_t>(run_outcome::failed)];
  CHECK(failed.count == 1);
  CHECK(failed.sum == doctest::Approx(3 * 3600 + 10));
  CHECK(failed.buckets[12] == 1);
  const auto& canceled = p.job_durations[static_cast<std::size_t>(run_outcome::canceled)];
  CHECK(canceled.count == 1);
  CHECK(canceled.buckets.back() == 1);
  CHECK(p.total_failed_runs_since_start == 2);
  CHECK(f.get("r").job_durations[0].empty());
}

TEST_CASE_TEMPLATE("pull durations: from pulling until the status moves on", Lock, POLICIES) {
  fixture<Lock> f;
  auto a = f.s.add_handler({"a", "github", "org", ""});
  a.set_status(plugin_status::paused);
  a.set_status(plugin_status::pulling);
  f.tick(40s);
  a.set_status(plugin_status::running);  // 40 s: the 60 s bucket
  f.tick(5s);
  a.set_status(plugin_status::pulling);
  f.tick(2s);
  a.set_status(plugin_status::pulling);  // no change
  f.tick(2s);
  a.set_status(plugin_status::stopped);  // 4 s: the 5 s bucket
  a.observe_pull_duration(std::chrono::milliseconds(7500));
  a.observe_pull_duration(-1s);  // counts as 0
  const auto h = f.get("a").pull_durations;
  CHECK(h.count == 4);
  CHECK(h.sum == doctest::Approx(51.5));
  CHECK(bucket_counts(h) == std::vector<std::uint64_t>{2, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0});
  // A merge that says when the status changed starts the phase then.
  plugin_update u;
  u.status = plugin_status::pulling;
  u.status_since = t0 + 46s;
  a.update(u);
  f.tick(1s);
  a.set_status(plugin_status::running);
  CHECK(f.get("a").pull_durations.sum == doctest::Approx(51.5 + 4));  // from t0 + 46 s to t0 + 50 s
}

TEST_CASE_TEMPLATE("job durations: measured by the tool, and custom buckets", Lock, POLICIES) {
  basic_store<Lock, manual_clock> s(manual_clock{t0}, store_options{.job_duration_buckets = {1, 2.5},
                                                                    .pull_duration_buckets = {}});
  auto a = s.add_handler({"a", "github", "org", ""});
  const auto g = s.generation();
  a.observe_job_duration(run_outcome::failed, std::chrono::milliseconds(2500));
  a.observe_job_duration(run_outcome::failed, 3s);
  a.observe_pull_duration(1h);
  CHECK(s.generation() != g);
  const auto snap = s.snapshot();
  CHECK(snap.job_duration_buckets == std::vector<double>{1, 2.5});
  CHECK(snap.pull_duration_buckets.empty());
  const auto& p = snap.plugins[0];
  CHECK(bucket_counts(p.job_durations[1]) == std::vector<std::uint64_t>{0, 1, 1});
  CHECK(p.job_durations[1].sum == doctest::Approx(5.5));
  CHECK(bucket_counts(p.pull_durations) == std::vector<std::uint64_t>{1});
  CHECK(p.total_failed_runs_since_start == 0);
  for (const auto& bad : {std::vector<double>{2, 1}, std::vector<double>{1, 1}, std::vector<double>{0, INFINITY},
                          std::vector<double>{NAN}}) {
    CHECK_THROWS_AS((basic_store<Lock, manual_clock>(manual_clock{t0}, store_options{.job_duration_buckets = bad})),
                    std::invalid_argument);
  }
}

TEST_CASE_TEMPLATE("snapshot: a detached copy with last_update from the clock", Lock, POLICIES) {
  fixture<Lock> f;
  auto a = f.s.add_handler({"a", "github", "org", ""});
  host_metrics h;
  h.cpu_count = 8;
  h.memory_usage_percentage = 42.5;
  f.s.set_host_metrics(h);
  f.tick(7s);
  metrics_snapshot snap;
  const auto g = f.s.snapshot_into(snap);
  CHECK(g == f.s.generation());
  CHECK(snap.last_update == t0 + 7s);
  CHECK(snap.host == h);
  a.set_status(plugin_status::running);  // the copy does not follow
  CHECK(snap.plugins[0].status == plugin_status::idle);
  // Reusing the same snapshot object reflects the new state.
  f.s.snapshot_into(snap);
  CHECK(snap.plugins[0].status == plugin_status::running);
  CHECK(snap.plugins.size() == 1);
}

TEST_CASE("solo receiver: every plugin a receiver, and at least one") {
  store_st s;
  CHECK_FALSE(s.snapshot().solo_receiver());
  s.add_receiver({"r", "github_receiver", "org", ""});
  CHECK(s.snapshot().solo_receiver());
  s.add_handler({"h", "github", "org", ""});
  CHECK_FALSE(s.snapshot().solo_receiver());
}

TEST_CASE("status spellings round-trip, unknown ones are named") {
  for (const auto st : all_statuses) CHECK(status_from_string(to_string(st)) == st);
  CHECK(to_string(plugin_status::in_progress) == "in_progress");
  CHECK(to_string(plugin_status::draining) == "draining");
  CHECK(to_string(plugin_status::limit_paused) == "limit_paused");
  CHECK(parse_status("limit_paused") == plugin_status::limit_paused);
  CHECK_FALSE(parse_status("Idle").has_value());
  try {
    (void)status_from_string("sleeping");
    FAIL("expected unknown_status_error");
  } catch (const unknown_status_error& e) {
    CHECK(e.text() == "sleeping");
    CHECK(std::string(e.what()).find("'sleeping'") != std::string::npos);
  }
}

// Concurrency: writers by handle and by name, readers taking snapshots. Under
// ThreadSanitizer (CI) this proves the locking; everywhere it proves no update is lost.
TEST_CASE_TEMPLATE("concurrent writers and readers lose nothing", Lock, shared_mutex_lock, mutex_lock) {
  basic_store<Lock> s;
  constexpr int plugins = 8;
  constexpr int per_thread = 2000;
  std::vector<typename basic_store<Lock>::handler_handle> handles;
  for (int i = 0; i < plugins; ++i) handles.push_back(s.add_handler({numbered("h", i), "github", "org", ""}));

  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> max_seen{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 2; ++r) {
    readers.emplace_back([&] {
      metrics_snapshot snap;
      while (!stop.load()) {
        s.snapshot_into(snap);
        std::uint64_t sum = 0;
        for (auto& p : snap.plugins) sum += p.total_successful_runs_since_start;
        // Global and per-plugin totals move in one critical section: a snapshot never sees them differ.
        if (sum != snap.total_successful_runs_since_start) max_seen = ~std::uint64_t{0};
      }
    });
  }
  std::vector<std::thread> writers;
  for (int w = 0; w < 4; ++w) {
    writers.emplace_back([&, w] {
      for (int i = 0; i < per_thread; ++i) {
        auto& h = handles[static_cast<std::size_t>((w + i) % plugins)];
        if (i % 2 == 0) {
          h.increment_successful_runs();
        } else {
          s.increment_successful_runs(h.name());
        }
        h.set_status(i % 3 == 0 ? plugin_status::running : plugin_status::idle);
        s.increment_running_vms(h.name());
        s.decrement_running_vms();
      }
    });
  }
  for (auto& t : writers) t.join();
  stop = true;
  for (auto& t : readers) t.join();

  const auto snap = s.snapshot();
  CHECK(max_seen.load() == 0);
  CHECK(snap.total_successful_runs_since_start == 4u * per_thread);
  CHECK(snap.total_running_vms == 0);
  std::uint64_t ran = 0;
  for (auto& p : snap.plugins) ran += p.total_ran_vms;
  CHECK(ran == 4u * per_thread);
}

TEST_CASE_TEMPLATE("the label set kept with each plugin follows its identity", Lock, POLICIES) {
  fixture<Lock> f;
  f.s.add_handler({"h1", "github", "org", ""});
  f.s.add_receiver({"r1", "github_receiver", "o\"rg", ""});
  const auto labels_of = [](const plugin_metrics& p) {
    return std::string(p.label_text.for_fields(p.name, p.plugin_name, p.owner_name, p.repo_name));
  };
  auto snap = f.s.snapshot();
  CHECK(labels_of(snap.plugins[0]) == R"(name="h1",plugin="github",owner="org")");
  CHECK(labels_of(snap.plugins[1]).empty());  // needs escaping: the renderers escape it themselves

  plugin_update u;
  u.repo_name = "anklet";
  u.owner_name = "veertuinc";
  f.s.update_plugin("h1", u);
  u = {};
  u.status = plugin_status::in_progress;  // not the identity: the text stays
  f.s.update_plugin("h1", u);
  f.s.snapshot_into(snap);
  CHECK(labels_of(snap.plugins[0]) == R"(name="h1",plugin="github",owner="veertuinc",repo="anklet")");
  // The state set made with it: a line per status, all at 0, in all_statuses order.
  const std::string_view lines = snap.plugins[0].label_text.state_set();
  CHECK(std::count(lines.begin(), lines.end(), '\n') == static_cast<std::ptrdiff_t>(all_statuses.size()));
  CHECK(lines.starts_with(R"(plugin_status{name="h1",plugin="github",owner="veertuinc",repo="anklet",status="idle"} 0)"
                          "\n"));
  CHECK(lines.ends_with(R"(,repo="anklet",status="limit_paused"} 0)" "\n"));

  // A snapshot changed by hand no longer matches its text, whatever the sizes.
  snap.plugins[0].name = "h2";
  CHECK(labels_of(snap.plugins[0]).empty());
  snap.plugins[0].name = "h1";
  snap.plugins[0].repo_name = "ankleT";
  CHECK(labels_of(snap.plugins[0]).empty());
  snap.plugins[0].repo_name.clear();
  CHECK(labels_of(snap.plugins[0]).empty());
  // And the cache is no part of a plugin's value.
  plugin_metrics bare = snap.plugins[0];
  bare.label_text = {};
  CHECK(bare == snap.plugins[0]);
}
