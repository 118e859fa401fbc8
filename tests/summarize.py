#!/usr/bin/env python3
"""Totals meson's JSON test logs of several build dirs into one closing line:
'N passed, N failed, N skipped'. Exit status 1 when anything failed or nothing ran."""
import json
import sys

passed = failed = skipped = 0
for build_dir in sys.argv[1:]:
    try:
        with open(f"{build_dir}/meson-logs/testlog.json", encoding="utf-8") as log:
            for line in log:
                result = json.loads(line).get("result")
                if result in ("OK", "EXPECTEDFAIL"):
                    passed += 1
                elif result == "SKIP":
                    skipped += 1
                else:
                    failed += 1
    except FileNotFoundError:
        print(f"no test log in {build_dir}", file=sys.stderr)
        failed += 1
print(f"{passed} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if failed or not passed else 0)
