// Command reference renders metrics states the way Go Anklet's own code does, for the
// differential test (tests/integration/go_differential.py). It is our own program, written from what
// Go Anklet's internal/metrics does: the same struct shapes (a Plugin embedding a
// *PluginBase, MetricsData with Plugins []any), the handler's Fprintf lines for
// format=anklet, and ExportMetricsToDB's json.Marshal -> map -> json.Marshal for the
// Redis payload. It reads one state per line on stdin and writes one line per state:
// {"text":"<hex>","payload":"<hex>"}.
package main

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"strings"
	"time"
)

type instant [2]int64 // Unix seconds, nanoseconds; Go's zero time for "never"

type statePlugin struct {
	Handler bool    `json:"handler"`
	Name    string  `json:"name"`
	Plugin  string  `json:"plugin"`
	Owner   string  `json:"owner"`
	Repo    string  `json:"repo"`
	Status  string  `json:"status"`
	Since   instant `json:"since"`
	LastOK  instant `json:"ls"`
	LastBad instant `json:"lf"`
	LastCan instant `json:"lc"`
	URLOK   string  `json:"ls_url"`
	URLBad  string  `json:"lf_url"`
	URLCan  string  `json:"lc_url"`
	Ran     int     `json:"ran"`
	Succ    int     `json:"succ"`
	Fail    int     `json:"fail"`
	Canc    int     `json:"canc"`
}

type state struct {
	LastUpdate instant       `json:"last_update"`
	Totals     [4]int        `json:"totals"`
	Host       stateHost     `json:"host"`
	Plugins    []statePlugin `json:"plugins"`
}

type stateHost struct {
	CPUCount  int    `json:"cpu_count"`
	CPUUsed   int    `json:"cpu_used_count"`
	CPUUsage  uint64 `json:"cpu_usage_bits"`
	MemTotal  uint64 `json:"memory_total"`
	MemUsed   uint64 `json:"memory_used"`
	MemAvail  uint64 `json:"memory_available"`
	MemUsage  uint64 `json:"memory_usage_bits"`
	DiskTotal uint64 `json:"disk_total"`
	DiskUsed  uint64 `json:"disk_used"`
	DiskAvail uint64 `json:"disk_available"`
	DiskUsage uint64 `json:"disk_usage_bits"`
}

// The shapes Go Anklet marshals.
type PluginBase struct {
	Name        string
	PluginName  string
	RepoName    string
	OwnerName   string
	Status      string
	StatusSince time.Time
}

type Plugin struct {
	*PluginBase
	LastSuccessfulRunJobUrl       string
	LastFailedRunJobUrl           string
	LastCanceledRunJobUrl         string
	LastSuccessfulRun             time.Time
	LastFailedRun                 time.Time
	LastCanceledRun               time.Time
	TotalRanVMs                   int
	TotalSuccessfulRunsSinceStart int
	TotalFailedRunsSinceStart     int
	TotalCanceledRunsSinceStart   int
}

type MetricsData struct {
	LastUpdate                    time.Time `json:"last_update"`
	TotalRunningVMs               int       `json:"total_running_vms"`
	TotalSuccessfulRunsSinceStart int       `json:"total_successful_runs_since_start"`
	TotalFailedRunsSinceStart     int       `json:"total_failed_runs_since_start"`
	TotalCanceledRunsSinceStart   int       `json:"total_canceled_runs_since_start"`
	HostCPUCount                  int       `json:"host_cpu_count"`
	HostCPUUsedCount              int       `json:"host_cpu_used_count"`
	HostCPUUsagePercentage        float64   `json:"host_cpu_usage_percentage"`
	HostMemoryTotalBytes          uint64    `json:"host_memory_total_bytes"`
	HostMemoryUsedBytes           uint64    `json:"host_memory_used_bytes"`
	HostMemoryAvailableBytes      uint64    `json:"host_memory_available_bytes"`
	HostMemoryUsagePercentage     float64   `json:"host_memory_usage_percentage"`
	HostDiskTotalBytes            uint64    `json:"host_disk_total_bytes"`
	HostDiskUsedBytes             uint64    `json:"host_disk_used_bytes"`
	HostDiskAvailableBytes        uint64    `json:"host_disk_available_bytes"`
	HostDiskUsagePercentage       float64   `json:"host_disk_usage_percentage"`
	Plugins                       []any     `json:"plugins"`
}

