// Expected renderer output for the fixtures in render_fixtures.hpp, written out by hand
// from the formats in SPEC sections 5, 6 and 7 (times in UTC).
#pragma once

#include <string_view>

namespace anklet_test {

// Go Anklet's text for mixed_snapshot(). Note the raw bytes in Zürich's owner: a quote,
// a backslash followed by 'n', and a real newline, all printed unescaped as Go's %s does.
inline constexpr std::string_view mixed_anklet_text_utc = R"golden(total_running_vms 1
total_successful_runs_since_start 40
total_failed_runs_since_start 2
total_canceled_runs_since_start 3
plugin_status{name=RUNNER1,plugin=github,owner=veertuinc,repo=anklet} in_progress
plugin_last_successful_run{name=RUNNER1,plugin=github,owner=veertuinc,repo=anklet,job_url=https://github.com/veertuinc/anklet/actions/runs/1?a=1&b=<2>} 2024-01-15T09:30:00Z
plugin_last_failed_run{name=RUNNER1,plugin=github,owner=veertuinc,repo=anklet,job_url=https://github.com/veertuinc/anklet/actions/runs/2} 2024-01-15T08:30:00Z
plugin_last_canceled_run{name=RUNNER1,plugin=github,owner=veertuinc,repo=anklet,job_url=} 0001-01-01T00:00:00Z
plugin_status_since{name=RUNNER1,plugin=github,owner=veertuinc,repo=anklet} 2024-01-15T10:30:00Z
plugin_total_ran_vms{name=RUNNER1,plugin=github,owner=veertuinc} 42
plugin_total_successful_runs_since_start{name=RUNNER1,plugin=github,owner=veertuinc} 40
plugin_total_failed_runs_since_start{name=RUNNER1,plugin=github,owner=veertuinc} 2
plugin_total_canceled_runs_since_start{name=RUNNER1,plugin=github,owner=veertuinc} 0
plugin_status{name=Zürich,plugin=github,owner=o"w\n
er} paused
plugin_last_successful_run{name=Zürich,plugin=github,owner=o"w\n
er,job_url=} 0001-01-01T00:00:00Z
plugin_last_failed_run{name=Zürich,plugin=github,owner=o"w\n
er,job_url=} 0001-01-01T00:00:00Z
plugin_last_canceled_run{name=Zürich,plugin=github,owner=o"w\n
er,job_url=} 0001-01-01T00:00:00Z
plugin_status_since{name=Zürich,plugin=github,owner=o"w\n
er} 0001-01-01T00:00:00Z
plugin_total_ran_vms{name=Zürich,plugin=github,owner=o"w\n
er} 0
plugin_total_successful_runs_since_start{name=Zürich,plugin=github,owner=o"w\n
er} 0
plugin_total_failed_runs_since_start{name=Zürich,plugin=github,owner=o"w\n
er} 0
plugin_total_canceled_runs_since_start{name=Zürich,plugin=github,owner=o"w\n
er} 3
plugin_status{name=RECEIVER1,plugin=github_receiver,owner=veertuinc} idle
plugin_status_since{name=RECEIVER1,plugin=github_receiver,owner=veertuinc} 2024-01-15T10:31:00Z
host_cpu_count 8
host_cpu_used_count 1
host_cpu_usage_percentage 12.371134
host_memory_total_bytes 17179869184
host_memory_used_bytes 8589934592
host_memory_available_bytes 8589934592
host_memory_usage_percentage 50.000000
host_disk_total_bytes 500000000000
host_disk_used_bytes 125000000000
host_disk_available_bytes 375000000000
host_disk_usage_percentage 25.500000
)golden";

// Solo receiver: no totals, no plugin_total_* lines, no last-run lines.
inline constexpr std::string_view receiver_only_anklet_text_utc = R"golden(plugin_status{name=RECEIVER1,plugin=github_receiver,owner=veertuinc,repo=anklet} running
plugin_status_since{name=RECEIVER1,plugin=github_receiver,owner=veertuinc,repo=anklet} 2024-01-15T10:30:00Z
host_cpu_count 4
host_cpu_used_count 0
host_cpu_usage_percentage 0.100000
host_memory_total_bytes 0
host_memory_used_bytes 0
host_memory_available_bytes 0
host_memory_usage_percentage 0.000000
host_disk_total_bytes 0
host_disk_used_bytes 0
host_disk_available_bytes 0
host_disk_usage_percentage 0.000000
)golden";

// Prometheus exposition for mixed_snapshot().
inline constexpr std::string_view mixed_prometheus = R"golden(# HELP total_running_vms VMs running now.
# TYPE total_running_vms gauge
total_running_vms 1
# HELP total_successful_runs_since_start Jobs that succeeded since the process started.
# TYPE total_successful_runs_since_start counter
total_successful_runs_since_start 40
# HELP total_failed_runs_since_start Jobs that failed since the process started.
# TYPE total_failed_runs_since_start counter
total_failed_runs_since_start 2
# HELP total_canceled_runs_since_start Jobs that were canceled since the process started.
# TYPE total_canceled_runs_since_start counter
total_canceled_runs_since_start 3
# HELP plugin_status Plugin status as a state set: 1 for the current status.
# TYPE plugin_status gauge
plugin_status{name="RUNNER1",plugin="github",owner="veertuinc",repo="anklet",status="idle"} 0
plugin_status{name="RUNNER1",plugin="github",owner="veertuinc",repo="anklet",status="paused"} 0
plugin_status{name="RUNNER1",plugin="github",owner="veertuinc",repo="anklet",status="pulling"} 0
plugin_status{name="RUNNER1",plugin="github",owner="veertuinc",repo="anklet",status="running"} 0
plugin_status{name="RUNNER1",plugin="github",owner="veertuinc",repo="anklet",status="in_progress"} 1
plugin_status{name="RUNNER1",plugin="github",owner="veertuinc",repo="anklet",status="stopped"} 0
plugin_status{name="RUNNER1",plugin="github",owner="veertuinc",repo="anklet",status="draining"} 0
plugin_status{name="RUNNER1",plugin="github",owner="veertuinc",repo="anklet",status="limit_paused"} 0
plugin_status{name="Zürich",plugin="github",owner="o\"w\\n\ner",status="idle"} 0
plugin_status{name="Zürich",plugin="github",owner="o\"w\\n\ner",status="paused"} 1
plugin_status{name="Zürich",plugin="github",owner="o\"w\\n\ner",status="pulling"} 0
plugin_status{name="Zürich",plugin="github",owner="o\"w\\n\ner",status="running"} 0
plugin_status{name="Zürich",plugin="github",owner="o\"w\\n\ner",status="in_progress"} 0
plugin_status{name="Zürich",plugin="github",owner="o\"w\\n\ner",status="stopped"} 0
plugin_status{name="Zürich",plugin="github",owner="o\"w\\n\ner",status="draining"} 0
plugin_status{name="Zürich",plugin="github",owner="o\"w\\n\ner",status="limit_paused"} 0
plugin_status{name="RECEIVER1",plugin="github_receiver",owner="veertuinc",status="idle"} 1
plugin_status{name="RECEIVER1",plugin="github_receiver",owner="veertuinc",status="paused"} 0
plugin_status{name="RECEIVER1",plugin="github_receiver",owner="veertuinc",status="pulling"} 0
plugin_status{name="RECEIVER1",plugin="github_receiver",owner="veertuinc",status="running"} 0
plugin_status{name="RECEIVER1",plugin="github_receiver",owner="veertuinc",status="in_progress"} 0
plugin_status{name="RECEIVER1",plugin="github_receiver",owner="veertuinc",status="stopped"} 0
plugin_status{name="RECEIVER1",plugin="github_receiver",owner="veertuinc",status="draining"} 0
plugin_status{name="RECEIVER1",plugin="github_receiver",owner="veertuinc",status="limit_paused"} 0
# HELP plugin_status_since Unix time of the last status change (0 = never).
# TYPE plugin_status_since gauge
plugin_status_since{name="RUNNER1",plugin="github",owner="veertuinc",repo="anklet"} 1705314600
plugin_status_since{name="Zürich",plugin="github",owner="o\"w\\n\ner"} 0
plugin_status_since{name="RECEIVER1",plugin="github_receiver",owner="veertuinc"} 1705314660
# HELP plugin_last_successful_run Unix time of the last successful run (0 = never).
# TYPE plugin_last_successful_run gauge
plugin_last_successful_run{name="RUNNER1",plugin="github",owner="veertuinc",repo="anklet"} 1705311000
plugin_last_successful_run{name="Zürich",plugin="github",owner="o\"w\\n\ner"} 0
# HELP plugin_last_failed_run Unix time of the last failed run (0 = never).
# TYPE plugin_last_failed_run gauge
plugin_last_failed_run{name="RUNNER1",plugin="github",owner="veertuinc",repo="anklet"} 1705307400
plugin_last_failed_run{name="Zürich",plugin="github",owner="o\"w\\n\ner"} 0
# HELP plugin_last_canceled_run Unix time of the last canceled run (0 = never).
# TYPE plugin_last_canceled_run gauge
plugin_last_canceled_run{name="RUNNER1",plugin="github",owner="veertuinc",repo="anklet"} 0
plugin_last_canceled_run{name="Zürich",plugin="github",owner="o\"w\\n\ner"} 0
# HELP plugin_total_ran_vms VMs this handler started since the process started.
# TYPE plugin_total_ran_vms counter
plugin_total_ran_vms{name="RUNNER1",plugin="github",owner="veertuinc",repo="anklet"} 42
plugin_total_ran_vms{name="Zürich",plugin="github",owner="o\"w\\n\ner"} 0
# HELP plugin_total_successful_runs_since_start Jobs this handler ran successfully since start.
# TYPE plugin_total_successful_runs_since_start counter
plugin_total_successful_runs_since_start{name="RUNNER1",plugin="github",owner="veertuinc",repo="anklet"} 40
plugin_total_successful_runs_since_start{name="Zürich",plugin="github",owner="o\"w\\n\ner"} 0
# HELP plugin_total_failed_runs_since_start Jobs of this handler that failed since start.
# TYPE plugin_total_failed_runs_since_start counter
plugin_total_failed_runs_since_start{name="RUNNER1",plugin="github",owner="veertuinc",repo="anklet"} 2
plugin_total_failed_runs_since_start{name="Zürich",plugin="github",owner="o\"w\\n\ner"} 0
# HELP plugin_total_canceled_runs_since_start Jobs of this handler that were canceled since start.
# TYPE plugin_total_canceled_runs_since_start counter
plugin_total_canceled_runs_since_start{name="RUNNER1",plugin="github",owner="veertuinc",repo="anklet"} 0
plugin_total_canceled_runs_since_start{name="Zürich",plugin="github",owner="o\"w\\n\ner"} 3
# HELP host_cpu_count CPU cores of the host.
# TYPE host_cpu_count gauge
host_cpu_count 8
# HELP host_cpu_used_count CPU cores in use (count times usage).
# TYPE host_cpu_used_count gauge
host_cpu_used_count 1
# HELP host_cpu_usage_percentage CPU busy share in percent.
# TYPE host_cpu_usage_percentage gauge
host_cpu_usage_percentage 12.371134020618557
# HELP host_memory_total_bytes Total memory in bytes.
# TYPE host_memory_total_bytes gauge
host_memory_total_bytes 17179869184
# HELP host_memory_used_bytes Used memory in bytes.
# TYPE host_memory_used_bytes gauge
host_memory_used_bytes 8589934592
# HELP host_memory_available_bytes Available memory in bytes.
# TYPE host_memory_available_bytes gauge
host_memory_available_bytes 8589934592
# HELP host_memory_usage_percentage Used memory in percent.
# TYPE host_memory_usage_percentage gauge
host_memory_usage_percentage 50
# HELP host_disk_total_bytes Size of the root file system in bytes.
# TYPE host_disk_total_bytes gauge
host_disk_total_bytes 500000000000
# HELP host_disk_used_bytes Used bytes of the root file system.
# TYPE host_disk_used_bytes gauge
host_disk_used_bytes 125000000000
# HELP host_disk_available_bytes Bytes available on the root file system.
# TYPE host_disk_available_bytes gauge
host_disk_available_bytes 375000000000
# HELP host_disk_usage_percentage Used share of the root file system in percent.
# TYPE host_disk_usage_percentage gauge
host_disk_usage_percentage 25.5
)golden";

