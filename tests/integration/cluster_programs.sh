#!/bin/bash
# Both programs with --redis-cluster against a real Redis Cluster started here (3 masters,
# 3 replicas, stopped by PID): exporters whose keys hash to different masters all show in
# the aggregator's answer, each key is on its slot's master, and the keys go at exit.
# Usage: cluster_programs.sh EXPORTER AGGREGATOR
set -uo pipefail
exporter=${1:?exporter path}
aggregator=${2:?aggregator path}
# shellcheck source=tests/support/lib.sh
source "$(dirname "$0")/../support/lib.sh"

for prog in "$exporter --handler A:github:o" "$aggregator"; do
  for args in "--redis-cluster=1 --redis redis://127.0.0.1:1" "--redis redis://127.0.0.1:1/2 --redis-cluster" \
    "--redis unix:///tmp/x.sock --redis-cluster"; do
    # shellcheck disable=SC2086
    $prog $args > "$tmp/out" 2> "$tmp/err"
    rc=$?
    [ "$rc" -eq 2 ] || fail "'$prog $args': exit $rc, expected 2"
    [ "$(wc -l < "$tmp/err")" -eq 1 ] || fail "'$prog $args': expected one line on stderr, got: $(cat "$tmp/err")"
  done
done
"$exporter" --redis-cluster > /dev/null 2>&1
[ $? -eq 2 ] || fail "--redis-cluster without --redis: expected exit 2"

start_redis_cluster
seed="redis://127.0.0.1:${cports[0]}"

# Five exporters, each its own key; with 3 masters they cannot all share one.
names=(r1 r2 r3 r4 r5)
exporter_pids=()
for n in "${names[@]}"; do
  "$exporter" --listen 127.0.0.1:0 --handler "$n:github:acme" --redis "$seed" --redis-cluster --interval 0.2 \
    > "$tmp/$n.out" 2> "$tmp/$n.err" &
  pids+=("$!")
  exporter_pids+=("$!")
done
masters=()
for n in "${names[@]}"; do
  key="anklet/metrics/acme/$n"
  found=""
  for _ in $(seq 100); do
    # -c follows MOVED: the value must exist in the cluster.
    [ "$(redis-cli -c -p "${cports[0]}" EXISTS "$key")" = 1 ] && found=1 && break
    sleep 0.05
  done
  [ -n "$found" ] || fail "$key was not written ($(cat "$tmp/$n.err"))"
  slot=$(redis-cli -p "${cports[0]}" CLUSTER KEYSLOT "$key")
  # The master serving the slot holds the key itself (no redirection needed there).
  for p in "${cports[@]}"; do
    if [ "$(redis-cli -p "$p" EXISTS "$key" 2>/dev/null)" = 1 ]; then masters+=("$p"); fi
  done
  [ -n "$slot" ] || fail "no slot for $key"
done
[ "$(printf '%s\n' "${masters[@]}" | sort -u | wc -l)" -ge 2 ] || fail "all keys on one master: ${masters[*]}"

"$aggregator" --listen 127.0.0.1:0 --redis "$seed" --redis-cluster > "$tmp/agg.out" 2> "$tmp/agg.err" &
pids+=("$!")
agg_pid=$!
url=""
for _ in $(seq 100); do
  url=$(head -n 1 "$tmp/agg.out" 2>/dev/null || true)
  [ -n "$url" ] && break
  sleep 0.05
done
if [[ "$url" =~ ^listening\ on\ (http://127\.0\.0\.1:[1-9][0-9]*)/metrics/v1\?format=json$ ]]; then
  base=${BASH_REMATCH[1]}
  # Redis is read in the background: answers are 503 until the first read completes.
  for _ in $(seq 100); do v1=$(get "$base/metrics/v1?format=json" 2>/dev/null) && break; sleep 0.05; done
  python3 -c 'import json, sys; d = json.loads(sys.argv[1]); assert sorted(d) == ["r1", "r2", "r3", "r4", "r5"], d' "$v1" ||
    fail "v1 JSON over the cluster: $v1"
else
  fail "aggregator first line: '$url' ($(cat "$tmp/agg.err"))"
fi
kill -TERM "$agg_pid"
wait "$agg_pid" || fail "aggregator exit $?"

for i in "${!names[@]}"; do
  kill -TERM "${exporter_pids[$i]}"
  wait "${exporter_pids[$i]}" || fail "exporter ${names[$i]} exit $? ($(cat "$tmp/${names[$i]}.err"))"
  [ "$(redis-cli -c -p "${cports[0]}" EXISTS "anklet/metrics/acme/${names[$i]}")" = 0 ] ||
    fail "key of ${names[$i]} not deleted at exit"
done
exit $status
