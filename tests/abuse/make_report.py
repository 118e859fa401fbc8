#!/usr/bin/env python3
"""Writes docs/reliability.md from the figures the suites leave behind (see report.sh).

  make_report.py OUT.md --fuzz TSV --abuse JSON --shutdown JSON --faults JSON --env TEXT
Any input may be missing; its section then says it was not run and why.
"""
import argparse
import csv
import json
import os


def load_json(path):
    if not path or not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def load_tsv(path):
    if not path or not os.path.exists(path):
        return None
    with open(path) as f:
        return list(csv.DictReader(f, delimiter="\t"))


def fmt_int(v):
    return "{:,}".format(int(float(v)))


def fuzz_section(rows, out):
    out.append("## Fuzzing (libFuzzer, clang, ASan + UBSan)\n")
    if rows is None:
        out.append("Not run in this report (no figures file).\n")
        return
    secs = rows[0]["seconds"] if rows else "?"
    out.append("Each target of `tests/fuzz/meson.build` ran %s s on a copy of its seed corpus "
               "(`tests/fuzz/run_all.sh %s`); any crash, leak, timeout or out-of-memory fails. "
               "Coverage is libFuzzer's edge count (`cov`) and feature count (`ft`) at the end.\n" % (secs, secs))
    out.append("| target | input | executions | exec/s | cov | ft | corpus files at end | result |")
    out.append("|---|---|---:|---:|---:|---:|---:|---|")
    inputs = {
        "resp": "RESP replies (client parser)",
        "redis_url": "Redis connection strings",
        "http_request": "HTTP/1.1 requests (request parser)",
        "payload": "JSON payloads (aggregator's reader)",
        "proc": "/proc files (host metrics parsers)",
        "exposition_roundtrip": "names/owners/repos/URLs rendered and read back",
        "exposition_reader": "Prometheus text (test reader)",
        "aggregator": "fleet payloads through the aggregator",
    }
    for r in rows:
        result = "no finding" if r["exit"] == "0" else "**FINDING (exit %s)**" % r["exit"]
        out.append("| `fuzz_%s` | %s | %s | %s | %s | %s | %s | %s |" % (
            r["target"], inputs.get(r["target"], ""), fmt_int(r["executions"]), fmt_int(r["exec_per_s"]),
            r["coverage"], r["features"], r["corpus_files"], result))
    out.append("")