// Solo receiver: no totals and no handler families.
inline constexpr std::string_view receiver_only_prometheus = R"golden(# HELP plugin_status Plugin status as a state set: 1 for the current status.
# TYPE plugin_status gauge
plugin_status{name="RECEIVER1",plugin="github_receiver",owner="veertuinc",repo="anklet",status="idle"} 0
plugin_status{name="RECEIVER1",plugin="github_receiver",owner="veertuinc",repo="anklet",status="paused"} 0
plugin_status{name="RECEIVER1",plugin="github_receiver",owner="veertuinc",repo="anklet",status="pulling"} 0
plugin_status{name="RECEIVER1",plugin="github_receiver",owner="veertuinc",repo="anklet",status="running"} 1
plugin_status{name="RECEIVER1",plugin="github_receiver",owner="veertuinc",repo="anklet",status="in_progress"} 0
plugin_status{name="RECEIVER1",plugin="github_receiver",owner="veertuinc",repo="anklet",status="stopped"} 0
plugin_status{name="RECEIVER1",plugin="github_receiver",owner="veertuinc",repo="anklet",status="draining"} 0
plugin_status{name="RECEIVER1",plugin="github_receiver",owner="veertuinc",repo="anklet",status="limit_paused"} 0
# HELP plugin_status_since Unix time of the last status change (0 = never).
# TYPE plugin_status_since gauge
plugin_status_since{name="RECEIVER1",plugin="github_receiver",owner="veertuinc",repo="anklet"} 1705314600
# HELP host_cpu_count CPU cores of the host.
# TYPE host_cpu_count gauge
host_cpu_count 4
# HELP host_cpu_used_count CPU cores in use (count times usage).
# TYPE host_cpu_used_count gauge
host_cpu_used_count 0
# HELP host_cpu_usage_percentage CPU busy share in percent.
# TYPE host_cpu_usage_percentage gauge
host_cpu_usage_percentage 0.1
# HELP host_memory_total_bytes Total memory in bytes.
# TYPE host_memory_total_bytes gauge
host_memory_total_bytes 0
# HELP host_memory_used_bytes Used memory in bytes.
# TYPE host_memory_used_bytes gauge
host_memory_used_bytes 0
# HELP host_memory_available_bytes Available memory in bytes.
# TYPE host_memory_available_bytes gauge
host_memory_available_bytes 0
# HELP host_memory_usage_percentage Used memory in percent.
# TYPE host_memory_usage_percentage gauge
host_memory_usage_percentage 0
# HELP host_disk_total_bytes Size of the root file system in bytes.
# TYPE host_disk_total_bytes gauge
host_disk_total_bytes 0
# HELP host_disk_used_bytes Used bytes of the root file system.
# TYPE host_disk_used_bytes gauge
host_disk_used_bytes 0
# HELP host_disk_available_bytes Bytes available on the root file system.
# TYPE host_disk_available_bytes gauge
host_disk_available_bytes 0
# HELP host_disk_usage_percentage Used share of the root file system in percent.
# TYPE host_disk_usage_percentage gauge
host_disk_usage_percentage 0
)golden";