func unhex(s string) string {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func toTime(i instant) time.Time {
	t := time.Unix(i[0], i[1])
	if t.IsZero() {
		return time.Time{}
	}
	return t
}

func float(bits uint64) float64 { return math.Float64frombits(bits) }

func build(s state) MetricsData {
	h := s.Host
	md := MetricsData{
		TotalRunningVMs: s.Totals[0], TotalSuccessfulRunsSinceStart: s.Totals[1],
		TotalFailedRunsSinceStart: s.Totals[2], TotalCanceledRunsSinceStart: s.Totals[3],
		HostCPUCount: h.CPUCount, HostCPUUsedCount: h.CPUUsed, HostCPUUsagePercentage: float(h.CPUUsage),
		HostMemoryTotalBytes: h.MemTotal, HostMemoryUsedBytes: h.MemUsed, HostMemoryAvailableBytes: h.MemAvail,
		HostMemoryUsagePercentage: float(h.MemUsage), HostDiskTotalBytes: h.DiskTotal, HostDiskUsedBytes: h.DiskUsed,
		HostDiskAvailableBytes: h.DiskAvail, HostDiskUsagePercentage: float(h.DiskUsage),
	}
	for _, p := range s.Plugins {
		// Anklet's main registers every plugin, receivers too, as a full Plugin.
		md.Plugins = append(md.Plugins, Plugin{
			PluginBase: &PluginBase{Name: unhex(p.Name), PluginName: unhex(p.Plugin), RepoName: unhex(p.Repo),
				OwnerName: unhex(p.Owner), Status: p.Status, StatusSince: toTime(p.Since)},
			LastSuccessfulRunJobUrl: unhex(p.URLOK), LastFailedRunJobUrl: unhex(p.URLBad),
			LastCanceledRunJobUrl: unhex(p.URLCan), LastSuccessfulRun: toTime(p.LastOK),
			LastFailedRun: toTime(p.LastBad), LastCanceledRun: toTime(p.LastCan), TotalRanVMs: p.Ran,
			TotalSuccessfulRunsSinceStart: p.Succ, TotalFailedRunsSinceStart: p.Fail, TotalCanceledRunsSinceStart: p.Canc,
		})
	}
	return md
}

// The format=anklet text as Go's /metrics/v1 handler prints it. "Solo receiver" is decided
// by the plugin-name rule for every plugin (Go's main looks at its last plugin only).
func text(md MetricsData) string {
	var w strings.Builder
	solo := len(md.Plugins) > 0
	for _, any := range md.Plugins {
		if !strings.Contains(any.(Plugin).PluginName, "_receiver") {
			solo = false
		}
	}
	if !solo {
		fmt.Fprintf(&w, "total_running_vms %d\n", md.TotalRunningVMs)
		fmt.Fprintf(&w, "total_successful_runs_since_start %d\n", md.TotalSuccessfulRunsSinceStart)
		fmt.Fprintf(&w, "total_failed_runs_since_start %d\n", md.TotalFailedRunsSinceStart)
		fmt.Fprintf(&w, "total_canceled_runs_since_start %d\n", md.TotalCanceledRunsSinceStart)
	}
	for _, any := range md.Plugins {
		p := any.(Plugin)
		labels := fmt.Sprintf("name=%s,plugin=%s,owner=%s", p.Name, p.PluginName, p.OwnerName)
		withRepo := labels
		if p.RepoName != "" {
			withRepo += ",repo=" + p.RepoName
		}
		handler := !strings.Contains(p.PluginName, "_receiver")
		fmt.Fprintf(&w, "plugin_status{%s} %s\n", withRepo, p.Status)
		if handler {
			fmt.Fprintf(&w, "plugin_last_successful_run{%s,job_url=%s} %s\n", withRepo, p.LastSuccessfulRunJobUrl, p.LastSuccessfulRun.Format(time.RFC3339))
			fmt.Fprintf(&w, "plugin_last_failed_run{%s,job_url=%s} %s\n", withRepo, p.LastFailedRunJobUrl, p.LastFailedRun.Format(time.RFC3339))
			fmt.Fprintf(&w, "plugin_last_canceled_run{%s,job_url=%s} %s\n", withRepo, p.LastCanceledRunJobUrl, p.LastCanceledRun.Format(time.RFC3339))
		}
		fmt.Fprintf(&w, "plugin_status_since{%s} %s\n", withRepo, p.StatusSince.Format(time.RFC3339))
		if handler {
			fmt.Fprintf(&w, "plugin_total_ran_vms{%s} %d\n", labels, p.TotalRanVMs)
			fmt.Fprintf(&w, "plugin_total_successful_runs_since_start{%s} %d\n", labels, p.TotalSuccessfulRunsSinceStart)
			fmt.Fprintf(&w, "plugin_total_failed_runs_since_start{%s} %d\n", labels, p.TotalFailedRunsSinceStart)
			fmt.Fprintf(&w, "plugin_total_canceled_runs_since_start{%s} %d\n", labels, p.TotalCanceledRunsSinceStart)
		}
	}
	fmt.Fprintf(&w, "host_cpu_count %d\n", md.HostCPUCount)
	fmt.Fprintf(&w, "host_cpu_used_count %d\n", md.HostCPUUsedCount)
	fmt.Fprintf(&w, "host_cpu_usage_percentage %f\n", md.HostCPUUsagePercentage)
	fmt.Fprintf(&w, "host_memory_total_bytes %d\n", md.HostMemoryTotalBytes)
	fmt.Fprintf(&w, "host_memory_used_bytes %d\n", md.HostMemoryUsedBytes)
	fmt.Fprintf(&w, "host_memory_available_bytes %d\n", md.HostMemoryAvailableBytes)
	fmt.Fprintf(&w, "host_memory_usage_percentage %f\n", md.HostMemoryUsagePercentage)
	fmt.Fprintf(&w, "host_disk_total_bytes %d\n", md.HostDiskTotalBytes)
	fmt.Fprintf(&w, "host_disk_used_bytes %d\n", md.HostDiskUsedBytes)
	fmt.Fprintf(&w, "host_disk_available_bytes %d\n", md.HostDiskAvailableBytes)
	fmt.Fprintf(&w, "host_disk_usage_percentage %f\n", md.HostDiskUsagePercentage)
	return w.String()
}

// The Redis value as ExportMetricsToDB builds it: marshal, unmarshal into a map, set
// last_update, marshal again (so keys come sorted and numbers pass through float64).
func payload(md MetricsData, lastUpdate time.Time) string {
	first, err := json.Marshal(md)
	if err != nil {
		return "marshal error: " + err.Error()
	}
	var m map[string]any
	if err := json.Unmarshal(first, &m); err != nil {
		return "unmarshal error: " + err.Error()
	}
	m["last_update"] = lastUpdate
	out, err := json.Marshal(m)
	if err != nil {
		return "marshal error: " + err.Error()
	}
	return string(out)
}

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 64<<20)
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	for in.Scan() {
		var s state
		if err := json.Unmarshal(in.Bytes(), &s); err != nil {
			fmt.Fprintln(os.Stderr, "bad state:", err)
			os.Exit(2)
		}
		md := build(s)
		line, _ := json.Marshal(map[string]string{
			"text":    hex.EncodeToString([]byte(text(md))),
			"payload": hex.EncodeToString([]byte(payload(md, toTime(s.LastUpdate)))),
		})
		out.Write(line)
		out.WriteByte('\n')
	}
}
