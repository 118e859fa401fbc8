#!/usr/bin/env bash
# examples/service: the launchd property list parses (python3's plistlib) and the systemd
# unit passes `systemd-analyze verify` (where systemd-analyze is installed); and the
# command line each of them starts is one the exporter accepts: it is run here, with the
# built program and a free port, until it prints its URL.
# Usage: tests/integration/service_files.sh EXPORTER
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
exporter=$(realpath "$1")  # systemd wants an absolute ExecStart
# shellcheck source=tests/support/lib.sh
source "$root/tests/support/lib.sh"
plist=$root/examples/service/anklet-metrics-exporter.plist
unit=$root/examples/service/anklet-metrics-exporter.service

# Starts the exporter with the service's arguments, the listen address made a free port.
check_arguments() {
  local what=$1
  shift
  local args=() prev=""
  for a in "$@"; do
    [ "$prev" = --listen ] && a=127.0.0.1:0
    args+=("$a")
    prev=$a
  done
  start_program "$exporter" "${args[@]}"
  case $url in
    "listening on http://127.0.0.1:"*) ;;
    *) echo "FAIL: $what: the exporter did not start with: ${args[*]}" >&2; cat "$tmp/run.err" >&2; exit 1 ;;
  esac
  kill "$pid"
  wait "$pid" || { echo "FAIL: $what: the exporter did not exit 0 on SIGTERM" >&2; exit 1; }
  echo "ok: $what: the exporter starts with its arguments and stops on SIGTERM"
}

# launchd: a dictionary with the keys launchd needs, the program first in ProgramArguments.
# (into a file, not a process substitution: bash 5.2 may lose track of a later child
# whose PID the substitution had)
python3 - "$plist" > "$tmp/plist_args" <<'PY' || { echo "FAIL: $plist" >&2; exit 1; }
import plistlib, sys
with open(sys.argv[1], "rb") as f:
    p = plistlib.load(f)
assert isinstance(p, dict), "not a dictionary"
assert p.get("Label") == "anklet-metrics-exporter", "Label"
args = p.get("ProgramArguments")
assert isinstance(args, list) and args and all(isinstance(a, str) for a in args), "ProgramArguments"
assert args[0].endswith("/anklet-metrics-exporter"), "ProgramArguments[0] is not the exporter"
assert "--listen" in args, "no --listen"
assert p.get("RunAtLoad") is True, "RunAtLoad"
assert p.get("KeepAlive") == {"SuccessfulExit": False}, "KeepAlive"
for key in ("StandardOutPath", "StandardErrorPath"):
    assert isinstance(p.get(key), str) and p[key].startswith("/"), key
print("\n".join(args[1:]))
PY
mapfile -t plist_args < "$tmp/plist_args"
[ ${#plist_args[@]} -gt 0 ] || { echo "FAIL: $plist: no arguments read" >&2; exit 1; }
echo "ok: $plist parses"
check_arguments "launchd plist" "${plist_args[@]}"

# systemd: the unit's ExecStart, with the built program in place of the installed one.
exec_start=$(sed -n 's/^ExecStart=//p' "$unit")
read -r -a unit_args <<< "$exec_start"
[ "${unit_args[0]}" = /usr/local/bin/anklet-metrics-exporter ] || { echo "FAIL: $unit: ExecStart=${unit_args[0]}" >&2; exit 1; }
check_arguments "systemd unit" "${unit_args[@]:1}"
if command -v systemd-analyze > /dev/null; then
  mkdir -p "$tmp/unit"
  sed "s|^ExecStart=/usr/local/bin/anklet-metrics-exporter|ExecStart=$exporter|" "$unit" \
    > "$tmp/unit/anklet-metrics-exporter.service"
  # verify exits non-zero on errors; it also warns about units we do not ship, so only
  # lines that name our file count.
  if ! systemd-analyze verify --man=no "$tmp/unit/anklet-metrics-exporter.service" > "$tmp/verify.log" 2>&1 ||
    grep -q 'anklet-metrics-exporter' "$tmp/verify.log"; then
    echo "FAIL: systemd-analyze verify $unit:" >&2
    cat "$tmp/verify.log" >&2
    exit 1
  fi
  echo "ok: $unit passes systemd-analyze verify"
else
  echo "SKIP: systemd-analyze is not installed; $unit checked for its command line only"
fi