def abuse_section(a, out):
    out.append("## HTTP abuse (`tests/abuse/http_abuse.py`, meson suite `abuse`)\n")
    if a is None:
        out.append("Not run in this report.\n")
        return
    c = a.get("clients", {})
    idle, slow, rnd = c.get("idle", {}), c.get("slowloris", {}), c.get("random", {})
    half, pipe = c.get("halfclosed", {}), c.get("pipelined", {})
    out.append("The exporter (`--listen 127.0.0.1:0 --demo`, default limits: 512 connections, 10 s read "
               "timeout) for %.0f s under all of the clients below at once, each kind in its own process, "
               "while a well-behaved scraper opened a new connection every 100 ms.\n" % a["duration_s"])
    out.append("| case | what was sent | what held | measured |")
    out.append("|---|---|---|---|")
    out.append("| idle connections | %s connections opened and held without a byte; each one the server "
               "closed was reopened at once | the scraper still got through: a full server closes the "
               "connection that waited longest instead of answering 503 | %s connects, %s closed by the "
               "server, %s held at the end |" % (
                   fmt_int(idle.get("target", 0)), fmt_int(idle.get("opened", 0)),
                   fmt_int(idle.get("dropped_by_server", 0)), fmt_int(idle.get("held_at_end", 0))))
    out.append("| slowloris | %s clients sending a request one byte every 200 ms | slow clients cannot hold "
               "slots: closed by eviction or the read timeout | %s bytes dribbled, %s connections closed by "
               "the server, %s requests completed |" % (
                   slow.get("clients", 0), fmt_int(slow.get("bytes_dribbled", 0)),
                   fmt_int(slow.get("closed_by_server", 0)), fmt_int(slow.get("completed_requests", 0))))
    out.append("| random bytes | connections sending 1 B to 64 KiB of random bytes | answered 4xx or closed, "
               "never a crash | %s connections, %s bytes, %s answered 4xx, %s closed/reset |" % (
                   fmt_int(rnd.get("connections", 0)), fmt_int(rnd.get("bytes_sent", 0)),
                   fmt_int(rnd.get("answered_4xx", 0)), fmt_int(rnd.get("closed_or_reset", 0))))
    out.append("| half-closed | a partial request, then `shutdown(SHUT_WR)` | the server closes each one "
               "(no descriptor kept for a peer that left) | %s connections, %s closed, %s left open > 3 s, "
               "slowest close %s ms |" % (
                   fmt_int(half.get("connections", 0)), fmt_int(half.get("closed_by_server", 0)),
                   half.get("not_closed_within_3s", 0), half.get("worst_close_ms", 0)))
    out.append("| pipelining flood | bursts of %s pipelined scrapes per connection, back to back | every "
               "request answered 200, in order | %s requests, %s answered 200, %s errors |" % (
                   pipe.get("burst", 0), fmt_int(pipe.get("requests", 0)), fmt_int(pipe.get("answered_200", 0)),
                   fmt_int(pipe.get("errors", 0))))
    out.append("| scraper, meanwhile | `GET /metrics/v1?format=prometheus` every 100 ms on a new connection "
               "| every scrape 200 with a valid exposition body; p99 < %.0f ms | %s of %s answered 200 and "
               "valid; latency p50 %s ms, p99 %s ms, max %s ms |" % (
                   a["p99_bound_ms"], a.get("scrapes_ok"), a.get("scrapes"), a.get("latency_ms_p50"),
                   a.get("latency_ms_p99"), a.get("latency_ms_max")))
    out.append("| memory | (all of the above) | peak RSS (VmHWM) < %.0f MiB | %s MiB |" % (
        a["rss_bound_mib"], a.get("peak_rss_mib")))
    out.append("| descriptors | (all of the above), then every client closed | `/proc/PID/fd` back to "
               "its count before the abuse | %s before, peak %s, %s after |" % (
                   a.get("baseline_fds"), a.get("peak_fds"), a.get("fds_after")))
    out.append("")
    out.append("Result: **%s**%s\n" % ("passed" if a.get("passed") else "FAILED",
                                        "" if a.get("passed") else ": " + "; ".join(a.get("failures", []))))


def shutdown_section(s, asan, out):
    out.append("## Shutdown under load (`tests/unit/test_shutdown.cpp`, suites `unit` and `threads`)\n")
    if s is None:
        out.append("Not run in this report.\n")
        return
    out.append("| case | what was sent | what held | measured |")
    out.append("|---|---|---|---|")
    out.append("| stop() in flight | 3 fresh-connection scraper threads, 4 connections with 8 pipelined "
               "scrapes each (answers larger than the socket buffer, left unread), 4 incomplete requests, "
               "4 idle keep-alive connections, a thread updating 400 plugins; %d rounds, one without the "
               "body cache | stop() prompt (< 100 ms, no waiting for timeouts), every held connection closed, "
               "descriptors back to baseline, no leak under LeakSanitizer | slowest stop() %.1f ms; %d of %d "
               "held connections closed; %d scrapes answered before the stops%s |" % (
                   s["rounds"], s["slowest_stop_ms"], s["held_connections_closed"], 12 * s["rounds"],
                   s["scrapes_before_stop"],
                   "" if asan is None else "; ASan+LSan build: slowest stop() %.1f ms, %s" % (
                       asan["slowest_stop_ms"], "no leak reported" if asan.get("lsan_clean") else "LEAK REPORTED")))
    out.append("| destructor in flight | a server destroyed with scrapes and partial requests open | same | "
               "every connection closed, descriptors back to baseline |")
    out.append("")


FAULTS = [
    ("killed_restarted", "redis-server killed (SIGKILL) for 1.2 s, then restarted on the same port"),
    ("sigstop_sigcont", "redis-server paused with SIGSTOP for 1 s (5x the 200 ms client timeouts), then SIGCONT"),
    ("err_to_every_command", "a fake Redis on the same port answering `-ERR` to every command for 1.2 s"),
]