// The JSON payload for mixed_snapshot(), as Go Anklet's export writes it: keys in byte
// order (it marshals a map), all 16 fields for the receiver too, `<` `>` `&` escaped as
// Go's encoding/json does, fractions of seconds without trailing zeros.
inline constexpr std::string_view mixed_json_utc =
    R"golden({"host_cpu_count":8,"host_cpu_usage_percentage":12.371134020618557,"host_cpu_used_count":1,)golden"
    R"golden("host_disk_available_bytes":375000000000,"host_disk_total_bytes":500000000000,"host_disk_usage_percentage":25.5,)golden"
    R"golden("host_disk_used_bytes":125000000000,"host_memory_available_bytes":8589934592,"host_memory_total_bytes":17179869184,)golden"
    R"golden("host_memory_usage_percentage":50,"host_memory_used_bytes":8589934592,"last_update":"2024-01-15T10:30:00.5Z",)golden"
    R"golden("plugins":[{"LastCanceledRun":"0001-01-01T00:00:00Z","LastCanceledRunJobUrl":"","LastFailedRun":"2024-01-15T08:30:00Z",)golden"
    R"golden("LastFailedRunJobUrl":"https://github.com/veertuinc/anklet/actions/runs/2","LastSuccessfulRun":"2024-01-15T09:30:00.123456789Z",)golden"
    R"golden("LastSuccessfulRunJobUrl":"https://github.com/veertuinc/anklet/actions/runs/1?a=1\u0026b=\u003c2\u003e",)golden"
    R"golden("Name":"RUNNER1","OwnerName":"veertuinc","PluginName":"github","RepoName":"anklet","Status":"in_progress",)golden"
    R"golden("StatusSince":"2024-01-15T10:30:00Z","TotalCanceledRunsSinceStart":0,"TotalFailedRunsSinceStart":2,)golden"
    R"golden("TotalRanVMs":42,"TotalSuccessfulRunsSinceStart":40},{"LastCanceledRun":"0001-01-01T00:00:00Z",)golden"
    R"golden("LastCanceledRunJobUrl":"","LastFailedRun":"0001-01-01T00:00:00Z","LastFailedRunJobUrl":"",)golden"
    R"golden("LastSuccessfulRun":"0001-01-01T00:00:00Z","LastSuccessfulRunJobUrl":"","Name":"Zürich","OwnerName":"o\"w\\n\ner",)golden"
    R"golden("PluginName":"github","RepoName":"","Status":"paused","StatusSince":"0001-01-01T00:00:00Z",)golden"
    R"golden("TotalCanceledRunsSinceStart":3,"TotalFailedRunsSinceStart":0,"TotalRanVMs":0,"TotalSuccessfulRunsSinceStart":0},)golden"
    R"golden({"LastCanceledRun":"0001-01-01T00:00:00Z","LastCanceledRunJobUrl":"","LastFailedRun":"0001-01-01T00:00:00Z",)golden"
    R"golden("LastFailedRunJobUrl":"","LastSuccessfulRun":"0001-01-01T00:00:00Z","LastSuccessfulRunJobUrl":"",)golden"
    R"golden("Name":"RECEIVER1","OwnerName":"veertuinc","PluginName":"github_receiver","RepoName":"","Status":"idle",)golden"
    R"golden("StatusSince":"2024-01-15T10:31:00.000001Z","TotalCanceledRunsSinceStart":0,"TotalFailedRunsSinceStart":0,)golden"
    R"golden("TotalRanVMs":0,"TotalSuccessfulRunsSinceStart":0}],"total_canceled_runs_since_start":3,"total_failed_runs_since_start":2,)golden"
    R"golden("total_running_vms":1,"total_successful_runs_since_start":40})golden";

}  // namespace anklet_test