def faults_section(f, cf, out):
    out.append("## Redis faults (`tests/integration/test_redis_faults_client.cpp`, `tests/integration/test_redis_faults.cpp`, "
               "suites `unit` and `threads`)\n")
    out.append("A real redis-server on a free loopback port; client timeouts 200 ms, reconnect backoff 20 to "
               "100 ms, writer interval 500 ms. The store changes all through each fault.\n")
    out.append("| case | what was done | what held | measured |")
    out.append("|---|---|---|---|")
    for key, what in FAULTS:
        c = (cf or {}).get("client_" + key)
        if c:
            out.append("| RESP client: %s | %s, while SETs go out every 20 ms | every call returns a typed error "
                       "within its timeouts (none claims success); success again within the reconnect window "
                       "once Redis is back; the last value reads back intact | %s of %s calls failed, slowest "
                       "call %s ms; writing again %s ms after Redis was back%s |" % (
                           key, what, fmt_int(c.get("failed_calls", 0)), fmt_int(c.get("calls_during_fault", 0)),
                           c.get("slowest_call_ms"), c.get("recovery_ms"),
                           "; a stale SET from a dropped connection was seen and overwritten"
                           if c.get("stale_value_seen") else ""))
    if cf is None:
        out.append("| RESP client | not run in this report | | |")
    if f is None:
        out.append("| writer and aggregator | not run in this report: `redis/writer.hpp` and `fleet/aggregator.hpp` "
                   "were not in the tree | | |")
        out.append("")
        return
    for key, what in FAULTS:
        e = f.get("export_" + key)
        if e:
            out.append("| export: %s | %s | the writer thread keeps running; health shows consecutive failures "
                       "and the error; healthy again within one interval; Redis then holds the store's exact "
                       "state | %s failed writes; healthy %s ms after Redis was back; Redis equal to the store "
                       "%s ms after |" % (key, what, fmt_int(e.get("failed_writes", 0)), e.get("recovery_ms"),
                                          e.get("consistent_ms")))
    for key, what in FAULTS:
        a = f.get("aggregate_" + key)
        if a:
            out.append("| aggregation: %s | %s, while the aggregator answers `/metrics/v2` | 503 with the "
                       "reason while Redis is unusable, never blocked past the client timeouts, `/healthcheck` "
                       "still 200; current values again within one interval | %s of %s requests answered 503; "
                       "current answer %s ms after Redis was back |" % (
                           key, what, fmt_int(a.get("answered_503", 0)), fmt_int(a.get("requests_during_fault", 0)),
                           a.get("recovery_ms")))
    out.append("")
    out.append("Finding: after SIGSTOP, SETs the writer sent on connections it then gave up on (read timeout) "
               "are still queued in the paused server and run when it resumes, possibly after the recovering "
               "write; Redis can then hold a state one write old until the next periodic write (within one "
               "interval). The test allows exactly that and checks the value stays correct afterwards.\n")


def aggregator_section(a, out):
    if not a:
        return
    out.append("## Hostile fleet (`tests/integration/test_aggregator.cpp`, suites `unit` and `threads`)")
    out.append("")
    out.append("The aggregator reading a real redis-server (or, where Redis cannot send the reply, the "
               "scripted fake of `tests/support/redis_fault_tools.hpp`) into which hosts wrote hostile values. "
               "RSS growth is the test process's peak (VmHWM, reset before the read) over its RSS before.")
    out.append("")
    out.append("The bounds (`fleet_read_options`, defaults in brackets) are per key first: a value over "
               "`limits.max_bytes` [4 MiB] is streamed away (`too_large`), a key name over `max_key_length` "
               "[1024] too (`key_too_long`), a payload over the plugin, string or nesting limits is "
               "`over_limits`. Per read: one MGET reply holds at most `max_batch_bytes` [64 MiB] (later values "
               "of that reply are `over_budget`), the kept values `max_read_bytes` [256 MiB]; the SCAN ends, "
               "keeping what it found (`anklet_metrics_aggregator_scan_complete 0`), at a repeated cursor, `max_scan_pages` "
               "[10,000], `max_keys` [1,000,000], `max_key_bytes` [64 MiB] or `max_read_time` [10 s]. "
               "Output: a host whose answers would exceed `output_factor` [16] x its key and value bytes + "
               "`output_per_host` [16 KiB] is `output_too_large`, so every answer is at most 16 x the bytes "
               "kept + 16 KiB a host + the fixed families. Names are compared as rendered (each invalid "
               "UTF-8 byte becomes U+FFFD when read). Skipped keys are counted in "
               "`anklet_metrics_aggregator_skipped_keys{reason}` and logged by the program (20 lines a minute at most). "
               "Known limit: values of one MGET past its batch budget are skipped even when they are good, "
               "so hostile keys that sort first can crowd out the good ones of their batch (of "
               "`mget_batch` [1000] keys); other batches are not affected.")
    out.append("")
    out.append("| attack | what held | measured |")
    out.append("|---|---|---|")
    g = lambda case, key: a.get(case, {}).get(key)
    rows = [
        ("one_65mib_value", "one 65 MiB value beside good hosts (also a key name of 2,000 bytes, payloads over "
         "the plugin and string limits)", "the others served, each skipped key counted by reason; the value streamed "
         "away, never held", lambda: "%s hosts served; RSS +%s MiB" % (fmt_int(g("one_65mib_value", "hosts_served")),
                                                                        fmt_int(g("one_65mib_value", "rss_growth_mib")))),
        ("seventy_4mib_values", "70 values of 4 MiB (280 MiB) in one MGET", "200, the good host served, values past "
         "the 64 MiB batch budget counted over_budget", lambda: "%s host served; RSS +%s MiB" % (
             fmt_int(g("seventy_4mib_values", "hosts_served")), fmt_int(g("seventy_4mib_values", "rss_growth_mib")))),
        ("long_key_names", "SCAN pages of 2,000 key names of 60 KB (960 MB in all)", "names streamed away "
         "(key_too_long), the SCAN completes", lambda: "RSS +%s MiB (the fake runs in a child process)" % fmt_int(
             g("long_key_names", "rss_growth_mib"))),
        ("amplifying_payload", "one 4 MiB payload of 16 plugins with 65,000-byte invalid UTF-8 names",
         "host skipped (output_too_large); answers bounded by 16 x bytes read + 16 KiB a host",
         lambda: "all four answers %s bytes from a %s-byte payload" % (
             fmt_int(g("amplifying_payload", "answer_bytes")), fmt_int(g("amplifying_payload", "payload_bytes")))),
        ("slow_endless_scan", "SCAN pages of 300 ms each whose cursor never returns to 0 (reads end at max_read_time)",
         "/healthcheck and scrapes answered at once from the last read, whole, with an Age header",
         lambda: "healthcheck p99 %.1f ms, scrape p99 %.1f ms over %s scrapes" % (
             g("slow_endless_scan", "healthcheck_p99_ms"), g("slow_endless_scan", "scrape_p99_ms"),
             fmt_int(g("slow_endless_scan", "scrapes")))),
        ("slow_read_answer", "a request-time read of 0.9 s with a 300 ms write timeout", "the answer sent whole "
         "(the write deadline is taken at each send)", lambda: "%s bytes, Content-Length matched" %
         fmt_int(g("slow_read_answer", "body_bytes"))),
    ]
    for case, attack, held, measured in rows:
        if case in a:
            out.append("| %s | %s | %s |" % (attack, held, measured()))
    out.append("")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--fuzz")
    ap.add_argument("--abuse")
    ap.add_argument("--shutdown")
    ap.add_argument("--shutdown-asan")
    ap.add_argument("--faults")
    ap.add_argument("--client-faults")
    ap.add_argument("--aggregator")
    ap.add_argument("--env", default="")
    args = ap.parse_args()

    out = ["# Reliability figures", "",
           "Generated by `tests/abuse/report.sh`; do not edit by hand. %s" % args.env, "",
           "CI (`.ci/run`) runs every case below on each run: the whole suite with g++ and clang++ "
           "(warnings as errors), again under ASan + UBSan (LeakSanitizer on), the `threads` suite "
           "under TSan, and each fuzz target for 60 s.", ""]
    fuzz_section(load_tsv(args.fuzz), out)
    abuse_section(load_json(args.abuse), out)
    shutdown_section(load_json(args.shutdown), load_json(args.shutdown_asan), out)
    faults_section(load_json(args.faults), load_json(args.client_faults), out)
    aggregator_section(load_json(args.aggregator), out)
    # Figures taken by hand with the tests they name; copied, not regenerated.
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "edge_figures.md")) as f:
        out.append("")
        out.append(f.read().rstrip() + "\n")
    with open(args.out, "w") as f:
        f.write("\n".join(out).rstrip() + "\n")


if __name__ == "__main__":
    main()
